"""Filters written into a question: `outlet:NAME`, `from:YYYY-MM-DD`, `to:YYYY-MM-DD`.

A newsroom asks what one outlet said, or what was said in one week. The filter tokens
are taken out of the question text before it is analyzed, and become a mask over the
index's source documents that the search applies to its candidates (retrieval/search.py),
so a filtered question ranks only the selected documents' sentences: hits from other
outlets never crowd the selected ones out of the top k.

`outlet:` repeats (any of the named outlets); a name with spaces is quoted
(`outlet:"قناة الساحل"`). Names match the document's `outlet` the way search terms
match: case, diacritics and hamza/alef spelling do not matter (أ إ آ ا, ؤ و, ئ ي, ء).
With `from:` or `to:` only documents with a readable date in range are kept: an
undated document cannot be said to fall in a period.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.dates import parse_date as parse_corpus_date
from retrieval.models import Source
from retrieval.normalize import normalize

KEYS = ("outlet", "from", "to")
# A key, a colon, then a quoted value (straight, curly or guillemet quotes) or a word.
# An opening quote without its closing one is caught as `unclosed`.
_TOKEN_RE = re.compile(
    r"(?<!\S)(?P<key>outlet|from|to):"
    r"(?:\"(?P<q1>[^\"]*)\"|“(?P<q2>[^”]*)”|«(?P<q3>[^»]*)»|(?P<unclosed>[\"“«]\S*)|(?P<word>\S*))",
    re.IGNORECASE,
)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HAMZA = str.maketrans({"ؤ": "و", "ئ": "ي", "ء": None})


# Why a token was refused: code -> English (the bot words them in bot/texts.py).
REASONS = {
    "unclosed": "unclosed quote",
    "empty": "empty value",
    "twice": "given twice",
    "format": "not a date as YYYY-MM-DD",
    "no_such_date": "no such date",
    "order": "from is after to",
}


class FilterError(ValueError):
    """A filter token that cannot be used; `token` is it as written, `reason` a REASONS key."""

    def __init__(self, token: str, reason: str) -> None:
        super().__init__(f"{token}: {REASONS[reason]}")
        self.token = token
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Filters:
    outlets: tuple[str, ...] = ()  # as written; any of them matches
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def __bool__(self) -> bool:
        return bool(self.outlets) or self.date_from is not None or self.date_to is not None

    @property
    def dated(self) -> bool:
        return self.date_from is not None or self.date_to is not None

    def as_dict(self) -> dict:
        return {
            "outlets": list(self.outlets),
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
        }


@dataclass(frozen=True, slots=True)
class Selection:
    """What a filter selects in one index."""

    allowed: np.ndarray  # bool per index.sources
    unknown_outlets: tuple[str, ...]  # named outlets no document has
    undated: int  # documents left out only because they carry no readable date

    @property
    def empty(self) -> bool:
        return not bool(self.allowed.any())


def parse_filters(question: str) -> tuple[str, Filters]:
    """(the question without its filter tokens, the filters); FilterError on a bad token."""
    outlets: list[str] = []
    dates: dict[str, dt.date] = {}
    for match in _TOKEN_RE.finditer(question):
        token = match.group(0)
        key = match.group("key").lower()
        if match.group("unclosed") is not None:
            raise FilterError(token, "unclosed")
        value = next(
            (v for v in match.group("q1", "q2", "q3", "word") if v is not None), ""
        ).strip()
        if not value:
            raise FilterError(token, "empty")
        if key == "outlet":
            outlets.append(" ".join(value.split()))
            continue
        if key in dates:
            raise FilterError(token, "twice")
        dates[key] = _date(token, value)
    date_from, date_to = dates.get("from"), dates.get("to")
    if date_from and date_to and date_from > date_to:
        raise FilterError(f"from:{date_from} to:{date_to}", "order")
    if not outlets and not dates:
        return question, Filters()  # untouched: an unfiltered question searches as asked
    text = " ".join(_TOKEN_RE.sub(" ", question).split())
    return text, Filters(tuple(dict.fromkeys(outlets)), date_from, date_to)


def _date(token: str, value: str) -> dt.date:
    if not _DATE_RE.fullmatch(value):
        raise FilterError(token, "format")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise FilterError(token, "no_such_date") from None


def parse_date(value: str) -> dt.date:
    """A `--from`/`--to` value; FilterError names it when it is not a YYYY-MM-DD date."""
    return _date(value, value.strip())


@functools.lru_cache(maxsize=4096)
def outlet_key(name: str) -> str:
    """How outlet names are compared: normalized like search terms, hamza folded, spaces
    collapsed."""
    return " ".join(normalize(name).translate(_HAMZA).split())


@functools.lru_cache(maxsize=65536)
def source_date(value: str | None) -> dt.date | None:
    """A document's date as timelines and /who read it (`retrieval.dates.parse_date`:
    2024-03-01, 2024/3/1, an ISO time starting with one); None if unreadable."""
    return parse_corpus_date(value)


def select(sources: Sequence[Source], filters: Filters) -> Selection:
    """The documents `filters` keep (all of them when there are none)."""
    allowed = np.ones(len(sources), dtype=bool)
    if not filters:
        return Selection(allowed, (), 0)
    wanted = {outlet_key(name): name for name in filters.outlets}
    seen: set[str] = set()
    undated = 0
    for i, source in enumerate(sources):
        if wanted:
            key = outlet_key(source.outlet) if source.outlet else ""
            if key not in wanted:
                allowed[i] = False
                continue
            seen.add(key)
        if filters.dated:
            day = source_date(source.date)
            if day is None:
                allowed[i] = False
                undated += 1
            elif (filters.date_from and day < filters.date_from) or (
                filters.date_to and day > filters.date_to
            ):
                allowed[i] = False
    unknown = tuple(name for key, name in wanted.items() if key not in seen)
    return Selection(allowed, unknown, undated)


def allowed_sources(sources: Sequence[Source], filters: Filters) -> np.ndarray:
    """Bool per source document: kept by `filters`."""
    return select(sources, filters).allowed


def outlet_names(sources: Sequence[Source], limit: int = 20) -> list[str]:
    """The corpus's outlet names (one spelling each, most documents first), to suggest."""
    counts: dict[str, tuple[str, int]] = {}
    for source in sources:
        if source.outlet:
            key = outlet_key(source.outlet)
            name, n = counts.get(key, (source.outlet, 0))
            counts[key] = (name, n + 1)
    ranked = sorted(counts.values(), key=lambda pair: (-pair[1], pair[0]))
    return [name for name, _ in ranked[:limit]]
