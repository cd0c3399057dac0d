"""`coverage-bot eval`: question files, the built-in judging rule, the metrics, the dump."""

import json
from pathlib import Path

import pytest

from bot.cli import main
from retrieval.corpus import load_corpus
from retrieval.evaluate import (
    Outcome,
    Question,
    QuestionFileError,
    golds_for,
    load_questions,
    metrics,
    paragraph_offsets,
    percentile,
)
from retrieval.index import build_index

ROOT = Path(__file__).parent.parent
SEEDS_QA = ROOT / "tests" / "data" / "seeds_qa.jsonl"


def write(path: Path, lines: list[object]) -> Path:
    path.write_text(
        "\n".join(
            json.dumps(x, ensure_ascii=False) if not isinstance(x, str) else x for x in lines
        ),
        encoding="utf-8",
    )
    return path


def test_question_file_is_read_with_optional_doc_and_spans(tmp_path: Path) -> None:
    path = write(
        tmp_path / "q.jsonl",
        [
            {"id": "1", "question": "أين عقدت القمة؟", "answers": ["فوستوشني"], "extra": 1},
            "",
            {"id": 2, "question": "متى؟", "answers": ["1958"], "doc": "a.txt",
             "answer_spans": [[0, 3, 7]]},
            {"id": "3", "question": "ما موقف اليابان؟", "answers": []},
        ],
    )  # fmt: skip
    questions = load_questions(path)
    assert [q.id for q in questions] == ["1", "2", "3"]
    assert questions[1].answer_spans == ((0, 3, 7),)
    assert [q.answerable for q in questions] == [True, True, False]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "q.jsonl:1: not JSON"),
        ('{"id": "1", "answers": []}', "'question' must be a non-empty string"),
        ('{"id": "1", "question": "س؟"}', "'answers' must be a list of strings"),
        ('{"id": "1", "question": "س؟", "answers": [], "answer_spans": [[0, 1]]}', "answer_spans"),
        (
            '{"id": "1", "question": "س؟", "answers": [], "answer_spans": [[0, 1, 2]]}',
            "needs 'doc'",
        ),
    ],
)
def test_bad_question_lines_are_named_by_file_and_line(
    tmp_path: Path, line: str, message: str
) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(line, encoding="utf-8")
    with pytest.raises(QuestionFileError, match=message):
        load_questions(path)


def test_duplicate_ids_and_empty_files_are_refused(tmp_path: Path) -> None:
    same = {"id": "x", "question": "س؟", "answers": []}
    with pytest.raises(QuestionFileError, match=r"q.jsonl:2: duplicate id 'x'"):
        load_questions(write(tmp_path / "q.jsonl", [same, same]))
    with pytest.raises(QuestionFileError, match="no questions"):
        load_questions(write(tmp_path / "e.jsonl", ["", ""]))


def test_paragraphs_are_counted_at_blank_lines() -> None:
    text = "\n\nالأولى.\n\nالثانية سطر\nمتصل.\n \n\nالثالثة."
    starts = paragraph_offsets(text)
    assert [text[s : s + 4] for s in starts] == ["الأو", "الثا", "الثا"]
    assert len(starts) == 3


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    (folder / "a.txt").write_text(
        "وصل كيم إلى قاعدة فوستوشني الفضائية. وصافح بوتين.\n\nوقال إن الزيارة تاريخية.",
        encoding="utf-8",
    )
    return folder


def test_a_hit_is_correct_by_answer_text_or_by_overlapping_the_gold_span(
    tiny_corpus: Path,
) -> None:
    documents = load_corpus(tiny_corpus).documents
    index = build_index(documents)
    by_answer = Question("1", "أين؟", ("قاعدة فُوستوشني",))  # diacritics do not matter
    by_span = Question("2", "ماذا قال؟", ("تاريخية",), doc="a.txt", answer_spans=((1, 0, 8),))
    gold_answer, gold_span = golds_for([by_answer, by_span], index, documents)
    assert gold_answer.judge("وصل كيم إلى قاعدة فوستوشني الفضائية.")
    assert not gold_answer.judge("وصافح بوتين.")
    assert not gold_answer.judge("قاعدة فوستوشنيات")  # whole words only
    # The span covers "وقال إن" in paragraph 1: that sentence counts, by its text.
    assert gold_span.judge("وقال إن الزيارة تاريخية.")
    assert not gold_span.judge("وصافح بوتين.")


def test_metrics_count_answerable_and_unanswerable_questions_apart() -> None:
    answerable = [Question(str(i), "س؟", ("ج",)) for i in range(4)]
    unanswerable = [Question(f"u{i}", "س؟", ()) for i in range(2)]
    outcomes = [
        Outcome(answerable[0], 10, 1, 0.001),
        Outcome(answerable[1], 10, 4, 0.002),
        Outcome(answerable[2], 3, None, 0.003),
        Outcome(answerable[3], 0, None, 0.004),
        Outcome(unanswerable[0], 0, None, 0.001, "none"),
        Outcome(unanswerable[1], 2, None, 0.010, "related"),
    ]
    m = metrics(outcomes)
    assert m.recall == {1: 0.25, 5: 0.5, 10: 0.5}
    assert m.mrr == pytest.approx((1 + 1 / 4) / 4)
    assert m.no_hits == pytest.approx(2 / 6)
    assert m.unanswerable_no_hits == 0.5
    assert m.answerable_no_hits == 0.25
    assert m.misses == ["2", "3"]
    assert m.outcomes == {"answer": 4 / 6, "related": 1 / 6, "none": 1 / 6}
    assert m.unanswerable_answered == 0.0
    assert m.latency_p95_ms == pytest.approx(10.0)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == 4.0
    assert percentile([], 50) == 0.0


def test_eval_command_scores_the_seed_questions_and_dumps_the_scorer_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COVERAGE_BOT_INDEX_DIR", str(tmp_path / "index"))
    dump = tmp_path / "run.jsonl"
    status = main(["eval", "--questions", str(SEEDS_QA), "--dump", str(dump), "--json"])
    assert status == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["questions"] == 68 and scores["answerable"] == 48
    assert scores["recall@10"] >= scores["recall@5"] >= scores["recall@1"] > 0.5
    assert scores["unanswerable_no_hits"] is not None
    shares = [scores["outcome_answer"], scores["outcome_related"], scores["outcome_none"]]
    assert sum(shares) == pytest.approx(1.0, abs=1e-3) and min(shares) > 0
    records = [json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 68
    assert records[0]["id"] == "seed-a01" and records[0]["outcome"] == "answer"
    assert {r["outcome"] for r in records} == {"answer", "related", "none"}
    assert all((r["outcome"] == "none") == (not r["hits"]) for r in records)
    first = records[0]["hits"][0]
    assert set(first) == {"text", "doc", "score"} and "الإمبريالية" in first["text"]
    assert all(len(r["hits"]) <= 10 for r in records)


def test_eval_command_names_a_bad_question_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1"}\n', encoding="utf-8")
    assert main(["eval", "--questions", str(bad)]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err
