"""Tamper evidence through the HTTP API: the auditor verifies the log, lists and exports signed checkpoints,
and verifies the log against a document kept; every other role is refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from urllib.parse import quote

import pytest

from application.audit.checkpoints import Signer
from tests.conftest import ApiClient, FakeClock, make_api, settings_for

SIGNING_KEY, PUBLIC_KEY = Signer.generate()
STORM = {"crisis_id": "C-S1", "title": "Storm: power outages", "category": "SEVERE_WEATHER", "severity": 2}


@pytest.fixture
def api(tmp_path, clock: FakeClock) -> Iterator[ApiClient]:  # noqa: ANN001
    """The HTTP API on a fresh SQLite file, with a signing key configured."""
    yield from make_api(settings_for("sqlite", tmp_path, signing_key=SIGNING_KEY), clock)


def auditor(api: ApiClient) -> dict:
    return api.headers("AUD", "auditor", clearance=True)


def a_crisis_with_entries(api: ApiClient) -> int:
    """Given a crisis and two log entries recorded through the API, all chained; returns the last position."""
    duty_officer = api.headers("DO-1", "duty_officer")
    assert api.post("/crises", json=STORM, headers=duty_officer).status_code == 201
    for text in ("Substation down in Vuosaari", "Home care clients called"):
        response = api.post("/crises/C-S1/log-entries", json={"text": text}, headers=duty_officer)
        assert response.status_code == 200, response.text
    position = int(response.headers["Valmius-Position"])
    assert api.services.projections.wait_for(position, timeout=5)
    return position


def test_the_auditor_gets_the_verdict_of_the_whole_log(api):
    """Given a crisis recorded through the API and chained, when the auditor asks for verification, then the
    verdict is intact up to the last event."""
    last = a_crisis_with_entries(api)
    response = api.get("/audit/verify", headers=auditor(api))
    assert response.status_code == 200, response.text
    verdict = response.json()
    assert (verdict["intact"], verdict["chain_head"], verdict["first"]) == (True, last, None)
    assert verdict["verdict"].startswith("INTACT")


@pytest.mark.parametrize("role", ["duty_officer", "leadership", "admin", "preparedness_manager"])
def test_other_roles_are_refused_with_forbidden_role(api, role):
    response = api.get("/audit/verify", headers=api.headers("X", role))
    assert (response.status_code, response.json()["code"]) == (403, "FORBIDDEN_ROLE")
    response = api.get("/audit/checkpoints", headers=api.headers("X", role))
    assert (response.status_code, response.json()["code"]) == (403, "FORBIDDEN_ROLE")


def test_the_auditor_exports_a_checkpoint_and_verifies_the_log_against_it(api):
    """Given a checkpoint the operator signed, when the auditor lists and exports it and later sends it back,
    then the log verifies against it with the pinned key; an edited copy does not, and the verdict says
    where."""
    a_crisis_with_entries(api)
    _, signed = api.services.tamper_evidence.sign_checkpoint()
    listed = api.get("/audit/checkpoints", headers=auditor(api)).json()
    assert [c["position"] for c in listed] == [signed.position]
    document = api.get(f"/audit/checkpoints/{signed.position}", headers=auditor(api)).json()
    assert (document["public_key"], document["signature"]) == (PUBLIC_KEY, signed.signature)

    response = api.post(
        "/audit/verify-checkpoint", json=document, params={"public_key": PUBLIC_KEY}, headers=auditor(api)
    )
    assert response.status_code == 200, response.text
    assert response.json()["intact"] is True

    edited = {**document, "position": document["position"] - 1}
    verdict = api.post("/audit/verify-checkpoint", json=edited, headers=auditor(api)).json()
    assert (verdict["intact"], verdict["first"]["kind"], verdict["first"]["position"]) == (
        False, "checkpoint_signature", signed.position - 1
    )


def test_a_checkpoint_document_without_a_signature_is_refused_as_invalid_input(api):
    response = api.post(
        "/audit/verify-checkpoint", json={"position": 3, "digest": "ab", "created_at": "x", "public_key": "cd"},
        headers=auditor(api),
    )
    assert (response.status_code, response.json()["code"]) == (422, "INVALID_INPUT")


def test_an_unknown_checkpoint_is_not_found(api):
    response = api.get("/audit/checkpoints/12345", headers=auditor(api))
    assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND")


def test_only_auditors_may_send_a_document_to_verify(api):
    """Verifying a document is a read sent as POST: a duty officer is refused by role, not let through as a
    writer."""
    a_crisis_with_entries(api)
    _, signed = api.services.tamper_evidence.sign_checkpoint()
    response = api.post("/audit/verify-checkpoint", json=signed.document(), headers=api.headers("DO-1", "duty_officer"))
    assert (response.status_code, response.json()["code"]) == (403, "FORBIDDEN_ROLE")


def test_checkpoints_are_listed_a_page_at_a_time_within_a_window_of_signing_times(api):
    """Given three checkpoints signed an hour apart, when the auditor lists them one at a time, then following
    the `Link` header gives each once in position order and the last page links nowhere; and a window of
    signing times keeps those signed within it."""
    a_crisis_with_entries(api)
    signed = []
    for n in range(3):
        if n:  # a new head to sign
            api.post("/crises/C-S1/log-entries", json={"text": f"more {n}"}, headers=api.headers("DO-1", "duty_officer"))
        assert api.services.projections.wait_for(api.services.coordination.recorder.max_notification_id(), 5)
        signed.append(api.services.tamper_evidence.sign_checkpoint()[1])
        api.clock.advance(hours=1)

    pages, url = [], "/audit/checkpoints?limit=1"
    while url:
        answer = api.get(url, headers=auditor(api))
        assert answer.status_code == 200, answer.text
        pages.append([c["position"] for c in answer.json()])
        link = answer.headers.get("link", "")
        url = link[link.index("/audit"):link.index(">")] if 'rel="next"' in link else None
    assert pages == [[c.position] for c in signed]

    since = quote(datetime.fromisoformat(signed[1].created_at).isoformat())
    within = api.get(f"/audit/checkpoints?since={since}", headers=auditor(api)).json()
    assert [c["position"] for c in within] == [c.position for c in signed[1:]]
    until = quote(datetime.fromisoformat(signed[1].created_at).isoformat())
    before = api.get(f"/audit/checkpoints?until={until}", headers=auditor(api)).json()
    assert [c["position"] for c in before] == [c.position for c in signed[:2]]
