"""The stream sends what changed: the whole picture first, then for each change a JSON Patch of the subscriber's
own picture; a client applying them holds exactly the picture a newcomer is sent whole. A reconnection naming
its last frame (Last-Event-ID) gets the patches after it while they are kept, else the whole picture again; and
(tests/interfaces/test_stream_access.py) an uncleared reader's patches carry no classified word."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from interfaces.http.live import diff
from tests.conftest import settings_for
from tests.interfaces.test_stream_access import (
    Subscription,
    apply_patch,
    change_the_secret_crisis,
    declare_secret_crisis,
)
from tests.live import LiveServer, running_service


def test_one_record_added_changed_or_removed_in_a_list_is_one_operation() -> None:
    crises = [{"crisis_id": f"C-{n}", "severity": 2, "title": "a/b~c"} for n in range(5)]
    pictures = [
        {"active_crises": crises, "decisions": 1},
        {"active_crises": [*crises[:2], {"crisis_id": "C-N", "severity": 1}, *crises[2:]], "decisions": 1},
        {"active_crises": [*crises[:3], {**crises[3], "severity": 4}, crises[4]], "decisions": 1},
        {"active_crises": crises[1:], "decisions": 2, "readiness": {"a/b~c": "HIGH"}},
        {"active_crises": [], "readiness": {}},
    ]
    for old, new in zip(pictures, pictures[1:], strict=False):
        patch = diff(old, new)
        assert apply_patch(old, patch) == new
        assert apply_patch(new, diff(new, old)) == old
    assert diff(pictures[0], pictures[1]) == [{"op": "add", "path": "/active_crises/2", "value": {"crisis_id": "C-N",
                                                                                                  "severity": 1}}]
    assert diff(pictures[0], pictures[2]) == [{"op": "replace", "path": "/active_crises/3/severity", "value": 4}]
    assert diff(pictures[0], pictures[3])[0] == {"op": "remove", "path": "/active_crises/0"}
    assert diff(pictures[3], pictures[4])[0] == {"op": "remove", "path": "/decisions"}
    assert {"op": "add", "path": "/readiness/a~1b~0c", "value": "HIGH"} in diff(pictures[4], pictures[3])


@pytest.fixture
def server(tmp_path) -> Iterator[LiveServer]:  # noqa: ANN001
    with running_service(settings_for("sqlite", tmp_path)) as running:
        yield running


def assert_holds_what_a_newcomer_is_sent(server: LiveServer, token: str, streaming: Subscription) -> None:
    """The picture `streaming` pieced together is the one a reader connecting now is sent whole, at the same frame."""
    newcomer = Subscription(server, token)
    try:
        joined_id, whole = newcomer.next_with_id()
        frame_id, picture = streaming.last
        while frame_id != joined_id:  # the newest frame of the view: the stream may be one frame behind
            frame_id, picture = streaming.next_with_id()
        assert picture == whole
        assert newcomer.raw[0][0] == "overview"
    finally:
        newcomer.close()


def test_a_client_applying_the_patches_holds_exactly_the_picture_a_newcomer_is_sent_whole(server: LiveServer) -> None:
    # Given a cleared reader streaming since before any crisis
    token = server.token("LR-1", "leadership", clearance=True)
    streaming = Subscription(server, token)
    try:
        streaming.next()
        # When a SECRET crisis is declared, an action assigned in it and its severity changed
        declare_secret_crisis(server)
        change_the_secret_crisis(server)
        # Then after the first frame it got patches only, each much smaller than the picture
        streaming.until(lambda o: o["active_crises"] and o["active_crises"][0]["severity"] == 3 and o["open_actions"])
        assert [event for event, _, _ in streaming.raw] == ["overview"] + ["patch"] * (len(streaming.raw) - 1)
        assert len(streaming.raw) > 1
        # and the picture it pieced together is the one a reader connecting now is sent whole
        assert_holds_what_a_newcomer_is_sent(server, token, streaming)
    finally:
        streaming.close()


def test_a_reconnection_within_the_kept_frames_gets_the_patches_after_its_last_one(server: LiveServer) -> None:
    # Given a reader that held the picture of some frame and went away
    token = server.token("LR-1", "leadership", clearance=True)
    before = Subscription(server, token)
    kept_id, kept = before.next_with_id()
    before.close()
    # When a crisis is declared meanwhile, and the reader reconnects naming its last frame
    declare_secret_crisis(server)
    resumed = Subscription(server, token, last_event_id=kept_id, picture=kept)
    try:
        # Then it is sent patches only, and applying them to what it held gives the picture of now
        resumed.until(lambda o: o["active_crises"])
        assert {event for event, _, _ in resumed.raw} == {"patch"}
        assert_holds_what_a_newcomer_is_sent(server, token, resumed)
    finally:
        resumed.close()


def test_a_reconnection_past_the_kept_frames_gets_the_whole_picture(server: LiveServer) -> None:
    # Given a reader naming a frame no longer kept (or never sent)
    token = server.token("LR-1", "leadership", clearance=True)
    declare_secret_crisis(server)
    resumed = Subscription(server, token, last_event_id="0")
    try:
        # Then it is sent the whole picture first, as on a first connection
        picture = resumed.next()
        assert resumed.raw[0][0] == "overview" and picture["active_crises"][0]["crisis_id"] == "C-X"
    finally:
        resumed.close()
