"""The restore drill of docs/operations.md, performed: a store backed up with pg_dump while it serves, written
to and checkpointed after the backup, then the older backup restored into a new database and the service
started on it. What the signed checkpoints say then is what an operator and the auditors will read."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from application.audit.checkpoints import Signer
from tests.conftest import create_database, drop_database
from tests.integration.deployment import declare, issue_token, overview_at, running, valmius
from tests.integration.test_faults import Cluster
from tests.live import wait_until


@pytest.fixture
def databases() -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for url in made:
        drop_database(url)


def checkpoint(url: str, key: str, out: Path) -> int:
    signed = valmius(url, "audit", "checkpoint", "--out", str(out), signing_key=key)
    assert signed.returncode == 0, signed.stderr
    return json.loads(out.read_text())["position"]


@pytest.mark.postgres
def test_an_older_backup_restored_serves_and_its_verdict_says_it_is_behind_the_last_checkpoint(
    databases: list[str], tmp_path: Path
) -> None:
    """Given a store backed up with pg_dump after checkpoint E, then written to and checkpointed at L, when the
    backup is restored into a new database and the service started on it, then it serves what was stored up to
    the backup (read models included) and nothing after; verification against E is INTACT (exit 0), against
    L it is BEHIND (exit 3), naming where the log ends and the checkpoint it does not reach; and once the
    restored store is written to, the positions L certified hold other events: verification against L is
    TAMPERED (rewritten), as it must be, and a new checkpoint starts the record again."""
    key, public_key = Signer.generate()
    live = create_database()
    databases.append(live)
    token = issue_token(live, "duty-officer-1", "duty_officer")
    auditor = {"Authorization": f"Bearer {issue_token(live, 'auditor-1', 'auditor')}"}
    with running(live, tmp_path, signing_key=key) as http:
        for crisis in ("C-1", "C-2"):
            backed_up = declare(http, token, crisis)
        overview_at(http, token, backed_up)
        early = checkpoint(live, key, tmp_path / "early.json")
        backup = tmp_path / "valmius.dump"
        subprocess.run(["pg_dump", "--format=custom", f"--file={backup}", live], check=True, timeout=120)
        after_backup = declare(http, token, "C-3")
        late = checkpoint(live, key, tmp_path / "late.json")
    assert early < after_backup <= late

    restored = create_database()
    databases.append(restored)
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored}", str(backup)], check=True,
                   timeout=120)
    against_early = valmius(restored, "audit", "verify", "--against", str(tmp_path / "early.json"),
                            "--public-key", public_key)
    assert against_early.returncode == 0, against_early.stdout
    assert against_early.stdout.startswith("INTACT: the "), against_early.stdout
    assert f" events up to position {early} match the hash chain; 2 of 2 signed checkpoint(s) hold" in against_early.stdout
    against_late = valmius(restored, "audit", "verify", "--against", str(tmp_path / "late.json"))
    assert against_late.returncode == 3, against_late.stdout
    verdict = against_late.stdout.splitlines()
    assert verdict[0].startswith("BEHIND: the "), verdict
    assert (
        f" events up to position {early} match the hash chain, but the log ends at position {early}, before the "
        f"checkpoint at position {late} signed "
    ) in verdict[0]
    assert verdict[0].endswith(
        f": the events after position {early} up to {late} are not in this store (an older backup restored, or "
        "the log's end removed); 1 of 2 signed checkpoint(s) hold"
    )
    assert f"  checkpoint at {late} (document, signed " in against_late.stdout
    assert "not reached: beyond the log's end" in against_late.stdout

    with running(restored, tmp_path, signing_key=key) as http:
        reader = {"Authorization": f"Bearer {token}"}  # the tokens are in the backup too
        assert overview_at(http, token, early) == {"C-1", "C-2"}
        assert http.get("/crises/C-3", headers=reader).status_code == 404
        assert http.get("/health/ready").status_code == 200
        answer = http.post("/audit/verify-checkpoint", headers=auditor,
                           json=json.loads((tmp_path / "late.json").read_text()))
        assert answer.status_code == 200, answer.text
        assert (answer.json()["intact"], answer.json()["behind"]["position"]) == (True, late)
        assert answer.json()["verdict"] == verdict[0]
        forked = declare(http, token, "C-4")
        assert forked == after_backup, "the restored log goes on from where the backup ended"
    rewritten = valmius(restored, "audit", "verify", "--against", str(tmp_path / "late.json"))
    assert rewritten.returncode == 1
    assert rewritten.stdout.startswith(f"TAMPERED at position {late} (rewritten): the log up to position {late} does "
                                       "not reproduce a checkpoint document")
    restarted = checkpoint(restored, key, tmp_path / "restarted.json")
    assert restarted >= forked
    since = valmius(restored, "audit", "verify", "--against", str(tmp_path / "restarted.json"))
    assert since.returncode == 0, since.stdout


@pytest.fixture
def archiving_cluster() -> Iterator[Cluster]:
    """A throwaway cluster of the test's own that archives its WAL (as docs/operations.md sets it up)."""
    made = Cluster()
    archive = made.dir / "wal-archive"
    archive.mkdir()
    if made.as_owner:
        shutil.chown(archive, "postgres", "postgres")
    with (made.data / "postgresql.conf").open("a") as conf:
        conf.write(f"wal_level = replica\narchive_mode = on\n"
                   f"archive_command = 'test ! -f {archive}/%f && cp %p {archive}/%f'\narchive_timeout = 60\n")
    try:
        made.start()
        yield made
    finally:
        made.remove()


@pytest.mark.postgres
def test_a_base_backup_and_the_archived_wal_restore_every_event_up_to_the_last_commit(
    archiving_cluster: Cluster, tmp_path: Path
) -> None:
    """Given a base backup (pg_basebackup) taken while the service ran, and the WAL archived since, when the
    cluster is lost and restored from the base backup replaying the archive, then every event up to the last
    commit is back: the service serves them and verification against the last checkpoint is INTACT."""
    cluster = archiving_cluster
    url = cluster.url("valmius")
    key, public_key = Signer.generate()
    assert valmius(url, "init").returncode == 0  # a new cluster: the store made as an operator does
    token = issue_token(url, "duty-officer-1", "duty_officer")
    base = cluster.dir / "base"
    with running(url, tmp_path, signing_key=key) as http:
        declare(http, token, "C-1")
        cluster._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "-D", str(base),
                    "--checkpoint=fast", "--wal-method=stream")
        for crisis in ("C-2", "C-3"):
            last = declare(http, token, crisis)
    late = checkpoint(url, key, tmp_path / "late.json")
    assert late >= last
    with psycopg.connect(url, autocommit=True) as conn:  # the last segment to the archive (archive_timeout does it)
        segment = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()[0]
        conn.execute("SELECT pg_switch_wal()")
        wait_until(lambda: _archived(conn, segment), 60, f"{segment} archived")

    cluster.crash()
    shutil.rmtree(cluster.data)
    shutil.copytree(base, cluster.data, symlinks=True)
    with (cluster.data / "postgresql.conf").open("a") as conf:
        conf.write(f"restore_command = 'cp {cluster.dir}/wal-archive/%f %p'\n")
    (cluster.data / "recovery.signal").touch()
    if cluster.as_owner:
        subprocess.run(["chown", "-R", "postgres:postgres", str(cluster.data)], check=True)
    cluster.start()

    verified = valmius(url, "audit", "verify", "--against", str(tmp_path / "late.json"), "--public-key", public_key)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"up to position {late} match the hash chain" in verified.stdout
    with running(url, tmp_path) as http:
        assert overview_at(http, token, last) == {"C-1", "C-2", "C-3"}


def _archived(conn: psycopg.Connection, segment: str) -> bool:
    done = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]
    return done is not None and done >= segment
