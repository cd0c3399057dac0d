"""The records of ingestion: what a file yielded, and the one error every step raises."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


class IngestError(Exception):
    """A file or link that cannot become a corpus document; `str()` names it and says why."""

    def __init__(self, culprit: str, reason: str) -> None:
        super().__init__(f"{culprit}: {reason}")
        self.culprit = culprit
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Extracted:
    """A document's text and citation fields, as read from an uploaded file or a page."""

    text: str
    title: str
    outlet: str | None = None
    date: str | None = None
    url: str | None = None
    # What was done to get the text that the admin should know ("converted from cp1256").
    notes: tuple[str, ...] = field(default=())

    def with_overrides(self, overrides: dict[str, str]) -> Extracted:
        """The same document with `title`/`outlet`/`date`/`url` replaced where given."""
        known = {k: v for k, v in overrides.items() if k in OVERRIDABLE and v}
        return replace(self, **known)


OVERRIDABLE = ("title", "outlet", "date", "url")


DEFAULT_EVERY = 900.0  # seconds between polls of one feed
MIN_EVERY = 5.0


@dataclass(frozen=True, slots=True)
class Feed:
    """One configured feed (config `feeds:`); here, not in feeds.py, so reading the
    settings does not import the fetcher and extractors (httpx, trafilatura)."""

    url: str
    outlet: str | None = None  # None: the feed's own title
    every: float = DEFAULT_EVERY
