"""How coverage of a topic grew: relevant sentences counted per day (or week), per outlet.

Relevant means what a question about the topic finds: the search's relevant hits
over the whole corpus (`search` with a large k, so nothing in the search changes;
TIMELINE_LIMIT caps the work on a huge corpus and the caption says when it was
reached). A hit is one unique sentence that may sit in several documents (agency
copy runs in many outlets); each document holding it counts once, on that
document's date and under its outlet. Documents without a readable date are counted
apart. Pure data: the chart is drawn by bot/chart.py.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.dates import parse_date
from retrieval.engine import Engine
from retrieval.models import Hit

TIMELINE_LIMIT = 5000  # relevant sentences read for one timeline
DAILY_SPAN = 62  # days: a longer span is drawn per week
UNKNOWN_OUTLET = "غير معروف"


@dataclass(frozen=True, slots=True)
class Bin:
    """One bar: the day (or the Monday of the week) and its count per outlet."""

    start: dt.date
    counts: tuple[tuple[str, int], ...]  # (outlet, count), outlets in Timeline.outlets order

    @property
    def total(self) -> int:
        return sum(count for _, count in self.counts)


@dataclass(frozen=True, slots=True)
class Timeline:
    topic: str
    unit: str  # "day" or "week"
    bins: tuple[Bin, ...]  # every day/week from the first to the last, empty ones included
    outlets: tuple[str, ...]  # most mentions first
    mentions: int  # dated (sentence, document) pairs counted
    documents: int  # dated documents holding a relevant sentence
    undated: int  # (sentence, document) pairs whose document has no readable date
    first: dt.date  # the first and last day with a mention
    last: dt.date
    busiest: tuple[dt.date, int]  # the day with most mentions (the earliest on a tie)
    truncated: bool  # TIMELINE_LIMIT relevant sentences were read and more exist


def timeline_for(engine: Engine, topic: str, limit: int = TIMELINE_LIMIT) -> Timeline | None:
    """The timeline of `topic` over the engine's whole corpus; None when nothing dated
    is relevant."""
    result = engine.search(topic, k=limit)
    return build_timeline(topic, result.hits, truncated=result.has_more)


def build_timeline(topic: str, hits: Sequence[Hit], truncated: bool = False) -> Timeline | None:
    """Count each (relevant sentence, document) pair on its document's day and outlet."""
    per_day: Counter[tuple[dt.date, str]] = Counter()
    documents = set()
    undated = 0
    for hit in hits:
        for source in hit.sources:
            day = parse_date(source.date)
            if day is None:
                undated += 1
                continue
            per_day[(day, source.outlet or UNKNOWN_OUTLET)] += 1
            documents.add(source.doc)
    if not per_day:
        return None
    by_outlet: Counter[str] = Counter()
    by_day: Counter[dt.date] = Counter()
    for (day, outlet), count in per_day.items():
        by_outlet[outlet] += count
        by_day[day] += count
    outlets = tuple(sorted(by_outlet, key=lambda o: (-by_outlet[o], o)))
    first, last = min(by_day), max(by_day)
    unit = "day" if (last - first).days < DAILY_SPAN else "week"
    bins = _bins(per_day, outlets, first, last, unit)
    busiest = min(by_day.items(), key=lambda item: (-item[1], item[0]))
    return Timeline(
        topic=topic,
        unit=unit,
        bins=bins,
        outlets=outlets,
        mentions=sum(by_day.values()),
        documents=len(documents),
        undated=undated,
        first=first,
        last=last,
        busiest=busiest,
        truncated=truncated,
    )


def _bins(
    per_day: Counter[tuple[dt.date, str]],
    outlets: tuple[str, ...],
    first: dt.date,
    last: dt.date,
    unit: str,
) -> tuple[Bin, ...]:
    step = 1 if unit == "day" else 7
    start = first if unit == "day" else first - dt.timedelta(days=first.weekday())
    counts: dict[dt.date, Counter[str]] = {}
    for (day, outlet), count in per_day.items():
        key = day if unit == "day" else day - dt.timedelta(days=day.weekday())
        counts.setdefault(key, Counter())[outlet] += count
    bins = []
    day = start
    while day <= last:
        found = counts.get(day, Counter())
        bins.append(Bin(day, tuple((o, found[o]) for o in outlets if found[o])))
        day += dt.timedelta(days=step)
    return tuple(bins)
