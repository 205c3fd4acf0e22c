"""Tamper evidence: a hash chain over the whole event log, kept by the read-model follower.

The chain. For every stored event, in log order, the `audit_chain` read model records

    event_hash(p) = sha256(originator id, originator version, topic, state)      (the stored form, not p)
    digest(p)     = sha256(digest(previous chained position) || p || event_hash(p)),  digest(0) = GENESIS

in `valmius_chain`. It rides on the exactly-once follower of the read models, so each event is chained a
few milliseconds after its commit, by whichever process follows the log. The event hash leaves the position
out, so an event moved to another position is recognised there; the digest takes it in, so the chain fixes
the order.

The chain is evidence, not a view: it is never rebuilt from the log, since a rebuild would bless whatever
the log holds now.

The chain's checkpoints are signed in application.audit.checkpoints; the log is verified against chain and
checkpoints in application.audit.verification.
"""

from __future__ import annotations

import hashlib
import logging
import struct
import threading
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from application.audit.checkpoints import CHECKPOINT_TABLE, Signer, store_checkpoint
from application.ports import Clock, Tx
from application.projections.read_model import ReadModel
from domain.shared import DomainError, Rule

log = logging.getLogger("valmius.audit")

CHAIN_TABLE = "valmius_chain"
GENESIS = hashlib.sha256(b"valmius/audit-chain/1 genesis").digest()
CHECKPOINT_EVERY = 1000
PREFIX_CACHE = 100_000

_sha256 = hashlib.sha256
_VERSION_AND_LENGTH = struct.Struct(">QQ")


def _prefix(originator_id: UUID | str, topic: str) -> bytes:
    originator = str(originator_id).encode()
    encoded = topic.encode()
    return b"%d:%s,%d:%s," % (len(originator), originator, len(encoded), encoded)


def event_hash(stored: StoredEvent, prefixes: dict[tuple[Any, str], bytes] | None = None) -> bytes:
    """The hash of an event as stored: what it is and whose it is, not where it sits in the log.

    `prefixes` caches the encoded (originator id, topic) of events already seen, for a long scan.
    """
    if prefixes is None:
        prefix = _prefix(stored.originator_id, stored.topic)
    else:
        originator = stored.originator_id
        key = (originator.int if type(originator) is UUID else originator, stored.topic)  # ints hash fastest
        prefix = prefixes.get(key)  # type: ignore[assignment]
        if prefix is None:
            if len(prefixes) >= PREFIX_CACHE:
                prefixes.clear()
            prefix = prefixes[key] = _prefix(originator, stored.topic)
    state = stored.state
    hashed = _sha256(prefix + _VERSION_AND_LENGTH.pack(stored.originator_version, len(state)))
    hashed.update(state)  # not concatenated: no copy of the state
    return hashed.digest()


def link(previous: bytes, position: int, hashed: bytes) -> bytes:
    """The chain's digest at `position`: it fixes the event there and everything before it, in order."""
    return _sha256(previous + position.to_bytes(8, "big") + hashed).digest()


class AuditChain(ReadModel):
    """The hash chain over the whole log, maintained by the read-model follower (see the module docstring)."""

    name = "audit_chain"
    rebuildable = False  # `clear` refuses; whoever rebuilds "every read model" leaves this one out
    tables = {
        CHAIN_TABLE: "(position BIGINT PRIMARY KEY, event_hash TEXT NOT NULL, digest TEXT NOT NULL)",
        CHECKPOINT_TABLE: (
            "(position BIGINT PRIMARY KEY, digest TEXT NOT NULL, created_at TEXT NOT NULL, public_key TEXT NOT NULL,"
            " signature TEXT NOT NULL, algorithm TEXT NOT NULL)"
        ),
    }

    def __init__(self) -> None:
        super().__init__()
        self._head = threading.local()  # (transaction, position, digest) of the chain's head in this thread
        self.signer: Signer | None = None
        self.every = CHECKPOINT_EVERY
        self.clock: Clock | None = None

    def subscriptions(self) -> dict:
        return {}

    def topics(self) -> None:
        return None  # every event is a link of the chain

    def sign_every(self, signer: Signer, every: int, clock: Clock) -> None:
        """Sign a checkpoint whenever the chain passes a multiple of `every` positions."""
        self.signer, self.every, self.clock = signer, every, clock

    def clear(self, tx: Tx, dialect: str = "sqlite") -> None:
        raise DomainError(
            Rule.IMMUTABLE_RECORD,
            "the audit chain is evidence, not a view: it is never rebuilt from the log, since a rebuild would "
            "bless whatever the log holds now; check the log with `valmius audit verify` instead",
        )

    def apply_notification(self, tx: Tx, notification: Notification, event: Any) -> None:
        head = self._head
        if getattr(head, "tx", None) is not tx:  # the first event of this transaction: read the head once
            tx.execute(f"SELECT position, digest FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1")
            rows = tx.fetchall()
            head.tx = tx
            head.position, head.digest = (
                (int(rows[0]["position"]), bytes.fromhex(rows[0]["digest"])) if rows else (0, GENESIS)
            )
        position = notification.id
        hashed = event_hash(notification)
        if position <= head.position:
            self._already_chained(tx, position, hashed)
            return
        digest = link(head.digest, position, hashed)
        self.append(tx, CHAIN_TABLE, ("position", "event_hash", "digest"), (position, hashed.hex(), digest.hex()))
        if self.signer is not None and self.clock is not None and position // self.every > head.position // self.every:
            store_checkpoint(tx, self.signer.sign(position, digest.hex(), self.clock().isoformat()))
        head.position, head.digest = position, digest

    def _already_chained(self, tx: Tx, position: int, hashed: bytes) -> None:
        """The follower's position was moved back: the chain keeps what it recorded, and says if it differs."""
        tx.execute(f"SELECT event_hash FROM {CHAIN_TABLE} WHERE position = %s", (position,))
        rows = tx.fetchall()
        if not rows or rows[0]["event_hash"] != hashed.hex():
            log.error(
                "the event at log position %d is not the one the audit chain recorded there; "
                "the chain keeps its record (run `valmius audit verify`)", position,
            )
