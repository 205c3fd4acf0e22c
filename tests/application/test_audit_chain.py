"""The tamper-evidence hash chain on every store: maintained as events are stored, verified in large batches,
never rebuilt; signed checkpoints made by the service and the operator, verified with their key; auditors only.

The mutations of a stored log (changed, removed, inserted, reordered) are in
tests/integration/test_tamper_evidence.py, directly in the SQLite and PostgreSQL tables.
"""

from __future__ import annotations

import dataclasses
import threading

import pytest

from application.audit.chain import CHAIN_TABLE, AuditChain
from application.audit.checkpoints import CHECKPOINT_TABLE, Checkpoint, Signer
from application.audit.verification import TamperEvidence
from domain.shared import DomainError, Rule
from tests.application.support import AUD, DO1, LR, declare

SIGNING_KEY, PUBLIC_KEY = Signer.generate()


def evidence_of(services, signer: Signer | None = None, **options) -> TamperEvidence:  # noqa: ANN001
    """Tamper evidence over the service's chain, as bootstrap builds it (with a signer if given)."""
    chain = services.tamper_evidence.chain
    return TamperEvidence(
        services.coordination, services.sql, services.projections, chain, services.coordination.clock, signer, **options
    )


@pytest.fixture
def evidence(services) -> TamperEvidence:  # noqa: ANN001
    """The service's tamper evidence, with a signing key as `valmius audit checkpoint` would have it."""
    return evidence_of(services, Signer(SIGNING_KEY))


def record_entries(services, count: int, crisis_id: str = "C-S1") -> int:  # noqa: ANN001
    """Given `count` crisis log entries recorded by DO-1; returns the log position of the last one."""
    for number in range(count):
        services.coordination.record_log_entry(DO1, crisis_id, text=f"Report {number} from Vuosaari")
    return services.coordination.recorder.max_notification_id()


def chain_rows(services) -> list[dict]:  # noqa: ANN001
    return services.sql.query(f"SELECT position, event_hash, digest FROM {CHAIN_TABLE} ORDER BY position")


def test_the_chain_follows_every_event_of_the_log_in_order(services, evidence):
    """Given a crisis and some log entries, when the follower catches up, then the chain has one row per event
    of the log, at the same positions, and the whole log verifies against it."""
    declare(services.coordination)
    last = record_entries(services, 8)
    services.projections.catch_up()
    positions = [n.id for n in services.coordination.recorder.select_notifications(start=1, limit=1000)]
    assert [row["position"] for row in chain_rows(services)] == positions
    verdict = evidence.verify()
    assert (verdict.intact, verdict.checked, verdict.chain_head, verdict.first) == (True, len(positions), last, None)


def test_the_embedded_follower_chains_each_event_shortly_after_its_commit(services):
    """Given the read models followed in this process, when a crisis is declared, then its event is chained as
    soon as the read models have caught up with its position."""
    services.projections.start()
    declare(services.coordination)
    position = services.coordination.last_position()
    assert services.projections.wait_for(position, timeout=5)
    assert chain_rows(services)[-1]["position"] == position


def test_events_after_the_chain_head_are_counted_as_not_yet_chained(services, evidence):
    """Given a chained log, when three more events are stored and not yet chained, then the log is intact and
    the three are reported as not yet chained, not as tampering."""
    declare(services.coordination)
    services.projections.catch_up()
    record_entries(services, 3)
    verdict = evidence.verify()
    assert (verdict.intact, verdict.not_yet_chained) == (True, 3)
    assert "3 newer event(s) not yet chained" in verdict.summary()


def test_verification_reads_the_log_in_large_batches_and_reports_progress(services):
    """Given 30 chained events, when verified with batches of 7, then progress is reported batch by batch and
    adds up to the whole log (the default batch is thousands of events)."""
    declare(services.coordination)
    last = record_entries(services, 30)
    services.projections.catch_up()
    evidence = evidence_of(services, batch_size=7)
    reported: list[int] = []
    assert evidence.verify(progress=reported.append).intact
    assert sum(reported) == last and max(reported) == 7 and len(reported) == -(-last // 7)
    assert services.tamper_evidence.batch_size >= 1000


def test_the_chain_is_evidence_and_is_never_rebuilt(services, evidence):
    """Given a chained log, when the chain is asked to be rebuilt like a read model, then IMMUTABLE_RECORD
    refuses it and the chain is exactly as it was."""
    declare(services.coordination)
    services.projections.catch_up()
    before = chain_rows(services)
    with pytest.raises(DomainError) as error:
        services.projections.rebuild(AuditChain.name)
    assert error.value.rule is Rule.IMMUTABLE_RECORD
    assert "evidence, not a view" in error.value.message
    assert chain_rows(services) == before
    assert services.projections.position(AuditChain.name) == before[-1]["position"]


def test_a_follower_moved_back_keeps_the_chain_as_it_was(services, evidence):
    """Given a chained log, when the chain's follower position is moved back to the start and it catches up
    again, then the chain is unchanged and still verifies."""
    declare(services.coordination)
    record_entries(services, 4)
    services.projections.catch_up()
    before = chain_rows(services)
    services.sql.execute("UPDATE valmius_tracking SET position = 0 WHERE view = %s", (AuditChain.name,))
    services.projections.catch_up()
    assert chain_rows(services) == before
    assert evidence.verify().intact


# --- signed checkpoints ------------------------------------------------------------------------------


def test_a_checkpoint_signs_the_verified_head_and_its_document_verifies(services, evidence):
    """Given a chained log, when the operator signs a checkpoint, then it is at the chain's head, its document
    carries the public key and verifies with it, and the log verifies against it."""
    declare(services.coordination)
    last = record_entries(services, 5)
    verdict, checkpoint = evidence.sign_checkpoint()
    assert verdict.intact and checkpoint is not None
    assert (checkpoint.position, checkpoint.digest) == (last, verdict.head_digest)
    document = checkpoint.document()
    assert (document["public_key"], document["algorithm"], document["format"]) == (
        PUBLIC_KEY, "Ed25519", "valmius-audit-checkpoint/1"
    )
    assert set(document) == {"format", "position", "digest", "created_at", "public_key", "signature", "algorithm", "chain"}
    checked = evidence.verify(against=Checkpoint.from_document(document), public_key=PUBLIC_KEY)
    assert checked.intact
    assert [(c.source, c.holds) for c in checked.checkpoints] == [("stored", True), ("document", True)]


def test_signing_catches_the_chain_up_first(services, evidence):
    """Given events stored and not yet chained, when a checkpoint is signed, then the chain is caught up and
    the checkpoint covers the last event."""
    declare(services.coordination)
    last = record_entries(services, 2)
    assert not chain_rows(services) or chain_rows(services)[-1]["position"] < last
    _, checkpoint = evidence.sign_checkpoint()
    assert checkpoint.position == last


def test_a_document_whose_digest_was_edited_does_not_hold(services, evidence):
    """Given an exported checkpoint, when its digest is edited, then its signature no longer holds and the
    verdict names it."""
    declare(services.coordination)
    _, checkpoint = evidence.sign_checkpoint()
    edited = dataclasses.replace(checkpoint, digest="0" * 64)
    verdict = evidence.verify(against=edited)
    assert (verdict.intact, verdict.first.kind, verdict.first.position) == (
        False, "checkpoint_signature", checkpoint.position
    )


def test_a_document_signed_by_another_key_fails_when_the_key_is_pinned(services, evidence):
    """Given a checkpoint signed with another key than the service's, when verified pinning the service's public
    key, then it is named as signed by another key; unpinned, its own key verifies it."""
    declare(services.coordination)
    services.projections.catch_up()
    verdict = evidence.verify()
    other_key, _ = Signer.generate()
    foreign = Signer(other_key).sign(verdict.chain_head, verdict.head_digest, "2025-10-25T21:40:00+03:00")
    assert evidence.verify(against=foreign).intact
    pinned = evidence.verify(against=foreign, public_key=PUBLIC_KEY)
    assert (pinned.intact, pinned.first.kind) == (False, "checkpoint_key")


def test_signing_needs_a_key(services):
    """Given no signing key in the settings, when a checkpoint is asked for, then INVALID_INPUT says how to get
    one."""
    with pytest.raises(DomainError) as error:
        services.tamper_evidence.sign_checkpoint()
    assert error.value.rule is Rule.INVALID_INPUT
    assert "valmius audit keygen" in error.value.message


def test_a_signing_key_that_is_not_an_ed25519_key_is_refused(services):
    with pytest.raises(DomainError) as error:
        Signer("not-hex")
    assert error.value.rule is Rule.INVALID_INPUT


def test_a_malformed_checkpoint_document_is_refused_naming_what_is_missing():
    with pytest.raises(DomainError) as error:
        Checkpoint.from_document({"format": "valmius-audit-checkpoint/1", "position": 3, "digest": "ab"})
    assert error.value.rule is Rule.INVALID_INPUT
    assert "created_at" in error.value.message


def test_the_service_signs_a_checkpoint_itself_as_the_chain_passes_each_interval(services, clock):
    """Given a signing key and a checkpoint every 10 positions, when 25 more events are chained, then a
    checkpoint is stored each time the chain passed a multiple of 10, and every one holds."""
    services.tamper_evidence.chain.sign_every(Signer(SIGNING_KEY), 10, clock)  # as bootstrap does, every 10
    declare(services.coordination)
    last = record_entries(services, 25)
    services.projections.catch_up()
    stored = services.sql.query(f"SELECT position, created_at FROM {CHECKPOINT_TABLE} ORDER BY position")
    assert [row["position"] // 10 for row in stored] == list(range(1, last // 10 + 1))
    assert {row["created_at"] for row in stored} == {clock.now.isoformat()}
    verdict = services.tamper_evidence.verify()
    assert verdict.intact and len(verdict.checkpoints) == len(stored)
    assert all(check.holds for check in verdict.checkpoints)


# --- who may -----------------------------------------------------------------------------------------


def test_only_auditors_verify_and_read_checkpoints(services, evidence):
    """Given a signed checkpoint, then the auditor verifies and reads it, and leadership is refused with
    FORBIDDEN_ROLE."""
    declare(services.coordination)
    _, checkpoint = evidence.sign_checkpoint()
    assert evidence.get_verdict(AUD).intact
    assert evidence.get_checkpoint(AUD, checkpoint.position) == checkpoint
    assert evidence.list_checkpoints(AUD) == [checkpoint]
    for actor in (LR, DO1):
        for read, *args in (
            (evidence.get_verdict,),
            (evidence.list_checkpoints,),
            (evidence.get_checkpoint, checkpoint.position),
            (evidence.verify_checkpoint, checkpoint.document()),
        ):
            with pytest.raises(DomainError) as error:
                read(actor, *args)
            assert error.value.rule is Rule.FORBIDDEN_ROLE


def test_an_unknown_checkpoint_position_is_not_found(services, evidence):
    with pytest.raises(DomainError) as error:
        evidence.get_checkpoint(AUD, 999)
    assert error.value.rule is Rule.NOT_FOUND


def test_verification_while_events_are_being_recorded_stays_intact(services, evidence):
    """Given the read models followed in this process, when events are recorded while the log is verified,
    then every verification is intact (newer events are at most not yet chained)."""
    declare(services.coordination)
    services.projections.start()
    done = threading.Event()

    def write() -> None:
        for number in range(40):
            services.coordination.record_log_entry(DO1, "C-S1", text=f"Busy report {number}")
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    verdicts = []
    while not done.is_set():
        verdicts.append(evidence.verify())
    writer.join()
    verdicts.append(evidence.verify())
    assert verdicts and all(v.intact for v in verdicts), [v.summary() for v in verdicts if not v.intact]
