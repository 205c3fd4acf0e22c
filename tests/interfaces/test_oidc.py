"""Sign-in with the city's OpenID Connect provider: access tokens from a real provider (oidc-provider, run by
Node: tests/oidc) are accepted, their groups mapped to a role, unit and clearance; tokens for another audience,
expired, not yet valid, or signed by a key the provider does not publish are refused with 401. A key rotation
at the provider is picked up. Tokens from `valmius token issue` keep working beside them, and now expire."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from pydantic import ValidationError

from domain.shared import DomainError, utc_now
from infrastructure.bootstrap import open_services
from infrastructure.identity import hash_token
from infrastructure.settings import Settings
from tests.conftest import FakeClock, make_api, settings_for
from tests.interfaces.conftest import problem
from tests.interfaces.test_cli import service, store, valmius  # noqa: F401 - fixtures of the CLI's tests
from tests.interfaces.test_stream_access import Subscription
from tests.live import LiveServer, running_service
from tests.oidc import AUDIENCE, Provider, running_provider, sign, signing_key

SECRET = {"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    with running_provider(tmp_path_factory.mktemp("oidc")) as running:
        yield running


@pytest.fixture
def city_api(provider: Provider, tmp_path: Path, clock: FakeClock):  # noqa: ANN201
    """The HTTP API accepting the provider's tokens (and its own), at most 3 failed authentications a minute."""
    settings = settings_for("sqlite", tmp_path, failed_authentications_per_minute=3, **provider.settings())
    yield from make_api(settings, clock)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims(provider: Provider, **changes: object) -> dict:
    """What the provider puts in a duty officer's access token, valid now, with `changes`."""
    now = int(time.time())
    return {"iss": provider.issuer, "aud": AUDIENCE, "sub": "virtanen", "preferred_username": "virtanen",
            "groups": ["valmius-duty-officers"], "iat": now, "exp": now + 600, **changes}


def declare_secret_crisis(api, token: str) -> None:  # noqa: ANN001
    body = {"crisis_id": "C-OIDC", "title": "Emailed bomb threats against schools", "category": "THREAT_VIOLENCE",
            "severity": 2, "classification": SECRET}
    answer = api.post("/crises", json=body, headers=bearer(token))
    assert answer.status_code == 201, answer.text


def test_a_service_accounts_token_from_the_provider_acts_as_its_mapped_role_with_clearance(provider, city_api):
    # Given a token the provider issued to a script in the group valmius-duty-officers
    token = provider.client_credentials("sirens-script")
    # When the script declares a secret crisis (duty officers only) and reads it back
    declare_secret_crisis(city_api, token)
    crisis = city_api.get("/crises/C-OIDC", headers=bearer(token))
    # Then it was a cleared duty officer named by the token
    assert crisis.status_code == 200, crisis.text
    assert crisis.json()["title"] == "Emailed bomb threats against schools"
    assert "sirens-script" in crisis.text


def test_a_command_sent_twice_with_a_provider_token_and_one_idempotency_key_is_recorded_once(provider, city_api):
    token = provider.client_credentials("sirens-script")
    body = {"crisis_id": "C-ONCE", "title": "Storm", "category": "SEVERE_WEATHER", "severity": 2,
            "classification": {"level": "PUBLIC"}}
    headers = {**bearer(token), "Idempotency-Key": "storm-1"}
    first, again = (city_api.post("/crises", json=body, headers=headers) for _ in range(2))
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers["ETag"] == first.headers["ETag"]


def test_groups_map_to_roles_in_order_and_a_token_without_a_mapped_group_is_refused(provider, city_api):
    # Given a leadership reader's token (signed by the provider's key) and a script whose only group is staff
    leader = sign(claims(provider, sub="lindqvist", preferred_username="lindqvist",
                         groups=["staff", "valmius-leadership"]), provider.keys[0])
    staff = provider.client_credentials("canteen-script")
    # Then the leader may read but not declare, and the staff script is not let in, naming the setting
    assert city_api.get("/situation-overview", headers=bearer(leader)).status_code == 200
    problem(city_api.post("/crises", json={}, headers=bearer(leader)), 403, "FORBIDDEN_ROLE")
    body = problem(city_api.get("/situation-overview", headers=bearer(staff)), 401, "UNAUTHENTICATED")
    assert "VALMIUS_OIDC_ROLES" in body["detail"] and "staff" in body["detail"]


@pytest.mark.parametrize(
    ("token_for", "why"),
    [
        (lambda p: p.client_credentials("sirens-script", resource="https://other.test"), "another audience"),
        (lambda p: sign(claims(p, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), p.keys[0]), "expired"),
        (lambda p: sign(claims(p, nbf=int(time.time()) + 3600), p.keys[0]), "not valid yet"),
        (lambda p: sign(claims(p, iss="https://login.elsewhere.test"), p.keys[0]), "not issued by"),
        (lambda p: sign(claims(p), signing_key("mine")), "does not publish"),
        (lambda p: sign(claims(p), {**signing_key("mine"), "kid": p.keys[0]["kid"]}), "Signature verification"),
    ],
    ids=["wrong audience", "expired", "not yet valid", "another issuer", "unknown key", "forged with a known kid"],
)
def test_a_token_the_service_must_not_trust_is_refused_saying_why(provider, city_api, token_for, why):
    body = problem(city_api.get("/situation-overview", headers=bearer(token_for(provider))), 401, "UNAUTHENTICATED")
    assert why in body["detail"]


def test_a_division_contacts_rule_without_a_unit_is_refused_at_start():
    with pytest.raises(ValidationError, match="group valmius-rescue: a unit is named for division contacts only"):
        Settings(_env_file=None, oidc_issuer="https://login.example", oidc_audience=AUDIENCE,
                 oidc_roles=[{"group": "valmius-rescue", "role": "division_contact"}])


def test_refused_provider_tokens_count_in_the_failed_authentication_throttle(provider, city_api):
    expired = sign(claims(provider, exp=int(time.time()) - 3600), provider.keys[0])
    for _ in range(3):
        problem(city_api.get("/situation-overview", headers=bearer(expired)), 401, "UNAUTHENTICATED")
    problem(city_api.get("/situation-overview", headers=bearer(expired)), 429, "TOO_MANY_FAILED_AUTHENTICATIONS")


def test_a_key_rotated_at_the_provider_is_fetched_on_the_first_token_signed_with_it(tmp_path, clock):
    with running_provider(tmp_path) as provider:
        settings = settings_for("sqlite", tmp_path, oidc_key_refresh_seconds=0, **provider.settings())
        for api in make_api(settings, clock):
            # Given the service has the provider's key set
            assert api.get("/situation-overview", headers=bearer(provider.client_credentials("sirens-script"))
                           ).status_code == 200
            # When the provider rotates to a new key, still publishing the old one
            old = provider.keys[0]
            provider.restart([signing_key("second"), old])
            # Then a token signed with the new key is accepted, and one signed with the old key still is
            rotated = provider.client_credentials("sirens-script")
            assert api.get("/situation-overview", headers=bearer(rotated)).status_code == 200
            assert api.get("/situation-overview", headers=bearer(sign(claims(provider), old))).status_code == 200


def test_the_key_set_is_fetched_again_at_most_once_per_refresh_interval(tmp_path):
    with running_provider(tmp_path) as provider:
        # Given a verifier that fetched the provider's keys, and may fetch them again once a minute
        verifier = Settings(_env_file=None, oidc_key_refresh_seconds=60, **provider.settings()).oidc_verifier()
        assert verifier.verify(provider.client_credentials("sirens-script")).actor.user == "sirens-script"
        # When tokens with made-up key ids arrive, and then the provider rotates its key
        for kid in ("made-up-1", "made-up-2"):
            with pytest.raises(DomainError, match="does not publish"):
                verifier.verify(sign(claims(provider), signing_key(kid)))
        provider.restart([signing_key("second"), provider.keys[0]])
        # Then within a minute of the last fetch nothing is fetched: not for the made-up key ids, nor the new key
        with pytest.raises(DomainError, match="does not publish"):
            verifier.verify(provider.client_credentials("sirens-script"))


def test_a_stream_opened_with_a_provider_token_ends_when_the_token_expires(provider, tmp_path):
    settings = settings_for("sqlite", tmp_path, stream_token_check_seconds=0.5, **provider.settings())
    with running_service(settings) as server:
        server: LiveServer
        # Given a reader streaming with a token that expires in 4 s
        token = sign(claims(provider, exp=int(time.time()) + 4), provider.keys[0])
        stream = Subscription(server, token)
        try:
            stream.next()
            # Then the stream goes on until the token expires, and ends soon after
            assert not stream.ended_within(1.5)
            assert stream.ended_within(6)
        finally:
            stream.close()


def test_tokens_from_the_cli_stay_beside_the_providers_and_expire(city_api, clock):
    # Given a script's token from `valmius token issue`, valid for a day
    token, info = city_api.services.tokens.issue(
        user="nightly-export", role="auditor", unit=None, clearance=False, issued_by="test", now=clock(),
        expires_in=timedelta(days=1),
    )
    assert info.expires_at is not None
    # Then it is accepted for a day, and refused after
    assert city_api.get("/situation-overview", headers=bearer(token)).status_code == 200
    clock.advance(hours=25)
    problem(city_api.get("/situation-overview", headers=bearer(token)), 401, "UNAUTHENTICATED")


def test_the_cli_issues_tokens_for_as_long_as_asked_and_the_service_refuses_them_after(
    capsys, service, clock,  # noqa: F811 - service: the fixture of the CLI's tests
):
    # Given a token issued with `valmius token issue --expires-in 12h`
    code, token, _ = valmius(capsys, "token", "issue", "--user", "sirens", "--role", "duty_officer",
                             "--expires-in", "12h")
    assert code == 0
    # Then `token list` says when it expires, the service accepts it now and refuses it 13 hours later
    assert "expires 20" in valmius(capsys, "token", "list")[1]
    clock.set(utc_now())
    assert service.get("/situation-overview", headers=bearer(token.strip())).status_code == 200
    clock.advance(hours=13)
    problem(service.get("/situation-overview", headers=bearer(token.strip())), 401, "UNAUTHENTICATED")
    # And a duration it cannot read is refused
    with pytest.raises(SystemExit):
        valmius(capsys, "token", "issue", "--user", "x", "--role", "auditor", "--expires-in", "soon")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_tokens_of_a_store_written_before_tokens_expired_keep_working(backend, tmp_path, clock, request):
    # Given a store whose token table has no expiry column, holding a token
    pg = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    settings = settings_for(backend, tmp_path, pg)
    url = settings.database_url
    old = psycopg.connect(url, autocommit=True) if pg else sqlite3.connect(url.removeprefix("sqlite:///"))
    old.execute(
        "CREATE TABLE valmius_tokens (token_hash TEXT PRIMARY KEY, token_id TEXT NOT NULL, user_name TEXT NOT NULL,"
        " role TEXT NOT NULL, unit TEXT, clearance INTEGER NOT NULL, issued_at TEXT NOT NULL,"
        " issued_by TEXT NOT NULL, revoked_at TEXT)"
    )
    old.execute(f"INSERT INTO valmius_tokens VALUES ('{hash_token('vlm_old')}', 'old1', 'LR-1', 'leadership', NULL, 0,"
                " '2025-01-01T00:00:00+00:00', 'cli', NULL)")
    old.commit()
    old.close()
    # When the service opens it, twice (the column is added once)
    for _ in range(2):
        services = open_services(settings, clock)
        try:
            # Then the old token still authenticates, and never expires
            assert services.tokens.authenticate("vlm_old") is not None
            assert [info.expires_at for info in services.tokens.list()] == [None]
        finally:
            services.close()
