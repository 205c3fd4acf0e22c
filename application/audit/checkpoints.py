"""Signed checkpoints of the audit chain: its digest at a position, signed with the service's Ed25519 key.

An attacker who can write to the database can rewrite events and chain together. Signed checkpoints catch
that: a digest at a position, signed with the service's Ed25519 key (`signing_key`), kept in
`valmius_checkpoints` and exportable as a small JSON document an auditor keeps outside the database. The
log verified against such a document must reproduce its digest; the signature, checked with the public key
in the document (or one the auditor pins), shows the document itself was not made up. Without the private
key nobody can sign a rewritten history.

Checkpoints are made by the service itself every CHECKPOINT_EVERY positions while it chains (the follower in
application.audit.chain, when a signing key is configured) and on demand by the operator (`valmius audit
checkpoint`, which verifies the whole log first and signs only a log that verifies). Auditors write nothing:
they list, export and verify.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from application.ports import Tx
from domain.shared import DomainError, Rule

CHECKPOINT_TABLE = "valmius_checkpoints"
FORMAT = "valmius-audit-checkpoint/1"
ALGORITHM = "Ed25519"
CHAIN_DESCRIPTION = (
    "digest(p) = sha256(digest(previous) || p as 8-byte big-endian || event_hash(p)); "
    "event_hash = sha256(b'%d:%s,%d:%s,' % (len(id), id, len(topic), topic) || version as 8-byte big-endian "
    "|| len(state) as 8-byte big-endian || state), id in its canonical text form, lengths in bytes; "
    "digest(0) = sha256(b'valmius/audit-chain/1 genesis')"
)


def signed_message(position: int, digest: str, created_at: str) -> bytes:
    return f"{FORMAT}\n{position}\n{digest}\n{created_at}".encode()


def _public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


class Signer:
    """The service's Ed25519 key, from the hex of its 32 private bytes (settings: `signing_key`)."""

    def __init__(self, private_key_hex: str) -> None:
        try:
            self._key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private_key_hex.strip()))
        except ValueError:
            raise DomainError(
                Rule.INVALID_INPUT,
                "the signing key is not the hex of a 32-byte Ed25519 private key; make one with `valmius audit keygen`",
            ) from None
        self.public_key = _public_hex(self._key.public_key())

    @staticmethod
    def generate() -> tuple[str, str]:
        """A new key pair: (private key hex, public key hex)."""
        key = Ed25519PrivateKey.generate()
        return key.private_bytes_raw().hex(), _public_hex(key.public_key())

    def sign(self, position: int, digest: str, created_at: str) -> Checkpoint:
        signature = self._key.sign(signed_message(position, digest, created_at)).hex()
        return Checkpoint(position, digest, created_at, self.public_key, signature)


@dataclass(frozen=True)
class Checkpoint:
    """The chain's digest at a position, signed."""

    position: int
    digest: str
    created_at: str
    public_key: str
    signature: str
    algorithm: str = ALGORITHM

    def signature_holds(self) -> bool:
        if self.algorithm != ALGORITHM:
            return False
        try:
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.public_key))
            key.verify(bytes.fromhex(self.signature), signed_message(self.position, self.digest, self.created_at))
        except (ValueError, InvalidSignature):
            return False
        return True

    def document(self) -> dict[str, Any]:
        """What an auditor keeps, outside the database."""
        return {"format": FORMAT, **asdict(self), "chain": CHAIN_DESCRIPTION}

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Checkpoint:
        if not isinstance(document, Mapping) or document.get("format", FORMAT) != FORMAT:
            raise DomainError(Rule.INVALID_INPUT, "this is not a checkpoint document ({format})", {"format": FORMAT})
        try:
            checkpoint = cls(
                position=int(document["position"]),
                digest=str(document["digest"]),
                created_at=str(document["created_at"]),
                public_key=str(document["public_key"]),
                signature=str(document["signature"]),
                algorithm=str(document.get("algorithm", ALGORITHM)),
            )
        except (KeyError, TypeError, ValueError) as missing:
            raise DomainError(
                Rule.INVALID_INPUT,
                "a checkpoint document has position, digest, created_at, public_key and signature; "
                "this one has a missing or malformed {missing}", {"missing": missing},
            ) from None
        if checkpoint.position < 1:
            raise DomainError(Rule.INVALID_INPUT, "a checkpoint's position is a log position, 1 or more")
        return checkpoint


def store_checkpoint(tx: Tx, checkpoint: Checkpoint) -> None:
    tx.execute(
        f"INSERT INTO {CHECKPOINT_TABLE} (position, digest, created_at, public_key, signature, algorithm)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (checkpoint.position, checkpoint.digest, checkpoint.created_at, checkpoint.public_key,
         checkpoint.signature, checkpoint.algorithm),
    )
