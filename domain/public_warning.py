"""PublicWarning: a warning to the public about a crisis, and each message by which the public was told of it.

A warning belongs to one crisis. Each message to the public (the first alert, an update, the cancellation) is
drafted, approved by a second person (four eyes: whoever wrote the text being approved never approves it) and
then issued; an issued message has its own CAP identifier and sent time and names the messages it follows.
Texts are in Finnish and Swedish (English optional) and are public by definition: a warning is drafted only for
a PUBLIC crisis, and the decisions it carries out must be PUBLIC too (NOT_PUBLIC).

The aggregate keeps what its rules need (its crisis, whether it is in force, the pending message's kind, author
and approver, the messages issued); the texts live in its events, and `WarningRecord` folds them for reading.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.record import Folded, Record
from domain.shared import DomainError, N_, Rule, clock_time, display, required_text

LANGUAGES = ("fi", "sv", "en")
REQUIRED_LANGUAGES = ("fi", "sv")
TEXT_FIELDS = ("headline", "description", "instruction")  # instruction is optional
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")  # CAP 1.2 urgency
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")  # CAP 1.2 certainty
ALERT, UPDATE, CANCEL = "Alert", "Update", "Cancel"  # CAP 1.2 msgType of each kind of message
DRAFTED, IN_FORCE, CANCELLED = "DRAFTED", "IN_FORCE", "CANCELLED"
# A cancellation tells the public that no action is needed any more: CAP's urgency for it.
CANCELLATION_URGENCY, CANCELLATION_CERTAINTY = "Past", "Observed"

Texts = dict[str, dict[str, str]]  # language -> {"headline", "description", "instruction"?}


def message_status(exercise: bool = False) -> str:
    """The CAP status of a message issued now: Actual, or Exercise for a message of a crisis declared as an
    exercise (its recipients must never take it for a real warning). The one place where it is chosen."""
    return "Exercise" if exercise else "Actual"


def message_digest(msg_type: str, texts: Texts, urgency: str, certainty: str, based_on: list[str]) -> str:
    """The SHA-256 of a message's canonical JSON (its kind, texts, scales and the decisions it carries out): what
    its approver names to approve that text and no other (TEXT_CHANGED), and what the approval records."""
    content = {"msg_type": msg_type, "texts": texts, "urgency": urgency, "certainty": certainty,
               "based_on": list(based_on)}
    return hashlib.sha256(
        json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()


def check_texts(texts: Texts) -> Texts:
    """Finnish and Swedish headline and description required (TEXT_REQUIRED), English optional; no other
    languages or fields. Returns the texts with blank optional parts left out."""
    unknown = [language for language in texts if language not in LANGUAGES]
    if unknown:
        raise DomainError(Rule.INVALID_INPUT, "a warning is written in {languages}, not {unknown}",
                          {"languages": ", ".join(LANGUAGES), "unknown": ", ".join(unknown)})
    out: Texts = {}
    for language in LANGUAGES:
        given = texts.get(language)
        if given is None:
            if language in REQUIRED_LANGUAGES:
                raise DomainError(Rule.TEXT_REQUIRED, "a warning needs its text in {language}: give a headline and a "
                                  "description", {"language": language})
            continue
        extra = [name for name in given if name not in TEXT_FIELDS]
        if extra:
            raise DomainError(Rule.INVALID_INPUT, "a warning's text has a headline, a description and an "
                              "instruction, not {extra}", {"extra": ", ".join(extra)})
        for name in ("headline", "description"):
            if not (given.get(name) or "").strip():
                raise DomainError(Rule.TEXT_REQUIRED, "the {language} text of the warning needs its {part}",
                                  {"language": language, "part": name})
        out[language] = {name: given[name].strip() for name in TEXT_FIELDS if (given.get(name) or "").strip()}
    return out


def check_scales(urgency: str, certainty: str) -> None:
    if urgency not in URGENCIES:
        raise DomainError(Rule.INVALID_INPUT, "urgency {urgency!r} is not one of {urgencies}",
                          {"urgency": urgency, "urgencies": ", ".join(URGENCIES)})
    if certainty not in CERTAINTIES:
        raise DomainError(Rule.INVALID_INPUT, "certainty {certainty!r} is not one of {certainties}",
                          {"certainty": certainty, "certainties": ", ".join(CERTAINTIES)})


@dataclass
class IssuedMessage:
    """What the warning keeps of a message it issued: enough to reference it from the next one."""

    number: int
    identifier: str
    msg_type: str
    sent: datetime


ENTITY_CLASSES = (IssuedMessage,)


class PublicWarning(Record):
    """One warning to the public about a crisis: the message being prepared (its kind, who wrote its text
    last, who approved it) and the messages issued (module docstring)."""

    kind, key = "public-warning", "warning_id"

    class Event(Record.Event):
        warning_id: str
        crisis_id: str

    class Drafted(Event, Record.Created):
        """The first message, an Alert, drafted."""

        texts: Texts
        urgency: str
        certainty: str
        based_on: list[str]

        msg_type = ALERT

        def apply(self, warning: PublicWarning) -> None:
            warning.warning_id, warning.crisis_id = self.warning_id, self.crisis_id
            warning.status = DRAFTED
            warning.issued = []
            warning.pending = self.msg_type
            warning.author, warning.approved_by = self.actor, None
            warning.writers = [self.actor]
            warning.pending_digest = self.digest()

        def digest(self) -> str:
            return message_digest(self.msg_type, self.texts, self.urgency, self.certainty, self.based_on)

        def summary(self) -> str:
            return N_("warning {warning_id} drafted by {actor} at {time}", warning_id=self.warning_id,
                      actor=self.actor, time=clock_time(self.recorded_at))

    class MessageDrafted(Event):
        """Base of the later messages drafted (an update, the cancellation): the message waiting, its author."""

        msg_type = ""

        def apply(self, warning: PublicWarning) -> None:
            warning.pending = self.msg_type
            warning.author, warning.approved_by = self.actor, None
            warning.writers = [self.actor]
            warning.pending_digest = self.digest()

        def digest(self) -> str:
            raise NotImplementedError

    class UpdateDrafted(MessageDrafted):
        """An update of the warning in force drafted: its new texts and scales."""

        texts: Texts
        urgency: str
        certainty: str
        based_on: list[str]

        msg_type = UPDATE

        def digest(self) -> str:
            return message_digest(self.msg_type, self.texts, self.urgency, self.certainty, self.based_on)

        def summary(self) -> str:
            return N_("update of warning {warning_id} drafted by {actor} at {time}", warning_id=self.warning_id,
                      actor=self.actor, time=clock_time(self.recorded_at))

    class CancellationDrafted(MessageDrafted):
        """The cancellation of the warning in force drafted: what the public is told in place of it."""

        texts: Texts

        msg_type = CANCEL

        def digest(self) -> str:
            return message_digest(self.msg_type, self.texts, CANCELLATION_URGENCY, CANCELLATION_CERTAINTY, [])

        def summary(self) -> str:
            return N_("cancellation of warning {warning_id} drafted by {actor} at {time}",
                      warning_id=self.warning_id, actor=self.actor, time=clock_time(self.recorded_at))

    class Revised(Event):
        """The pending message's texts (and, but for a cancellation, scales) rewritten: an approval lapses."""

        texts: Texts
        urgency: str | None
        certainty: str | None
        based_on: list[str] | None

        def apply(self, warning: PublicWarning) -> None:
            warning.author, warning.approved_by = self.actor, None
            warning.writers = [*getattr(warning, "writers", []), self.actor]
            if warning.pending == CANCEL:
                warning.pending_digest = message_digest(CANCEL, self.texts, CANCELLATION_URGENCY,
                                                        CANCELLATION_CERTAINTY, [])
            else:
                warning.pending_digest = message_digest(warning.pending, self.texts, self.urgency or "",
                                                        self.certainty or "", self.based_on or [])

        def summary(self) -> str:
            return N_("warning {warning_id} revised by {actor} at {time}", warning_id=self.warning_id,
                      actor=self.actor, time=clock_time(self.recorded_at))

    class Approved(Event):
        """The pending message approved by a second person, with a note of what was checked, if any, and the digest
        of the text approved (`message_digest`; None in approvals recorded before it was kept)."""

        class_version = 2

        msg_type: str
        note: str | None
        digest: str | None

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["digest"] = None

        def apply(self, warning: PublicWarning) -> None:
            warning.approved_by = self.actor

        def summary(self) -> str:
            return N_("warning {warning_id} approved by {actor} at {time}", warning_id=self.warning_id,
                      actor=self.actor, time=clock_time(self.recorded_at))

    class Issued(Event):
        """The approved message issued to the public: its CAP identifier, sent time and status, the messages it
        references, and the crisis's category, severity and areas as they stood when it was sent."""

        number: int
        identifier: str
        sender: str
        msg_type: str
        cap_status: str
        sent: datetime
        references: list[str]
        note: str | None
        category: str
        severity: int
        areas: list[str]

        def apply(self, warning: PublicWarning) -> None:
            warning.issued.append(IssuedMessage(self.number, self.identifier, self.msg_type, self.sent))
            warning.status = CANCELLED if self.msg_type == CANCEL else IN_FORCE
            warning.pending, warning.author, warning.approved_by = None, None, None
            warning.writers = []

        def summary(self) -> str:
            return N_("warning {warning_id} issued ({msg_type}) by {actor} at {time}", warning_id=self.warning_id,
                      msg_type=self.msg_type, actor=self.actor, time=clock_time(self.sent))

    # --- commands ------------------------------------------------------------------------------------

    @classmethod
    def draft(
        cls,
        *,
        warning_id: str,
        crisis_id: str,
        texts: Texts,
        urgency: str,
        certainty: str,
        based_on: list[str] | None = None,
        actor: str,
        now: datetime,
    ) -> PublicWarning:
        """Draft the first message (the crisis is open and PUBLIC, and the decisions it is based on too: the
        use case checks them on the crisis)."""
        required_text(warning_id, "the warning id")
        check_scales(urgency, certainty)
        return cls._create(
            cls.Drafted, id=cls.id_for(warning_id), warning_id=warning_id, crisis_id=crisis_id,
            texts=check_texts(texts), urgency=urgency, certainty=certainty, based_on=list(based_on or []),
            actor=actor, recorded_at=now,
        )

    def draft_update(
        self, *, texts: Texts, urgency: str, certainty: str, based_on: list[str] | None = None, actor: str,
        now: datetime,
    ) -> None:
        self._check_nothing_pending(N_("an update"))
        self._check_in_force(N_("updated"))
        check_scales(urgency, certainty)
        self.trigger_event(self.UpdateDrafted, crisis_id=self.crisis_id, texts=check_texts(texts), urgency=urgency,
                           certainty=certainty, based_on=list(based_on or []), actor=actor, recorded_at=now)

    def draft_cancellation(self, *, texts: Texts, actor: str, now: datetime) -> None:
        self._check_nothing_pending(N_("a cancellation"))
        self._check_in_force(N_("cancelled"))
        self.trigger_event(self.CancellationDrafted, crisis_id=self.crisis_id, texts=check_texts(texts), actor=actor,
                           recorded_at=now)

    def revise(
        self, *, texts: Texts, urgency: str | None = None, certainty: str | None = None,
        based_on: list[str] | None = None, actor: str, now: datetime,
    ) -> None:
        """Rewrite the pending message; its approval, if any, lapses (the new text is approved afresh)."""
        pending = self._pending()
        if pending == CANCEL:
            if urgency is not None or certainty is not None or based_on:
                raise DomainError(Rule.INVALID_INPUT, "a cancellation has its texts only: no urgency, certainty "
                                  "or decisions")
        else:
            check_scales(urgency or "", certainty or "")
        self.trigger_event(self.Revised, crisis_id=self.crisis_id, texts=check_texts(texts), urgency=urgency,
                           certainty=certainty, based_on=None if pending == CANCEL else list(based_on or []),
                           actor=actor, recorded_at=now)

    def approve(self, *, digest: str | None = None, note: str | None = None, actor: str, now: datetime) -> None:
        """Approve the pending message: never by anyone who wrote its text, drafting or revising it (FOUR_EYES);
        when the approver names the `digest` of the text they read, only that text (TEXT_CHANGED otherwise: it was
        revised since). The approval records the digest of the text approved."""
        pending = self._pending()
        waiting = getattr(self, "pending_digest", None)  # None in a snapshot taken before digests were kept
        if digest is not None and waiting is not None and digest != waiting:
            raise DomainError(Rule.TEXT_CHANGED, "the {msg_type} of warning {warning_id} waiting now is not the text "
                              "you read (its digest is {waiting}): it was revised since; read it again",
                              {"msg_type": pending, "warning_id": self.warning_id, "waiting": waiting})
        if self.approved_by is not None:
            raise DomainError(Rule.INVALID_TRANSITION, "the {msg_type} of warning {warning_id} is already approved "
                              "by {approver}; issue it", {"msg_type": pending, "warning_id": self.warning_id,
                                                          "approver": self.approved_by})
        if actor in (getattr(self, "writers", None) or [self.author]):
            raise DomainError(Rule.FOUR_EYES, "{actor} wrote the text of this {msg_type} of warning {warning_id}; "
                              "another person approves it", {"actor": actor, "msg_type": pending,
                                                             "warning_id": self.warning_id})
        self.trigger_event(self.Approved, crisis_id=self.crisis_id, msg_type=pending, note=note, digest=waiting,
                           actor=actor, recorded_at=now)

    def issue(
        self, *, sender: str, category: str, severity: int, areas: list[str], note: str | None = None, actor: str,
        now: datetime, exercise: bool = False,
    ) -> None:
        """Issue the approved message (WARNING_NOT_APPROVED otherwise): it gets its own identifier and sent
        time (whole seconds, as CAP says them) and references every message issued before it; `note` says to
        its recipients why it is sent (CAP's note: what an update changes, why a warning is cancelled)."""
        pending = self._pending()
        if self.approved_by is None:
            raise DomainError(Rule.WARNING_NOT_APPROVED, "the {msg_type} of warning {warning_id} is not approved "
                              "yet; a second person approves it first", {"msg_type": pending,
                                                                         "warning_id": self.warning_id})
        number = len(self.issued) + 1
        self.trigger_event(
            self.Issued, crisis_id=self.crisis_id, number=number, identifier=f"{self.warning_id}.{number}",
            sender=sender, msg_type=pending, cap_status=message_status(exercise), sent=now.replace(microsecond=0),
            references=[m.identifier for m in self.issued], note=note, category=category, severity=severity,
            areas=list(areas), actor=actor, recorded_at=now,
        )

    # --- helpers -------------------------------------------------------------------------------------

    @property
    def in_force(self) -> bool:
        return self.status == IN_FORCE

    def _pending(self) -> str:
        if self.pending is None:
            raise DomainError(Rule.INVALID_TRANSITION, "warning {warning_id} has no message waiting to be issued; "
                              "draft an update or a cancellation", {"warning_id": self.warning_id})
        return self.pending

    def _check_nothing_pending(self, what: str) -> None:
        if self.pending is not None:
            raise DomainError(Rule.INVALID_TRANSITION, "warning {warning_id} has a {msg_type} waiting to be issued; "
                              "revise it rather than draft {what}", {"warning_id": self.warning_id,
                                                                     "msg_type": self.pending, "what": what})

    def _check_in_force(self, what: str) -> None:
        if self.status != IN_FORCE:
            last = self.issued[-1].sent if self.issued else None
            raise DomainError(Rule.INVALID_TRANSITION, "warning {warning_id} is not in force ({status} {since}); "
                              "only a warning in force is {what}", {"warning_id": self.warning_id,
                                                                    "status": self.status, "since": display(last) or "",
                                                                    "what": what})


@dataclass
class WarningMessage:
    """One message of a warning as readers are shown it: drafted (and revised), approved, issued."""

    msg_type: str
    texts: Texts
    urgency: str
    certainty: str
    based_on: list[str]
    drafted_by: str
    drafted_at: datetime
    revised_by: str | None = None
    revised_at: datetime | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    approval_note: str | None = None
    approved_digest: str | None = None
    number: int | None = None
    identifier: str | None = None
    sender: str | None = None
    cap_status: str | None = None
    sent: datetime | None = None
    issued_by: str | None = None
    note: str | None = None
    references: list[str] = field(default_factory=list)
    category: str | None = None
    severity: int | None = None
    areas: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """The digest of the text as it stands (`message_digest`): what its approver names."""
        return message_digest(self.msg_type, self.texts, self.urgency, self.certainty, self.based_on)


@dataclass
class WarningRecord(Folded):
    """A warning with all its messages, folded from its events in order: what GET /warnings/{id}, its CAP
    documents and the audit history show. The aggregate decides the rules; this is read."""

    warning_id: str = ""
    crisis_id: str = ""
    version: int = 0
    status: str = ""
    messages: list[WarningMessage] = field(default_factory=list)  # issued ones, then the pending one if any

    @property
    def issued(self) -> list[WarningMessage]:
        return [m for m in self.messages if m.sent is not None]

    @property
    def pending(self) -> WarningMessage | None:
        return self.messages[-1] if self.messages and self.messages[-1].sent is None else None

    def apply(self, e: Any) -> None:
        self.version = e.originator_version
        match type(e).__name__:
            case "Drafted" | "UpdateDrafted" | "CancellationDrafted":
                if type(e).__name__ == "Drafted":
                    self.warning_id, self.crisis_id, self.status = e.warning_id, e.crisis_id, DRAFTED
                cancel = e.msg_type == CANCEL
                self.messages.append(WarningMessage(
                    msg_type=e.msg_type, texts=e.texts,
                    urgency=CANCELLATION_URGENCY if cancel else e.urgency,
                    certainty=CANCELLATION_CERTAINTY if cancel else e.certainty,
                    based_on=[] if cancel else list(e.based_on), drafted_by=e.actor, drafted_at=e.recorded_at,
                ))
            case "Revised":
                message = self.messages[-1]
                message.texts, message.revised_by, message.revised_at = e.texts, e.actor, e.recorded_at
                message.approved_by = message.approved_at = message.approval_note = message.approved_digest = None
                if e.urgency is not None:
                    message.urgency, message.certainty, message.based_on = e.urgency, e.certainty, list(e.based_on)
            case "Approved":
                message = self.messages[-1]
                message.approved_by, message.approved_at, message.approval_note = e.actor, e.recorded_at, e.note
                message.approved_digest = e.digest
            case "Issued":
                message = self.messages[-1]
                message.number, message.identifier, message.cap_status = e.number, e.identifier, e.cap_status
                message.sender = e.sender
                message.sent, message.issued_by, message.references = e.sent, e.actor, list(e.references)
                message.note = e.note
                message.category, message.severity, message.areas = e.category, e.severity, list(e.areas)
                self.status = CANCELLED if e.msg_type == CANCEL else IN_FORCE
