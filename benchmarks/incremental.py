"""The incremental index at scale: one file added, removed or changed.

    uv run python -m benchmarks.incremental [--size 1m] [--out benchmarks/RESULTS.md]

On the benchmark corpus of that size (benchmarks/corpus.py; built on first use),
with a fresh index folder under benchmarks/out/:

1. `coverage-bot index` from nothing (full build: every file read and analyzed);
2. one new article added, `coverage-bot index`;
3. that article removed, `coverage-bot index`;
4. one existing article changed (a sentence appended), `coverage-bot index`;
5. in one process, `Engine.open`, then an article holding a fact no other file
   holds is added and `Engine.reload()` runs (the bot's /reload and upload path:
   a few changed files edit the serving index in this process, retrieval/delta.py),
   then it is removed and `Engine.reload()` runs again: the time from the file
   written to the new snapshot serving, and to `reload()` returning.

Steps 2–5 run `--repeat` times (default 3); the table gives medians.

Each `coverage-bot index` is a separate process, timed whole (start-up
included), and asserts the index it reports equals a full rebuild of the same
corpus only in the tests (tests/test_incremental.py), not here. The corpus is
left as it was found (the changed article is restored and the new one removed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.corpus import OUT, build_corpus
from benchmarks.scale import parse_size, size_label
from retrieval.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
NEW_FILE = "zz-incremental/added.txt"
NEW_TEXT = (
    "---\ntitle: مهرجان الزيتون\noutlet: وكالة\n---\n"
    "افتتح المزارعون مهرجان الزيتون السنوي في مدينة جرش بمشاركة واسعة.\n"
    "وقال المنظمون إن المهرجان يستمر ثلاثة أيام.\n"
)
FACT_FILE = "zz-incremental/fact.txt"
FACT_TEXT = "أعلنت بلدية قرطبون افتتاح جسر الزعفران الجديد فوق وادي السنديان.\n"
FACT_QUESTION = "ماذا افتتحت بلدية قرطبون؟"
FACT_WORD = "الزعفران"
CHANGED_LINE = "\nوأضاف المتحدث أن اللجنة ستجتمع مجددا الأسبوع المقبل لمراجعة النتائج.\n"


def index_command(corpus: Path, index_dir: Path) -> tuple[float, float, str]:
    """`coverage-bot index` in its own process: (wall seconds, CPU seconds, its summary)."""
    env = dict(os.environ, COVERAGE_BOT_CORPUS=str(corpus), COVERAGE_BOT_INDEX_DIR=str(index_dir))
    # An installed package has its bytecode compiled; without it every run compiles
    # ~300 modules again (0.6 s of CPU here, where this variable is set).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("coverage-bot")), "index"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    said = [line for line in done.stdout.splitlines() if line.startswith("index:")]
    wall = time.perf_counter() - started
    return wall, _children_cpu() - cpu, said[0] if said else done.stdout.strip()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def reload_to_answer(corpus: Path, index_dir: Path, repeat: int) -> dict[str, list[float]]:
    """`Engine.reload()` after a fact file is written, then after it is removed, `repeat`
    times: seconds until the new snapshot serves (answerable), until reload returns
    (saved too), and the CPU seconds of this process and its children meanwhile."""
    engine = Engine(corpus, index_dir)
    started = time.perf_counter()
    engine.open()
    figures: dict[str, list[float]] = {"open": [time.perf_counter() - started]}
    path = corpus / FACT_FILE
    path.parent.mkdir(exist_ok=True)
    for _ in range(repeat):
        for step in ("added", "removed"):
            time.sleep(2.1)  # older than the racy window: the listing may trust it
            cpu = time.process_time() + _children_cpu()
            written = time.time()
            if step == "added":
                path.write_text(FACT_TEXT, encoding="utf-8")
            else:
                path.unlink()
            report = engine.reload()
            hits = engine.search(FACT_QUESTION).hits
            returned = time.time() - written
            found = bool(hits) and FACT_WORD in hits[0].text
            if found != (step == "added"):
                raise AssertionError(f"after the fact file was {step}: {[h.text for h in hits]}")
            if step == "added" and report.added != [FACT_FILE]:
                raise AssertionError(f"reload reported {report.added} added")
            figures.setdefault(f"answerable_{step}", []).append(report.after.loaded_at - written)
            figures.setdefault(f"returned_{step}", []).append(returned)
            cpu_used = time.process_time() + _children_cpu() - cpu
            figures.setdefault(f"cpu_{step}", []).append(cpu_used)
    return figures


def run(size: int, repeat: int, full_build: tuple | None = None) -> dict:
    """All steps, each timed `repeat` times; with `full_build` (an earlier run's row)
    the index already built is kept."""
    corpus = build_corpus(size)
    index_dir = OUT / f"incremental-index-{size}"
    extra = corpus / "zz-incremental"
    shutil.rmtree(extra, ignore_errors=True)
    rows: dict[str, list] = {}
    if full_build is None:
        for folder in (index_dir, index_dir.with_name(index_dir.name + ".segments")):
            shutil.rmtree(folder, ignore_errors=True)
        rows["full build"] = [index_command(corpus, index_dir)]
    else:
        rows["full build (earlier run)"] = [tuple(full_build)]
        index_command(corpus, index_dir)  # brought up to date with this code, not timed
    extra.mkdir()
    victim = sorted(p for p in corpus.rglob("*.txt") if extra not in p.parents)[21]
    original = victim.read_bytes()
    for _ in range(repeat):
        time.sleep(2.1)
        (corpus / NEW_FILE).write_text(NEW_TEXT, encoding="utf-8")
        rows.setdefault("one file added", []).append(index_command(corpus, index_dir))
        (corpus / NEW_FILE).unlink()
        rows.setdefault("one file removed", []).append(index_command(corpus, index_dir))
        try:
            victim.write_bytes(original + CHANGED_LINE.encode("utf-8"))
            rows.setdefault("one file changed", []).append(index_command(corpus, index_dir))
        finally:
            victim.write_bytes(original)
        rows.setdefault("changed file restored", []).append(index_command(corpus, index_dir))
    engine = reload_to_answer(corpus, index_dir, repeat)
    shutil.rmtree(extra, ignore_errors=True)
    return {"size": size, "repeat": repeat, "rows": rows, "engine": engine}


def render(result: dict) -> str:
    size, repeat = result["size"], result["repeat"]
    load = os.getloadavg()
    lines = [
        "## Incremental index",
        "",
        f"Command: `uv run python -m benchmarks.incremental --size {size_label(size)} "
        f"--repeat {repeat}`  ",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Linux {platform.release()}, Python {platform.python_version()}, numpy {np.__version__}  ",
        f"Run: {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; load average after "
        f"{load[0]:.1f} (shared machine: wall times are upper bounds).",
        "",
        f"Medians of {repeat} runs (all runs in brackets). Each `coverage-bot index` runs in "
        "its own process, timed whole (interpreter start-up and imports included); CPU is "
        "user + system time of that process. *Reload* is `Engine.reload()` in a process that "
        "already serves; *answerable* is from the file written to the moment the new "
        "snapshot serves questions (then the index is saved and mapped, and `reload()` "
        "returns: *returned*).",
        "",
        f"| step, {size:,} sentences | wall s | CPU s | what `index` printed (last run) |",
        "|---|---|---|---|",
    ]
    for name, runs in result["rows"].items():
        walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
        lines.append(
            f"| `coverage-bot index`, {name} | {_median(walls)} | {_median(cpus)} | {runs[-1][2]} |"
        )
    engine = result["engine"]
    lines.append(f"| `Engine.open` (start-up, unchanged corpus) | {engine['open'][0]:.2f} | | |")
    for step in ("added", "removed"):
        lines.append(
            f"| reload, one file {step}: answerable | {_median(engine[f'answerable_{step}'])} "
            f"| {_median(engine[f'cpu_{step}'])} | CPU: until `reload()` returned |"
        )
        lines.append(
            f"| reload, one file {step}: `reload()` returned (saved) "
            f"| {_median(engine[f'returned_{step}'])} | | |"
        )
    return "\n".join(lines) + "\n"


def _median(values: list[float]) -> str:
    runs = " ".join(f"{v:.2f}" for v in values)
    return f"{statistics.median(values):.2f}" + (f" [{runs}]" if len(values) > 1 else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1m", type=parse_size)
    parser.add_argument("--repeat", default=3, type=int, help="runs of each step (medians)")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument(
        "--keep-index",
        type=Path,
        metavar="EARLIER.json",
        help="keep the index an earlier run built; its full-build row comes from that run",
    )
    args = parser.parse_args(argv)
    earlier = None
    if args.keep_index:
        rows = json.loads(args.keep_index.read_text(encoding="utf-8"))["rows"]
        earlier = next(row for name, row in rows.items() if name.startswith("full build"))
        if isinstance(earlier[0], list):  # this version's format: a list of runs
            earlier = earlier[0]
    result = run(args.size, args.repeat, earlier)
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(render(result))


if __name__ == "__main__":
    main()
