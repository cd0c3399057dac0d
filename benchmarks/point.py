"""One large size without peers: start-up, latency and memory of a built index.

    uv run python -m benchmarks.point CORPUS_DIR INDEX_DIR [UPLOADS_DIR]

For sizes where the peers' own runs would take too long (5M sentences: rank-bm25
scans take seconds a question). Build the index first, timed whole, with the
command `coverage-bot index` (RESULTS.md gives it), then run this in a fresh
process: it opens the persisted index on one core, asks the 300 questions of
`benchmarks.scale` (three timed runs each after a warm-up, median kept) and
prints p50 / p95 / p99 of top-10 (`SentenceIndex.top`, and Block-Max WAND beside it),
score-all and the whole ask path, the share of postings block-max read, the postings
read and the steady memory, as JSON.
"""

from __future__ import annotations

import gc
import json
import sys
import time

from benchmarks.corpus import build_corpus
from benchmarks.probe import (
    block_max_per_query_ms,
    per_query_ms,
    pin_one_core,
    rss_mb,
    rss_parts_mb,
    top_read_share,
)
from benchmarks.queries import make_queries
from benchmarks.scale import QUERY_SOURCE_SIZE
from retrieval.engine import Engine
from retrieval.normalize import analyze


def percentiles(values: list[float]) -> list[float]:
    ordered = sorted(values)
    return [
        ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] for p in (0.5, 0.95, 0.99)
    ]


def main(argv: list[str]) -> None:
    corpus, index_dir = argv[0], argv[1]
    uploads = argv[2] if len(argv) > 2 else None
    queries = make_queries(build_corpus(QUERY_SOURCE_SIZE), 300)
    pin_one_core()
    engine = Engine(corpus, index_dir, uploads_dir=uploads)
    started = time.perf_counter()
    snapshot = engine.open()
    out: dict[str, object] = {"open_s": round(time.perf_counter() - started, 2)}
    if not snapshot.from_cache:
        raise SystemExit("the index was built now, not loaded: pass the folders `index` used")
    index = snapshot.index
    out["rss_after_open_mb"] = round(rss_mb())
    out["compiled"] = index.kernels() is not None
    term_ids = [index.term_ids(analyze(q)) for q in queries]
    touched = [int(sum(index.indptr[t + 1] - index.indptr[t] for t in ids)) for ids in term_ids]
    out["postings_read"] = percentiles([float(n) for n in touched])
    out["top10_ms"] = percentiles(per_query_ms(lambda ids: index.top(ids, 10), term_ids))
    out["score_all_ms"] = percentiles(per_query_ms(index.score, term_ids))
    out["ask_ms"] = percentiles(per_query_ms(engine.search, queries))
    # Serving memory before the block-max comparison derives its block maxima, as
    # `benchmarks.probe serve` measures it (a serving process never derives them).
    gc.collect()
    out["steady_rss_mb"] = round(rss_mb())
    out["steady_rss_parts_mb"] = rss_parts_mb()
    out["top10_block_max_ms"] = percentiles(block_max_per_query_ms(index, term_ids))
    out["top10_read_share"] = percentiles(top_read_share(index, term_ids))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
