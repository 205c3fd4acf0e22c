"""A real OpenID Connect provider for tests: `oidc-provider` from the npm registry, run by provider.js with Node.

`running_provider` installs the pinned package (`npm ci`) if node_modules is missing, starts `node provider.js`
on a port, waits for it to answer, and stops it after. Its signing keys are made here (so a test can also sign
a token the provider would never issue: expired, not yet valid); `restart` starts it again with other keys
(a rotation). Node and npm are on these machines: without them the tests fail, saying so.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.live import free_port

HERE = Path(__file__).resolve().parent
AUDIENCE = "https://valmius.test"
USERS = {  # the provider's people, and their groups
    "virtanen": ["valmius-duty-officers", "staff"],
    "lindqvist": ["valmius-leadership", "staff"],
    "korhonen": ["staff"],
}
SERVICE_ACCOUNTS = {"sirens-script": ["valmius-duty-officers"], "canteen-script": ["staff"]}
ROLES = [  # VALMIUS_OIDC_ROLES for those groups
    {"group": "valmius-duty-officers", "role": "duty_officer", "clearance": True},
    {"group": "valmius-leadership", "role": "leadership"},
    {"group": "valmius-rescue", "role": "division_contact", "unit": "PELA"},
]


def signing_key(kid: str) -> dict[str, Any]:
    """A fresh RSA key as a private JWK named `kid`."""
    key = RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048), as_dict=True)
    return {**{k: v for k, v in key.items() if k != "key_ops"}, "kid": kid, "alg": "RS256", "use": "sig"}


def sign(claims: dict[str, Any], key: dict[str, Any]) -> str:
    """A JWT access token with these claims, signed with `key` as the provider signs (RS256, at+jwt)."""
    private = RSAAlgorithm.from_jwk(json.dumps(key))
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": key["kid"], "typ": "at+jwt"})


@dataclass
class Provider:
    port: int
    workdir: Path
    redirect_uris: list[str]
    keys: list[dict[str, Any]] = field(default_factory=lambda: [signing_key("first")])
    process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self) -> dict[str, Any]:
        """The VALMIUS_OIDC_* settings of a service that accepts this provider's tokens."""
        return {"oidc_issuer": self.issuer, "oidc_audience": AUDIENCE, "oidc_roles": ROLES,
                "oidc_client_id": "valmius-dashboard"}

    def start(self) -> None:
        config = self.workdir / "provider.json"
        config.write_text(json.dumps({
            "port": self.port, "audience": AUDIENCE, "keys": self.keys, "redirect_uris": self.redirect_uris,
            "users": USERS,
            "service_accounts": [{"client_id": c, "groups": g} for c, g in SERVICE_ACCOUNTS.items()],
        }))
        log = (self.workdir / "provider.log").open("ab")
        self.process = subprocess.Popen(["node", str(HERE / "provider.js"), str(config)], cwd=HERE, stdout=log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                log_text = (self.workdir / "provider.log").read_text()
                raise AssertionError(f"the OpenID provider did not start: {log_text}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self, keys: list[dict[str, Any]]) -> None:
        """The provider again on the same port, now signing with the first of `keys` (a key rotation)."""
        self.stop()
        self.keys = keys
        self.start()

    def client_credentials(self, client_id: str, resource: str = AUDIENCE) -> str:
        """An access token for a service account (a client of the provider), for `resource`."""
        answer = httpx.post(
            f"{self.issuer}/token", auth=(client_id, "secret"),
            data={"grant_type": "client_credentials", "resource": resource, "scope": "valmius"},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]


def install() -> None:
    """The pinned oidc-provider, from package-lock.json, unless it is installed already."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise AssertionError(f"{tool} is needed to run the test OpenID provider (Node.js 20: apt install npm)")
    with open(HERE / ".install.lock", "w") as lock:  # the suite's parallel workers install it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (HERE / "node_modules" / "oidc-provider").is_dir():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)


@contextmanager
def running_provider(workdir: Path, redirect_uris: list[str] = (), port: int | None = None) -> Iterator[Provider]:
    install()
    provider = Provider(port or free_port(), workdir, list(redirect_uris))
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()
