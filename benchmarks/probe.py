"""One measurement in a fresh process, so its memory figures are its own.

    python -m benchmarks.probe build CORPUS INDEX_DIR
    python -m benchmarks.probe serve CORPUS INDEX_DIR QUERIES_JSON
    python -m benchmarks.probe peers INDEX_DIR QUERIES_JSON MAX_SLOW_QUERIES
    python -m benchmarks.probe jit INDEX_DIR QUERIES_JSON

Each prints one JSON object on its last stdout line. Latency probes pin
themselves to one core first.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil

from retrieval.context import context_of
from retrieval.corpus import load_corpus
from retrieval.engine import SENTENCE_PARAMS, Engine
from retrieval.index import SentenceIndex, build_index
from retrieval.listing import list_corpus, save_listing
from retrieval.normalize import analyze, analyze_keyed
from retrieval.search import search
from retrieval.store import corpus_key, load_index, save_index

MB = 1024 * 1024
REPEATS = 3


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / MB


def rss_parts_mb() -> dict[str, float]:
    """Resident memory split: anonymous (heap) and file-backed (memory-mapped arrays)."""
    parts = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("RssAnon:", "RssFile:")):
            parts[line.split(":")[0]] = int(line.split()[1]) / 1024
    return parts


def peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def pin_one_core() -> int:
    """Run on the last core this process may use; returns it."""
    core = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def per_query_ms(call: Callable[[object], object], queries: list, repeats: int = REPEATS) -> list:
    """Median of `repeats` timed calls per query, after one untimed warm-up call each."""
    for query in queries:
        call(query)
    times = []
    for query in queries:
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            call(query)
            runs.append(time.perf_counter() - started)
        times.append(float(np.median(runs)) * 1000)
    return times


def block_max_per_query_ms(index: SentenceIndex, term_ids: list[list[int]]) -> list[float]:
    """`per_query_ms` of the Block-Max WAND top-10 (compiled only, else empty)."""
    kernels = index.kernels()
    if kernels is None:
        return []
    return per_query_ms(lambda ids: index.block_max_top(kernels, ids, 10, None), term_ids)


def top_read_share(index: SentenceIndex, term_ids: list[list[int]]) -> list[float]:
    """Per question, the share of its postings the block-max top-10 read (compiled only)."""
    kernels = index.kernels()
    if kernels is None:
        return []
    shares = []
    for ids in term_ids:
        total = sum(int(index.indptr[t + 1] - index.indptr[t]) for t in ids)
        if total:
            shares.append(index.block_max_top(kernels, ids, 10, None)[2] / total)
    return shares


def build(corpus: str, index_dir: str) -> dict:
    """Files → ready index (both cores), then saved; the timings and memory of that."""
    shutil.rmtree(index_dir, ignore_errors=True)
    cpu0 = os.times()
    t0 = time.perf_counter()
    listing = list_corpus(corpus)  # as Engine does: start-up then checks sizes and mtimes
    loaded = load_corpus(corpus)
    t1 = time.perf_counter()
    params = SENTENCE_PARAMS  # what Engine uses
    key = corpus_key(loaded.documents, params)
    index = build_index(loaded.documents, key, params)
    t2 = time.perf_counter()
    index.build_seconds = t2 - t1
    context_of(index)  # what Engine.open derives next; save_index stores it
    t_context = time.perf_counter()
    save_listing(save_index(index, index_dir), listing, loaded.problems)
    t3 = time.perf_counter()
    cpu1 = os.times()
    return {
        "cores": len(os.sched_getaffinity(0)),
        "documents": len(loaded.documents),
        "sentences": index.n_sentences,
        "bm25_docs": index.n_docs,
        "terms": len(index.vocab),
        "postings": len(index.post_docs),
        "read_s": t1 - t0,
        "analyze_index_s": t2 - t1,
        "build_s": t2 - t0,
        "context_s": t_context - t2,
        "save_s": t3 - t_context,
        "cpu_s": (cpu1.user + cpu1.system + cpu1.children_user + cpu1.children_system)
        - (cpu0.user + cpu0.system + cpu0.children_user + cpu0.children_system),
        "peak_rss_mb": peak_mb(),
        "peak_worker_rss_mb": peak_mb(resource.RUSAGE_CHILDREN),
        "rss_after_build_mb": rss_mb(),
    }


def serve(corpus: str, index_dir: str, queries_file: str) -> dict:
    """Start-up from the persisted index, steady memory, query latency; then a reload."""
    core = pin_one_core()
    queries = json.loads(Path(queries_file).read_text("utf-8"))
    key = next(p.name for p in Path(index_dir).iterdir() if not p.name.startswith("."))
    started = time.perf_counter()
    index = load_index(index_dir, key, SENTENCE_PARAMS)
    load_s = time.perf_counter() - started
    del index
    gc.collect()
    engine = Engine(corpus, index_dir)
    started = time.perf_counter()
    snapshot = engine.open()
    open_s = time.perf_counter() - started
    assert snapshot.from_cache, "the serve probe expects the index the build probe saved"
    index = snapshot.index
    term_ids = [index.term_ids(analyze(q)) for q in queries]
    touched = [int(sum(index.indptr[t + 1] - index.indptr[t] for t in ids)) for ids in term_ids]
    top_ms = per_query_ms(lambda ids: index.top(ids, 10), term_ids)
    score_ms = per_query_ms(index.score, term_ids)
    ask_ms = per_query_ms(engine.search, queries)
    # What a serving process holds after answering: measured before the comparisons
    # below, which derive block maxima and run the numpy path (a serving process at
    # this size does neither).
    gc.collect()
    steady = rss_mb()
    steady_parts = rss_parts_mb()
    block_max_ms = block_max_per_query_ms(index, term_ids)
    top_read = top_read_share(index, term_ids)
    # The same on the numpy path (what a corpus under COMPILED_FROM runs), same process.
    index.compiled = False
    numpy_ms = {
        "top_numpy_ms": per_query_ms(lambda ids: index.top(ids, 10), term_ids),
        "score_numpy_ms": per_query_ms(index.score, term_ids),
        "ask_numpy_ms": per_query_ms(engine.search, queries),
    }
    index.compiled = None

    # Questions asked while a reload rebuilds the index from the files.
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    rebuild_dir = Path(index_dir).with_name(Path(index_dir).name + "-reload")
    shutil.rmtree(rebuild_dir, ignore_errors=True)
    engine.index_dir = rebuild_dir
    during: list[float] = []
    reload_s: list[float] = []

    def reload() -> None:
        t = time.perf_counter()
        engine.reload()
        reload_s.append(time.perf_counter() - t)

    thread = threading.Thread(target=reload)
    thread.start()
    i = 0
    while thread.is_alive():
        t = time.perf_counter()
        engine.search(queries[i % len(queries)])
        during.append((time.perf_counter() - t) * 1000)
        i += 1
        time.sleep(0.005)  # a busy but human chat: questions keep arriving
    thread.join()
    shutil.rmtree(rebuild_dir, ignore_errors=True)
    return {
        "core": core,
        "load_index_s": load_s,
        "open_s": open_s,
        "steady_rss_mb": steady,
        "steady_rss_parts_mb": steady_parts,
        "postings_touched": touched,
        "top_ms": top_ms,
        "top_block_max_ms": block_max_ms,
        "top_read_share": top_read,
        "score_ms": score_ms,
        "ask_ms": ask_ms,
        **numpy_ms,
        "compiled": index.kernels() is not None,
        "reload_s": reload_s[0] if reload_s else None,
        "during_reload_ms": during,
    }


def jit(index_dir: str, queries_file: str) -> dict:
    """A fresh process's cost of the compiled kernels: loading them (numba's import, then
    its on-disk cache or a compilation) and the first questions after that."""
    queries = json.loads(Path(queries_file).read_text("utf-8"))
    key = next(p.name for p in Path(index_dir).iterdir() if not p.name.startswith("."))
    started = time.perf_counter()
    index = load_index(index_dir, key, SENTENCE_PARAMS)
    loaded = time.perf_counter()
    compiled = index.kernels() is not None
    ready = time.perf_counter()
    first = []
    for question in queries[:3]:
        t = time.perf_counter()
        search(index, question)
        first.append((time.perf_counter() - t) * 1000)
    return {
        "compiled": compiled,
        "numba_imported": "numba" in sys.modules,
        "load_index_s": loaded - started,
        "kernels_s": ready - loaded,
        "first_ms": first,
    }


def peers(index_dir: str, queries_file: str, max_slow: int) -> dict:
    """The peers on the product's own analyzed sentences and questions."""
    core = pin_one_core()
    queries = json.loads(Path(queries_file).read_text("utf-8"))
    key = next(p.name for p in Path(index_dir).iterdir() if not p.name.startswith("."))
    index = load_index(index_dir, key, SENTENCE_PARAMS)
    corpus = [analyze_keyed(index.texts[int(row)])[0] for row in index.doc_rows]
    query_terms = [analyze(q) for q in queries]
    # rank-bm25 scans every sentence in Python: an evenly spread sample of queries.
    step = max(1, -(-len(queries) // max_slow))
    slow = list(range(0, len(queries), step))
    out: dict = {"core": core, "rank_bm25_queries": slow}

    from rank_bm25 import BM25Okapi

    before = rss_mb()
    started = time.perf_counter()
    p = index.params
    okapi = BM25Okapi(corpus, k1=p.k1, b=p.b, epsilon=p.epsilon)
    out["rank_bm25_build_s"] = time.perf_counter() - started
    out["rank_bm25_rss_mb"] = rss_mb() - before
    out["rank_bm25_ms"] = per_query_ms(okapi.get_scores, [query_terms[i] for i in slow], 1)
    # The product's scores equal rank-bm25's at this size too.
    worst = 0.0
    for i in slow[:10]:
        expected = okapi.get_scores(query_terms[i])
        docs, scores = index.score(index.term_ids(query_terms[i]))
        full = np.zeros(index.n_docs)
        full[docs] = scores
        worst = max(worst, float(np.abs(full - expected).max()))
    out["max_abs_diff_vs_rank_bm25"] = worst
    del okapi
    gc.collect()

    import bm25s

    before = rss_mb()
    started = time.perf_counter()
    retriever = bm25s.BM25(k1=index.params.k1, b=index.params.b, backend="numpy")
    retriever.index(corpus, show_progress=False)
    out["bm25s_build_s"] = time.perf_counter() - started
    out["bm25s_rss_mb"] = rss_mb() - before

    def bm25s_top(terms: list[str], retriever: bm25s.BM25 = retriever) -> object:
        return retriever.retrieve(
            [terms], k=10, show_progress=False, n_threads=1, backend_selection="numpy"
        )

    out["bm25s_ms"] = per_query_ms(bm25s_top, query_terms)
    del retriever
    gc.collect()

    try:
        import tantivy
    except ImportError:
        return out
    before = rss_mb()
    started = time.perf_counter()
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=False, tokenizer_name="whitespace")
    schema = builder.build()
    tindex = tantivy.Index(schema)
    writer = tindex.writer(heap_size=500_000_000, num_threads=1)
    for terms in corpus:
        writer.add_document(tantivy.Document(body=" ".join(terms)))
    writer.commit()
    writer.wait_merging_threads()
    tindex.reload()
    searcher = tindex.searcher()
    out["tantivy_build_s"] = time.perf_counter() - started
    out["tantivy_rss_mb"] = rss_mb() - before

    def tantivy_top(terms: list[str]) -> object:
        clauses = [
            (tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", t)) for t in terms
        ]
        return searcher.search(tantivy.Query.boolean_query(clauses), 10).hits

    out["tantivy_ms"] = per_query_ms(tantivy_top, query_terms)
    return out


def main(argv: list[str]) -> None:
    mode, args = argv[0], argv[1:]
    if mode == "build":
        result = build(*args)
    elif mode == "serve":
        result = serve(*args)
    elif mode == "peers":
        result = peers(args[0], args[1], int(args[2]))
    elif mode == "jit":
        result = jit(*args)
    else:
        raise SystemExit(f"unknown probe {mode!r}: build, serve, jit or peers")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
