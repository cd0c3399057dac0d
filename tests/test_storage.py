"""The question log on a real SQLite file: schema versions, votes, privacy, retention, views."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.storage import (
    DOWN,
    NONE_OF_THEM,
    UP,
    AsyncStorage,
    QuestionEntry,
    SchemaTooNew,
    Storage,
    VoteOutcome,
)
from bot.storage.schema import VERSION, migrate
from retrieval.index import SentenceIndex
from retrieval.search import search

ASKER = 5_550_001
# Noon today (UTC): votes carry the real time of voting, which must fall in the same days.
TODAY = datetime.now(UTC).date()
NOW = datetime.combine(TODAY, datetime.min.time(), UTC).timestamp() + 12 * 3600
HOUR = 3600.0


def entry(
    index: SentenceIndex,
    question: str,
    *,
    asked_at: float = NOW,
    latency_ms: float = 12.0,
    chat_type: str = "private",
    chat_id: int | None = ASKER,
    user_id: int = ASKER,
) -> QuestionEntry:
    """The entry the bot logs for `question`, answered from the seed index."""
    result = search(index, question, k=5)
    logged = QuestionEntry.from_result(
        result,
        latency_ms=latency_ms,
        generation=index.corpus_key,
        chat_type=chat_type,
        chat_id=chat_id,
        user_id=user_id,
    )
    return dataclasses.replace(logged, asked_at=asked_at)


def rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


# -- schema versions ---------------------------------------------------------------------


def test_a_new_file_gets_the_whole_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    Storage(path).close()
    assert rows(path, "PRAGMA user_version") == [(VERSION,)] == [(2,)]
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]
    tables = {name for (name,) in rows(path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"meta", "questions", "votes"} <= tables


def test_a_version_1_log_is_upgraded_and_keeps_its_questions(
    tmp_path: Path, seed_index: SentenceIndex
) -> None:
    path = tmp_path / "log.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    assert migrate(db, path, upto=1) == 0
    db.close()
    assert rows(path, "PRAGMA user_version") == [(1,)]
    # A question logged by a release that knew only version 1 (no votes table yet).
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO questions (asked_at, chat_type, asker, question, terms, hits, n_hits,"
            " latency_ms, generation) VALUES (?, 'group', '', 'ماذا قال كيم عن الإمبريالية؟',"
            " '[\"قال\", \"كيم\", \"امبريال\"]', '[]', 0, 8.5, 'old')",
            (NOW,),
        )
    with Storage(path, keep_days=None) as storage:
        assert rows(path, "PRAGMA user_version") == [(2,)]
        assert storage.count("questions") == 1
        assert storage.vote(1, ASKER, UP, asker_only=False) is VoteOutcome.COUNTED
        assert storage.stats(now=NOW).up == 1


def test_a_schema_newer_than_this_release_is_refused_naming_both_versions(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.sqlite3"
    Storage(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 7")
    with pytest.raises(SchemaTooNew) as refused:
        Storage(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: database schema version 7 is newer")
    assert "(version 2)" in message
    assert rows(path, "PRAGMA user_version") == [(7,)], "the file was left alone"


def test_the_bot_facade_also_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 3")

    async def start() -> None:
        storage = AsyncStorage(path)
        try:
            await storage.start()
        finally:
            await storage.close()

    with pytest.raises(SchemaTooNew, match="version 3 is newer"):
        asyncio.run(start())


# -- log and votes ---------------------------------------------------------------------


def test_a_question_is_logged_with_its_terms_and_shown_hits(
    tmp_path: Path, seed_index: SentenceIndex
) -> None:
    path = tmp_path / "log.sqlite3"
    with Storage(path) as storage:
        answer = storage.log_question(entry(seed_index, "ماذا قال كيم عن الإمبريالية؟"))
    ((question, terms, hits, n_hits, generation),) = rows(
        path, "SELECT question, terms, hits, n_hits, generation FROM questions"
    )
    assert answer == 1
    assert question == "ماذا قال كيم عن الإمبريالية؟"
    assert terms == '["قال", "كيم", "امبريال"]'
    assert n_hits == 5 and generation == seed_index.corpus_key
    shown = search(seed_index, "ماذا قال كيم عن الإمبريالية؟").hits
    first = f'[{{"doc": "{shown[0].source.doc}", "position": {shown[0].sentence.position}, '
    assert hits.startswith(first + '"score": '), "the doc and sentence position of each shown hit"
    assert '"text": "محاربة الإمبريالية' in hits


def test_private_ids_are_not_stored_unless_asked_to(
    tmp_path: Path, seed_index: SentenceIndex
) -> None:
    path = tmp_path / "log.sqlite3"
    question = "أين عقدت القمة بين كيم وبوتين؟"
    with Storage(path) as storage:
        storage.log_question(entry(seed_index, question))
        storage.log_question(entry(seed_index, question, chat_type="supergroup", chat_id=-100777))
    with Storage(path, log_user_ids=True) as storage:
        storage.log_question(entry(seed_index, question))
    assert rows(path, "SELECT chat_type, chat_id, user_id FROM questions ORDER BY id") == [
        ("private", None, None),
        ("supergroup", -100777, None),  # a team's chat, not a person
        ("private", ASKER, ASKER),
    ]


def test_a_vote_counts_once_changes_and_remembers_the_chosen_sentence(
    tmp_path: Path, seed_index: SentenceIndex
) -> None:
    path = tmp_path / "log.sqlite3"
    with Storage(path) as storage:
        answer = storage.log_question(entry(seed_index, "كيف وصل كيم جونج أون إلى روسيا؟"))
        assert storage.vote(answer, ASKER, UP) is VoteOutcome.COUNTED
        assert storage.vote(answer, ASKER, UP) is VoteOutcome.UNCHANGED  # a replayed tap
        assert storage.vote(answer, ASKER, DOWN) is VoteOutcome.CHANGED
        assert storage.choose(answer, ASKER, 2) is VoteOutcome.CHANGED
        assert rows(path, "SELECT value, chosen FROM votes") == [(DOWN, 2)]
        assert storage.choose(answer, ASKER, NONE_OF_THEM) is VoteOutcome.CHANGED
        assert rows(path, "SELECT value, chosen FROM votes") == [(DOWN, 0)]
        # Back to 👍: the "none of them" said under 👎 no longer holds.
        assert storage.vote(answer, ASKER, UP) is VoteOutcome.CHANGED
        assert rows(path, "SELECT value, chosen FROM votes") == [(UP, None)]
        assert storage.count("votes") == 1


def test_forged_votes_are_refused(tmp_path: Path, seed_index: SentenceIndex) -> None:
    with Storage(tmp_path / "log.sqlite3") as storage:
        answer = storage.log_question(entry(seed_index, "كيف وصل كيم جونج أون إلى روسيا؟"))
        assert storage.vote(answer, 9_999_999, UP) is VoteOutcome.NOT_YOURS
        assert storage.vote(answer + 1, ASKER, UP) is VoteOutcome.UNKNOWN
        assert storage.vote(answer, ASKER, 5) is VoteOutcome.INVALID
        assert storage.choose(answer, ASKER, 6) is VoteOutcome.INVALID  # five were shown
        assert storage.choose(answer, ASKER, -1) is VoteOutcome.INVALID
        assert storage.count("votes") == 0


def test_the_voter_is_stored_as_a_hash_that_differs_per_answer(
    tmp_path: Path, seed_index: SentenceIndex
) -> None:
    path = tmp_path / "log.sqlite3"
    with Storage(path) as storage:
        first = storage.log_question(entry(seed_index, "كيف وصل كيم جونج أون إلى روسيا؟"))
        second = storage.log_question(entry(seed_index, "ماذا قال كيم عن الإمبريالية؟"))
        storage.vote(first, ASKER, UP)
        storage.vote(second, ASKER, DOWN)
    voters = [voter for (voter,) in rows(path, "SELECT voter FROM votes")]
    assert len(voters) == 2 and voters[0] != voters[1], "votes of one user cannot be linked"
    assert all(len(v) == 64 and str(ASKER) not in v for v in voters)


def test_fifty_users_voting_at_once_lose_no_vote(tmp_path: Path, seed_index: SentenceIndex) -> None:
    """Each voter has its own connection, as separate processes would: SQLite does the locking."""
    path = tmp_path / "log.sqlite3"
    with Storage(path) as storage:
        answer = storage.log_question(
            entry(seed_index, "أين عقدت القمة بين كيم وبوتين؟", chat_type="group", chat_id=-5)
        )
    users = range(1000, 1050)
    start = threading.Barrier(len(users))
    outcomes: dict[int, list[VoteOutcome]] = {}

    def voter(user: int) -> None:
        with Storage(path, busy_timeout=30) as mine:
            start.wait()
            votes = [mine.vote(answer, user, UP, asker_only=False)]
            votes.append(mine.vote(answer, user, UP, asker_only=False))
            if user % 2:
                votes.append(mine.vote(answer, user, DOWN, asker_only=False))
            outcomes[user] = votes

    threads = [threading.Thread(target=voter, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 50
    for user, votes in outcomes.items():
        expected = [VoteOutcome.COUNTED, VoteOutcome.UNCHANGED]
        assert votes == expected + [VoteOutcome.CHANGED] * (user % 2), user
    assert rows(path, "SELECT value, count(*) FROM votes GROUP BY value ORDER BY value") == [
        (DOWN, 25),
        (UP, 25),
    ]


def test_retention_deletes_old_questions_and_their_votes(
    tmp_path: Path, seed_index: SentenceIndex
) -> None:
    path = tmp_path / "log.sqlite3"
    with Storage(path, keep_days=90) as storage:
        old = storage.log_question(entry(seed_index, "سعر الذهب", asked_at=NOW - 91 * 24 * HOUR))
        recent = storage.log_question(entry(seed_index, "سعر الذهب", asked_at=NOW - 89 * 24 * HOUR))
        storage.choose(old, ASKER, NONE_OF_THEM)
        storage.choose(recent, ASKER, NONE_OF_THEM)
        assert storage.prune(now=NOW) == 1
        assert rows(path, "SELECT id FROM questions") == [(recent,)]
        assert rows(path, "SELECT answer_id FROM votes") == [(recent,)]
        # A button under the expired answer is refused; its id is never given out again.
        assert storage.vote(old, ASKER, UP) is VoteOutcome.UNKNOWN
        assert storage.log_question(entry(seed_index, "سعر الذهب")) == recent + 1


def test_retention_runs_when_the_log_is_opened(tmp_path: Path, seed_index: SentenceIndex) -> None:
    path = tmp_path / "log.sqlite3"
    with Storage(path, keep_days=None) as storage:
        storage.log_question(entry(seed_index, "سعر الذهب", asked_at=0.0))
        storage.log_question(entry(seed_index, "سعر الذهب"))
    with Storage(path, keep_days=30) as storage:
        assert storage.count("questions") == 1


# -- the admin views -------------------------------------------------------------------


def test_gaps_group_unanswered_and_disliked_questions_by_their_terms(
    tmp_path: Path, seed_index: SentenceIndex
) -> None:
    with Storage(tmp_path / "log.sqlite3") as storage:

        def ask(question: str, hours_ago: float) -> int:
            return storage.log_question(
                entry(seed_index, question, asked_at=NOW - hours_ago * HOUR)
            )

        ask("ما نتيجة مباراة الأهلي والزمالك؟", 30)
        ask("نتيجة مباراة الزمالك والأهلي", 5)  # the same terms in another order
        ask("كم سعر الذهب اليوم؟", 20)
        ask("سعر الذهب", 2)  # fewer terms: another gap
        storage.vote(ask("كيف وصل كيم جونج أون إلى روسيا؟", 3), ASKER, DOWN)
        ask("متى وصل كيم جونج أون إلى روسيا؟", 1)  # answered, not disliked: not a gap
        storage.vote(ask("ماذا قال كيم عن الإمبريالية؟", 1), ASKER, UP)
        ask("ما هو؟", 1)  # no terms at all: not a coverage gap
        ask("سعر الذهب", 24 * 40)  # older than the window
        gaps = storage.gaps(days=30, limit=10, now=NOW)
        assert [(g.terms, g.count, g.no_hits, g.example) for g in gaps] == [
            (("اهل", "زمالك", "مبارا", "نتيج"), 2, 2, "نتيجة مباراة الزمالك والأهلي"),
            (("ذهب", "سعر"), 1, 1, "سعر الذهب"),
            (("اون", "جونج", "روسيا", "كيم", "وصل"), 1, 0, "كيف وصل كيم جونج أون إلى روسيا؟"),
            (("ذهب", "سعر", "يوم"), 1, 1, "كم سعر الذهب اليوم؟"),
        ]
        assert [g.terms for g in storage.gaps(days=30, limit=2, now=NOW)] == [
            ("اهل", "زمالك", "مبارا", "نتيج"),
            ("ذهب", "سعر"),
        ]


def test_stats_count_the_last_seven_days(tmp_path: Path, seed_index: SentenceIndex) -> None:
    with Storage(tmp_path / "log.sqlite3") as storage:
        # Twenty questions over three days, answered in 10, 20, ... 200 ms.
        for n in range(20):
            question = "سعر الذهب" if n < 5 else "أين عقدت القمة بين كيم وبوتين؟"
            day = (0, 24, 24 * 6)[n % 3]
            answer = storage.log_question(
                entry(seed_index, question, asked_at=NOW - day * HOUR, latency_ms=10.0 * (n + 1))
            )
            if n >= 5:
                storage.vote(answer, ASKER, UP if n % 4 else DOWN)
        storage.log_question(entry(seed_index, "سعر الذهب", asked_at=NOW - 24 * 7 * HOUR))
        stats = storage.stats(days=7, now=NOW)
    assert stats.per_day == tuple(
        (TODAY - timedelta(days=ago), count)
        for ago, count in zip(range(6, -1, -1), (6, 0, 0, 0, 0, 7, 7), strict=True)
    )
    assert stats.questions == 20, "the question of 7 days ago is outside the window"
    assert (stats.no_hits, stats.no_hits_share) == (5, 0.25)
    # Votes were cast now (n = 5..19); n = 8, 12, 16 got 👎.
    assert (stats.up, stats.down) == (12, 3)
    assert (stats.p50_ms, stats.p95_ms) == (100.0, 190.0)


def test_stats_of_an_empty_log(tmp_path: Path) -> None:
    with Storage(tmp_path / "log.sqlite3") as storage:
        stats = storage.stats(days=3, now=NOW)
    assert stats.per_day == tuple((TODAY - timedelta(days=ago), 0) for ago in (2, 1, 0))
    assert (stats.questions, stats.no_hits_share, stats.p50_ms, stats.p95_ms) == (
        0,
        None,
        None,
        None,
    )


def test_the_facade_logs_votes_and_reads_off_the_event_loop(
    tmp_path: Path, seed_index: SentenceIndex
) -> None:
    asyncio.run(_facade_round_trip(tmp_path, seed_index))


async def _facade_round_trip(tmp_path: Path, seed_index: SentenceIndex) -> None:
    storage = AsyncStorage(tmp_path / "log.sqlite3")
    await storage.start()
    assert storage.available and storage.problem is None
    answer = await storage.log_question(entry(seed_index, "كيف وصل كيم جونج أون إلى روسيا؟"))
    assert answer == 1
    assert await storage.vote(1, ASKER, DOWN) is VoteOutcome.COUNTED
    assert await storage.choose(1, ASKER, 3) is VoteOutcome.CHANGED
    assert await storage.vote(1, 42, UP) is VoteOutcome.NOT_YOURS
    assert [g.example for g in await storage.gaps()] == ["كيف وصل كيم جونج أون إلى روسيا؟"]
    stats = await storage.stats()
    assert stats is not None and (stats.questions, stats.down) == (1, 1)
    await storage.close()
