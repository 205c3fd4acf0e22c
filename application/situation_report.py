"""The structured situation report use cases (domain/situation_report.py), mixed into the Coordination.

A duty officer drafts the next report of a crisis (METHANE for its first, the standard form after); units
contribute sections to it (a division contact for their own unit, a duty officer for any); a duty officer
approves and issues it. The figures the report freezes are read at the moment of issue through the
`SituationFigures` port (application/ports.py): the application asks a Protocol, and bootstrap hands in the
adapter that reads the read models' tables, so no driver is imported here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from application.ports import SituationFigures
from domain.access import Actor, Role, authorise
from domain.crisis import Crisis
from domain.crisis_records import CrisisRecord, ReportDraftRecord, SituationReport
from domain.shared import PUBLIC, Classification, DomainError, Rule

if TYPE_CHECKING:
    from application.crisis import CrisisUseCases as UseCases
else:
    UseCases = object


class SituationReportUseCases(UseCases):
    situation_figures: SituationFigures  # the read models' figures at a moment (handed in by bootstrap)

    def draft_situation_report(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        form: str | None = None,
        classification: Classification = PUBLIC,
        expected_version: int | None = None,
    ) -> int:
        """Start the crisis's next structured report; `form` defaults to METHANE for the first, STANDARD after."""

        def change(crisis: Crisis, now: datetime) -> None:
            crisis.draft_situation_report(form=form, classification=classification, actor=actor.user, now=now)

        payload = self._given(form=form, classification=classification)
        return self._change_crisis("draft_situation_report", actor, crisis_id, expected_version, payload, change)

    def contribute_situation_report(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        sections: dict[str, str],
        unit: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Contribute sections to the draft: a division contact for their own unit (SECTION_NOT_YOURS), a duty
        officer for any unit or none."""
        if actor.role is Role.DIVISION_CONTACT and unit is None:
            unit = actor.unit

        def change(crisis: Crisis, now: datetime) -> None:
            if actor.role is Role.DIVISION_CONTACT and unit != actor.unit:
                raise DomainError(
                    Rule.SECTION_NOT_YOURS,
                    "the division contact of {actor_unit} contributes sections for {actor_unit} only, not {unit}",
                    {"actor_unit": actor.unit, "unit": unit},
                )
            crisis.contribute_situation_report(
                unit=unit, sections=sections, policy=self.policy, actor=actor.user, now=now
            )

        payload = self._given(unit=unit, sections=sections)
        return self._change_crisis("contribute_situation_report", actor, crisis_id, expected_version, payload, change)

    def issue_drafted_situation_report(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        next_due_at: datetime | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Approve and issue the draft as the next report, freezing the figures the read models hold now."""

        def change(crisis: Crisis, now: datetime) -> None:
            crisis.issue_drafted_situation_report(
                figures=self.situation_figures(crisis_id, now),
                next_due_at=next_due_at,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = self._given(next_due_at=next_due_at, occurred_at=occurred_at, late_entry_reason=late_entry_reason)
        return self._change_crisis(
            "issue_drafted_situation_report", actor, crisis_id, expected_version, payload, change
        )

    def get_situation_report(self, actor: Actor, crisis_id: str, number: int) -> tuple[CrisisRecord, SituationReport]:
        """Report #`number` of the crisis, with the crisis it belongs to."""
        authorise(actor, "get_crisis")
        crisis = self.crisis_record(crisis_id)
        if not 1 <= number <= len(crisis.situation_reports):
            raise DomainError(
                Rule.NOT_FOUND, "{crisis_id} has no situation report #{number}", {"crisis_id": crisis_id, "number": number}
            )
        return crisis, crisis.situation_reports[number - 1]

    def get_situation_report_draft(self, actor: Actor, crisis_id: str) -> tuple[CrisisRecord, ReportDraftRecord]:
        """The crisis's report in the making (NOT_FOUND when there is none)."""
        authorise(actor, "get_crisis")
        crisis = self.crisis_record(crisis_id)
        if crisis.situation_report_draft is None:
            raise DomainError(
                Rule.NOT_FOUND, "{crisis_id} has no situation report draft", {"crisis_id": crisis_id}
            )
        return crisis, crisis.situation_report_draft
