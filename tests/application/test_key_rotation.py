"""Signing-key rotation (docs/operations.md): checkpoints signed before and after a new VALMIUS_SIGNING_KEY all
verify, with no key pinned (each with its own) and with every key of the rotation pinned; pinning only the
new key names the old checkpoints as signed by another key."""

from __future__ import annotations

from application.audit.checkpoints import Signer
from tests.application.support import declare
from tests.application.test_audit_chain import evidence_of


def test_checkpoints_of_a_rotated_key_verify_with_every_key_of_the_rotation_pinned(services):  # noqa: ANN001
    old_key, old_public = Signer.generate()
    new_key, new_public = Signer.generate()
    declare(services.coordination, crisis_id="C-OLD")
    _, before = evidence_of(services, Signer(old_key)).sign_checkpoint()
    declare(services.coordination, crisis_id="C-NEW")
    rotated = evidence_of(services, Signer(new_key))
    _, after = rotated.sign_checkpoint()
    assert before.position < after.position

    unpinned = rotated.verify()
    both = rotated.verify(public_key=f"{old_public},{new_public}")
    only_new = rotated.verify(public_key=new_public)

    assert [c.holds for c in unpinned.checkpoints] == [True, True] and unpinned.intact
    assert [c.holds for c in both.checkpoints] == [True, True] and both.intact
    assert [(f.kind, f.position) for f in only_new.findings] == [("checkpoint_key", before.position)]
