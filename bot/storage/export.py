"""Rated questions → evaluation rows, in the JSON Lines format `coverage-bot eval` reads.

A row's gold answer is the text of a sentence the bot showed, as it was shown
(the log keeps it), so `eval` judges a hit correct when it is that sentence or
contains it (docs/evaluation.md). Which sentence a question's votes identify:
1. every sentence a voter picked with "which sentence was the answer?";
2. else, with a 👍, the first sentence shown: the one the reply puts first;
3. else, with "none of them", no sentence: an unanswerable row (`answers: []`);
4. else (only 👎 with no pick) nothing is known: no row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from bot.settings import DB_NAME, ENV_DB, Settings
from bot.storage.records import NONE_OF_THEM, UP, RatedQuestion

__all__ = [
    "DB_NAME",
    "ENV_DB",
    "default_db_path",
    "evaluation_row",
    "evaluation_rows",
    "parse_since",
]


def default_db_path(settings: Settings) -> Path:
    """The bot's question log: $COVERAGE_BOT_DB, else `storage.path`, else beside the index
    cache (/data in Docker), else beside the config (resolved by bot/settings.py)."""
    if settings.storage.path is not None:
        return settings.storage.path
    if settings.corpus.index_dir is not None:
        return settings.corpus.index_dir.parent / DB_NAME
    return settings.source.resolve().parent / DB_NAME


def parse_since(value: str) -> float:
    """A date (2026-11-01, midnight UTC) or an ISO time (UTC unless it names a zone)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected a date such as 2026-11-01, got {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def evaluation_row(rated: RatedQuestion) -> dict | None:
    """The eval row the votes on one question support, or None (see module docstring)."""
    picked: list[int] = []
    for _, chosen in rated.votes:
        if chosen and chosen <= len(rated.hits) and chosen not in picked:
            picked.append(chosen)
    if not picked and rated.hits and any(value == UP for value, _ in rated.votes):
        picked = [1]
    if not picked and not any(chosen == NONE_OF_THEM for _, chosen in rated.votes):
        return None
    answers: list[str] = []
    for rank in picked:
        if rated.hits[rank - 1].text not in answers:
            answers.append(rated.hits[rank - 1].text)
    row: dict = {"id": f"feedback-{rated.id}", "question": rated.question, "answers": answers}
    if picked:
        row["doc"] = rated.hits[picked[0] - 1].doc
    row["asked"] = datetime.fromtimestamp(rated.asked_at, UTC).isoformat(timespec="seconds")
    return row


def evaluation_rows(rated: Iterable[RatedQuestion]) -> list[dict]:
    return [row for row in map(evaluation_row, rated) if row is not None]
