"""Block-Max WAND top-k (retrieval/blockmax.py, kernels.block_max_top): the same hits,
in the same order, with the same scores to the bit, as scoring every candidate."""

from __future__ import annotations

import random

import numpy as np
import pytest

from retrieval.blockmax import block_maxima
from retrieval.index import BLOCK_MAXIMA_KEY, SentenceIndex, best_first, build_index
from retrieval.normalize import analyze
from tests.test_kernels import random_documents, random_questions


def exhaustive(index: SentenceIndex, ids: list[int], n: int, weights: list[float] | None):
    index.compiled = False
    try:
        return best_first(*index.score(ids, weights), n)
    finally:
        index.compiled = True


def blocks_of(index: SentenceIndex, size: int) -> None:
    index.derived[BLOCK_MAXIMA_KEY] = block_maxima(
        index.indptr, index.post_docs, index.post_weights, size
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_corpora_and_questions_get_the_exhaustive_top_k(seed: int) -> None:
    """Blocks of 1, 2, 3 and 64 postings; n from 1 past the number of candidates;
    repeated terms and look-alike weights; a common word floored by Okapi's IDF;
    a floor the hits must score above."""
    index = build_index(random_documents(seed, n_docs=120))
    index.compiled = True
    rng = random.Random(seed)
    questions = random_questions(index, seed, n=40)
    checked = skipped = 0
    for size in (1, 2, 3, 64):
        blocks_of(index, size)
        for question in questions:
            ids = index.term_ids(analyze(question))
            if not ids:
                continue
            ids = ids + rng.sample(ids, rng.randint(0, min(2, len(ids))))  # repeats count again
            for weights in (None, [rng.choice([1.0, 0.35, 0.25, 0.0]) for _ in ids]):
                for n in (1, 3, 10, 50, 10_000):
                    kernels = index.kernels()
                    docs, scores, read = index.block_max_top(kernels, ids, n, weights)
                    want_docs, want_scores = exhaustive(index, ids, n, weights)
                    assert np.array_equal(docs, want_docs), (question, size, n)
                    assert np.array_equal(scores, want_scores), (question, size, n)
                    total = sum(int(index.indptr[t + 1] - index.indptr[t]) for t in ids)
                    assert read <= total
                    skipped += read < total
                    checked += 1
                # Above a floor: what the exhaustive ranking holds above it, best first.
                every_docs, every_scores = exhaustive(index, ids, 10_000, weights)
                floor = float(rng.choice(every_scores))
                docs, scores, _ = index.block_max_top(index.kernels(), ids, 5, weights, floor)
                above = every_scores > floor
                assert np.array_equal(docs, every_docs[above][:5]), (question, size, floor)
                assert np.array_equal(scores, every_scores[above][:5]), (question, size, floor)
    assert checked > 1000
    assert skipped > checked / 4  # the blocks do let it skip postings


def test_block_maxima_are_derived_once_and_kept_with_the_index() -> None:
    index = build_index(random_documents(7, n_docs=80))
    ids = index.term_ids(analyze("روسيا " + index.texts[0]))
    index.compiled = True
    first = index.block_max_top(index.kernels(), ids, 5, None)
    kept = index.derived[BLOCK_MAXIMA_KEY]
    second = index.block_max_top(index.kernels(), ids, 5, None)
    assert index.derived[BLOCK_MAXIMA_KEY] is kept
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    assert np.array_equal(first[0], index.top(ids, 5)[0])


def test_block_maxima_hold_each_blocks_largest_impact_and_last_sentence() -> None:
    indptr = np.array([0, 3, 3, 8], dtype=np.int64)  # term 1 has no postings
    post_docs = np.array([2, 5, 9, 0, 1, 4, 6, 7], dtype=np.int32)
    post_weights = np.array([0.5, 2.0, 1.0, 3.0, 0.1, 0.2, 4.0, 0.3])
    maxima = block_maxima(indptr, post_docs, post_weights, size=2)
    assert maxima.indptr.tolist() == [0, 2, 2, 5]
    assert maxima.high.tolist() == [2.0, 1.0, 3.0, 4.0, 0.3]
    assert maxima.last.tolist() == [5, 9, 1, 6, 7]
    assert maxima.term_high.tolist() == [2.0, 0.0, 4.0]
