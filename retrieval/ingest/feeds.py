"""News feeds (RSS and Atom) that keep the uploads folder current without an admin.

A poll fetches the feed through the same guarded fetcher as `/add URL`
(retrieval/ingest/fetch.py: public addresses only unless allowed, bounded in time and
size, redirects checked hop by hop), parses it with feedparser, and for each item not
seen before fetches the item's page, extracts its article exactly as `/add` does
(retrieval/ingest/extract.py) and stores it in the uploads folder
(retrieval/ingest/uploads.py) with the feed's outlet, the item's published date, its
title and link.

Items already handled are remembered in a small JSON file beside the uploads folder
(written to a temporary file and renamed into place), so a restart adds nothing
twice. Every failure names the feed or item URL and is kept as the feed's last
error; one bad feed never stops the others. Nothing here imports telegram: the bot
(bot/feed_jobs.py) and the `feeds --once` command both drive `FeedPoller`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax import SAXParseException

from retrieval.ingest import uploads
from retrieval.ingest.extract import extract
from retrieval.ingest.fetch import FEED_TYPES, FetchLimits, fetch, fetch_html
from retrieval.ingest.models import Feed, IngestError

log = logging.getLogger(__name__)

SEEN_FILE = "feeds-seen.json"  # beside the uploads folder
MAX_ITEMS_PER_POLL = 50  # new items fetched per poll; the rest wait for the next one
MAX_TRIES = 3  # polls an item's page may fail before it is given up (and remembered)


@dataclass(frozen=True, slots=True)
class FeedItem:
    key: str  # the item's id, else its link: what "seen" remembers
    link: str | None
    title: str | None
    date: str | None  # YYYY-MM-DD (UTC) of the item's published (else updated) time


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    items: tuple[FeedItem, ...]


@dataclass(slots=True)
class PollResult:
    """What one poll of one feed did."""

    feed: Feed
    added: list[str] = field(default_factory=list)  # documents stored (uploads/NAME)
    problems: list[str] = field(default_factory=list)  # one line per item not added
    error: str | None = None  # the feed itself failed (nothing was added then)
    outlet: str | None = None


@dataclass(slots=True)
class FeedStatus:
    """What `/feeds` shows for one feed."""

    feed: Feed
    outlet: str | None = None  # as the last poll resolved it (config, else the feed's title)
    last_poll: float | None = None
    added_total: int = 0
    last_added: int = 0
    last_error: str | None = None


class FeedError(IngestError):
    """A feed that cannot be read (not a feed, not XML, unreachable…)."""


def parse_feed(data: bytes, url: str, content_type: str = "application/xml") -> ParsedFeed:
    """The title and items of RSS or Atom `data`; raises FeedError when it is neither."""
    import feedparser  # imported here: the bot's start-up need not pay for it without feeds

    # A file object, never bytes or str: feedparser would open those as a file name or URL.
    headers = {"content-location": url, "content-type": content_type}
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    if not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        malformed = isinstance(problem, SAXParseException)
        raise FeedError(url, "not an RSS or Atom feed" + (f": {problem}" if malformed else ""))
    items = []
    for entry in parsed.entries:
        link = _clean(entry.get("link"))
        key = _clean(entry.get("id")) or link
        if key is None:
            title = _clean(entry.get("title")) or "(untitled)"
            key = f"untitled:{title}"
        moment = entry.get("published_parsed") or entry.get("updated_parsed")
        date = time.strftime("%Y-%m-%d", moment) if moment else None
        items.append(FeedItem(key, link, _clean(entry.get("title")), date))
    return ParsedFeed(_clean(parsed.feed.get("title")), tuple(items))


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text or None


class SeenItems:
    """Item keys already handled, per feed URL, persisted atomically as JSON."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._items: dict[str, dict[str, dict[str, object]]] = self._load()

    def _load(self) -> dict[str, dict[str, dict[str, object]]]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            # Unreadable memory: feeds would add every item again, which the uploads
            # folder refuses anyway ("already in the corpus"); say so once.
            log.warning("feeds: %s unreadable (%s); starting with no items seen", self.path, exc)
            return {}
        feeds = raw.get("feeds") if isinstance(raw, dict) else None
        if not isinstance(feeds, dict):
            log.warning("feeds: %s is not a seen-items file; starting with none seen", self.path)
            return {}
        return {k: v for k, v in feeds.items() if isinstance(v, dict)}

    def entry(self, feed_url: str, key: str) -> dict[str, object] | None:
        with self._lock:
            return self._items.get(feed_url, {}).get(key)

    def remember(self, feed_url: str, key: str, **record: object) -> None:
        with self._lock:
            self._items.setdefault(feed_url, {})[key] = record

    def save(self) -> None:
        """Write the file atomically (temporary file, fsync, rename)."""
        with self._lock:
            data = json.dumps({"version": 1, "feeds": self._items}, ensure_ascii=False, indent=1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".feeds-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


class FeedPoller:
    """Polls feeds into the uploads folder; safe to call from several threads."""

    def __init__(
        self,
        feeds: Sequence[Feed],
        uploads_dir: Path,
        limits: FetchLimits,
        seen_path: Path | None = None,
    ) -> None:
        self.feeds = tuple(feeds)
        self.uploads_dir = uploads_dir
        self.limits = limits
        self.seen = SeenItems(seen_path or uploads_dir.parent / SEEN_FILE)
        self.statuses = {feed.url: FeedStatus(feed) for feed in self.feeds}
        self._locks = {feed.url: threading.Lock() for feed in self.feeds}
        self._store_lock = threading.Lock()  # one writer of the uploads folder at a time

    def poll_all(self) -> list[PollResult]:
        return [self.poll(feed) for feed in self.feeds]

    def poll(self, feed: Feed, keep_going: Callable[[], bool] | None = None) -> PollResult:
        """One poll of `feed`; never raises for anything the feed or its pages do.

        `keep_going` is asked before each item: a bot that is shutting down stops after
        the item in hand (the rest wait for the next poll) instead of holding up its exit.
        """
        with self._locks[feed.url]:
            try:
                result = self._poll(feed, keep_going or (lambda: True))
            except IngestError as exc:
                result = PollResult(feed, error=exc.reason)
            except Exception as exc:  # a parser or storage surprise: this feed only
                log.exception("feed %s: poll failed", feed.url)
                result = PollResult(feed, error=f"{type(exc).__name__}: {exc}")
            if result.error:
                log.warning("feed %s: %s", feed.url, result.error)
            status = self.statuses[feed.url]
            status.last_poll = time.time()
            status.outlet = result.outlet or status.outlet
            status.last_added = len(result.added)
            status.added_total += len(result.added)
            status.last_error = result.error or (result.problems[-1] if result.problems else None)
            return result

    def _poll(self, feed: Feed, keep_going: Callable[[], bool]) -> PollResult:
        fetched = fetch(feed.url, self.limits, FEED_TYPES, "an RSS or Atom feed (XML)")
        parsed = parse_feed(fetched.data, feed.url, fetched.content_type)
        outlet = feed.outlet or parsed.title or urlsplit(feed.url).hostname or feed.url
        result = PollResult(feed, outlet=outlet)
        fresh = [item for item in parsed.items if self._wanted(feed, item)]
        for n, item in enumerate(fresh[:MAX_ITEMS_PER_POLL]):
            if not keep_going():
                log.info(
                    "feed %s: stopping; %d new items left for the next poll",
                    feed.url,
                    len(fresh) - n,
                )
                break
            problem = self._add(feed, item, outlet, result)
            if problem is not None:
                log.warning("feed %s: %s", feed.url, problem)
                result.problems.append(problem)
        self.seen.save()
        log.info(
            "feed %s: %d items, %d new, %d added",
            feed.url,
            len(parsed.items),
            len(fresh),
            len(result.added),
        )
        return result

    def _wanted(self, feed: Feed, item: FeedItem) -> bool:
        entry = self.seen.entry(feed.url, item.key)
        if entry is None:
            return True
        tries = entry.get("tries")
        return entry.get("doc") is None and isinstance(tries, int) and tries < MAX_TRIES

    def _add(self, feed: Feed, item: FeedItem, outlet: str, result: PollResult) -> str | None:
        """Fetch, extract and store one item; the problem line when it was not added."""
        label = item.link or item.title or item.key
        if item.link is None:
            self.seen.remember(feed.url, item.key, doc=None, error="no link")
            return f"item {label!r} has no link; skipped"
        try:
            page = fetch_html(item.link, self.limits)
            name = f"{urlsplit(page.url).hostname or 'page'}.html"
            extracted = extract(page.data, name, self.limits.max_bytes)
            overrides = {"outlet": outlet, "url": item.link}
            if item.title:
                overrides["title"] = item.title
            if item.date:
                overrides["date"] = item.date
            extracted = extracted.with_overrides(overrides)
            with self._store_lock:
                stored = uploads.store(
                    extracted,
                    self.uploads_dir,
                    original_name=item.link,
                    added_by=f"feed {feed.url}",
                )
        except uploads.AlreadyStored as exc:
            self.seen.remember(feed.url, item.key, doc=uploads.PREFIX + exc.name)
            return f"{item.link}: {exc.reason}"
        except IngestError as exc:
            before = self.seen.entry(feed.url, item.key) or {}
            tries = before.get("tries")
            tries = (tries if isinstance(tries, int) else 0) + 1
            self.seen.remember(feed.url, item.key, doc=None, tries=tries, error=exc.reason)
            again = "; will retry" if tries < MAX_TRIES else f"; given up after {tries} tries"
            return f"{exc}{again}"
        self.seen.remember(feed.url, item.key, doc=stored.doc, at=int(time.time()))
        result.added.append(stored.doc)
        if item.date is None and extracted.date is None:
            log.warning("feed %s: item %s has no date; stored without one", feed.url, item.link)
        return None


def summary(result: PollResult) -> str:
    """One line per poll, for the terminal and the log."""
    head = f"{result.feed.url}"
    if result.outlet:
        head += f" ({result.outlet})"
    if result.error:
        return f"{head}: failed: {result.error}"
    text = f"{head}: {len(result.added)} added"
    if result.problems:
        text += f", {len(result.problems)} not added ({result.problems[-1]})"
    return text
