"""`valmius audit verify | checkpoint | keygen`: tamper evidence from the command line.

    valmius audit verify [--against CHECKPOINT.json] [--public-key HEX …]
        recompute the hash chain from the stored events, compare it with the stored chain and every signed
        checkpoint (and the document given); prints the verdict; exit 0 intact, 1 tampered, 2 unusable input,
        3 behind (intact, but the log ends before a signed checkpoint: an older backup restored)
    valmius audit checkpoint [--out FILE]
        chain what is stored, verify the whole log, sign the chain's head with VALMIUS_SIGNING_KEY, store it
        and print (or write) the checkpoint document for the auditor to keep; exit 1 if the log does not verify
    valmius audit keygen
        a new Ed25519 key: the private key (for VALMIUS_SIGNING_KEY) on stdout, the public key on stderr
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from application.audit.checkpoints import Checkpoint, Signer
from application.audit.verification import Verdict
from domain.shared import DomainError
from infrastructure.bootstrap import open_services
from infrastructure.settings import Settings
from interfaces.cli.options import DatabaseOption


def register(audit: DatabaseOption) -> None:
    """Add this module's subcommands to `valmius audit`; each sets `handler` to a function(settings, args)."""
    verify = audit.add_parser(
        "verify",
        help="recompute the hash chain over the event log and name the first position where the log was "
        "changed, removed, inserted or reordered; exit 0 intact, 1 tampered, 3 behind a signed checkpoint (an "
        "older backup restored)",
    )
    verify.add_argument(
        "--against", type=Path, metavar="CHECKPOINT.json",
        help="also verify the log against this exported checkpoint (detects a rewrite of events and chain together)",
    )
    verify.add_argument(
        "--public-key", metavar="HEX", action="append",
        help="a public key every checkpoint must be signed with (pin it); give each key of a rotation",
    )
    verify.set_defaults(handler=verify_log)

    checkpoint = audit.add_parser(
        "checkpoint", help="verify the log, then sign the hash chain's head with VALMIUS_SIGNING_KEY and export it"
    )
    checkpoint.add_argument("--out", type=Path, metavar="FILE", help="write the checkpoint document here (default: stdout)")
    checkpoint.set_defaults(handler=sign_checkpoint)

    keygen = audit.add_parser(
        "keygen", help="make a new Ed25519 signing key for VALMIUS_SIGNING_KEY", needs_store=False
    )
    keygen.set_defaults(handler=generate_key)


def _bar(total: int, what: str):  # noqa: ANN202 - a tqdm progress bar on stderr
    from tqdm import tqdm

    return tqdm(total=total, desc=what, unit="event", unit_scale=True, file=sys.stderr)


def _print_verdict(verdict: Verdict) -> None:
    print(verdict.summary())
    for finding in verdict.findings[1:]:
        print(f"  also at position {finding.position} ({finding.kind}): {finding.detail}")
    for check in verdict.checkpoints:
        unreached = check.signature_holds and check.key_pinned is not False and check.position > verdict.log_head
        state = "holds" if check.holds else "not reached: beyond the log's end" if unreached else "FAILS"
        print(f"  checkpoint at {check.position} ({check.source}, signed {check.created_at}): {state}")
    print(
        f"  {verdict.checked} events checked against the chain in {verdict.seconds:.2f} s; chain head "
        f"{verdict.chain_head}, log head {verdict.log_head}"
    )


def verify_log(settings: Settings, args: argparse.Namespace) -> int:
    against = None
    if args.against is not None:
        try:
            against = Checkpoint.from_document(json.loads(args.against.read_text(encoding="utf-8")))
        except (OSError, ValueError) as unreadable:
            print(f"valmius: cannot read the checkpoint document {args.against}: {unreadable}", file=sys.stderr)
            return 2
        except DomainError as error:
            print(f"valmius: {args.against}: {error.message}", file=sys.stderr)
            return 2
    services = open_services(settings)
    try:
        evidence = services.tamper_evidence
        total = services.coordination.recorder.max_notification_id() or 0
        with _bar(total, "verify") as bar:
            pinned = ",".join(args.public_key) if args.public_key else None
            verdict = evidence.verify(against=against, public_key=pinned, progress=bar.update)
        _print_verdict(verdict)
        if verdict.intact and verdict.behind is not None:
            return 3
        return 0 if verdict.intact else 1
    finally:
        services.close()


def sign_checkpoint(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.signing_key:
        print("valmius: set VALMIUS_SIGNING_KEY to sign checkpoints (`valmius audit keygen` makes one)", file=sys.stderr)
        return 2
    services = open_services(settings)
    try:
        total = services.coordination.recorder.max_notification_id() or 0
        with _bar(total, "verify before signing") as bar:
            verdict, checkpoint = services.tamper_evidence.sign_checkpoint(progress=bar.update)
        if checkpoint is None:
            _print_verdict(verdict)
            print("valmius: not signed: a checkpoint would certify a log that does not verify", file=sys.stderr)
            return 1
        document = json.dumps(checkpoint.document(), indent=2) + "\n"
        if args.out is not None:
            args.out.write_text(document, encoding="utf-8")
            print(f"checkpoint at position {checkpoint.position} written to {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(document)
        print(
            f"(signed by {checkpoint.public_key}; keep the document outside this database: "
            "`valmius audit verify --against FILE` checks the log against it)",
            file=sys.stderr,
        )
        return 0
    except DomainError as error:
        print(f"valmius: {error.message}", file=sys.stderr)
        return 2
    finally:
        services.close()


def generate_key(settings: Settings, args: argparse.Namespace) -> int:
    private, public = Signer.generate()
    print(private)
    print(
        f"public key: {public}\n(the line above is the private key: set it as VALMIUS_SIGNING_KEY of the service "
        "and nowhere else; give the public key to the auditors, who pin it with --public-key)",
        file=sys.stderr,
    )
    return 0
