"""Settings, validated once at start-up from the environment (VALMIUS_*) or the project's .env file.

Where the store is does not depend on the folder a command runs in: the default SQLite file, a relative
`sqlite:///` path and the `.env` file are all found in the project folder (the checkout `make run` runs in;
for an installed package without one, the user's data folder, `$XDG_DATA_HOME/valmius`). So `valmius serve`
and `valmius token issue`, run from anywhere, work on the same store.

Every value is checked here, so that a bad one stops a command with one line naming its variable
(`setting_problem`) rather than with a traceback later.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from application.audit.checkpoints import Signer
from application.reminder import Contacts
from domain.access import Role
from domain.districts import DistrictRegistry, default_districts
from domain.reminder import Ladder
from domain.shared import DEFAULT_SITREP_RHYTHM, DEFAULT_UNITS, DomainError, Policy, TimeRules, UnitRegistry
from infrastructure.logging import LogFormat
from infrastructure.oidc import GroupRule, OidcVerifier
from infrastructure.reminder_channels import SmtpChannel

ENV_PREFIX = "VALMIUS_"
SECRET_SETTINGS = {"signing_key", "database_url", "webhook_secret", "smtp_url"}  # never echoed back: a key, a password in a URL


def project_folder() -> Path:
    """The checkout this code runs from (it holds pyproject.toml), else the user's data folder."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        return checkout
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "valmius"


PROJECT = project_folder()
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT / 'var' / 'valmius.sqlite3'}"


def project_file(path: Path | None, read: Callable[[Path], object], holding: str) -> Path | None:
    """A file setting: a relative path names a file in the project folder too, and `read` must take what it
    holds (else the setting is refused, saying what the file should hold and why it does not)."""
    if path is None:
        return None
    path = path if path.is_absolute() else PROJECT / path
    try:
        read(path)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:  # (a list where an object belongs)
        raise ValueError(f"not a readable JSON file of {holding} ({type(error).__name__}: {error})") from None
    return path


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=PROJECT / ".env", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="sqlite:///path/to/file (a relative path is in the project folder), "
        "postgresql://user:password@host:port/dbname, or memory://",
    )
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8000, ge=1, le=65535)
    max_request_bytes: int = Field(64 * 1024, ge=1, description="larger request bodies are refused with 413")
    aggregate_cache_size: int = Field(5000, ge=0)
    postgres_pool_size: int = Field(10, ge=1)
    max_clock_skew_seconds: int = Field(120, ge=0)
    late_entry_minutes: int = Field(15, ge=0)
    police_answer_threshold_minutes: int = Field(30, ge=1)
    sitrep_rhythm: dict[str, str] = Field(
        {str(severity): f"{int(every.total_seconds()) // 3600}h" for severity, every in DEFAULT_SITREP_RHYTHM},
        description='JSON of severity -> how often a situation report is due, e.g. {"3": "4h", "4": "90m"} (d, h, '
        "m); a severity not listed has no rhythm",
    )
    embedded_projections: bool | None = Field(
        None,
        description="follow the log into the read models inside the service process; by default on for SQLite "
        "and memory, off for PostgreSQL (run `valmius project` as the one worker instead)",
    )
    signing_key: str | None = Field(
        None,
        description="hex of a 32-byte Ed25519 private key that signs audit checkpoints "
        "(`valmius audit keygen` makes one); required to sign, not to verify",
    )
    ready_max_lag_events: int = Field(
        1000,
        ge=0,
        description="/health/ready answers 503 while a read model is more than this many events behind the log's head",
    )
    history_snapshot_every: int = Field(
        5000, ge=1, description="keep a snapshot of the overview's read models every this many events (as-of reads)"
    )
    failed_authentications_per_minute: int = Field(
        20, ge=1, description="bad tokens one client address may present in a minute; beyond, 429 with Retry-After "
        "(counted in each service process)",
    )
    stream_token_check_seconds: float = Field(
        2.0, gt=0, le=5, description="how often an open overview stream's token is checked again (revocation)"
    )
    stream_refresh_seconds: float = Field(
        10.0, gt=0, description="how often an open overview stream's picture is sent again when no event came "
        "(overdue items and a stopped read model change with time alone)",
    )
    units_file: Path | None = Field(None, description="JSON with units, partners, retired and short_names")
    districts_file: Path | None = Field(
        None, description="JSON with the districts (code, name_fi, name_sv, outline, parent) a crisis's areas are "
        "checked against, in the form of domain/districts.json",
    )
    oidc_issuer: str | None = Field(
        None, description="the city's OpenID Connect issuer URL; when set, JWT access tokens it signs are accepted"
    )
    oidc_audience: str | None = Field(
        None, min_length=1, description="the audience (resource) our access tokens are issued for"
    )
    oidc_roles: list[GroupRule] = Field(
        [], description='JSON list of {"group", "role", "unit", "clearance"}: the first rule whose group a token '
        "carries gives its role",
    )
    oidc_groups_claim: str = Field("groups", min_length=1)
    oidc_user_claim: str = Field("preferred_username", min_length=1)
    oidc_key_refresh_seconds: float = Field(
        10.0, ge=0,
        description="a token signed with a key we do not hold fetches the issuer's keys again, at most this often",
    )
    oidc_client_id: str = Field(
        "valmius", min_length=1, description="the dashboard's public client at the issuer (code + PKCE)"
    )
    log_format: LogFormat = Field("text", description="`text` for a terminal, `json` (one object a line) for a collector")
    metrics_public: bool = Field(
        False, description="serve /metrics to anyone who reaches it (a scraper on a private network); otherwise "
        "to an admin's or an auditor's bearer token only",
    )
    cap_feeds: list[str] = Field(
        [], description='JSON list of the CAP feeds `valmius alerts follow` polls: URLs (a CAP document or an Atom '
        'feed of them) and folders of *.xml, e.g. ["https://alerts.fmi.fi/cap/feed/atom_fi-FI.xml"]',
    )
    cap_poll_seconds: float = Field(60.0, gt=0, le=86400, description="how often the CAP follower polls its feeds")
    cap_sender: str = Field(
        "valmius@localhost", min_length=1, max_length=200, pattern=r"^[^\s,<&]+$",
        description="the sender of our CAP 1.2 messages (public warnings): the city's identifier for CAP, "
        "unique among senders, no spaces, commas, < or &; recorded with each message issued",
    )
    reminder_ladder: str = Field(
        '{"before": "30m", "duty_officer": "15m", "manager": "30m", "repeat": "30m"}',
        description="JSON of when reminders are sent: before the deadline, to the duty officer and to the manager after "
        "it, and again to the manager every `repeat` until acknowledged (s, m, h, d)",
    )
    reminder_tick_seconds: float = Field(30.0, gt=0, le=3600, description="how often `valmius remind` looks for notices due")
    reminder_link_base: str = Field("http://127.0.0.1:8000", description="where a notice's link points (the API's base URL)")
    contacts_file: Path | None = Field(
        None, description='JSON of reminder addresses: {"people": {"DO-1": {"email": …, "webhook": …}}, "units": {"STARA": …}}'
    )
    smtp_url: str | None = Field(None, description="smtp://host:port (smtps:// for TLS; user:password@ for a login)")
    smtp_from: str = Field("valmius@localhost", min_length=3, description="the sender of reminder e-mail")
    webhook_secret: str | None = Field(None, min_length=16, description="the HMAC-SHA256 key reminder webhooks are signed with")

    @field_validator("database_url")
    @classmethod
    def _in_the_project(cls, url: str) -> str:
        """A relative SQLite path names a file in the project folder, wherever the command runs."""
        if not url.startswith(("sqlite:///", "postgresql://", "postgres://", "memory://")):
            raise ValueError("must start with sqlite:///, postgresql:// or memory://")
        path = url.removeprefix("sqlite:///")
        if url.startswith("sqlite:///") and not Path(path).is_absolute():
            return f"sqlite:///{PROJECT / path}"
        return url

    @field_validator("units_file")
    @classmethod
    def _readable_units(cls, path: Path | None) -> Path | None:
        return project_file(path, lambda found: UnitRegistry(**json.loads(found.read_text(encoding="utf-8"))),
                            "units, partners, retired and short_names")

    @field_validator("sitrep_rhythm")
    @classmethod
    def _rhythm(cls, rhythm: dict[str, str]) -> dict[str, str]:
        for severity, every in rhythm.items():
            if not severity.isdigit():
                raise ValueError(f"{severity!r} is not a severity (1, 2, 3, …)")
            rhythm_span(every)
        return rhythm
    @field_validator("reminder_ladder")
    @classmethod
    def _ladder(cls, text: str) -> str:
        try:
            Ladder.parse(text)
        except (ValueError, TypeError) as error:
            raise ValueError(f"not a reminder ladder: {error}") from None
        return text

    @field_validator("contacts_file")
    @classmethod
    def _readable_contacts(cls, path: Path | None) -> Path | None:
        return project_file(path, read_contacts, "people's and units' addresses")

    @field_validator("reminder_link_base")
    @classmethod
    def _link_base(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("the base URL of the links notices carry (http:// or https://)")
        return url

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, url: str | None) -> str | None:
        if url is not None:
            SmtpChannel(url, "valmius@localhost")
        return url

    @field_validator("districts_file")
    @classmethod
    def _readable_districts(cls, path: Path | None) -> Path | None:
        return project_file(path, DistrictRegistry.read, "districts")

    @field_validator("signing_key")
    @classmethod
    def _ed25519_key(cls, key: str | None) -> str | None:
        if key is not None:
            try:
                Signer(key)
            except DomainError as error:
                raise ValueError(error.message) from None
        return key

    @field_validator("oidc_issuer")
    @classmethod
    def _https_issuer(cls, issuer: str | None) -> str | None:
        if issuer is not None and not issuer.startswith(("https://", "http://")):
            raise ValueError("must be the issuer's URL, such as https://login.example.fi/realms/city")
        return issuer

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if self.environment == "production" and self.database_url.startswith("memory://"):
            raise ValueError("an in-memory store loses everything on restart; not allowed in production")
        if self.oidc_issuer and not (self.oidc_audience and self.oidc_roles):
            raise ValueError("VALMIUS_OIDC_ISSUER needs VALMIUS_OIDC_AUDIENCE and VALMIUS_OIDC_ROLES")
        for rule in self.oidc_roles:
            if (rule.role is Role.DIVISION_CONTACT) != bool(rule.unit):
                raise ValueError(f"VALMIUS_OIDC_ROLES, group {rule.group}: a unit is named for division contacts only")
        return self

    def oidc_verifier(self) -> OidcVerifier | None:
        if not self.oidc_issuer or not self.oidc_audience:
            return None
        return OidcVerifier(
            self.oidc_issuer, self.oidc_audience, self.oidc_roles, client_id=self.oidc_client_id,
            user_claim=self.oidc_user_claim,
            groups_claim=self.oidc_groups_claim, refresh_seconds=self.oidc_key_refresh_seconds,
        )

    @property
    def store(self) -> str:
        if self.database_url.startswith("sqlite:///"):
            return "sqlite"
        if self.database_url.startswith("memory://"):
            return "memory"
        return "postgres"

    @property
    def runs_embedded_projections(self) -> bool:
        return self.embedded_projections if self.embedded_projections is not None else self.store != "postgres"

    def policy(self) -> Policy:
        units: UnitRegistry = DEFAULT_UNITS
        if self.units_file is not None:
            units = UnitRegistry(**json.loads(self.units_file.read_text(encoding="utf-8")))
        return Policy(
            units=units,
            time=TimeRules(
                max_clock_skew=timedelta(seconds=self.max_clock_skew_seconds),
                late_entry_after=timedelta(minutes=self.late_entry_minutes),
            ),
            police_answer_threshold=timedelta(minutes=self.police_answer_threshold_minutes),
            sitrep_rhythm=tuple(sorted((int(severity), rhythm_span(every)) for severity, every in self.sitrep_rhythm.items())),
            districts=DistrictRegistry.read(self.districts_file) if self.districts_file else default_districts(),
            cap_sender=self.cap_sender,
        )


def read_contacts(path: Path) -> Contacts:
    """The contacts directory: {"people": {user: {"email": …, "webhook": …}}, "units": {unit: {…}}}."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or set(data) - {"people", "units"}:
        raise ValueError('an object with "people" and "units"')
    for group in ("people", "units"):
        for name, addresses in data.get(group, {}).items():
            if not isinstance(addresses, dict) or set(addresses) - {"email", "webhook"}:
                raise ValueError(f"{group}.{name}: an object with email and webhook")
            if "email" in addresses and "@" not in str(addresses["email"]):
                raise ValueError(f"{group}.{name}.email is no e-mail address")
            if "webhook" in addresses and not str(addresses["webhook"]).startswith(("http://", "https://")):
                raise ValueError(f"{group}.{name}.webhook is no http(s) URL")
    return Contacts(people=data.get("people", {}), units=data.get("units", {}))


def rhythm_span(text: str) -> timedelta:
    """`4h`, `90m` or `1d`: how often a situation report is due."""
    unit = {"d": "days", "h": "hours", "m": "minutes"}.get(text[-1:])
    if unit is None or not text[:-1].isdigit() or int(text[:-1]) < 1:
        raise ValueError(f"{text!r} is not a duration such as 4h, 90m or 1d")
    return timedelta(**{unit: int(text[:-1])})


def setting_problem(error: ValidationError | SettingsError) -> str:
    """One line naming the variable that is wrong and why, for a command to stop with."""
    if isinstance(error, SettingsError):  # a value that is not even JSON where JSON is expected
        field = next((name for name in Settings.model_fields if f'"{name}"' in str(error)), None)
        variable = f"{ENV_PREFIX}{field.upper()}" if field else "a VALMIUS_ setting"
        return f"{variable}: not valid JSON"
    problems = []
    for detail in error.errors():
        location = detail["loc"]
        message = detail["msg"].removeprefix("Value error, ")
        if not location:  # a rule over several settings names its variables itself
            problems.append(message)
            continue
        variable = f"{ENV_PREFIX}{str(location[0]).upper()}"
        given = detail.get("input")
        where = "".join(f"[{part}]" for part in location[1:])
        secret = location[0] in SECRET_SETTINGS
        shown = f" (given {given!r})" if isinstance(given, (str, int, float)) and not where and not secret else ""
        problems.append(f"{variable}{where}: {message}{shown}")
    return "; ".join(problems)
