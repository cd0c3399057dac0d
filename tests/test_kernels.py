"""The compiled search path (retrieval/kernels.py) answers exactly as the numpy path.

An index of COMPILED_FROM sentences or more scores and looks up evidence with
numba-compiled loops; a smaller one uses numpy (importing numba would cost more
than it saves). Both must give the same candidates, scores to the bit, hits,
pages and answerability, on the seeds and on random corpora made of the seeds'
words (so questions meet look-alike terms, spelling variants, shared roots,
duplicated sentences, titles and terms with IDF floored or zero).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from retrieval import search as search_module
from retrieval.context import context_of
from retrieval.corpus import load_corpus
from retrieval.features import features
from retrieval.index import COMPILED_FROM, SentenceIndex, build_index, compiled_kernels
from retrieval.models import Document, Source
from retrieval.normalize import analyze, tokenize
from retrieval.qtype import asks_for
from retrieval.search import (
    DEFAULT_RANKING,
    Ranking,
    _alike_held,
    _context_bounds,
    _context_possible,
    _evidence,
    _look_alikes,
    _term_groups,
    _weighted,
    search,
)

ROOT = Path(__file__).resolve().parent.parent
QA = ROOT / "tests" / "data" / "seeds_qa.jsonl"
SEED_QUESTIONS = [json.loads(line)["question"] for line in QA.read_text("utf-8").splitlines()]


def both(index: SentenceIndex) -> tuple[SentenceIndex, SentenceIndex]:
    """One index (arrays, context field, scratch buffers) on the numpy and the compiled path."""
    return replace(index, compiled=False), replace(index, compiled=True)


def answer(index: SentenceIndex, question: str, **options: object) -> tuple:
    result = search(index, question, **options)  # type: ignore[arg-type]
    hits = [(h.sentence, h.score, h.sources, h.highlights) for h in result.hits]
    return hits, result.has_more, result.outcome, result.answerability


def random_documents(seed: int, n_docs: int = 120) -> list[Document]:
    """Documents of sentences drawn from the seeds' words; some sentences recur, and one
    word is in most sentences (its Okapi IDF is floored)."""
    rng = random.Random(seed)
    words = sorted({w for d in load_corpus(ROOT / "seeds").documents for w in d.text.split()})
    common = "روسيا"
    quotes = [" ".join(rng.choices(words, k=6)) + "." for _ in range(5)]
    documents = []
    for i in range(n_docs):
        lines = []
        for _ in range(rng.randint(1, 8)):
            if rng.random() < 0.1:
                lines.append(rng.choice(quotes))
                continue
            sentence = rng.choices(words, k=rng.randint(1, 14))
            if rng.random() < 0.6:
                sentence.insert(rng.randrange(len(sentence) + 1), common)
            lines.append(" ".join(sentence) + ".")
        title = " ".join(rng.choices(words, k=rng.randint(0, 5)))
        documents.append(Document(Source(f"{i:04d}.txt", title), "\n".join(lines)))
    return documents


def random_questions(index: SentenceIndex, seed: int, n: int = 60) -> list[str]:
    rng = random.Random(seed)
    texts = [index.texts[int(r)] for r in index.doc_rows]
    questions = []
    for _ in range(n):
        words = tokenize(rng.choice(texts))
        question = " ".join(rng.sample(words, min(len(words), rng.randint(1, 6))))
        questions.append(rng.choice(["", "أين ", "متى ", "كم "]) + question + "؟")
    return questions


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_corpora_answer_alike_on_both_paths(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scored in blocks of 7 sentences, so every block boundary of the scatter-add is
    crossed many times (a real index uses blocks of 65,536)."""
    monkeypatch.setattr(compiled_kernels(), "SCORE_BLOCK", 7)
    numpy_index, compiled_index = both(build_index(random_documents(seed)))
    assert numpy_index.kernels() is None and compiled_index.kernels() is not None
    questions = random_questions(numpy_index, seed)
    answered = 0
    for question in questions:
        for options in ({"k": 5}, {"k": 3, "offset": 2}, {"k": 10, "min_coverage": 0.0}):
            expected = answer(numpy_index, question, **options)
            assert answer(compiled_index, question, **options) == expected, question
        answered += bool(expected[0])
        terms = numpy_index.term_ids(analyze(question))
        for index in (numpy_index, compiled_index):
            docs, scores = index.score(terms, [0.5 + i % 3 for i in range(len(terms))])
            order = np.argsort(docs)
            if index is numpy_index:
                expected_scores = docs[order], scores[order]
            else:  # equal to the bit: the same additions in the same order
                assert np.array_equal(docs[order], expected_scores[0]), question
                assert np.array_equal(scores[order], expected_scores[1]), question
    assert answered > len(questions) / 2  # the comparison is about real hits


@pytest.mark.parametrize("ranking", [DEFAULT_RANKING, Ranking.plain()], ids=["default", "plain"])
def test_seed_questions_answer_alike_on_both_paths(
    seed_index: SentenceIndex, ranking: Ranking, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With tiny batches too, so the deep search and the neighbour check run compiled."""
    numpy_index, compiled_index = both(seed_index)
    for first, check_from in ((64, 1024), (1, 0)):
        monkeypatch.setattr(search_module, "FIRST_CANDIDATES", first)
        monkeypatch.setattr(search_module, "CONTEXT_CHECK_FROM", check_from)
        for question in SEED_QUESTIONS:
            expected = answer(numpy_index, question, k=5, ranking=ranking)
            assert answer(compiled_index, question, k=5, ranking=ranking) == expected, question


def test_evidence_and_neighbour_check_agree_cell_by_cell(seed_index: SentenceIndex) -> None:
    """Every (term, sentence) cell of the look-ups, for every candidate of each question,
    also after the mark counter wrapped (the buffers are then cleared and restarted)."""
    numpy_index, compiled_index = both(seed_index)
    context_of(seed_index)
    for wrap in (False, True):
        for question in SEED_QUESTIONS:
            groups = _term_groups(seed_index, analyze(question))
            alike = _look_alikes(seed_index, groups, DEFAULT_RANKING)
            docs, _ = seed_index.score([t for g in groups for t in g.term_ids])
            if wrap:
                compiled_index._scratch().generation = np.iinfo(np.int32).max - 2
            got = _evidence(compiled_index, groups, docs, DEFAULT_RANKING)
            expected = _evidence(numpy_index, groups, docs, DEFAULT_RANKING)
            for name, a, b in zip(("own", "context"), got, expected, strict=True):
                assert np.array_equal(a, b), (question, name)
            assert np.array_equal(
                _alike_held(compiled_index, groups, alike, docs, got[0]),
                _alike_held(numpy_index, groups, alike, docs, expected[0]),
            ), question
            # The compiled context bound is the exact context bonus, plus rounding slack.
            exact = DEFAULT_RANKING.context_weight * _weighted(groups, expected[1])
            bound = _context_bounds(compiled_index, groups, docs, docs, DEFAULT_RANKING, 1e9)
            assert (bound >= exact).all() and (bound <= exact + 1e-6).all(), question
            probe = np.arange(seed_index.n_docs, dtype=np.int32)
            assert np.array_equal(
                _context_possible(compiled_index, groups, docs, probe, DEFAULT_RANKING),
                _context_possible(numpy_index, groups, docs, probe, DEFAULT_RANKING),
            ), question


def test_a_small_index_never_imports_numba() -> None:
    """`coverage-bot ask` on a small corpus does not pay for importing numba (0.2–0.4 s)."""
    code = (
        "import sys\n"
        "from retrieval.corpus import load_corpus\n"
        "from retrieval.index import build_index\n"
        "from retrieval.search import search\n"
        f"index = build_index(load_corpus({str(ROOT / 'seeds')!r}).documents)\n"
        f"assert index.n_docs < {COMPILED_FROM} and index.kernels() is None\n"
        "assert search(index, 'ماذا قال كيم عن الإمبريالية؟').hits\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


def test_kernels_compiled_once_then_loaded_from_the_cache_folder(tmp_path: Path) -> None:
    """With NUMBA_CACHE_DIR (as the Docker image sets it) the first process compiles the
    kernels into that folder and the next one only loads them."""
    code = (
        "from retrieval.index import compiled_kernels\n"
        "k = compiled_kernels()\n"
        "kernels = [k.score_terms, k.top_positions, k.evidence, k.neighbour_marked,"
        " k.context_weight, k.block_max_top, k.candidate_evidence]\n"
        "print(sum(sum(f.stats.cache_misses.values()) for f in kernels),"
        " sum(sum(f.stats.cache_hits.values()) for f in kernels))\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}

    def misses_and_hits() -> list[int]:
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
            check=True, timeout=120,
        )  # fmt: skip
        return [int(n) for n in done.stdout.split()]

    assert misses_and_hits() == [7, 0]  # compiled, and saved into tmp_path
    assert any(tmp_path.rglob("*.nbi"))
    assert misses_and_hits() == [0, 7]  # loaded


@pytest.mark.parametrize("seed", [1, 2])
def test_reranker_features_are_equal_on_both_paths(seed: int) -> None:
    """The re-ranker's evidence (own, title, neighbours, BM25, look-alikes) of the 20
    best candidates, compiled and numpy: every feature equal to the bit."""
    numpy_index, compiled_index = both(build_index(random_documents(seed)))
    compared = 0
    for question in random_questions(numpy_index, seed, n=40):
        terms = analyze(question)
        groups = _term_groups(numpy_index, terms)
        alike = _look_alikes(numpy_index, groups, DEFAULT_RANKING)
        base_ids, base_weights = search_module._base_terms(
            [t for term in terms for t in search_module._ids_for(numpy_index, term)],
            alike,
            DEFAULT_RANKING,
        )
        docs, scores = numpy_index.top(base_ids, 20, base_weights)
        if not len(docs):
            continue
        kind = asks_for(question)
        got = [
            features(search_module._candidates(index, terms, groups, alike, docs, scores, kind))
            for index in (numpy_index, compiled_index)
        ]
        assert np.array_equal(got[0], got[1]), question
        compared += 1
    assert compared > 30
