"""The public warning use cases: draft, revise, approve and issue each message (alert, update, cancellation) of a
warning to the public; one typed method per domain verb, mixed into the Coordination. Duty officers and the
preparedness manager do them all (PERMISSIONS); a second person approves what one wrote (FOUR_EYES).

What the warning's rules need of its crisis is checked on the crisis in the same command: it exists, it is open
(a cancellation is issued even after it closed: the public is told the warning no longer holds), it and the
decisions a message is based on are PUBLIC (NOT_PUBLIC); and an issued message takes the crisis's category,
severity and areas as they stand when it is sent. The crisis itself is not changed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.access import Actor, authorise
from domain.crisis import Crisis
from domain.public_warning import CANCEL, PublicWarning, Texts, WarningRecord
from domain.shared import DomainError, N_, Rule

if TYPE_CHECKING:
    from application.coordination import Pipeline as UseCases
else:
    UseCases = object


class PublicWarningUseCases(UseCases):
    def get_public_warning(self, actor: Actor, warning_id: str) -> WarningRecord:
        authorise(actor, "get_public_warning")
        return self.warning_record(warning_id)

    def warning_record(self, warning_id: str, version: int | None = None) -> WarningRecord:
        """The warning with all its messages (at `version`), folded from its events."""
        record = WarningRecord.of(self.events.get(PublicWarning.id_for(warning_id), lte=version))
        if not record.version:
            raise DomainError(Rule.NOT_FOUND, "there is no public warning {warning_id}", {"warning_id": warning_id})
        return record

    def load_warning(self, warning_id: str) -> PublicWarning:
        return self._load(PublicWarning, PublicWarning.id_for(warning_id),
                          N_("public warning {warning_id}", warning_id=warning_id))

    def public_crisis(self, crisis_id: str, based_on: list[str] | None = None, *, open_only: bool = True) -> Crisis:
        """The warning's crisis, open (CRISIS_CLOSED) and PUBLIC, as is every decision in `based_on` (NOT_PUBLIC):
        nothing of a classified record may reach the public through a warning."""
        crisis = self.load_crisis(crisis_id)
        if open_only:
            crisis.check_open()
        if not crisis.classification.is_public:
            raise DomainError(Rule.NOT_PUBLIC, "{crisis_id} is {level}: a public warning is written only for a "
                              "PUBLIC crisis", {"crisis_id": crisis_id, "level": crisis.classification.level})
        for decision_id in based_on or ():
            classification = crisis.decision_classification(decision_id)
            if classification is None:
                raise DomainError(Rule.NOT_FOUND, "{crisis_id} has no decision {decision_id}",
                                  {"crisis_id": crisis_id, "decision_id": decision_id})
            if not classification.is_public:
                raise DomainError(Rule.NOT_PUBLIC, "decision {decision_id} is {level}: a public warning is based "
                                  "only on PUBLIC decisions", {"decision_id": decision_id, "level": classification.level})
        return crisis

    def _change_warning(
        self,
        use_case: str,
        actor: Actor,
        warning_id: str,
        expected_version: int | None,
        payload: dict[str, Any],
        change: Callable[[PublicWarning, datetime], None],
    ) -> int:
        return self._command(
            use_case, actor, warning_id, lambda: self.load_warning(warning_id), expected_version, payload, change
        )

    def draft_public_warning(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        warning_id: str,
        texts: Texts,
        urgency: str,
        certainty: str,
        based_on: list[str] | None = None,
    ) -> int:
        """Draft a warning for an open PUBLIC crisis: its first message, an alert."""

        def attempt(now: datetime) -> list[PublicWarning]:
            if PublicWarning.id_for(warning_id) in self.repository:
                raise DomainError(Rule.ALREADY_EXISTS, "public warning {warning_id} already exists",
                                  {"warning_id": warning_id})
            self.public_crisis(crisis_id, based_on)
            return [PublicWarning.draft(
                warning_id=warning_id, crisis_id=crisis_id, texts=texts, urgency=urgency, certainty=certainty,
                based_on=based_on, actor=actor.user, now=now,
            )]

        payload = {"crisis_id": crisis_id, "urgency": urgency, "certainty": certainty, "based_on": based_on}
        return self._run("draft_public_warning", actor, warning_id, payload, attempt)[0].version

    def revise_public_warning(
        self,
        actor: Actor,
        warning_id: str,
        *,
        texts: Texts,
        urgency: str | None = None,
        certainty: str | None = None,
        based_on: list[str] | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Rewrite the message waiting to be issued; an approval it had lapses."""

        def change(warning: PublicWarning, now: datetime) -> None:
            self.public_crisis(warning.crisis_id, based_on, open_only=warning.pending != CANCEL)
            warning.revise(texts=texts, urgency=urgency, certainty=certainty, based_on=based_on, actor=actor.user,
                           now=now)

        payload = {"urgency": urgency, "certainty": certainty, "based_on": based_on}
        return self._change_warning("revise_public_warning", actor, warning_id, expected_version, payload, change)

    def draft_public_warning_update(
        self,
        actor: Actor,
        warning_id: str,
        *,
        texts: Texts,
        urgency: str,
        certainty: str,
        based_on: list[str] | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Draft an update of the warning in force."""

        def change(warning: PublicWarning, now: datetime) -> None:
            self.public_crisis(warning.crisis_id, based_on)
            warning.draft_update(texts=texts, urgency=urgency, certainty=certainty, based_on=based_on,
                                 actor=actor.user, now=now)

        payload = {"urgency": urgency, "certainty": certainty, "based_on": based_on}
        return self._change_warning("draft_public_warning_update", actor, warning_id, expected_version, payload,
                                    change)

    def draft_public_warning_cancellation(
        self, actor: Actor, warning_id: str, *, texts: Texts, expected_version: int | None = None
    ) -> int:
        """Draft the cancellation of the warning in force (also once its crisis is closed)."""

        def change(warning: PublicWarning, now: datetime) -> None:
            warning.draft_cancellation(texts=texts, actor=actor.user, now=now)

        return self._change_warning("draft_public_warning_cancellation", actor, warning_id, expected_version, {},
                                    change)

    def approve_public_warning(
        self, actor: Actor, warning_id: str, *, digest: str | None = None, note: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Approve the message waiting to be issued: never by whoever wrote its text (FOUR_EYES), and, when the
        approver names the digest of the text read, that text only (TEXT_CHANGED)."""

        def change(warning: PublicWarning, now: datetime) -> None:
            warning.approve(digest=digest, note=note, actor=actor.user, now=now)

        return self._change_warning("approve_public_warning", actor, warning_id, expected_version,
                                    self._given(digest=digest), change)

    def issue_public_warning(
        self, actor: Actor, warning_id: str, *, note: str | None = None, expected_version: int | None = None
    ) -> int:
        """Issue the approved message: the public is told now. It carries the crisis's category, severity and
        areas as they stand, and `note` (why an update or a cancellation is sent)."""

        def change(warning: PublicWarning, now: datetime) -> None:
            crisis = self.public_crisis(warning.crisis_id, open_only=warning.pending != CANCEL)
            warning.issue(sender=self.policy.cap_sender, category=crisis.category, severity=crisis.severity,
                          areas=list(crisis.areas), note=note, actor=actor.user, now=now,
                          exercise=crisis.exercise)

        return self._change_warning("issue_public_warning", actor, warning_id, expected_version, {}, change)
