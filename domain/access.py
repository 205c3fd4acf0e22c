"""Who does what (DOMAIN.md, "Who does what"): roles, the acting user, PERMISSIONS (use case -> roles, with the
words of the refusal) and the rules that refuse a role."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.shared import DomainError, N_, Rule


class Role(StrEnum):
    DUTY_OFFICER = "duty_officer"
    PREPAREDNESS_MANAGER = "preparedness_manager"
    DIVISION_CONTACT = "division_contact"
    POLICE_COORDINATOR = "police_coordinator"
    LEADERSHIP = "leadership"
    AUDITOR = "auditor"
    ADMIN = "admin"


ROLE_WORDS = {
    Role.DUTY_OFFICER: N_("duty officers"),
    Role.PREPAREDNESS_MANAGER: N_("preparedness managers"),
    Role.DIVISION_CONTACT: N_("division contacts"),
    Role.POLICE_COORDINATOR: N_("police coordinators"),
    Role.LEADERSHIP: N_("leadership readers"),
    Role.AUDITOR: N_("auditors"),
    Role.ADMIN: N_("admins"),
}

RUNS_CRISES = frozenset({Role.DUTY_OFFICER, Role.PREPAREDNESS_MANAGER})
READS_CRISES = frozenset(Role) - {Role.ADMIN}


@dataclass(frozen=True)
class Actor:
    """The authenticated user behind a command or a read."""

    user: str
    role: Role
    unit: str | None = None
    clearance: bool = False

    @property
    def is_read_only(self) -> bool:
        return self.role in {Role.LEADERSHIP, Role.AUDITOR, Role.ADMIN}


def refuse(actor: Actor, what: str, hint: str = "") -> DomainError:
    said = {"who": ROLE_WORDS[actor.role], "what": N_(what), "hint": N_(hint)}
    if actor.is_read_only and actor.role is not Role.ADMIN:
        template = N_("{who} are read-only; {hint}") if hint else N_("{who} are read-only; {what} is not theirs to do")
    else:
        template = N_("{who} may not {what}; {hint}") if hint else N_("{who} may not {what}")
    return DomainError(Rule.FORBIDDEN_ROLE, template, said, role=str(actor.role))


def require_role(actor: Actor, roles: frozenset[Role] | set[Role], what: str, hint: str = "") -> None:
    if actor.role not in roles:
        raise refuse(actor, what, hint)


def require_own_unit(actor: Actor, unit: str, what: str) -> None:
    """Division contacts act for their own unit only; the preparedness manager for any."""
    if actor.role is Role.PREPAREDNESS_MANAGER:
        return
    if actor.role is Role.DIVISION_CONTACT and actor.unit == unit:
        return
    if actor.role is Role.DIVISION_CONTACT:
        raise DomainError(
            Rule.FORBIDDEN_ROLE,
            "the division contact of {actor_unit} may not {what} for {unit}", {"actor_unit": actor.unit, "what": N_(what), "unit": unit},
            role=str(actor.role),
        )
    raise refuse(actor, what, N_("this is done by the unit's division contact or the preparedness manager"))


def role_hint(actor: Actor) -> str:
    """Who does instead what this actor may not."""
    if actor.role is Role.LEADERSHIP:
        return N_("decisions are recorded by a duty officer for the competent decision-maker")
    if actor.role is Role.AUDITOR:
        return N_("auditors read and verify; they write nothing")
    if actor.role is Role.ADMIN:
        return N_("admins manage users and tokens only")
    return N_("this is done by a duty officer or the preparedness manager")


def require_writer(actor: Actor, what: str) -> None:
    """Read-only roles are refused before anything else is looked at."""
    if actor.is_read_only:
        raise refuse(actor, what, role_hint(actor))


def require_auditor(actor: Actor, what: str) -> None:
    """History, refused attempts, disclosures, verification and exports are the auditors'."""
    if actor.role is not Role.AUDITOR:
        raise DomainError(
            Rule.FORBIDDEN_ROLE, "{role_words} may not {what}; that is for auditors", {"role_words": ROLE_WORDS[actor.role], "what": N_(what)}, role=str(actor.role)
        )


WRITERS = frozenset(Role) - {Role.LEADERSHIP, Role.AUDITOR, Role.ADMIN}
AUDITORS = frozenset({Role.AUDITOR})
UNIT_KEEPERS = frozenset({Role.DIVISION_CONTACT, Role.PREPAREDNESS_MANAGER})
ADMIN_HINT = N_("admins manage users and tokens only")
POLICE_HINT = N_("this is the police coordinator's")
PRINTS = RUNS_CRISES | {Role.LEADERSHIP, Role.AUDITOR}  # who reads incident summaries and activity logs


@dataclass(frozen=True)
class Permission:
    """Who may do one use case, and the words a refusal uses: `what` the actor may not do, and `hint`, who does
    it instead (without one, `role_hint` tells). `own_unit`: division contacts act for their own unit only."""

    roles: frozenset[Role]
    what: str
    hint: str | None = None
    own_unit: bool = False

    def check(self, actor: Actor, unit: str | None = None) -> None:
        if self.own_unit:
            assert unit is not None, "a unit's use case names the unit"
            require_own_unit(actor, unit, self.what)
        elif self.roles == AUDITORS:
            require_auditor(actor, self.what)
        elif actor.role not in self.roles:
            raise refuse(actor, self.what, role_hint(actor) if self.hint is None else self.hint)


def _runs_crises(what: str, *also: Role) -> Permission:
    return Permission(RUNS_CRISES | set(also), what)


def _unit(what: str) -> Permission:
    return Permission(UNIT_KEEPERS, what, own_unit=True)


def _police(what: str) -> Permission:
    return Permission(frozenset({Role.POLICE_COORDINATOR}), what, POLICE_HINT)


def _auditors(what: str) -> Permission:
    return Permission(AUDITORS, what)


PERMISSIONS: dict[str, Permission] = {
    # crisis (some refusals name the use case itself: their wording is kept as it was)
    "declare_crisis": _runs_crises("declare a crisis"),
    "change_severity": _runs_crises("change_severity"),
    "change_condition": _runs_crises("change_condition"),
    "contain_crisis": _runs_crises("contain_crisis"),
    "reopen_crisis": _runs_crises("reopen_crisis"),
    "resolve_crisis": _runs_crises("resolve_crisis"),
    "close_crisis": _runs_crises("close_crisis"),
    "record_log_entry": _runs_crises("record crisis log entries", Role.DIVISION_CONTACT),
    "strike_log_entry": _runs_crises("strike_log_entry"),
    "assign_action": _runs_crises("assign_action"),
    "complete_action": _runs_crises("complete actions", Role.DIVISION_CONTACT),
    "cancel_action": _runs_crises("cancel actions"),
    "issue_situation_report": _runs_crises("issue_situation_report"),
    "record_decision": _runs_crises("record decisions"),
    "supersede_decision": _runs_crises("record decisions"),
    "record_decision_review": _runs_crises("record_decision_review"),
    "record_after_action_review": Permission(
        frozenset({Role.PREPAREDNESS_MANAGER}), "record after-action reviews"
    ),
    # records never changed: the role is refused before the record is looked at
    "change_decision": _runs_crises("write decisions"),
    "change_log_entry": _runs_crises("write crisis log entries", Role.DIVISION_CONTACT),
    "change_situation_report": _runs_crises("write situation reports"),
    # division preparedness
    "change_readiness": _unit("change readiness"),
    "draft_continuity_plan": _unit("keep continuity plans"),
    "approve_continuity_plan": _unit("keep continuity plans"),
    "record_plan_review": _unit("keep continuity plans"),
    "record_exercise": _unit("keep continuity plans"),
    "activate_continuity_plan": _unit("activate continuity plans"),
    "deactivate_continuity_plan": _unit("deactivate continuity plans"),
    # police liaison
    "open_police_liaison": _police("open police liaison matters"),
    "change_liaison_people": _police("keep police requests"),
    "raise_police_request": _police("keep police requests"),
    "answer_police_request": _police("keep police requests"),
    "decline_police_request": _police("keep police requests"),
    "withdraw_police_request": _police("keep police requests"),
    "record_information_shared": _police("keep police requests"),
    # emergency conditions
    "record_emergency_conditions": Permission(
        frozenset({Role.PREPAREDNESS_MANAGER}), "record emergency conditions", N_("the preparedness manager records them")
    ),
    # any write at all: read-only roles are refused before the body is looked at
    "write": Permission(WRITERS, "record anything"),
    # reads of crisis content
    "get_crisis": Permission(READS_CRISES, "read crisis content", ADMIN_HINT),
    "get_division_preparedness": Permission(READS_CRISES, "read preparedness", ADMIN_HINT),
    "get_police_liaison": Permission(READS_CRISES, "read police liaison", ADMIN_HINT),
    "get_emergency_conditions": Permission(READS_CRISES, "read emergency conditions", ""),
    "read_situation_picture": Permission(READS_CRISES, "read the situation picture"),
    # the auditors' reads
    "read_audit_trail": _auditors("read the audit trail"),
    "list_refusals": _auditors("read refused attempts"),
    "list_disclosures": _auditors("read who saw what"),
    "list_events": _auditors("read the event log"),
    "get_crisis_at": _auditors("read a crisis as it was"),
    "get_division_preparedness_at": _auditors("read a unit's preparedness as it was"),
    "get_police_liaison_at": _auditors("read a police liaison as it was"),
    "get_situation_overview_at": _auditors("read the situation overview as it was known"),
    "get_readiness_board_at": _auditors("read the readiness board as it was known"),
    "get_police_liaison_board_at": _auditors("read the police liaison board as it was known"),
    "get_crisis_timeline_at": _auditors("read a crisis timeline as it was known"),
    "get_decision_log_at": _auditors("read a decision log as it was known"),
    "get_verdict": _auditors("verify the event log"),
    "verify_checkpoint": _auditors("verify the event log"),
    "list_checkpoints": _auditors("read the signed checkpoints"),
    "get_checkpoint": _auditors("read the signed checkpoints"),
    "export_crisis": _auditors("export a crisis for an inquiry"),
    # positions: sign on and off, prepare and accept handover briefs (which role holds which position: domain.position)
    "hold_position": Permission(RUNS_CRISES | {Role.POLICE_COORDINATOR}, "hold a position"),
    "get_positions_at": _auditors("read who held which position"),
    # printable documents: incident status summaries and activity logs (a division contact: their own unit's log)
    "get_incident_summary": Permission(PRINTS, "read incident status summaries"),
    "get_crisis_activity_log": Permission(PRINTS | {Role.DIVISION_CONTACT}, "read activity logs"),
    "get_unit_activity_log": Permission(PRINTS | {Role.DIVISION_CONTACT}, "read activity logs"),
    "get_person_activity_log": Permission(PRINTS, "read activity logs"),
    # structured situation reports (domain/situation_report.py)
    "draft_situation_report": _runs_crises("draft situation reports"),
    "contribute_situation_report": _runs_crises("contribute to situation reports", Role.DIVISION_CONTACT),
    "issue_drafted_situation_report": _runs_crises("issue situation reports"),
    # districts
    "change_areas": _runs_crises("change the affected areas"),
    "list_districts": Permission(READS_CRISES, "read the district registry", ADMIN_HINT),
    # after-action reviews (domain.after_action_review): a division contact completes its own unit's items only
    "draft_after_action_review": Permission(frozenset({Role.PREPAREDNESS_MANAGER}), "record after-action reviews"),
    "revise_after_action_review": Permission(frozenset({Role.PREPAREDNESS_MANAGER}), "record after-action reviews"),
    "comment_after_action_review": _runs_crises("comment on after-action reviews", Role.DIVISION_CONTACT),
    "add_improvement_item": Permission(frozenset({Role.PREPAREDNESS_MANAGER}), "record after-action reviews"),
    "finalise_after_action_review": Permission(frozenset({Role.PREPAREDNESS_MANAGER}), "record after-action reviews"),
    "complete_improvement_item": Permission(UNIT_KEEPERS, "complete improvement items"),
    "drop_improvement_item": Permission(frozenset({Role.PREPAREDNESS_MANAGER}), "drop improvement items"),
    "set_plan_review_from_item": Permission(UNIT_KEEPERS, "keep continuity plans"),
    "get_after_action_review": Permission(READS_CRISES, "read crisis content", ADMIN_HINT),
    "get_after_action_review_at": _auditors("read an after-action review as it was"),
    # received CAP alerts: taken, linked to crises and unlinked by those who run crises; read like crises
    "take_received_alert": _runs_crises("take in received alerts"),
    "link_received_alert": _runs_crises("link received alerts to crises"),
    "unlink_received_alert": _runs_crises("link received alerts to crises"),
    "get_received_alert": Permission(READS_CRISES, "read received alerts", ADMIN_HINT),
    "list_received_alerts": Permission(READS_CRISES, "read received alerts", ADMIN_HINT),
    # public warnings: drafted and approved (by another person) by duty officers and the preparedness manager
    "draft_public_warning": _runs_crises("draft public warnings"),
    "revise_public_warning": _runs_crises("draft public warnings"),
    "draft_public_warning_update": _runs_crises("draft public warnings"),
    "draft_public_warning_cancellation": _runs_crises("draft public warnings"),
    "approve_public_warning": _runs_crises("approve public warnings"),
    "issue_public_warning": _runs_crises("issue public warnings"),
    "get_public_warning": Permission(READS_CRISES, "read public warnings", ADMIN_HINT),
    "list_public_warnings": Permission(READS_CRISES, "read public warnings", ADMIN_HINT),
    "get_public_warning_cap": Permission(READS_CRISES, "read public warnings", ADMIN_HINT),
    "get_public_warnings_feed": Permission(READS_CRISES, "read public warnings", ADMIN_HINT),
    # reminders (domain.reminder): recorded by the reminder process (`valmius remind`, acting as a duty officer),
    # acknowledged by their recipients (the rule of who is one: Reminder.is_recipient)
    "send_reminders": _runs_crises("send reminders"),
    "acknowledge_reminder": _runs_crises("acknowledge reminders", Role.DIVISION_CONTACT, Role.POLICE_COORDINATOR),
    "list_reminders": Permission(READS_CRISES, "read reminders", ADMIN_HINT),
    "get_reminders_at": _auditors("read who had been told of what"),
}


def authorise(actor: Actor, use_case: str, unit: str | None = None) -> None:
    """Refuse `actor` (FORBIDDEN_ROLE) unless PERMISSIONS lets their role do `use_case` (for `unit`)."""
    PERMISSIONS[use_case].check(actor, unit)
