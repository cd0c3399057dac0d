"""Corpus dates: the day a document's `date:` field names, and documents ordered by it.

Kept apart from timeline.py, which builds timelines from an Engine, so that who ran a
sentence and the grouped citations can order documents without importing the search
engine. Standard library only.
"""

from __future__ import annotations

import datetime as dt
import re

from retrieval.models import Source

# Leading space as the `regex` module reads `\s` (the rest of retrieval uses it): the
# ASCII separators U+001C–U+001F, which `re`'s `\s` would skip, are not space.
_DATE_RE = re.compile(r"^[^\S\x1c-\x1f]*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")


def parse_date(text: str | None) -> dt.date | None:
    """The calendar date a corpus `date:` field starts with (2024-10-08, 2024/10/08,
    2024-10-08T09:30:00Z), or None."""
    if not text:
        return None
    match = _DATE_RE.match(text)
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def earliest_first(source: Source) -> tuple[bool, dt.date, str]:
    """Sort key for documents: earliest date first, undated last, then by name."""
    day = parse_date(source.date)
    return (day is None, day or dt.date.min, source.doc)
