"""Start-up with the persisted index: `Engine.open`, a whole `ask` process, serving memory.

    uv run python -m benchmarks.startup [--size 1m] [--runs 9] [--baseline main]

On the benchmark corpus of that size (benchmarks/corpus.py; built on first use), with
the index persisted in benchmarks/out/startup-index-SIZE (brought up to date by
`coverage-bot index` first, not timed), each in fresh processes:

1. `Engine.open()` on the unchanged corpus: wall and CPU seconds of the call alone;
2. `coverage-bot ask QUESTION`, the whole process (interpreter, imports, open,
   one question, printing): wall, and CPU (user + system);
3. serving memory: RSS after `Engine.open()` and 10 questions (the seeds' own
   questions), split into private memory (RssAnon) and mapped index files (RssFile),
   in 3 processes.

`--baseline REF` runs the same steps with the code of git revision REF (extracted
under benchmarks/out/code-REF, with its own index folder), in the same run: the
peer row. Bytecode is compiled (PYTHONDONTWRITEBYTECODE is dropped), as after any
first run and as the Docker image ships it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tarfile
import time
from io import BytesIO
from pathlib import Path

import numpy as np

from benchmarks.corpus import OUT, build_corpus
from benchmarks.scale import parse_size, size_label

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "ماذا افتتحت بلدية قرطبون؟"
SEED_QUESTIONS = ROOT / "tests" / "data" / "seeds_qa.jsonl"

_OPEN = """
import json, sys, time
from retrieval.engine import Engine
engine = Engine(sys.argv[1], sys.argv[2], uploads_dir=sys.argv[3])
wall, cpu = time.perf_counter(), time.process_time()
engine.open()
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
"""
_SERVE = """
import json, sys
from retrieval.engine import Engine
engine = Engine(sys.argv[1], sys.argv[2], uploads_dir=sys.argv[3])
engine.open()
hits = sum(len(engine.search(q).hits) for q in json.loads(sys.argv[4]))
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
kb = {k: int(status[k].split()[0]) for k in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}
print(json.dumps({"hits": hits, **kb}))
"""


def code_tree(ref: str | None) -> Path:
    """This checkout, or the files of git revision `ref` extracted under OUT/code-REF."""
    if ref is None:
        return ROOT
    folder = OUT / f"code-{ref.replace('/', '-')}"
    if not (folder / "retrieval").is_dir():
        archive = subprocess.run(
            ["git", "archive", ref], cwd=ROOT, capture_output=True, check=True
        ).stdout
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
    return folder


def _env(corpus: Path, index_dir: Path, uploads: Path) -> dict[str, str]:
    env = dict(
        os.environ,
        COVERAGE_BOT_CORPUS=str(corpus),
        COVERAGE_BOT_INDEX_DIR=str(index_dir),
        COVERAGE_BOT_UPLOADS=str(uploads),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _python(code: Path, env: dict[str, str], *args: str) -> str:
    """Run `python ARGS` with `code` first on the path (the working directory)."""
    done = subprocess.run(
        [sys.executable, *args], cwd=code, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(code: Path, corpus: Path, index_dir: Path, runs: int) -> dict:
    uploads = index_dir.with_name(index_dir.name + ".uploads")  # empty: the corpus alone
    uploads.mkdir(parents=True, exist_ok=True)
    env = _env(corpus, index_dir, uploads)
    _python(code, env, "-m", "bot.cli", "index")  # up to date with this code, not timed
    paths = (str(corpus), str(index_dir), str(uploads))
    opens = [json.loads(_python(code, env, "-c", _OPEN, *paths)) for _ in range(runs)]
    asks = []
    for _ in range(runs):
        cpu, started = _children_cpu(), time.perf_counter()
        out = _python(code, env, "-m", "bot.cli", "ask", QUESTION)
        asks.append((time.perf_counter() - started, _children_cpu() - cpu))
        if not out.strip():
            raise AssertionError("ask printed nothing")
    lines = SEED_QUESTIONS.read_text("utf-8").splitlines()[:10]
    questions = json.dumps([json.loads(line)["question"] for line in lines])
    serves = [json.loads(_python(code, env, "-c", _SERVE, *paths, questions)) for _ in range(3)]
    return {
        "open_wall": [o["wall"] for o in opens],
        "open_cpu": [o["cpu"] for o in opens],
        "ask_wall": [a[0] for a in asks],
        "ask_cpu": [a[1] for a in asks],
        "serve": sorted(serves, key=lambda s: s["VmRSS"]),
    }


def render(size: int, runs: int, results: dict[str, dict], baseline: str | None) -> str:
    load = os.getloadavg()
    command = f"uv run python -m benchmarks.startup --size {size_label(size)} --runs {runs}"
    if baseline:
        command += f" --baseline {baseline}"
    lines = [
        "## Start-up with the persisted index (1M)" if size == 1_000_000 else "## Start-up",
        "",
        f"Command: `{command}`  ",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Linux {platform.release()}, Python {platform.python_version()}, numpy {np.__version__}  ",
        f"Run: {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; load average after the run "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min; shared machine).",
        "",
        f"{size:,} sentences, unchanged corpus, each figure from {runs} fresh processes: "
        "median / p95 seconds. Serving RSS: a process after `Engine.open()` and 10 "
        "questions, private memory + mapped index files, the median of 3 processes and "
        "their range (the mapped part depends on what the page cache holds: the kernel "
        "maps cached pages around each one read).",
        "",
        "| code | `Engine.open` wall | `Engine.open` CPU | `ask` process wall | `ask` process CPU "
        "| serving RSS MB: median (private + mapped); range |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        low, s, high = r["serve"]  # the median run, and the range
        lines.append(
            f"| {name} | {_spread(r['open_wall'])} | {_spread(r['open_cpu'])} "
            f"| {_spread(r['ask_wall'])} | {_spread(r['ask_cpu'])} "
            f"| {s['VmRSS'] / 1024:.0f} ({s['RssAnon'] / 1024:.0f} + {s['RssFile'] / 1024:.0f}); "
            f"{low['VmRSS'] / 1024:.0f}–{high['VmRSS'] / 1024:.0f} |"
        )
    return "\n".join(lines) + "\n"


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} / {float(np.percentile(values, 95)):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=1_000_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--baseline", help="git revision to measure in the same run")
    args = parser.parse_args()
    corpus = build_corpus(args.size)
    results = {}
    if args.baseline:
        index_dir = OUT / f"startup-index-{args.size}-{args.baseline.replace('/', '-')}"
        results[f"`{args.baseline}`"] = measure(
            code_tree(args.baseline), corpus, index_dir, args.runs
        )
    index_dir = OUT / f"startup-index-{args.size}"
    results["this checkout"] = measure(ROOT, corpus, index_dir, args.runs)
    print(render(args.size, args.runs, results, args.baseline))


if __name__ == "__main__":
    main()
