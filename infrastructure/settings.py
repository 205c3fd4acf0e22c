"""Settings, validated once at start-up from the environment (VALMIUS_*) or a .env file."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.access import Role
from domain.shared import DEFAULT_UNITS, Policy, TimeRules, UnitRegistry
from infrastructure.logging import LogFormat
from infrastructure.oidc import GroupRule, OidcVerifier

DEFAULT_DATABASE_URL = "sqlite:///var/valmius.sqlite3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VALMIUS_", env_file=".env", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="sqlite:///path/to/file, postgresql://user:password@host:port/dbname, or memory://",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    max_request_bytes: int = Field(64 * 1024, description="larger request bodies are refused with 413")
    aggregate_cache_size: int = 5000
    postgres_pool_size: int = 10
    max_clock_skew_seconds: int = 120
    late_entry_minutes: int = 15
    police_answer_threshold_minutes: int = 30
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
        5000, description="keep a snapshot of the overview's read models every this many events (as-of reads)"
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
    oidc_issuer: str | None = Field(
        None, description="the city's OpenID Connect issuer URL; when set, JWT access tokens it signs are accepted"
    )
    oidc_audience: str | None = Field(None, description="the audience (resource) our access tokens are issued for")
    oidc_roles: list[GroupRule] = Field(
        [], description='JSON list of {"group", "role", "unit", "clearance"}: the first rule whose group a token '
        "carries gives its role",
    )
    oidc_groups_claim: str = "groups"
    oidc_user_claim: str = "preferred_username"
    oidc_key_refresh_seconds: float = Field(
        10.0, ge=0,
        description="a token signed with a key we do not hold fetches the issuer's keys again, at most this often",
    )
    oidc_client_id: str = Field("valmius", description="the dashboard's public client at the issuer (code + PKCE)")
    log_format: LogFormat = Field("text", description="`text` for a terminal, `json` (one object a line) for a collector")
    metrics_public: bool = Field(
        False, description="serve /metrics to anyone who reaches it (a scraper on a private network); otherwise "
        "to an admin's or an auditor's bearer token only",
    )

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if not self.database_url.startswith(("sqlite:///", "postgresql://", "postgres://", "memory://")):
            raise ValueError("VALMIUS_DATABASE_URL must start with sqlite:///, postgresql:// or memory://")
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
        )
