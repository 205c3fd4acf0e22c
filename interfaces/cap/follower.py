"""The follower of CAP feeds: polls each configured feed and takes in every valid alert it has not taken yet.

A feed is a URL or a folder. A URL answers a CAP document or an Atom feed of them (an entry holding the alert in
its `content`, or linking to it over http(s), as the Finnish Meteorological Institute's feeds do); a folder holds
`*.xml` CAP documents. Each alert is stored once: one already held is passed over without a word to the store,
and the store refuses a second taking anyway (ALREADY_EXISTS). A document that is not a valid CAP 1.2 alert is
refused: logged with its reason, and kept in the refusal log for auditors (`/audit/refusals`, command
`take_received_alert`, its source and digest), once per follower process.

A feed that fails (out of reach, not a feed, the store lost) is logged and tried again after a doubling delay
(from the poll interval up to ten times it, at most an hour); the other feeds go on, and the follower never stops
by itself.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from application.backoff import doubling
from application.coordination import Coordination
from domain.access import Actor
from domain.shared import DomainError, Rule
from interfaces.cap import CAP_MEDIA_TYPE
from interfaces.cap.alerts_in import MAX_DOCUMENT_BYTES, MAX_FEED_BYTES, feed_entries, is_atom_feed, read_alert

log = logging.getLogger("valmius.cap")

FETCH_TIMEOUT_SECONDS = 10.0
REMEMBERED = 100_000  # digests and links a follower remembers having handled


@dataclass
class Poll:
    """What one poll did: alerts taken, passed over as held already, and refused (with their reasons)."""

    taken: list[str] = field(default_factory=list)
    known: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (feed, error)


def fetch(url: str, limit: int) -> bytes:
    """The body at an http(s) `url`, at most `limit` bytes (one more tells that it is larger)."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"{url} is not an http(s) URL")
    request = urllib.request.Request(url, headers={"Accept": f"{CAP_MEDIA_TYPE}, application/atom+xml, */*;q=0.5"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as answer:  # noqa: S310 - http(s) only
        return answer.read(limit + 1)


def shown(source: str) -> str:
    """Where a document came from, as every reader and the log may see it: a URL without its user, password, query
    and fragment (a feed's credentials or API key travel there); a folder's path as it is."""
    parts = urllib.parse.urlsplit(source)
    if parts.scheme not in ("http", "https"):
        return source
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{parts.port}" if parts.port else ""
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class Follower:
    """Polls `feeds` and takes each new alert as `actor` (see the module docstring)."""

    def __init__(
        self, app: Coordination, feeds: list[str], actor: Actor, every: float = 60.0,
        fetch: Callable[[str, int], bytes] = fetch, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.feeds = list(feeds)
        self.actor = actor
        self.every = every
        self.fetch = fetch
        self.clock = clock
        self.handled: dict[str, None] = {}  # digests of documents and links handled (ordered: oldest dropped)
        self.failures: dict[str, int] = {}
        self.next_try: dict[str, float] = {}

    def poll(self) -> Poll:
        """One pass over every feed due: each feed's failure is its own."""
        done = Poll()
        for feed in self.feeds:
            if self.clock() < self.next_try.get(feed, 0.0):
                continue
            try:
                for source, document in self.documents(feed):
                    self.offer(source, document, done)
            except Exception as error:  # noqa: BLE001 - a feed's failure, whatever it is, waits for its retry
                failures = self.failures[feed] = self.failures.get(feed, 0) + 1
                delay = doubling(failures - 1, self.every, min(10 * self.every, 3600.0))
                self.next_try[feed] = self.clock() + delay
                done.failed.append((feed, str(error)))
                log.warning("CAP feed %s failed (%s: %s); trying it again in %.0f s", feed, type(error).__name__,
                            error, delay)
            else:
                self.failures.pop(feed, None)
        return done

    def follow(self, stop: threading.Event) -> None:
        """Poll every `every` seconds until `stop` is set."""
        log.info("following CAP feeds %s every %.0f s as %s", ", ".join(self.feeds), self.every, self.actor.user)
        while not stop.is_set():
            done = self.poll()
            if done.taken or done.refused:
                log.info("CAP feeds: %d alert(s) taken, %d refused", len(done.taken), len(done.refused))
            stop.wait(self.every)

    def documents(self, feed: str) -> Iterator[tuple[str, bytes]]:
        """The documents `feed` offers now, each with where it came from."""
        if "://" not in feed:
            folder = Path(feed)
            if not folder.is_dir():
                raise FileNotFoundError(f"{feed} is no folder")
            for path in sorted(folder.glob("*.xml")):
                yield str(path), path.read_bytes()[: MAX_DOCUMENT_BYTES + 1]
            return
        body = self.fetch(feed, MAX_FEED_BYTES)
        if len(body) > MAX_FEED_BYTES:
            raise ValueError(f"the feed is larger than {MAX_FEED_BYTES} bytes")
        if not is_atom_feed(body):
            yield feed, body  # a CAP document (or not: then refused as one)
            return
        for entry in feed_entries(body):
            if entry.document is not None:
                yield feed, entry.document
                continue
            url = urllib.parse.urljoin(feed, entry.url or "")
            if url in self.handled:
                continue  # a linked alert taken, held or refused before: CAP documents do not change
            try:
                document = self.fetch(url, MAX_DOCUMENT_BYTES)
            except OSError as error:  # this alert's link only: tried again at the next poll
                log.warning("CAP document %s of feed %s could not be fetched: %s", url, feed, error)
                continue
            except ValueError as error:  # a link no poll can follow (not http(s), malformed): never again
                log.warning("CAP document %s of feed %s is not followed: %s", url, feed, error)
                self.remember(url)
                continue
            yield url, document
            self.remember(url)

    def offer(self, source: str, document: bytes, done: Poll) -> None:
        """Take `document` unless it was handled before or its alert is held already."""
        source = shown(source)
        digest = hashlib.sha256(document).hexdigest()
        if digest in self.handled:
            return
        try:
            alert = read_alert(document)
        except ValueError:  # InvalidCapDocument
            alert = None  # refused below, with its reason, and kept
        if alert is not None and self.app.has_received_alert(alert.alert_id):
            done.known += 1
            self.remember(digest)
            return
        try:
            alert_id, _ = self.app.take_received_alert(self.actor, document, read_alert, source=source)
        except DomainError as refused:
            if refused.rule is Rule.ALREADY_EXISTS:  # taken by another taker since
                done.known += 1
            elif refused.rule is Rule.INVALID_CAP:
                done.refused.append((source, refused.message))
                log.warning("refused CAP document from %s (sha256 %s): %s", source, digest, refused.message)
            else:
                raise
        else:
            done.taken.append(alert_id)
            log.info("took CAP alert %s from %s as %s", alert.identifier if alert else "?", source, alert_id)
        self.remember(digest)

    def remember(self, key: str) -> None:
        self.handled[key] = None
        if len(self.handled) > REMEMBERED:
            self.handled.pop(next(iter(self.handled)))
