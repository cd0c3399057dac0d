"""Documents grouped by outlet, the outlet that ran them first on top.

One order for every list that answers "who ran this, and when": the grouped
citation under an answer (bot/source_groups.py) and who ran a sentence
(retrieval/neardup.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TypeVar

from retrieval.dates import earliest_first, parse_date
from retrieval.models import Source

T = TypeVar("T")


def group_by_outlet(
    items: Iterable[T], source_of: Callable[[T], Source]
) -> list[tuple[str | None, tuple[T, ...]]]:
    """(outlet, its items) pairs: outlets by their earliest date, undated ones last.

    Each outlet's items are earliest first (undated last, then by document name).
    Outlets whose first dates tie keep the order in which they first appear in
    `items`: dates are days, so the corpus cannot tell which ran it first, and the
    caller's order says which the reader is looking at (the citation lists the
    document whose wording is quoted first; who-ran-it lists the closest copies
    first). Deterministic for a given input order.

    Args:
        items: documents, or records that each hold one (`source_of` finds it).
        source_of: the item's document (its outlet and date).

    Returns:
        One pair per distinct `outlet` value (None included), in that order.
    """
    by_outlet: dict[str | None, list[T]] = {}  # insertion order: first appearance
    for item in items:
        by_outlet.setdefault(source_of(item).outlet, []).append(item)
    groups = [
        (outlet, tuple(sorted(found, key=lambda item: earliest_first(source_of(item)))))
        for outlet, found in by_outlet.items()
    ]
    return sorted(groups, key=lambda group: _first_day(source_of(group[1][0])))  # stable


def _first_day(source: Source) -> tuple[bool, dt.date]:
    day = parse_date(source.date)
    return (day is None, day or dt.date.min)
