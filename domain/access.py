"""Who does what (DOMAIN.md, "Who does what"): roles, the acting user, and the rule that refuses a role."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.shared import DomainError, Rule


class Role(StrEnum):
    DUTY_OFFICER = "duty_officer"
    PREPAREDNESS_MANAGER = "preparedness_manager"
    DIVISION_CONTACT = "division_contact"
    POLICE_COORDINATOR = "police_coordinator"
    LEADERSHIP = "leadership"
    AUDITOR = "auditor"
    ADMIN = "admin"


ROLE_WORDS = {
    Role.DUTY_OFFICER: "duty officers",
    Role.PREPAREDNESS_MANAGER: "preparedness managers",
    Role.DIVISION_CONTACT: "division contacts",
    Role.POLICE_COORDINATOR: "police coordinators",
    Role.LEADERSHIP: "leadership readers",
    Role.AUDITOR: "auditors",
    Role.ADMIN: "admins",
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
    who = ROLE_WORDS[actor.role]
    if actor.is_read_only and actor.role is not Role.ADMIN:
        sentence = f"{who} are read-only; {hint or what + ' is not theirs to do'}"
    else:
        sentence = f"{who} may not {what}" + (f"; {hint}" if hint else "")
    return DomainError(Rule.FORBIDDEN_ROLE, sentence, role=str(actor.role))


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
            f"the division contact of {actor.unit} may not {what} for {unit}",
            role=str(actor.role),
        )
    raise refuse(actor, what, "this is done by the unit's division contact or the preparedness manager")


def role_hint(actor: Actor) -> str:
    """Who does instead what this actor may not."""
    if actor.role is Role.LEADERSHIP:
        return "decisions are recorded by a duty officer for the competent decision-maker"
    if actor.role is Role.AUDITOR:
        return "auditors read and verify; they write nothing"
    if actor.role is Role.ADMIN:
        return "admins manage users and tokens only"
    return "this is done by a duty officer or the preparedness manager"


def require_writer(actor: Actor, what: str) -> None:
    """Read-only roles are refused before anything else is looked at."""
    if actor.is_read_only:
        raise refuse(actor, what, role_hint(actor))


def require_auditor(actor: Actor, what: str) -> None:
    """History, refused attempts, disclosures, verification and exports are the auditors'."""
    if actor.role is not Role.AUDITOR:
        raise DomainError(
            Rule.FORBIDDEN_ROLE, f"{ROLE_WORDS[actor.role]} may not {what}; that is for auditors", role=str(actor.role)
        )
