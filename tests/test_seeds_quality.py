"""Retrieval quality on the seed corpus, as the newsroom asks it (tests/data/seeds_qa.jsonl).

Spec: every answerable question finds its gold sentence in the top 5 (what the bot
shows), and at least 80 % of the questions the seeds cannot answer get no hits at
all, without any answerable question losing its hits. Questions the ranking does
not yet answer are listed in KNOWN_MISSES as strict xfails: the day one starts
passing the test fails, so the list only shrinks.
"""

from pathlib import Path

import pytest

from retrieval.engine import Engine
from retrieval.evaluate import Gold, Question, golds_for, judge_hits, load_questions

ROOT = Path(__file__).parent.parent
QUESTIONS = load_questions(ROOT / "tests" / "data" / "seeds_qa.jsonl")
ANSWERABLE = [q for q in QUESTIONS if q.answerable]
UNANSWERABLE = [q for q in QUESTIONS if not q.answerable]
TOP = 5

# Gold sentence not in the top 5 yet, and why.
KNOWN_MISSES = {
    "seed-a07": "'سجل الزوار' vs 'كتاب الزائرين': synonyms, no shared term",
    "seed-a11": "'تصريح' vs 'قال': the answer paraphrases the question",
    "seed-a23": "'سيزور' vs 'زيارة': verb vs noun of the same root",
    "seed-a37": "'يريد' (wants) has no lexical match in the answer",
    "seed-a39": "'مكان' stems to 'مك' and 'مسبقا' vs 'مسبقاً' is matched, but the gold "
    "sentence ranks below ones about the summit",
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    engine = Engine(ROOT / "seeds")
    engine.open()
    return engine


@pytest.fixture(scope="module")
def golds(engine: Engine) -> dict[str, Gold]:
    found = golds_for(QUESTIONS, engine.snapshot.index, engine.corpus_dir)
    return dict(zip((q.id for q in QUESTIONS), found, strict=True))


def _params(questions: list[Question]) -> list:
    return [
        pytest.param(
            q,
            id=q.id,
            marks=[pytest.mark.xfail(reason=KNOWN_MISSES[q.id], strict=True)]
            if q.id in KNOWN_MISSES
            else [],
        )
        for q in questions
    ]


@pytest.mark.parametrize("question", _params(ANSWERABLE))
def test_gold_sentence_is_in_the_top_five(
    question: Question, engine: Engine, golds: dict[str, Gold]
) -> None:
    hits = engine.search(question.question, k=TOP).hits
    rank = judge_hits(golds[question.id], hits)
    assert rank is not None, f"{question.question}: gold not in top {TOP}: {[h.text for h in hits]}"


def test_summit_place_question_names_the_space_base(engine: Engine) -> None:
    """Sentences about the later Pyongyang summit ("قبل بدء قمتهما") match as well, but the
    re-ranker (retrieval/rerank.py) lifts a sentence naming the place into the top 5."""
    hits = engine.search("أين عقدت القمة بين كيم وبوتين؟").hits
    names = ("فوستوشني", "فوستوتشني", "قاعدة فضائية")
    assert any(name in h.text for h in hits[:TOP] for name in names), [h.text for h in hits]


@pytest.mark.xfail(
    reason="seed-a07 (a known miss: 'سجل الزوار' vs 'كتاب الزائرين'): since 'قاعدتنا' stems "
    "to قاعد like 'قاعدة', that term weighs less and the best sentence covers 0.2997 of "
    "the question, under the 0.3 cut-off "
    "(0.25 keeps it but lets an off-topic question through; benchmarks/quality.md)",
    strict=True,
)
def test_no_answerable_question_loses_all_its_hits(engine: Engine) -> None:
    lost = [q.question for q in ANSWERABLE if not engine.search(q.question, k=TOP).hits]
    assert lost == []


@pytest.mark.xfail(
    reason="16 of 20 today: questions on the right topic about a missing fact "
    "('سفير روسيا', 'موقف اليابان', 'في أي ساعة') hold as much of the question as "
    "answerable ones do, and the re-ranker's best score does not separate them either "
    "(benchmarks/quality.md)",
    strict=True,
)
def test_most_unanswerable_questions_are_not_presented_as_answers(engine: Engine) -> None:
    answered = [q for q in UNANSWERABLE if engine.search(q.question, k=TOP).outcome == "answer"]
    assert 1 - len(answered) / len(UNANSWERABLE) >= 0.85


def test_unanswerable_questions_presented_as_answers_do_not_grow(engine: Engine) -> None:
    """The part of the spec that holds today: 16 of 20 are silent or only related."""
    answered = [q.id for q in UNANSWERABLE if engine.search(q.question, k=TOP).outcome == "answer"]
    assert len(answered) <= 4, answered


def test_answerable_questions_found_in_the_top_five_are_answers(
    engine: Engine, golds: dict[str, Gold]
) -> None:
    related = []
    for q in ANSWERABLE:
        result = engine.search(q.question, k=TOP)
        if judge_hits(golds[q.id], result.hits) is not None and result.outcome != "answer":
            related.append(q.id)
    assert related == []


def test_questions_on_other_topics_get_no_hits(engine: Engine) -> None:
    """Part of the spec that holds today: off-topic questions stay silent."""
    silent = [q.id for q in UNANSWERABLE if not engine.search(q.question, k=TOP).hits]
    assert len(silent) >= 13, silent
