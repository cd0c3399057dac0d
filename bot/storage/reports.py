"""The admin views computed from log rows: pure functions, no SQL, so each is tested alone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from bot.storage.records import Gap, UsageStats
from retrieval.evaluate import percentile


def gap_key(terms: Iterable[str]) -> tuple[str, ...]:
    """Questions asked in other words or word order still fall into one gap."""
    return tuple(sorted(set(terms)))


def group_gaps(rows: Iterable[tuple[float, str, tuple[str, ...], int]], limit: int) -> list[Gap]:
    """Gaps from (asked_at, question, terms, n_hits) rows of failed questions.

    Questions with no terms at all (only stop words) are not coverage gaps and
    are left out. Most frequent first; ties go to the most recently asked.
    """
    groups: dict[tuple[str, ...], list[tuple[float, str, int]]] = {}
    for asked_at, question, terms, n_hits in rows:
        key = gap_key(terms)
        if key:
            groups.setdefault(key, []).append((asked_at, question, n_hits))
    gaps = []
    for key, members in groups.items():
        latest = max(members)
        gaps.append(
            Gap(
                terms=key,
                count=len(members),
                example=latest[1],
                no_hits=sum(1 for _, _, n in members if n == 0),
                last_asked=latest[0],
            )
        )
    gaps.sort(key=lambda g: (-g.count, -g.last_asked, g.terms))
    return gaps[:limit]


def usage_stats(
    days: int,
    now: float,
    questions: Iterable[tuple[float, int, float]],
    votes: Iterable[int],
) -> UsageStats:
    """Stats from (asked_at, n_hits, latency_ms) rows and vote values of the window."""
    today = datetime.fromtimestamp(now, UTC).date()
    per_day: dict[date, int] = {today - timedelta(days=d): 0 for d in range(days - 1, -1, -1)}
    latencies = []
    no_hits = 0
    for asked_at, n_hits, latency_ms in questions:
        day = datetime.fromtimestamp(asked_at, UTC).date()
        if day in per_day:
            per_day[day] += 1
        latencies.append(latency_ms)
        no_hits += n_hits == 0
    latencies.sort()
    values = list(votes)
    return UsageStats(
        days=days,
        per_day=tuple(per_day.items()),
        questions=len(latencies),
        no_hits=no_hits,
        up=values.count(1),
        down=values.count(-1),
        p50_ms=percentile(latencies, 50) if latencies else None,
        p95_ms=percentile(latencies, 95) if latencies else None,
    )


def window_start(days: int, now: float) -> float:
    """Midnight UTC `days - 1` days before `now`: "the last 7 days" include today."""
    today = datetime.fromtimestamp(now, UTC).date()
    start = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), UTC)
    return start.timestamp()
