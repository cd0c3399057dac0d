"""How much of a question's postings block maxima could skip, at best, for search.

    uv run python -m benchmarks.blockmax_reach CORPUS_DIR INDEX_DIR [QUESTIONS_JSON]

For each of the scale benchmark's questions (`benchmarks/out/queries-300.json` by
default) and blocks of 64 to 4,096 sentence ids: the share of the postings that lie
in blocks whose summed block maxima reach the floor, with the floor known in
advance (the best any block-skipping scorer could do). Two term sets: the question's
own terms with the 10th best BM25 as the floor (`SentenceIndex.top`), and search's
first stage (question terms plus look-alike and same-root terms at their weights)
with the 64th best base score as the floor: higher than the deep search's own
(which also subtracts the largest context and answer-kind bonuses), so the share
shown is the least search would have to read. Prints medians and the
postings-weighted share.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from benchmarks.corpus import OUT
from retrieval.engine import Engine
from retrieval.index import SentenceIndex
from retrieval.normalize import analyze
from retrieval.search import (
    DEFAULT_RANKING,
    FIRST_CANDIDATES,
    _base_terms,
    _ids_for,
    _look_alikes,
    _term_groups,
)

SIZES = (64, 256, 1024, 4096)


def reachable_share(
    index: SentenceIndex, ids: list[int], weights: list[float], floor: float, size: int
) -> tuple[float, float]:
    """(postings in blocks whose bound reaches `floor`, all postings)."""
    n_blocks = (index.n_docs + size - 1) // size
    bound = np.zeros(n_blocks)
    per_block = np.zeros(n_blocks)
    for term_id, weight in zip(ids, weights, strict=True):
        lo, hi = int(index.indptr[term_id]), int(index.indptr[term_id + 1])
        blocks = index.post_docs[lo:hi] // size
        high = np.zeros(n_blocks)
        np.maximum.at(high, blocks, weight * index.post_weights[lo:hi])
        bound += high
        per_block += np.bincount(blocks, minlength=n_blocks)
    return float(per_block[bound >= floor].sum()), float(per_block.sum())


def main(argv: list[str]) -> None:
    corpus, index_dir = argv[0], argv[1]
    questions_file = Path(argv[2]) if len(argv) > 2 else OUT / "queries-300.json"
    questions = json.loads(questions_file.read_text("utf-8"))
    index = Engine(corpus, index_dir).open().index
    rows = {("top-10", size): [] for size in SIZES} | {("search", size): [] for size in SIZES}
    for question in questions:
        terms = analyze(question)
        own = index.term_ids(terms)
        if not own:
            continue
        _, scores = index.top(own, 10)
        groups = _term_groups(index, terms)
        alike = _look_alikes(index, groups, DEFAULT_RANKING)
        ids, weights = _base_terms(
            [t for term in terms for t in _ids_for(index, term)], alike, DEFAULT_RANKING
        )
        _, base = index.top(ids, FIRST_CANDIDATES, weights)
        for size in SIZES:
            rows["top-10", size].append(
                reachable_share(index, own, [1.0] * len(own), scores[-1], size)
            )
            rows["search", size].append(reachable_share(index, ids, weights, base[-1], size))
    print("| term set | block of sentences | share of postings in reach: median | weighted |")
    print("|---|---|---|---|")
    for (kind, size), pairs in rows.items():
        reach = np.array(pairs)
        print(
            f"| {kind} | {size} | {np.median(reach[:, 0] / reach[:, 1]):.2f} | "
            f"{reach[:, 0].sum() / reach[:, 1].sum():.2f} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
