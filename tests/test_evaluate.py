"""`coverage-bot eval`: question files, the built-in judging rule, the metrics, the dump."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from retrieval.corpus import load_corpus
from retrieval.engine import Engine
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
SEEDS = ROOT / "seeds"
SEEDS_QA = ROOT / "tests" / "data" / "seeds_qa.jsonl"
# ARCD articles 1-16 (tests/data/arcd_sample/LICENSE) and the 108 ARCD dev questions
# about articles 1-12: every one names its article and an answer span.
ARCD_SAMPLE = ROOT / "tests" / "data" / "arcd_sample"
ARCD_SAMPLE_QA = ROOT / "tests" / "data" / "arcd_sample_qa.jsonl"


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
    index = build_index(load_corpus(tiny_corpus).documents)
    by_answer = Question("1", "أين؟", ("قاعدة فُوستوشني",))  # diacritics do not matter
    by_span = Question("2", "ماذا قال؟", ("تاريخية",), doc="a.txt", answer_spans=((1, 0, 8),))
    gold_answer, gold_span = golds_for([by_answer, by_span], index, tiny_corpus)
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


def test_spans_count_paragraphs_of_the_body_after_front_matter_and_byte_order_mark(
    tmp_path: Path,
) -> None:
    """Paragraph 2 is "وقال بوتين…": the front matter, the BOM, the leading blank
    lines and a paragraph with no sentence ("***") must not shift the count."""
    (tmp_path / "a.txt").write_text(
        "\ufeff---\ntitle: القمة\n---\n\n\nوصل كيم إلى فوستوشني.\n\n***\n\n"
        "وقال بوتين إن الزيارة تاريخية. وأضاف أن التعاون سيستمر.\n",
        encoding="utf-8",
    )
    index = build_index(load_corpus(tmp_path).documents)
    # "الزيارة" sits at characters 14-21 of paragraph 2.
    question = Question("1", "ماذا قال بوتين؟", (), doc="a.txt", answer_spans=((2, 14, 21),))
    (gold,) = golds_for([question], index, tmp_path)
    assert gold.judge("وقال بوتين إن الزيارة تاريخية.")
    assert not gold.judge("وأضاف أن التعاون سيستمر.")
    assert not gold.judge("وصل كيم إلى فوستوشني.")


def test_a_document_changed_since_indexing_is_judged_by_answer_text_only(
    tmp_path: Path,
) -> None:
    """Its spans would point into text the index never held."""
    path = tmp_path / "a.txt"
    path.write_text("وصل كيم إلى فوستوشني.\n\nوقال إن الزيارة تاريخية.", encoding="utf-8")
    index = build_index(load_corpus(tmp_path).documents)
    path.write_text("سطر جديد في الأعلى.\n\nوصل كيم إلى فوستوشني.", encoding="utf-8")
    question = Question("1", "ماذا قال؟", ("تاريخية",), doc="a.txt", answer_spans=((1, 0, 4),))
    (gold,) = golds_for([question], index, tmp_path)
    assert gold.sentences == frozenset()
    assert gold.judge("وقال إن الزيارة تاريخية.")  # by its answer text


# Runs `coverage-bot eval` in a fresh process whose stdout and stderr are files, and
# prints (to a third file) every corpus document the process opened, seen through
# Python's audit hook on `open` (it fires for open() and os.open() alike, also for a
# name opened relative to a folder descriptor).
_PROBE = """
import json, os, sys
corpus = os.path.realpath(sys.argv[1])
opened = set()
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        name = os.fsdecode(args[0])
        if not os.path.isabs(name):  # os.open(name, dir_fd=…): the loader opens files
            if name.endswith(".txt"):  # relative to a descriptor of the corpus folder
                opened.add(name)
            return
        path = os.path.realpath(name)
        if path.startswith(corpus + os.sep) and path.endswith(".txt"):
            opened.add(os.path.relpath(path, corpus))
sys.addaudithook(hook)
from bot.cli import main
status = main(sys.argv[3:])
with open(sys.argv[2], "w") as out:
    json.dump(sorted(opened), out)
sys.exit(status)
"""


def _aged_copy(folder: Path, tmp_path: Path) -> Path:
    """A copy whose files are an hour old, so a persisted index trusts their listing."""
    corpus = tmp_path / folder.name
    shutil.copytree(folder, corpus)
    for path in corpus.iterdir():
        old = path.stat().st_mtime_ns - 3600 * 10**9
        os.utime(path, ns=(old, old))
    return corpus


def _run_eval(corpus: Path, questions: Path, tmp_path: Path) -> tuple[dict, list[str], str]:
    """(metrics, corpus documents opened, stderr) of `eval --json` after the index is built."""
    Engine(corpus, tmp_path / "index").open()
    opened = tmp_path / "opened.json"
    args = ["eval", "--corpus", str(corpus), "--questions", str(questions), "--json"]
    env = {**os.environ, "COVERAGE_BOT_INDEX_DIR": str(tmp_path / "index")}
    with (tmp_path / "out").open("wb") as out, (tmp_path / "err").open("wb") as err:
        status = subprocess.run(
            [sys.executable, "-c", _PROBE, str(corpus), str(opened), *args],
            cwd=ROOT, env=env, stdout=out, stderr=err, check=False,
        ).returncode  # fmt: skip
    stdout = (tmp_path / "out").read_text(encoding="utf-8")
    stderr = (tmp_path / "err").read_text(encoding="utf-8")
    assert status == 0, stderr
    assert "\r" not in stdout
    metrics_ = json.loads(stdout)
    del metrics_["latency_p50_ms"], metrics_["latency_p95_ms"]
    return metrics_, json.loads(opened.read_text(encoding="utf-8")), stderr


def test_eval_on_the_seed_questions_reads_no_corpus_file_once_the_index_is_built(
    tmp_path: Path,
) -> None:
    """The seed questions judge by answer text only: eval needs nothing but the index."""
    scores, opened, stderr = _run_eval(_aged_copy(SEEDS, tmp_path), SEEDS_QA, tmp_path)
    assert opened == []
    assert "\r" not in stderr
    # The scores eval gave when it still loaded the corpus a second time (equal then),
    # as the stemmer and answerability rules of PIPELINE_VERSION 3 and the re-ranker
    # (retrieval/rerank.py) have since moved them.
    assert scores == {
        "questions": 68, "answerable": 48, "unanswerable": 20,
        "recall@1": 0.7917, "recall@5": 0.8958, "recall@10": 0.8958, "mrr@10": 0.8253,
        "no_hits": 0.2059, "unanswerable_no_hits": 0.65, "answerable_no_hits": 0.0208,
        "outcome_answer": 0.7353, "outcome_related": 0.0588, "outcome_none": 0.2059,
        "unanswerable_answered": 0.2,
    }  # fmt: skip


def test_eval_on_arcd_reads_only_the_documents_with_answer_spans_and_draws_no_bar_into_files(
    tmp_path: Path,
) -> None:
    """108 questions (over the 50 that start a bar on a terminal) on 16 articles, 12 named."""
    scores, opened, stderr = _run_eval(_aged_copy(ARCD_SAMPLE, tmp_path), ARCD_SAMPLE_QA, tmp_path)
    assert opened == [f"arcd_{n:03d}.txt" for n in range(1, 13)]
    assert stderr == ""
    # The scores eval gave when it still loaded the corpus a second time (equal then),
    # as the stemmer and answerability rules of PIPELINE_VERSION 3 and the re-ranker
    # (retrieval/rerank.py) have since moved them.
    assert scores == {
        "questions": 108, "answerable": 108, "unanswerable": 0,
        "recall@1": 0.8148, "recall@5": 0.9074, "recall@10": 0.9537, "mrr@10": 0.8575,
        "no_hits": 0.0, "unanswerable_no_hits": None, "answerable_no_hits": None,
        "outcome_answer": 0.9815, "outcome_related": 0.0185, "outcome_none": 0.0,
        "unanswerable_answered": None,
    }  # fmt: skip
