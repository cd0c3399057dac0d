"""Looking up extra evidence for the best BM25 candidates only changes no answer.

`search` ranks by BM25 plus bounded bonuses: it looks up a first batch of the best
candidates, then every other candidate a bonus could still lift above the last hit
kept. Forcing tiny batches must give exactly what ranking every candidate gives.
That full ranking is built from search.py's own scoring functions, so a scoring
bug would change both sides; the plain ranking (every bonus off) is therefore
also checked against rank-bm25 scanning every sentence, which shares no code
with search.py.
"""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from retrieval import search as search_module
from retrieval.index import SentenceIndex, build_index
from retrieval.models import Document, Source
from retrieval.normalize import analyze
from retrieval.qtype import asks_for
from retrieval.search import (
    DEFAULT_RANKING,
    Ranking,
    _base_terms,
    _best_positions,
    _context_possible,
    _evidence,
    _final_scores,
    _ids_for,
    _look_alikes,
    _term_groups,
    search,
)
from retrieval.variants import clitic_variants, spelling_variants

QA = Path(__file__).resolve().parent / "data" / "seeds_qa.jsonl"
QUESTIONS = [json.loads(line)["question"] for line in QA.read_text("utf-8").splitlines()] + [
    "روسيا",
    "كوريا الشمالية روسيا بوتين كيم",
    "أين التقى بوتين وكيم؟",
    "متى زار كيم روسيا؟",
]


def ranked_in_full(index: SentenceIndex, question: str, min_coverage: float) -> list[int]:
    """Every candidate scored, filtered and sorted: the definition of the ranking."""
    terms = analyze(question)
    groups = _term_groups(index, terms)
    alike = _look_alikes(index, groups, DEFAULT_RANKING)
    ids, weights = _base_terms(
        [t for term in terms for t in _ids_for(index, term)], alike, DEFAULT_RANKING
    )
    docs, base = index.score(ids, weights)
    kind = asks_for(question) if groups else None
    scores, keep = _final_scores(
        index, groups, alike, docs, base, DEFAULT_RANKING, kind, min_coverage
    )
    docs, scores = docs[keep], scores[keep]
    return docs[np.lexsort((docs, -scores))].tolist()


def place(index: SentenceIndex, doc: int) -> tuple[str, int]:
    sentence = index.sentence(int(index.rows_of(doc)[0]))
    return sentence.doc, sentence.position


@pytest.mark.parametrize(("first", "check_from"), [(1, 0), (3, 0), (1, 10**9)])
def test_small_batches_give_the_full_ranking(
    seed_index: SentenceIndex, monkeypatch: pytest.MonkeyPatch, first: int, check_from: int
) -> None:
    """Tiny first batches, with and without the neighbour check, rank as scoring all; the
    re-ranker (retrieval/rerank.py), given the same head, then orders it the same."""
    reranked = {q: [h.text for h in search(seed_index, q, k=10).hits] for q in QUESTIONS}
    monkeypatch.setattr(search_module, "FIRST_CANDIDATES", first)
    monkeypatch.setattr(search_module, "CONTEXT_CHECK_FROM", check_from)
    first_stage = replace(DEFAULT_RANKING, rerank=False)
    for question in QUESTIONS:
        expected = ranked_in_full(seed_index, question, 0.3)
        for k, offset in ((1, 0), (5, 0), (3, 2)):
            result = search(
                seed_index, question, k=k, offset=offset, min_coverage=0.3, ranking=first_stage
            )
            got = [(h.sentence.doc, h.sentence.position) for h in result.hits]
            assert got == [place(seed_index, d) for d in expected[offset : offset + k]], question
            assert result.has_more == (len(expected) > offset + k), question
        assert [h.text for h in search(seed_index, question, k=10).hits] == reranked[question]


def test_neighbour_check_keeps_every_sentence_with_context(seed_index: SentenceIndex) -> None:
    """A sentence is only ruled out of the context bonus when its context has no question term."""
    ruled_out = 0
    for question in QUESTIONS:
        groups = _term_groups(seed_index, analyze(question))
        ids = [t for g in groups for t in g.term_ids]
        docs, _ = seed_index.score(ids)
        possible = _context_possible(seed_index, groups, docs, docs, DEFAULT_RANKING)
        _, context = _evidence(seed_index, groups, docs, DEFAULT_RANKING)
        assert not (context.any(axis=0) & ~possible).any(), question
        ruled_out += int((~possible).sum())
    assert ruled_out > 0  # the check does rule sentences out on the seed corpus


@pytest.mark.parametrize("distinct", [50_000, 3])  # spread scores; a few tied values
def test_first_batch_holds_the_best_candidates(distinct: int) -> None:
    """The sampled threshold still returns every one of the n highest scores."""
    rng = np.random.default_rng(7)
    keys = rng.integers(0, distinct, 200_000).astype(np.float64) / 7
    for n in (1, 64, 640):
        at = _best_positions(keys, n)
        assert len(set(at.tolist())) == len(at) >= n
        best = np.flatnonzero(keys >= np.sort(keys)[-n])
        assert set(best.tolist()) <= set(at.tolist())


# --- an independent reference: rank-bm25 scoring every sentence ---------------------------


def brute_force_bm25(index: SentenceIndex, question: str) -> list[tuple[float, int]]:
    """(score, sentence) of every sentence holding a question term, best first, scored by
    rank-bm25's full scan over the unique sentences: shares no code with search.py."""
    reference = BM25Okapi(
        [analyze(index.texts[int(row)]) for row in index.doc_rows],
        k1=index.params.k1,
        b=index.params.b,
        epsilon=index.params.epsilon,
    )
    vocab = set(index.vocab)
    tokens = []
    for term in analyze(question):  # each term with the corpus spellings of it
        spellings = [term, *spelling_variants(term), *clitic_variants(term)]
        tokens += [t for t in dict.fromkeys(spellings) if t in vocab]
    scores = reference.get_scores(tokens)
    holding = [
        doc
        for doc, row in enumerate(index.doc_rows)
        if set(analyze(index.texts[int(row)])) & set(tokens)
    ]
    return sorted(((float(scores[d]), d) for d in holding), key=lambda x: (-x[0], x[1]))


@pytest.mark.parametrize("first", [1, 64])
def test_plain_ranking_equals_an_independent_bm25_scan(
    seed_index: SentenceIndex, monkeypatch: pytest.MonkeyPatch, first: int
) -> None:
    """With every bonus off, search (pruned or not) returns every sentence holding a
    question term, in rank-bm25's order, with rank-bm25's scores."""
    monkeypatch.setattr(search_module, "FIRST_CANDIDATES", first)
    answered = 0
    for question in QUESTIONS:
        expected = brute_force_bm25(seed_index, question)
        answered += bool(expected)
        result = search(seed_index, question, k=10_000, min_coverage=0.0, ranking=Ranking.plain())
        assert len(result.hits) == len(expected), question
        for hit, (score, _) in zip(result.hits, expected, strict=True):
            assert hit.score == pytest.approx(score, abs=1e-6), question
        by_place = {place(seed_index, d): s for s, d in expected}
        for hit in result.hits:
            where = (hit.sentence.doc, hit.sentence.position)
            assert by_place[where] == pytest.approx(hit.score, abs=1e-6), (question, where)
    assert answered > len(QUESTIONS) // 2


def test_a_sentence_exactly_at_the_relevance_cut_off_is_kept() -> None:
    """Two question terms of equal weight, each sentence holding one: coverage is exactly
    0.5, so min_coverage=0.5 keeps both and anything above drops both."""
    index = build_index(
        [
            Document(Source("olives.txt", "تقرير أول"), "قطف المزارعون الزيتون في الخريف."),
            Document(Source("oranges.txt", "تقرير ثان"), "صدّرت الشركة البرتقال إلى أوروبا."),
            Document(Source("other.txt", "تقرير ثالث"), "افتتح الوزير الجسر الجديد أمس."),
        ]
    )
    question = "الزيتون البرتقال"
    plain = Ranking.plain()
    at_cut = search(index, question, min_coverage=0.5, ranking=plain)
    assert sorted(h.sentence.doc for h in at_cut.hits) == ["olives.txt", "oranges.txt"]
    assert search(index, question, min_coverage=0.5000001, ranking=plain).hits == []
