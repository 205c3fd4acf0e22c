"""Reminders through HTTP: the open ones, one with its notices and deliveries, acknowledged by a recipient (not by
others, not twice), and who had been told of what by a moment (auditors)."""

from __future__ import annotations

from application.reminder import Contacts, Sender
from domain.access import Actor, Role
from domain.reminder import Ladder
from tests.interfaces.conftest import accepted, declare, problem

RID = "ACTION.C-S1.A-1.20251026T010000Z"  # A-1 due 03:00 Helsinki time


def tick(api) -> dict:  # noqa: ANN001
    """One tick of the sender (no channels configured: the notices are recorded, their deliveries given up)."""
    services = api.services
    services.projections.catch_up()
    sender = Sender(app=services.coordination, store=services.sql, ladder=Ladder(), contacts=Contacts(), channels={},
                    actor=Actor("valmius-remind", Role.DUTY_OFFICER))
    done = sender.tick()
    services.projections.catch_up()
    return done


def test_a_reminder_is_read_acknowledged_by_its_recipient_and_audited(api, people, clock):  # noqa: ANN001
    # Given an action for STARA due at 03:00 and DO-1 on duty
    declare(api, people.duty_officer)
    accepted(api.post("/positions/DUTY_OFFICER/sign-on", headers=people.duty_officer))
    accepted(api.post("/crises/C-S1/actions", json={"action_id": "A-1", "unit": "STARA", "task": "Clear Itäväylä",
                                                    "due_at": "2025-10-26T03:00+02:00"}, headers=people.duty_officer))
    clock.set("2025-10-26T03:00+02:00")
    assert tick(api)["recorded"] == 1
    # Then it is open, at its notice at the deadline, to STARA and to DO-1
    [open_one] = accepted(api.get("/reminders", headers=people.leadership))["reminders"]
    assert (open_one["reminder_id"], open_one["notices"], open_one["unit"], open_one["acknowledged_by"]) == (RID, 2, "STARA", None)
    read = accepted(api.get(f"/reminders/{RID}", headers=people.leadership))
    assert [[r["recipient"] for r in n["recipients"]] for n in read["notices"]] == [["STARA", "DO-1"]]
    assert "Clear" not in str(read)
    # And the handover brief prepared now names it among the reminders unacknowledged
    brief = accepted(api.post("/positions/DUTY_OFFICER/handover-briefs", headers=people.duty_officer), 201)
    read = accepted(api.get(f"/positions/DUTY_OFFICER/handover-briefs/{brief['number']}", headers=people.leadership))
    assert [(r["reminder_id"], r["notices"]) for r in read["brief"]["reminders_unacknowledged"]["items"]] == [(RID, 2)]
    page = api.get(f"/positions/DUTY_OFFICER/handover-briefs/{brief['number']}?format=html", headers=people.leadership)
    assert "Reminders unacknowledged (1)" in page.text and RID in page.text
    # When another unit's contact acknowledges it, that is refused; STARA's contact acknowledges it, once
    problem(api.post(f"/reminders/{RID}/acknowledgement", headers=people.contact("KASKO")), 403, "NOT_A_RECIPIENT")
    problem(api.post(f"/reminders/{RID}/acknowledgement", headers=people.leadership), 403, "FORBIDDEN_ROLE")
    clock.set("2025-10-26T03:05+02:00")
    accepted(api.post(f"/reminders/{RID}/acknowledgement", headers=people.contact("STARA")))
    problem(api.post(f"/reminders/{RID}/acknowledgement", headers=people.duty_officer), 409, "ALREADY_ACKNOWLEDGED")
    # And it escalates no further; auditors see who had been told by 03:01 and that STARA acknowledged by 03:10
    clock.set("2025-10-26T04:00+02:00")
    assert tick(api)["recorded"] == 0
    read = accepted(api.get(f"/reminders/{RID}", headers=people.leadership))
    assert (read["acknowledged_by"], len(read["notices"])) == ("DIV-STARA", 1)
    problem(api.get("/audit/reminders", params={"as_of": "2025-10-26T03:01+02:00"}, headers=people.leadership), 403, "FORBIDDEN_ROLE")
    early = accepted(api.get("/audit/reminders", params={"as_of": "2025-10-26T02:59+02:00"}, headers=people.auditor))
    assert early["notices"] == [] and early["deliveries"] == []
    known = accepted(api.get("/audit/reminders", params={"as_of": "2025-10-26T03:10+02:00"}, headers=people.auditor))
    assert [(n["reminder_id"], n["stage"]) for n in known["notices"]] == [(RID, "AT")]
    assert [a["by"] for a in known["acknowledgements"]] == ["DIV-STARA"]
    assert {(d["recipient"], d["delivered"], d["gave_up"]) for d in known["deliveries"]} == set()  # no channels: no delivery
    problem(api.get("/reminders/NO-SUCH", headers=people.leadership), 404, "NOT_FOUND")
