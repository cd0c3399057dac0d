"""`coverage-bot feedback export`: rated questions become an eval file that `eval` scores."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.storage import DOWN, NONE_OF_THEM, UP, LoggedHit, QuestionEntry, RatedQuestion, Storage
from bot.storage.export import evaluation_row
from retrieval.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
ASKER = 31337
LONG_AGO = datetime(2020, 1, 5, tzinfo=UTC).timestamp()


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def seed_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"corpus:\n  path: {ROOT / 'seeds'}\n  index_dir: {tmp_path / 'index'}\n", encoding="utf-8"
    )
    return path


def ask(storage: Storage, engine: Engine, question: str, **when: float) -> int:
    """Log `question` with the reply the bot gives: the engine's first page."""
    result = engine.search(question)
    entry = QuestionEntry.from_result(
        result,
        latency_ms=4.0,
        generation=engine.snapshot.generation,
        chat_type="private",
        chat_id=ASKER,
        user_id=ASKER,
    )
    if when:
        entry = dataclasses.replace(entry, asked_at=when["asked_at"])
    return storage.log_question(entry)


def test_votes_become_eval_rows_that_eval_scores(tmp_path: Path) -> None:
    config = seed_config(tmp_path)
    engine = Engine(ROOT / "seeds", tmp_path / "index")
    engine.open()
    db = tmp_path / "coverage-bot.sqlite3"  # the default place: beside index_dir
    with Storage(db) as storage:
        # The first sentence quotes Putin; the asker picks Kim's words, shown second.
        picked = ask(storage, engine, "ماذا قال كيم عن الإمبريالية؟")
        storage.vote(picked, ASKER, DOWN)
        storage.choose(picked, ASKER, 2)
        liked = ask(storage, engine, "كيف وصل كيم جونج أون إلى روسيا؟")
        storage.vote(liked, ASKER, UP)
        nothing = ask(storage, engine, "كم سعر الذهب اليوم؟")
        storage.choose(nothing, ASKER, NONE_OF_THEM)
        only_down = ask(storage, engine, "أين عقدت القمة بين كيم وبوتين؟")
        storage.vote(only_down, ASKER, DOWN)  # 👎 without a pick says nothing usable
        ask(storage, engine, "متى وصل كيم جونج أون إلى روسيا؟")  # never rated
        old = ask(storage, engine, "وزير الدفاع الروسي", asked_at=LONG_AGO)
        storage.vote(old, ASKER, UP)
    out = tmp_path / "feedback.jsonl"

    exported = cli("feedback", "export", "--config", str(config), "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == (
        f"{out}: 4 questions (3 answerable, 1 unanswerable) from 5 rated in {db}\n"
    )
    since = cli(
        "feedback", "export", "--config", str(config), "--out", str(out), "--since", "2021-01-01"
    )
    assert since.returncode == 0, since.stderr
    assert since.stdout.startswith(f"{out}: 3 questions (2 answerable, 1 unanswerable) from 4")
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["question"]) for r in rows] == [
        (f"feedback-{picked}", "ماذا قال كيم عن الإمبريالية؟"),
        (f"feedback-{liked}", "كيف وصل كيم جونج أون إلى روسيا؟"),
        (f"feedback-{nothing}", "كم سعر الذهب اليوم؟"),
    ]
    assert rows[0]["answers"] == [
        "وقال كيم لبوتين عبر مترجم: “سندعم دائما قرارات الرئيس بوتين والقيادة الروسية… "
        "وسنكون معا في الحرب ضد الإمبريالية”."
    ]
    assert rows[0]["doc"] == "001_76385d4a09d3e801.txt"
    assert rows[1]["answers"] == [
        'وذكرت وكالة "ريا نوفوستي" الروسية للأنباء أنّ '
        '"كيم جونغ أون وصل بالقطار إلى قاعدة فوستوتشني الفضائية".'
    ]
    assert rows[2]["answers"] == [] and "doc" not in rows[2]

    scored = cli("eval", "--config", str(config), "--questions", str(out), "--json")
    assert scored.returncode == 0, scored.stderr
    metrics = json.loads(scored.stdout)
    assert (metrics["questions"], metrics["answerable"], metrics["unanswerable"]) == (3, 2, 1)
    # Kim's words still come second, the 👍 sentence first: a ranking change would show here.
    assert (metrics["recall@1"], metrics["recall@5"], metrics["mrr@10"]) == (0.5, 1.0, 0.75)
    assert metrics["unanswerable_no_hits"] == 1.0


def test_export_refuses_a_missing_log_a_bad_date_and_a_newer_schema(tmp_path: Path) -> None:
    config = seed_config(tmp_path)
    out = tmp_path / "out.jsonl"
    missing = cli("feedback", "export", "--config", str(config), "--out", str(out))
    assert missing.returncode == 1
    assert missing.stderr == (
        f"coverage-bot: no question log at {tmp_path / 'coverage-bot.sqlite3'}"
        " (give --db or set $COVERAGE_BOT_DB)\n"
    )
    bad_date = cli("feedback", "export", "--out", str(out), "--since", "أمس")
    assert bad_date.returncode == 2
    assert "expected a date such as 2026-11-01, got 'أمس'" in bad_date.stderr
    newer = tmp_path / "newer.sqlite3"
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 9")
    refused = cli("feedback", "export", "--out", str(out), env={"COVERAGE_BOT_DB": str(newer)})
    assert refused.returncode == 1
    assert f"{newer}: database schema version 9 is newer" in refused.stderr
    assert not out.exists()


def rated(*votes: tuple[int, int | None], hits: int = 3) -> RatedQuestion:
    shown = tuple(
        LoggedHit(f"{n}.txt", n, 10.0 - n, f"الجملة رقم {n} عن القمة.") for n in range(1, hits + 1)
    )
    return RatedQuestion(7, LONG_AGO, "ماذا جرى في القمة؟", shown, votes)


def test_which_sentence_the_votes_identify() -> None:
    def answers(question: RatedQuestion) -> list[str] | None:
        row = evaluation_row(question)
        return None if row is None else row["answers"]

    first, second, third = (f"الجملة رقم {n} عن القمة." for n in (1, 2, 3))
    assert answers(rated((UP, None))) == [first]
    assert answers(rated((DOWN, 3))) == [third]
    assert answers(rated((UP, None), (DOWN, 2))) == [second], "a pick says more than a 👍"
    assert answers(rated((DOWN, 2), (DOWN, 3), (UP, 2))) == [second, third]
    assert answers(rated((DOWN, NONE_OF_THEM))) == []
    assert answers(rated((DOWN, NONE_OF_THEM), (UP, None))) == [first]
    assert answers(rated((DOWN, None))) is None
    assert answers(rated((UP, None), hits=0)) is None, "nothing shown, nothing to approve"
    assert evaluation_row(rated((DOWN, 2))) == {
        "id": "feedback-7",
        "question": "ماذا جرى في القمة؟",
        "answers": [second],
        "doc": "2.txt",
        "asked": "2020-01-05T00:00:00+00:00",
    }
