"""The live overview stream is a read like any other: authenticated, authorised per role, every frame
redacted for its own subscriber, and ended soon after its token is revoked."""

from __future__ import annotations

import copy
import itertools
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from domain.access import READS_CRISES, Actor, Role
from domain.shared import DomainError
from interfaces.http.live import reader_of, view_of
from tests.conftest import settings_for
from tests.interfaces.conftest import problem
from tests.live import LiveServer, running_service, valmius_env

SECRET = {"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"}
THREATS = {"crisis_id": "C-X", "title": "Emailed bomb threats against schools", "category": "THREAT_VIOLENCE",
           "severity": 2, "classification": SECRET}
ENDED = object()
ACTION = {"action_id": "A-X-01", "unit": "STARA", "task": "Sweep the schools of Itäkeskus before the morning",
          "due_at": "2030-01-01T08:00+02:00", "classification": SECRET}


def apply_patch(document: Any, patch: list[dict]) -> Any:
    """RFC 6902 add, remove and replace, as a client applies them (a path the document lacks raises)."""
    document = copy.deepcopy(document)
    for operation in patch:
        if operation["path"] == "":
            document = operation["value"]
            continue
        *keys, last = [k.replace("~1", "/").replace("~0", "~") for k in operation["path"][1:].split("/")]
        parent = document
        for key in keys:
            parent = parent[int(key)] if isinstance(parent, list) else parent[key]
        at: int | str = int(last) if isinstance(parent, list) else last
        if operation["op"] == "remove":
            del parent[at]
        elif operation["op"] == "add" and isinstance(parent, list):
            parent.insert(at, operation["value"])
        else:
            if operation["op"] == "replace":
                parent[at]  # noqa: B018 -- replace needs the value to exist
            parent[at] = operation["value"]
    return document


class Subscription:
    """An open stream read in a thread of its own: the pictures it shows (its first frame, then each patch applied)
    arrive in `frames`, ENDED when it ends; `raw` holds each frame as (event, id, data)."""

    def __init__(self, server: LiveServer, token: str, last_event_id: str | None = None,
                 picture: dict | None = None) -> None:
        self.frames: queue.Queue = queue.Queue()
        self.raw: list[tuple[str, str, str]] = []
        self.picture = picture
        headers = {"Authorization": f"Bearer {token}"} | ({"Last-Event-ID": last_event_id} if last_event_id else {})
        self.client = httpx.Client(base_url=server.base_url, headers=headers, timeout=httpx.Timeout(5, read=30))
        self.response = self.client.send(self.client.build_request("GET", "/situation-overview/stream"), stream=True)
        assert self.response.status_code == 200, self.response.read()
        assert self.response.headers["x-content-type-options"] == "nosniff"
        assert self.response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            fields: dict[str, str] = {}
            for line in self.response.iter_lines():
                if line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                    continue
                if "data" in fields:
                    self.raw.append((fields["event"], fields["id"], fields["data"]))
                    data = json.loads(fields["data"])
                    self.picture = apply_patch(self.picture, data) if fields["event"] == "patch" else data
                    self.frames.put((fields["id"], self.picture))
                fields = {}
        except httpx.HTTPError:
            pass
        self.frames.put(ENDED)

    def next(self, seconds: float = 10) -> dict:
        return self.next_with_id(seconds)[1]

    def next_with_id(self, seconds: float = 10) -> tuple[str, dict]:
        frame = self.frames.get(timeout=seconds)
        assert frame is not ENDED, "the stream ended"
        return frame

    def until(self, condition, seconds: float = 10) -> dict:  # noqa: ANN001
        """The first picture meeting `condition`; `last` is then its (id, picture)."""
        deadline = time.monotonic() + seconds
        while True:
            self.last = self.next_with_id(max(0.1, deadline - time.monotonic()))
            if condition(self.last[1]):
                return self.last[1]

    def ended_within(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if self.frames.get(timeout=max(0.01, deadline - time.monotonic())) is ENDED:
                    return True
            except queue.Empty:
                break
        return False

    def close(self) -> None:
        self.response.close()
        self.client.close()


@pytest.fixture
def server(tmp_path) -> Iterator[LiveServer]:  # noqa: ANN001
    with running_service(settings_for("sqlite", tmp_path)) as running:
        yield running


def declare_secret_crisis(server: LiveServer) -> None:
    duty = server.token("DO-1", "duty_officer")
    answer = httpx.post(f"{server.base_url}/crises", json=THREATS, headers={"Authorization": f"Bearer {duty}"})
    assert answer.status_code == 201, answer.text


def change_the_secret_crisis(server: LiveServer) -> None:
    duty = {"Authorization": f"Bearer {server.token('DO-1', 'duty_officer')}"}
    severity = {"to_severity": 3, "reason": "Threats now name two schools"}
    for path, body in [("/crises/C-X/actions", ACTION), ("/crises/C-X/severity", severity)]:
        answer = httpx.post(f"{server.base_url}{path}", json=body, headers=duty)
        assert answer.status_code < 300, answer.text


def test_an_admin_is_refused_the_stream_even_while_a_reader_streams(server: LiveServer) -> None:
    # Given a leadership reader's stream open on this worker
    reader = Subscription(server, server.token("LR-1", "leadership"))
    try:
        reader.next()
        # When an admin opens the stream
        admin = server.token("ADM", "admin")
        answer = httpx.get(f"{server.base_url}/situation-overview/stream", headers={"Authorization": f"Bearer {admin}"})
        # Then it is refused exactly like the plain read, before any frame
        problem(answer, 403, "FORBIDDEN_ROLE")
        problem(httpx.get(f"{server.base_url}/situation-overview", headers={"Authorization": f"Bearer {admin}"}),
                403, "FORBIDDEN_ROLE")
        # and without a token nobody streams
        problem(httpx.get(f"{server.base_url}/situation-overview/stream"), 401, "UNAUTHENTICATED")
    finally:
        reader.close()


def test_a_cleared_and_an_uncleared_subscriber_on_one_worker_get_frames_of_their_own(server: LiveServer) -> None:
    # Given an uncleared and a cleared leadership reader streaming on the same worker
    uncleared = Subscription(server, server.token("LR-1", "leadership"))
    cleared = Subscription(server, server.token("LR-2", "leadership", clearance=True))
    try:
        uncleared.next(), cleared.next()
        # When a SECRET crisis is declared
        declare_secret_crisis(server)
        # Then each gets the new picture: the title in clear for the cleared reader only
        shown = cleared.until(lambda o: o["active_crises"])["active_crises"][0]
        labelled = uncleared.until(lambda o: o["active_crises"])["active_crises"][0]
        assert shown["crisis_id"] == labelled["crisis_id"] == "C-X"
        assert shown["redacted"] is False and shown["title"] == THREATS["title"]
        assert labelled["redacted"] is True and THREATS["title"] not in json.dumps(labelled)
        # and a second uncleared reader joining now is shown the same redacted picture, never the cleared one
        late = Subscription(server, server.token("LR-3", "leadership"))
        try:
            assert THREATS["title"] not in json.dumps(late.next())
        finally:
            late.close()
        # and when an action of it, SECRET too, is assigned and its severity changed, the cleared reader's patches
        # carry the title and the task, the uncleared one's neither: each computed from the reader's own picture
        change_the_secret_crisis(server)
        done = lambda o: o["active_crises"][0]["severity"] == 3 and o["open_actions"]  # noqa: E731
        cleared.until(done), uncleared.until(done)
        secrets = [THREATS["title"], ACTION["task"]]
        for reader, shows in [(cleared, True), (uncleared, False)]:
            patches = [json.dumps(json.loads(data), ensure_ascii=False) for event, _, data in reader.raw
                       if event == "patch"]
            assert len(patches) >= 2
            assert [any(secret in patch for patch in patches) for secret in secrets] == [shows, shows]
    finally:
        uncleared.close()
        cleared.close()


def test_every_reader_of_a_view_is_shown_the_picture_computed_for_the_view(server: LiveServer) -> None:
    """The broadcaster computes one picture per view (the reader's clearance) and sends it to every reader of the
    view: that is right only while the overview depends on nothing else of its reader. Generated over every role,
    unit and clearance: a role that may not read is refused; every other reader's overview is its view's."""
    # Given a SECRET crisis with an action, and a PUBLIC one
    declare_secret_crisis(server)
    change_the_secret_crisis(server)
    duty = {"Authorization": f"Bearer {server.token('DO-1', 'duty_officer')}"}
    public = {**THREATS, "crisis_id": "C-P", "title": "Water main burst in Kallio", "classification": {"level": "PUBLIC"}}
    assert httpx.post(f"{server.base_url}/crises", json=public, headers=duty).status_code == 201
    projections = server.services.projections
    assert projections.wait_for(server.services.coordination.recorder.max_notification_id(), 10)
    units = [None, *list(server.services.coordination.policy.units.units)[:2]]
    pictures = {}
    # When the overview is read by each reader, and computed for each reader's view
    for role, unit, clearance in itertools.product(Role, units, (False, True)):
        actor = Actor(f"U-{role}", role, unit=unit, clearance=clearance)
        if role not in READS_CRISES:
            with pytest.raises(DomainError):
                projections.require_reader(actor)
            continue
        shown = projections.get_situation_overview(actor)
        for_view = projections.get_situation_overview(reader_of(view_of(actor)))
        # Then they are the same, but for the moment each was computed at
        assert {**shown, "at": None} == {**for_view, "at": None}, (role, unit, clearance)
        pictures.setdefault(view_of(actor), json.dumps({**shown, "at": None}))
    # and the two views differ: the cleared one shows the title, the other its label
    assert THREATS["title"] in pictures[True] and THREATS["title"] not in pictures[False]


def test_a_stream_ends_within_5_seconds_of_its_token_being_revoked(server: LiveServer) -> None:
    # Given two readers streaming
    kept = Subscription(server, server.token("LR-1", "leadership"))
    revoked_token = server.token("LR-2", "leadership", clearance=True)
    revoked = Subscription(server, revoked_token)
    try:
        kept.next(), revoked.next()
        # When LR-2's token is revoked (on SQLite with the CLI, in another process)
        revoke_with_the_cli(server, "LR-2")
        # Then LR-2's stream ends within 5 s, and a reconnection is refused; LR-1 goes on streaming
        assert revoked.ended_within(5)
        problem(httpx.get(f"{server.base_url}/situation-overview/stream",
                          headers={"Authorization": f"Bearer {revoked_token}"}), 401, "UNAUTHENTICATED")
        declare_secret_crisis(server)
        assert kept.until(lambda o: o["active_crises"])["active_crises"][0]["crisis_id"] == "C-X"
    finally:
        kept.close()
        revoked.close()


@pytest.mark.postgres
def test_on_postgresql_a_stream_ends_within_5_seconds_of_a_revocation_by_the_cli(live_server: LiveServer) -> None:
    # Given a reader streaming from a service on PostgreSQL that keeps tokens in memory
    token = live_server.token("LR-2", "leadership", clearance=True)
    stream = Subscription(live_server, token)
    try:
        stream.next()
        # When an admin revokes LR-2's tokens with the CLI, in a process of its own
        revoke_with_the_cli(live_server, "LR-2")
        # Then the stream ends within 5 s, and the token is refused from then on
        assert stream.ended_within(5)
        problem(httpx.get(f"{live_server.base_url}/situation-overview/stream",
                          headers={"Authorization": f"Bearer {token}"}), 401, "UNAUTHENTICATED")
    finally:
        stream.close()


def revoke_with_the_cli(server: LiveServer, user: str) -> None:
    revoked = subprocess.run(
        [sys.executable, "-m", "interfaces.cli.main", "token", "revoke", "--user", user],
        env=valmius_env(server.settings.database_url, "development"), capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert revoked.returncode == 0, revoked.stderr
