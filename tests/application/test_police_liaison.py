"""The police liaison use cases on every store: requests for a closed crisis, answered once, and executive
assistance with its legal basis."""

from __future__ import annotations

import pytest

from domain.shared import Rule
from tests.application.support import (
    PC,
    declare,
    move,
    open_request,
    refused,
)


@pytest.fixture
def app(services):  # noqa: ANN001, ANN201
    return services.coordination


def test_a_police_request_cannot_be_raised_for_a_closed_crisis(services, app):
    declare(app, "C-S1")
    app.open_police_liaison(PC, liaison_id="L-S1", crisis_id="C-S1")
    move(app, "C-S1", "contain", "resolve", "close")
    refused(
        services, Rule.CRISIS_CLOSED,
        app.raise_police_request, PC, "L-S1", request_id="PR-9", direction="CITY_TO_POLICE",
        request_type="INFORMATION", subject="anything",
    )
    assert app.get_police_liaison(PC, "L-S1").requests == {}


def test_a_police_request_answered_once_is_already_answered(services, app, clock):
    declare(app, "C-S4", category="THREAT_VIOLENCE")
    open_request(app, "C-S4", "PR-S4-02")
    clock.advance(minutes=135)
    app.answer_police_request(PC, "L-C-S4", request_id="PR-S4-02", response="5/6 swept",
                             answered_by="HPD duty commander", late_entry_reason=None)
    clock.advance(minutes=10)
    error = refused(
        services, Rule.ALREADY_ANSWERED,
        app.answer_police_request, PC, "L-C-S4", request_id="PR-S4-02", response="Pihlajamäki cleared",
    )
    assert error.message == "PR-S4-02 answered 2025-10-25T23:55+03:00; use a log entry or a new request"


def test_executive_assistance_needs_its_legal_basis(services, app):
    declare(app, "C-S1")
    app.open_police_liaison(PC, liaison_id="L-S1", crisis_id="C-S1")
    refused(
        services, Rule.LEGAL_BASIS_REQUIRED,
        app.raise_police_request, PC, "L-S1", request_id="PR-EA", direction="CITY_TO_POLICE",
        request_type="EXECUTIVE_ASSISTANCE", subject="Secure evacuation of a care home",
    )


