"""The scale benchmark: the product against rank-bm25, bm25s and tantivy at growing sizes.

    uv run --group bench python -m benchmarks.scale [--sizes 10k,100k,1m] [--queries 300]

For each size: expand ANT news articles into a corpus folder (benchmarks/out/),
build the index from the files with every core, then in fresh processes pinned
to one core: load the persisted index, measure memory and query latency, and
time the peers on the same analyzed sentences and questions. Writes the tables
to benchmarks/RESULTS.md and prints them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.corpus import OUT, build_corpus, corpus_counts, read_articles
from benchmarks.queries import make_queries
from retrieval.index import COMPILED_ENV

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
QUERY_SOURCE_SIZE = 10_000
# rank-bm25 needs ~1.3 s per question at a million sentences: sample that many.
SLOW_PEER_BUDGET = {10_000: 300, 100_000: 100, 1_000_000: 30}


def parse_size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    digits = text[:-1] if factor > 1 else text
    try:
        size = int(float(digits) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} is not like 10k, 100k or 1m") from None
    if size < 1000:
        raise argparse.ArgumentTypeError(f"size {text!r} is below 1k sentences")
    return size


def size_label(size: int) -> str:
    return f"{size // 1_000_000}m" if size % 1_000_000 == 0 else f"{size // 1000}k"


def probe(*args: str, env: dict[str, str] | None = None) -> dict:
    """Run one probe in a fresh interpreter; its last stdout line is its JSON result."""
    command = [sys.executable, "-m", "benchmarks.probe", *args]
    environ = {**os.environ, **(env or {})}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=environ)
    if done.returncode != 0:
        raise SystemExit(f"probe {args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def ratio(peer: list[float], ours: list[float], picked: list[int] | None = None) -> float:
    """Median over queries of peer time ÷ product time."""
    ours_a = np.asarray(ours if picked is None else [ours[i] for i in picked])
    return float(np.median(np.asarray(peer) / np.maximum(ours_a, 1e-6)))


def machine_line() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    import numpy

    return (
        f"{model}, {os.cpu_count()} cores, {mem_gb:.0f} GB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, numpy {numpy.__version__}"
    )


def run(sizes: list[int], n_queries: int) -> str:
    articles = None
    needed = sorted({QUERY_SOURCE_SIZE, *sizes})
    folders = {}
    for size in needed:
        marker = OUT / f"corpus-{size}" / ".bench-corpus.json"
        if articles is None and not marker.is_file():
            articles = read_articles()
        folders[size] = build_corpus(size, articles)
    queries = make_queries(folders[QUERY_SOURCE_SIZE], n_queries)
    queries_file = OUT / f"queries-{n_queries}.json"
    queries_file.write_text(json.dumps(queries, ensure_ascii=False), "utf-8")

    load_before = os.getloadavg()
    rows = []
    for size in sizes:
        index_dir = str(OUT / f"index-{size}")
        print(f"[{size:,} sentences] build …", file=sys.stderr, flush=True)
        built = probe("build", str(folders[size]), index_dir)
        print(f"[{size:,} sentences] serve …", file=sys.stderr, flush=True)
        served = probe("serve", str(folders[size]), index_dir, str(queries_file))
        print(f"[{size:,} sentences] first questions …", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as cache:  # numba's on-disk cache: empty, then warm
            args = ("jit", index_dir, str(queries_file))
            served["jit"] = {
                "numpy": probe(*args, env={COMPILED_ENV: "0"}),
                "cold cache": probe(*args, env={COMPILED_ENV: "1", "NUMBA_CACHE_DIR": cache}),
                "warm cache": probe(*args, env={COMPILED_ENV: "1", "NUMBA_CACHE_DIR": cache}),
            }
        print(f"[{size:,} sentences] peers …", file=sys.stderr, flush=True)
        budget = SLOW_PEER_BUDGET.get(size, max(10, 30_000_000 // size))
        peer = probe("peers", index_dir, str(queries_file), str(budget))
        rows.append((size, corpus_counts(folders[size]), built, served, peer))
    load_after = os.getloadavg()
    return render(rows, n_queries, load_before, load_after)


def render(rows: list, n_queries: int, load_before: tuple, load_after: tuple) -> str:
    sizes = ",".join(size_label(r[0]) for r in rows)
    out = [
        "# Scale benchmark",
        "",
        f"Command: `uv run --group bench python -m benchmarks.scale --sizes {sizes} "
        f"--queries {n_queries}`  ",
        f"Machine: {machine_line()}  ",
        f"Run: {time.strftime('%Y-%m-%d %H:%M')}; load average before/after "
        f"{load_before[0]:.1f}/{load_after[0]:.1f} (the machine is shared: other jobs ran "
        "beside this one, so figures are upper bounds).",
        "",
        "Corpus: ANT news articles (Chouigui, Ben Khiroun, Elayeb, *ANT Corpus: An Arabic News "
        "Text Collection for Textual Classification*, AICCSA 2017), expanded into the product's "
        "corpus format. Sentences past the real ones are synthetic: the first half of one real "
        "sentence spliced to the second half of another (real words and lengths, no new "
        "vocabulary).",
        "",
        "## Build, start-up and memory",
        "",
        "Build = files → ready index (read, segment, analyze, merge), every core of the machine "
        "(column *cores*); *CPU s* adds the worker processes. Start-up = `Engine.open` with the "
        "persisted index (it checks every corpus file's size and mtime against the listing "
        "kept with the index, reading none); "
        "*load index* = the persisted arrays alone (memory-mapped). Steady RSS = the serving "
        "process after answering the questions below three times each (top-10, score all, "
        "ask), before the block-max and numpy comparisons; *mapped* counts the index pages "
        "mapped into it (sentence texts are read by position, not mapped).",
        "",
        "| sentences (real + synthetic) | bm25 docs | postings | cores | build s | CPU s | "
        "context s | save s | peak RSS build MB (main / worker) | load index s | start-up s | "
        "steady RSS MB (heap + mapped) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size, counts, b, s, _ in rows:
        parts = s["steady_rss_parts_mb"]
        out.append(
            f"| {size:,} ({counts['real']:,} + {counts['synthetic']:,}) | {b['bm25_docs']:,} | "
            f"{b['postings']:,} | {b['cores']} | {b['build_s']:.1f} (read {b['read_s']:.1f}) | "
            f"{b['cpu_s']:.1f} | {b['context_s']:.1f} | {b['save_s']:.1f} | "
            f"{b['peak_rss_mb']:.0f} / {b['peak_worker_rss_mb']:.0f} | {s['load_index_s']:.2f} | "
            f"{s['open_s']:.2f} | {s['steady_rss_mb']:.0f} ({parts.get('RssAnon', 0):.0f} + "
            f"{parts.get('RssFile', 0):.0f}) |"
        )
    out += [
        "",
        "## Query latency, one core (ms, p50 / p95 / p99)",
        "",
        f"{n_queries} questions (seed questions, templated questions, 3–6 content words of "
        "corpus sentences); each timed 3 times after a warm-up, median kept. *top-10* = "
        "`SentenceIndex.top(…, 10)` = `best_first(score(…), 10)` on the analyzed question (the "
        "base ranking search computes); *block-max top-10* = `SentenceIndex.block_max_top`, "
        "the same hits and scores by Block-Max WAND (compiled only; *read*: share of the "
        "question's postings it read, p50); *score all* = "
        "`SentenceIndex.score` (every matching sentence); *ask* = `Engine.search`, the whole "
        "path (analyze, score, relevance filter, merge duplicates, build hits). Peers run on "
        "the same analyzed sentences and questions: rank-bm25 `BM25Okapi.get_scores` (full "
        "scan; a spread sample of the questions, count shown), bm25s numpy backend "
        "`retrieve(k=10)`, tantivy top-10 (its own BM25 variant).",
        "",
        "| sentences | postings p50 / p95 | top-10 | block-max top-10 (read) | score all | ask | "
        "rank-bm25 (n) | bm25s | tantivy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def three(values: list[float]) -> str:
        return f"{pct(values, 50):.3f} / {pct(values, 95):.3f} / {pct(values, 99):.3f}"

    for size, _, _, s, p in rows:
        tantivy = three(p["tantivy_ms"]) if "tantivy_ms" in p else "not installed"
        shares = s["top_read_share"]
        block_max = (
            f"{three(s['top_block_max_ms'])} ({pct(shares, 50):.0%})" if shares else "– (numpy)"
        )
        out.append(
            f"| {size:,} | {pct(s['postings_touched'], 50):,.0f} / "
            f"{pct(s['postings_touched'], 95):,.0f} | {three(s['top_ms'])} | {block_max} | "
            f"{three(s['score_ms'])} | {three(s['ask_ms'])} | {three(p['rank_bm25_ms'])} "
            f"({len(p['rank_bm25_queries'])}) | {three(p['bm25s_ms'])} | {tantivy} |"
        )
    out += [
        "",
        "The same questions on the numpy path in the same process (`COVERAGE_BOT_COMPILED=0`; "
        "what a corpus under 50,000 unique sentences runs), and whether the rows above ran "
        "compiled:",
        "",
        "| sentences | compiled above | top-10 numpy | score all numpy | ask numpy |",
        "|---|---|---|---|---|",
    ]
    for size, _, _, s, _ in rows:
        out.append(
            f"| {size:,} | {'yes' if s['compiled'] else 'no'} | {three(s['top_numpy_ms'])} | "
            f"{three(s['score_numpy_ms'])} | {three(s['ask_numpy_ms'])} |"
        )
    out += [
        "",
        "## First questions of a fresh process",
        "",
        "`python -m benchmarks.probe jit`: map the persisted index, load the search kernels "
        "(import numba, then read its on-disk cache or compile), answer three questions "
        "(`search`). *cold cache*: an empty `NUMBA_CACHE_DIR` (numba compiles and saves); "
        "*warm cache*: the same folder in the next process (as the Docker image ships it).",
        "",
        "| sentences | path | load index s | load kernels s | questions 1 / 2 / 3 ms |",
        "|---|---|---|---|---|",
    ]
    for size, _, _, s, _ in rows:
        for label, j in s["jit"].items():
            first = " / ".join(f"{ms:.1f}" for ms in j["first_ms"])
            out.append(
                f"| {size:,} | {label} | {j['load_index_s']:.2f} | {j['kernels_s']:.2f} | {first} |"
            )
    out += [
        "",
        "## Speed-up of the product's top-10 search (median of per-question ratios)",
        "",
        "| sentences | ÷ rank-bm25 | ÷ bm25s | ÷ tantivy | max abs score diff vs rank-bm25 |",
        "|---|---|---|---|---|",
    ]
    for size, _, _, s, p in rows:
        tantivy = f"{ratio(p['tantivy_ms'], s['top_ms']):.2f}×" if "tantivy_ms" in p else "–"
        out.append(
            f"| {size:,} | {ratio(p['rank_bm25_ms'], s['top_ms'], p['rank_bm25_queries']):,.0f}× "
            f"| {ratio(p['bm25s_ms'], s['top_ms']):,.1f}× | {tantivy} | "
            f"{p['max_abs_diff_vs_rank_bm25']:.1e} |"
        )
    out += [
        "",
        "## Questions during a reload",
        "",
        "`Engine.reload` rebuilding the index from the files in a thread (analysis in worker "
        "processes on every core) while the same process answers a question every 5 ms "
        "(`Engine.search`, ms).",
        "",
        "| sentences | reload s | questions | p50 | p95 | max |",
        "|---|---|---|---|---|---|",
    ]
    for size, _, _, s, _ in rows:
        d = s["during_reload_ms"]
        out.append(
            f"| {size:,} | {s['reload_s']:.1f} | {len(d)} | {pct(d, 50):.2f} | {pct(d, 95):.2f} | "
            f"{max(d) if d else float('nan'):.1f} |"
        )
    out += [
        "",
        "## Peers: build time and memory (in-process, one core)",
        "",
        "| sentences | rank-bm25 s / MB | bm25s s / MB | tantivy s / MB |",
        "|---|---|---|---|",
    ]
    for size, _, _, _, p in rows:
        tantivy = (
            f"{p['tantivy_build_s']:.1f} / {p['tantivy_rss_mb']:.0f}" if "tantivy_ms" in p else "–"
        )
        out.append(
            f"| {size:,} | {p['rank_bm25_build_s']:.1f} / {p['rank_bm25_rss_mb']:.0f} | "
            f"{p['bm25s_build_s']:.1f} / {p['bm25s_rss_mb']:.0f} | {tantivy} |"
        )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    parser.add_argument(
        "--sizes",
        default="10k,100k,1m",
        type=lambda s: [parse_size(x) for x in s.split(",") if x.strip()],
        help="corpus sizes in sentences (default 10k,100k,1m)",
    )
    parser.add_argument("--queries", type=int, default=300, help="number of questions")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the tables")
    args = parser.parse_args(argv)
    if args.queries < 10:
        parser.error("--queries must be at least 10")
    table = run(args.sizes, args.queries)
    args.output.write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
