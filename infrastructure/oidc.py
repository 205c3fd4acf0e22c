"""Access tokens from the city's OpenID Connect provider: verified here, mapped to an Actor by configured rules.

The issuer's discovery document names its key set (JWKS); both are fetched on the first token and the keys
kept. A token signed with a key id we do not hold makes us fetch the key set again (the provider rotated its
keys), at most once every `refresh_seconds`, so a flood of tokens with made-up key ids costs one fetch. The
signature (pyjwt; RS/PS/ES/EdDSA only: never "none", never an HMAC keyed with a public key), the issuer, the
audience, the expiry and not-before (with a small leeway for clocks) are checked; then the token's groups are
matched against the rules, in order: the first rule whose group the token carries gives the role, the unit and
the clearance. A token none of whose groups is in a rule is refused, naming the setting that holds the rules.

A provider out of reach (its discovery document or key set cannot be fetched) refuses no token: it is
IDENTITY_PROVIDER_UNAVAILABLE (503, with Retry-After), not UNAUTHENTICATED, and is not counted as a bad token;
until the key set is fetched again (at most every `refresh_seconds`), a key id we do not hold is answered so too.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt

from domain.access import Actor, Role
from domain.shared import DomainError, Rule

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
FETCH_TIMEOUT_SECONDS = 5.0
RETRY_AFTER_SECONDS = 5


def looks_like_jwt(token: str) -> bool:
    """Three dot-separated parts: a JWT, for the issuer; anything else is one of our own tokens."""
    return token.count(".") == 2 and all(token.split("."))


@dataclass(frozen=True)
class GroupRule:
    """`group` carried by a token makes its bearer a `role`, of `unit` (division contacts), with `clearance`."""

    group: str
    role: Role
    unit: str | None = None
    clearance: bool = False


@dataclass(frozen=True)
class Verified:
    actor: Actor
    expires_at: float  # seconds since the epoch


class OidcVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str,
        rules: list[GroupRule],
        *,
        client_id: str | None = None,
        user_claim: str = "preferred_username",
        groups_claim: str = "groups",
        leeway_seconds: float = 30.0,
        refresh_seconds: float = 10.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.client_id = client_id  # the public client the dashboard signs in as (code flow with PKCE)
        self.rules = rules
        self.user_claim = user_claim
        self.groups_claim = groups_claim
        self.leeway_seconds = leeway_seconds
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._discovery: dict[str, Any] | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._unreachable: DomainError | None = None  # why the last fetch of the key set failed, while it is not retried

    @property
    def origin(self) -> str:
        """Where the issuer answers: the page may connect there (discovery, token endpoint)."""
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"

    def sign_in(self) -> dict[str, str | None]:
        """What the dashboard needs to sign in: the issuer, its client at the issuer, and our audience."""
        return {"issuer": self.issuer, "client_id": self.client_id, "audience": self.audience}

    def discovery(self) -> dict[str, Any]:
        """The issuer's discovery document (fetched once); its `issuer` must be the one configured."""
        if self._discovery is None:
            document = _fetch_json(f"{self.issuer}/.well-known/openid-configuration")
            if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                raise DomainError(
                    Rule.UNAUTHENTICATED, "the discovery document of {issuer} names another issuer", {"issuer": self.issuer}
                )
            self._discovery = document
        return self._discovery

    def verify(self, token: str) -> Verified:
        """The actor behind an access token, and when the token expires; DomainError(UNAUTHENTICATED) saying
        why it is refused otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise _refused("this is not a readable JWT ({error})", {"error": error}) from None
        if header.get("alg") not in ALGORITHMS:
            raise _refused("tokens signed with {alg!r} are not accepted", {"alg": header.get("alg")})
        key = self._key(str(header.get("kid", "")))
        try:
            claims = jwt.decode(
                token, key=key, algorithms=ALGORITHMS, audience=self.audience, issuer=self.discovery()["issuer"],
                leeway=self.leeway_seconds, options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise _refused("this token has expired; sign in again") from None
        except jwt.ImmatureSignatureError:
            raise _refused("this token is not valid yet (nbf or iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise _refused("this token is for another audience, not {audience}", {"audience": self.audience}) from None
        except jwt.InvalidIssuerError:
            raise _refused("this token was not issued by {issuer}", {"issuer": self.issuer}) from None
        except jwt.InvalidTokenError as error:
            raise _refused("this token is not valid: {error}", {"error": error}) from None
        return Verified(self._actor(claims), float(claims["exp"]))

    def _actor(self, claims: dict[str, Any]) -> Actor:
        user = claims.get(self.user_claim) or claims.get("sub")
        if not user:
            raise _refused("this token names no user ({user_claim} or sub)", {"user_claim": self.user_claim})
        groups = claims.get(self.groups_claim) or []
        groups = [groups] if isinstance(groups, str) else list(groups)
        for rule in self.rules:
            if rule.group in groups:
                return Actor(user=str(user), role=rule.role, unit=rule.unit, clearance=rule.clearance)
        raise _refused(
            "none of the groups of {user} ({groups}) maps to a Valmius role in VALMIUS_OIDC_ROLES",
            {"user": user, "groups": ", ".join(map(str, groups)) or "none"},
        )

    def _key(self, kid: str) -> jwt.PyJWK:
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            key = self._keys.get(kid)
            if key is None and time.monotonic() - self._fetched_at >= self.refresh_seconds:
                self._fetched_at = time.monotonic()
                try:
                    key_set = jwt.PyJWKSet.from_dict(_fetch_json(self.discovery()["jwks_uri"]))
                except DomainError as error:
                    self._unreachable = error
                    raise
                self._unreachable = None
                self._keys = {str(k.key_id or ""): k for k in key_set.keys}
                key = self._keys.get(kid)
            if key is None and self._unreachable is not None:
                raise _unavailable(self._unreachable.template, self._unreachable.params)
        if key is None:
            raise _refused("this token is signed with a key ({kid}) {issuer} does not publish", {"kid": kid or "no key id", "issuer": self.issuer})
        return key


def _refused(why: str, params: dict[str, object] | None = None) -> DomainError:
    return DomainError(Rule.UNAUTHENTICATED, why, params)


def _unavailable(why: str, params: dict[str, object] | None = None) -> DomainError:
    return DomainError(Rule.IDENTITY_PROVIDER_UNAVAILABLE, why, params, retry_after=RETRY_AFTER_SECONDS)


def _fetch_json(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as answer:  # noqa: S310 - configured
            return json.loads(answer.read())
    except (OSError, ValueError) as error:
        raise _unavailable(
            "the identity provider could not be reached ({error}); your token was not judged: send the request "
            "again after Retry-After seconds", {"error": error},
        ) from None
