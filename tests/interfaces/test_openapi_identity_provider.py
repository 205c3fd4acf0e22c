"""An OpenID provider out of reach is an outage, not a bad token: 503 IDENTITY_PROVIDER_UNAVAILABLE with
Retry-After, as the OpenAPI document says, never counted against the client's address; once the provider is
back, the same token is accepted. Against the real provider (tests/oidc), stopped and started again."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import FakeClock, make_api, settings_for
from tests.interfaces.openapi_document import Conformance, the_document
from tests.oidc import running_provider

SPEC, OPERATIONS = the_document()


def test_a_token_sent_while_the_provider_is_stopped_is_answered_503_and_accepted_once_it_is_back(
    tmp_path: Path,
) -> None:
    overview = next(o for o in OPERATIONS if o.id == "GET /situation-overview")
    conformance = Conformance(SPEC)
    with running_provider(tmp_path) as provider:
        # Given a token the provider issued, and a service that has not fetched the provider's keys yet
        token = provider.client_credentials("sirens-script")
        settings = settings_for(
            "sqlite", tmp_path, failed_authentications_per_minute=1, oidc_key_refresh_seconds=0,
            **provider.settings(),
        )
        for api in make_api(settings, FakeClock()):
            # When the provider is stopped and the token is presented, more often than bad tokens may be
            provider.stop()
            answers = [
                conformance.check(overview, api.get("/situation-overview", headers={"Authorization": f"Bearer {token}"}))
                for _ in range(3)
            ]
            # Then each is 503 IDENTITY_PROVIDER_UNAVAILABLE with Retry-After: the token was not judged, nor
            # counted as a failure (no 429), nor kept as a refused attempt
            for answer in answers:
                assert (answer.status_code, answer.json()["code"]) == (503, "IDENTITY_PROVIDER_UNAVAILABLE"), answer.text
                assert int(answer.headers["Retry-After"]) > 0
            assert not [r for r in api.services.refusals.list() if r["rule"] == "IDENTITY_PROVIDER_UNAVAILABLE"]

            # When the provider is back, then the same token is accepted
            provider.start()
            back = api.get("/situation-overview", headers={"Authorization": f"Bearer {token}"})
            assert back.status_code == 200, back.text
