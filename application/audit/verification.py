"""Verification of the event log against its hash chain (application.audit.chain) and signed checkpoints.

Verification recomputes the chain from the stored events and compares it with the stored one, naming the
first position where the log was changed, had an event removed or inserted, or was reordered. Events after
the chain's head are not yet chained: counted, never reported as tampering. A signed checkpoint beyond the
log's head makes the verdict BEHIND: the store ends before what was certified (an older backup restored).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import Notification

from application.audit.chain import CHAIN_TABLE, GENESIS, AuditChain, event_hash, link
from application.audit.checkpoints import CHECKPOINT_TABLE, Checkpoint, Signer, store_checkpoint
from application.coordination import Coordination
from application.ports import Clock, Store
from application.projections.tracking import log_pages
from domain.access import Actor, authorise
from domain.shared import DomainError, Rule

if TYPE_CHECKING:
    from application.projections.runner import Projections

VERIFY_BATCH = 5000
CHECKPOINT_BATCH = 1000  # checkpoints read at a time when a list of them is filtered by time


@dataclass(frozen=True)
class Finding:
    """Where the log stops matching its evidence, and how."""

    kind: str  # changed, removed, inserted, reordered, chain_altered, rewritten, checkpoint_signature, checkpoint_key
    position: int
    detail: str
    other_position: int | None = None  # reordered: where the chain recorded the event found at `position`
    after: int | None = None  # rewritten: the change lies after this position (the last checkpoint that holds)


@dataclass(frozen=True)
class CheckpointCheck:
    position: int
    created_at: str
    public_key: str
    source: str  # "stored" (valmius_checkpoints) or "document" (brought by the auditor)
    signature_holds: bool
    key_pinned: bool | None  # None: no key was pinned, the signature is checked with the checkpoint's own key
    digest_matches: bool

    @property
    def holds(self) -> bool:
        return self.signature_holds and self.key_pinned is not False and self.digest_matches


@dataclass(frozen=True)
class Verdict:
    intact: bool
    chain_head: int  # the last chained position
    log_head: int  # the last position in the log when verification began
    checked: int  # events recomputed and compared with the chain
    not_yet_chained: int  # events after the chain's head
    head_digest: str | None  # the recomputed digest at the chain's head (what a new checkpoint signs)
    findings: list[Finding] = field(default_factory=list)
    checkpoints: list[CheckpointCheck] = field(default_factory=list)
    seconds: float = 0.0
    # The furthest well-signed checkpoint beyond the log's head: the log ends before what it certifies (an older
    # backup restored, or the log's end removed). Nothing here contradicts it, and nothing here confirms it.
    behind: CheckpointCheck | None = None

    @property
    def first(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    def summary(self) -> str:
        held = sum(1 for c in self.checkpoints if c.holds)
        checkpoints = f"; {held} of {len(self.checkpoints)} signed checkpoint(s) hold" if self.checkpoints else ""
        waiting = f"; {self.not_yet_chained} newer event(s) not yet chained" if self.not_yet_chained else ""
        if self.intact and self.behind is not None:
            return (
                f"BEHIND: the {self.checked} events up to position {self.chain_head} match the hash chain, but the "
                f"log ends at position {self.log_head}, before the checkpoint at position {self.behind.position} "
                f"signed {self.behind.created_at}: the events after position {self.log_head} up to "
                f"{self.behind.position} are not in this store (an older backup restored, or the log's end "
                f"removed){checkpoints}{waiting}"
            )
        if self.intact and not self.chain_head:
            return f"INTACT: nothing is chained yet{waiting}"
        if self.intact:
            return (
                f"INTACT: the {self.checked} events up to position {self.chain_head} match the hash chain"
                f"{checkpoints}{waiting}"
            )
        first = self.first
        assert first is not None
        return f"TAMPERED at position {first.position} ({first.kind}): {first.detail}{checkpoints}{waiting}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "verdict": self.summary(),
            "first": asdict(self.first) if self.first else None,
            "findings": [asdict(f) for f in self.findings],
            "chain_head": self.chain_head,
            "log_head": self.log_head,
            "checked": self.checked,
            "not_yet_chained": self.not_yet_chained,
            "head_digest": self.head_digest,
            "checkpoints": [{**asdict(c), "holds": c.holds} for c in self.checkpoints],
            "seconds": round(self.seconds, 3),
            "behind": {**asdict(self.behind), "holds": False} if self.behind else None,
        }


# --- the service --------------------------------------------------------------------------------------


class TamperEvidence:
    """Verify the log against its chain and checkpoints; sign, list and export checkpoints."""

    def __init__(
        self,
        app: Coordination,
        store: Store,
        projections: Projections,
        chain: AuditChain,
        clock: Clock,
        signer: Signer | None = None,
        *,
        batch_size: int = VERIFY_BATCH,
    ) -> None:
        self.app = app
        self.store = store
        self.projections = projections
        self.chain = chain
        self.clock = clock
        self.signer = signer
        self.batch_size = batch_size

    # --- for auditors (HTTP) -------------------------------------------------------------------------

    def get_verdict(self, actor: Actor, public_key: str | None = None) -> Verdict:
        authorise(actor, "get_verdict")
        return self.verify(public_key=public_key)

    def verify_checkpoint(self, actor: Actor, document: Mapping[str, Any], public_key: str | None = None) -> Verdict:
        authorise(actor, "verify_checkpoint")
        return self.verify(against=Checkpoint.from_document(document), public_key=public_key)

    def list_checkpoints(
        self, actor: Actor, after: int = 0, limit: int = 100, since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Checkpoint]:
        """The signed checkpoints after log position `after`, in position order, signed from `since` up to
        `until` (instants: a checkpoint's time keeps the offset it was signed with), at most `limit`. Read in
        batches: checkpoints are few (one per 1000 events)."""
        authorise(actor, "list_checkpoints")
        found: list[Checkpoint] = []
        while len(found) < limit:
            batch = self.checkpoints(after=after, limit=CHECKPOINT_BATCH)
            found += [c for c in batch if (since is None or datetime.fromisoformat(c.created_at) >= since)
                      and (until is None or datetime.fromisoformat(c.created_at) <= until)]
            if len(batch) < CHECKPOINT_BATCH:
                break
            after = batch[-1].position
        return found[:limit]

    def get_checkpoint(self, actor: Actor, position: int) -> Checkpoint:
        authorise(actor, "get_checkpoint")
        found = self.checkpoints(position)
        if not found:
            raise DomainError(Rule.NOT_FOUND, "there is no signed checkpoint at position {position}", {"position": position})
        return found[0]

    # --- checkpoints ---------------------------------------------------------------------------------

    def checkpoints(self, position: int | None = None, after: int = 0, limit: int | None = None) -> list[Checkpoint]:
        where, params = ("position = %s", (position,)) if position is not None else ("position > %s", (after,))
        rows = self.store.query(
            f"SELECT position, digest, created_at, public_key, signature, algorithm FROM {CHECKPOINT_TABLE}"
            f" WHERE {where} ORDER BY position" + ("" if limit is None else f" LIMIT {int(limit)}"),
            params,
        )
        return [Checkpoint(**{**row, "position": int(row["position"])}) for row in rows]

    def sign_checkpoint(self, progress: Callable[[int], None] | None = None) -> tuple[Verdict, Checkpoint | None]:
        """Chain what is stored, verify the whole log, and sign the chain's head only if the log verifies."""
        if self.signer is None:
            raise DomainError(
                Rule.INVALID_INPUT,
                "no signing key is configured: set VALMIUS_SIGNING_KEY (`valmius audit keygen` makes one)",
            )
        self.projections.catch_up([self.chain])
        verdict = self.verify(progress=progress)
        if not verdict.intact or verdict.head_digest is None:
            return verdict, None
        existing = self.checkpoints(verdict.chain_head)
        if existing:
            return verdict, existing[0]
        checkpoint = self.signer.sign(verdict.chain_head, verdict.head_digest, self.clock().isoformat())
        with self.store.transaction() as tx:
            store_checkpoint(tx, checkpoint)
        return verdict, self.checkpoints(verdict.chain_head)[0]

    # --- verification --------------------------------------------------------------------------------

    def verify(
        self,
        *,
        against: Checkpoint | None = None,
        public_key: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Verdict:
        """Recompute the chain from the stored events; compare it with the stored chain and every checkpoint.

        `against` is a checkpoint document the auditor brought; `public_key`, if given, pins the key every
        checkpoint must be signed with. Without it each signature is checked with the checkpoint's own key: a
        checkpoint can only ever add an alarm (the chain is compared on its own), so an unpinned stored one
        cannot hide anything, and a key rotation does not turn the old checkpoints into alarms.
        """
        started = time.perf_counter()
        # Several keys, comma-separated, pin every key the service signed with over time (a rotation).
        pinned = {key.strip().lower() for key in public_key.split(",")} if public_key else None
        stored = self.checkpoints()
        candidates = [(c, "stored") for c in stored] + ([(against, "document")] if against is not None else [])
        rows = self.store.query(f"SELECT MAX(position) AS head FROM {CHAIN_TABLE}")
        chain_head = int(rows[0]["head"] or 0)
        log_head = self.app.recorder.max_notification_id() or 0
        wanted = sorted({c.position for c, _ in candidates} | ({chain_head} if chain_head else set()))

        scan = _Scan(self, chain_head, log_head, wanted)
        scan.run(progress)

        findings: list[Finding] = []
        if scan.divergence is not None:
            findings.append(self._classify(scan, chain_head))
        checks: list[CheckpointCheck] = []
        last_holding = 0
        behind: CheckpointCheck | None = None
        for checkpoint, source in sorted(candidates, key=lambda pair: pair[0].position):
            check = CheckpointCheck(
                position=checkpoint.position,
                created_at=checkpoint.created_at,
                public_key=checkpoint.public_key,
                source=source,
                signature_holds=checkpoint.signature_holds(),
                key_pinned=None if pinned is None else checkpoint.public_key.lower() in pinned,
                digest_matches=scan.digest_at.get(checkpoint.position) == checkpoint.digest,
            )
            checks.append(check)
            if check.holds:
                last_holding = max(last_holding, check.position)
                continue
            if checkpoint.position > log_head and check.signature_holds and check.key_pinned is not False:
                behind = check  # the candidates are in order: the furthest one is kept
                continue
            findings.append(_checkpoint_finding(check, last_holding))
        findings.sort(key=lambda f: f.position)
        head_digest = scan.digest_at.get(chain_head) if chain_head else None
        return Verdict(
            intact=not findings,
            chain_head=chain_head,
            log_head=log_head,
            checked=scan.checked,
            not_yet_chained=scan.not_yet_chained,
            head_digest=head_digest,
            findings=findings,
            checkpoints=checks,
            seconds=time.perf_counter() - started,
            behind=behind,
        )

    def _chain_rows(self, head: int, columns: str = "position, digest", start: int = 0) -> Iterator[dict[str, Any]]:
        after = start - 1
        while True:
            rows = self.store.query(
                f"SELECT {columns} FROM {CHAIN_TABLE} WHERE position > %s AND position <= %s"
                " ORDER BY position LIMIT %s",
                (after, head, self.batch_size),
            )
            if not rows:
                return
            yield from rows
            after = int(rows[-1]["position"])

    def _classify(self, scan: _Scan, chain_head: int) -> Finding:
        """Name what happened at the first divergence, looking at the events on both sides from there on.

        Event hashes leave the position out, so an event of the chain found elsewhere in the log was moved,
        and an event of the log found nowhere in the chain was put there; one missing from the log was
        removed, and at a position both have, content matching neither side was changed.
        """
        start = scan.divergence
        assert start is not None
        chain = [
            (int(row["position"]), row["event_hash"], row["digest"])
            for row in self._chain_rows(chain_head, "position, event_hash, digest", start)
        ]
        chain_position_of = {hashed: position for position, hashed, _ in chain}
        log_position_of = {hashed: position for position, hashed in scan.after_divergence}
        c = chain[0] if chain else None
        lg = scan.after_divergence[0] if scan.after_divergence else None
        assert c is not None, "a divergence below the chain head has a chain row at or after it"
        c_position, c_hash, _ = c
        c_elsewhere = log_position_of.get(c_hash)
        if lg is None:
            return Finding("removed", c_position, f"the event chained at position {c_position} is missing from the log")
        l_position, l_hash = lg
        l_elsewhere = chain_position_of.get(l_hash)
        if l_position == c_position:
            if l_hash == c_hash:
                return Finding(
                    "chain_altered", c_position,
                    f"the event at position {c_position} is the one chained there, but the chain's digest there does "
                    "not follow from it and the digest before: the chain table was edited",
                )
            if c_elsewhere is not None and l_elsewhere is not None:
                return _reordered(l_position, l_elsewhere)
            if c_elsewhere is not None:
                return _inserted(l_position, chain_head)
            if l_elsewhere is not None:
                return Finding(
                    "removed", c_position,
                    f"the event chained at position {c_position} is missing from the log (the events after it moved up)",
                )
            return Finding(
                "changed", c_position,
                f"the event at position {c_position} was changed: its stored content no longer matches the hash "
                "chained for it",
            )
        if l_position < c_position:
            return _reordered(l_position, l_elsewhere) if l_elsewhere is not None else _inserted(l_position, chain_head)
        if c_elsewhere is not None:
            return Finding(
                "reordered", c_position,
                f"the event chained at position {c_position} is now at position {c_elsewhere}: events were reordered",
                other_position=c_elsewhere,
            )
        return Finding("removed", c_position, f"the event chained at position {c_position} is missing from the log")


def _reordered(position: int, chained_at: int) -> Finding:
    return Finding(
        "reordered", position,
        f"the event at position {position} is the one the chain recorded at position {chained_at}: "
        "events were reordered",
        other_position=chained_at,
    )


def _inserted(position: int, chain_head: int) -> Finding:
    return Finding(
        "inserted", position,
        f"the log has an event at position {position} that was never chained, below the chain's head "
        f"({chain_head}): it was inserted",
    )


def _checkpoint_finding(check: CheckpointCheck, last_holding: int) -> Finding:
    where = "a checkpoint document" if check.source == "document" else "the stored checkpoint"
    if not check.signature_holds:
        return Finding(
            "checkpoint_signature", check.position,
            f"the signature of {where} at position {check.position} does not hold: the checkpoint was altered "
            "or made up",
        )
    if check.key_pinned is False:
        return Finding(
            "checkpoint_key", check.position,
            f"{where} at position {check.position} is signed by key {check.public_key[:16]}…, not a pinned key",
        )
    return Finding(
        "rewritten", check.position,
        f"the log up to position {check.position} does not reproduce {where} signed {check.created_at}: events "
        f"after position {last_holding} and up to {check.position} were rewritten, together with the hash chain",
        after=last_holding,
    )


class _Scan:
    """One pass over the log in large batches, recomputing the chain and comparing it with the stored one.

    The stored digest at a position commits to every chained event up to it, in order. So the pass compares
    the recomputed digest with the stored one once per batch, at the batch's last chained position, and at the
    chain's head: equal digests there prove every event before. Only when one differs is the chain read row
    by row, from the last position that matched, to name the first position where log and chain part.
    """

    def __init__(self, evidence: TamperEvidence, chain_head: int, log_head: int, wanted: list[int]) -> None:
        self.evidence = evidence
        self.chain_head = chain_head
        self.log_head = log_head
        self.wanted = wanted  # positions whose recomputed digest is wanted (checkpoints, the chain head)
        self.digest_at: dict[int, str] = {}
        self.checked = 0
        self.not_yet_chained = 0
        self.divergence: int | None = None  # the first position where the log and the chain part
        self.after_divergence: list[tuple[int, str]] = []  # (position, event hash) of the log from there on

    def _log(self, start: int) -> Iterator[list[Notification]]:
        return log_pages(self.evidence.app.recorder, after=start - 1, stop=self.log_head, size=self.evidence.batch_size)

    def _stored_digest(self, position: int) -> str | None:
        rows = self.evidence.store.query(f"SELECT digest FROM {CHAIN_TABLE} WHERE position = %s", (position,))
        return rows[0]["digest"] if rows else None

    def run(self, progress: Callable[[int], None] | None) -> None:
        head = self.chain_head
        wanted = list(reversed(self.wanted))
        prefixes: dict[tuple[Any, str], bytes] = {}
        digest = GENESIS
        matched, matched_digest = 0, GENESIS  # the last position where the stored digest was found equal
        parted = False
        chained = verified = read = 0
        sha256, hashed = hashlib.sha256, event_hash
        for batch in self._log(1):
            for notification in batch:  # this loop is the whole cost of verifying: `link` is inlined
                position = notification.id
                while wanted and wanted[-1] < position:
                    self.digest_at[wanted.pop()] = digest.hex()
                digest = sha256(digest + position.to_bytes(8, "big") + hashed(notification, prefixes)).digest()
            read += len(batch)
            last = 0
            if batch[-1].id <= head:
                chained += len(batch)
                last, last_digest = batch[-1].id, digest.hex()
            elif batch[0].id <= head:  # the batch that passes the head: the head's digest is its last chained one
                chained += sum(1 for notification in batch if notification.id <= head)
                last, last_digest = head, self.digest_at[head]
            if last and not parted:
                if self._stored_digest(last) == last_digest:
                    matched, matched_digest, verified = last, bytes.fromhex(last_digest), chained
                else:
                    parted = True
            if progress:
                progress(len(batch))
        while wanted:
            self.digest_at[wanted.pop()] = digest.hex()
        self.not_yet_chained = read - chained
        self.checked = verified
        if parted or matched != head:  # a digest differed, or the log lacks the head's event
            self._locate(matched, matched_digest)

    def _locate(self, after: int, digest: bytes) -> None:
        """Compare row by row from `after` (the last position known to match) to the first divergence, then
        keep the log's event hashes from there on for the classification."""
        rows = self.evidence._chain_rows(self.chain_head, start=after + 1)
        row = next(rows, None)
        for batch in self._log(after + 1):
            for notification in batch:
                position = notification.id
                hashed = event_hash(notification)
                if self.divergence is None:
                    digest = link(digest, position, hashed)
                    if row is None:
                        continue  # after the chain's head
                    if position == row["position"] and digest.hex() == row["digest"]:
                        row = next(rows, None)
                        continue
                    self.divergence = min(position, int(row["position"]))
                self.after_divergence.append((position, hashed.hex()))
        if self.divergence is None:  # the log ended before the chain did
            self.divergence = int(row["position"]) if row is not None else after + 1
