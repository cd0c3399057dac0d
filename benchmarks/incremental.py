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
   a child process updates and saves the index, this process maps it): the time
   from the file written to the fact answered.

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


def reload_to_answer(corpus: Path, index_dir: Path) -> dict[str, float]:
    engine = Engine(corpus, index_dir)
    started = time.perf_counter()
    engine.open()
    opened = time.perf_counter() - started
    path = corpus / FACT_FILE
    path.parent.mkdir(exist_ok=True)
    started = time.perf_counter()
    path.write_text(FACT_TEXT, encoding="utf-8")
    report = engine.reload()
    hits = engine.search(FACT_QUESTION).hits
    answered = time.perf_counter() - started
    if not hits or FACT_WORD not in hits[0].text:
        raise AssertionError(f"the new fact was not answered: {[h.text for h in hits]}")
    if report.added != [FACT_FILE]:
        raise AssertionError(f"reload reported {report.added} added")
    path.unlink()
    started = time.perf_counter()
    engine.reload()
    removed = time.perf_counter() - started
    if any(FACT_WORD in h.text for h in engine.search(FACT_QUESTION).hits):
        raise AssertionError("the removed fact is still answered")
    return {"open": opened, "reload_added": answered, "reload_removed": removed}


def run(size: int, full_build: tuple | None = None) -> dict:
    """All steps; with `full_build` (an earlier run's row) the index already built is kept."""
    corpus = build_corpus(size)
    index_dir = OUT / f"incremental-index-{size}"
    extra = corpus / "zz-incremental"
    shutil.rmtree(extra, ignore_errors=True)
    rows = {}
    if full_build is None:
        for folder in (index_dir, index_dir.with_name(index_dir.name + ".segments")):
            shutil.rmtree(folder, ignore_errors=True)
        rows["full build"] = index_command(corpus, index_dir)
    else:
        rows["full build (earlier run)"] = tuple(full_build)
        index_command(corpus, index_dir)  # brought up to date with this code, not timed
    extra.mkdir()
    (corpus / NEW_FILE).write_text(NEW_TEXT, encoding="utf-8")
    rows["one file added"] = index_command(corpus, index_dir)
    (corpus / NEW_FILE).unlink()
    rows["one file removed"] = index_command(corpus, index_dir)
    victim = sorted(p for p in corpus.rglob("*.txt") if extra not in p.parents)[21]
    original = victim.read_bytes()
    try:
        victim.write_bytes(original + CHANGED_LINE.encode("utf-8"))
        rows["one file changed"] = index_command(corpus, index_dir)
    finally:
        victim.write_bytes(original)
    rows["changed file restored"] = index_command(corpus, index_dir)
    engine = reload_to_answer(corpus, index_dir)
    shutil.rmtree(extra, ignore_errors=True)
    return {"size": size, "rows": rows, "engine": engine}


def render(result: dict) -> str:
    size = result["size"]
    load = os.getloadavg()
    lines = [
        "## Incremental index",
        "",
        f"Command: `uv run python -m benchmarks.incremental --size {size_label(size)}`  ",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Linux {platform.release()}, Python {platform.python_version()}, numpy {np.__version__}  ",
        f"Run: {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; load average after "
        f"{load[0]:.1f} (shared machine: upper bounds).",
        "",
        "Each `coverage-bot index` runs in its own process, timed whole (interpreter "
        "start-up and imports included). *Reload* is `Engine.reload()` in a process that "
        "already serves: a child process updates and saves the index, the serving "
        "process maps it; timed from the file written to the new fact answered.",
        "",
        f"| step, {size:,} sentences | wall s | CPU s | what `index` printed |",
        "|---|---|---|---|",
    ]
    for name, (seconds, cpu, printed) in result["rows"].items():
        lines.append(f"| `coverage-bot index`, {name} | {seconds:.2f} | {cpu:.2f} | {printed} |")
    engine = result["engine"]
    lines.append(f"| `Engine.open` (start-up, unchanged corpus) | {engine['open']:.2f} | |")
    lines.append(
        f"| upload answerable: file written → `Engine.reload()` → fact answered "
        f"| {engine['reload_added']:.2f} | |"
    )
    lines.append(
        f"| `Engine.reload()` after that file is removed | {engine['reload_removed']:.2f} | |"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1m", type=parse_size)
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
    result = run(args.size, earlier)
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(render(result))


if __name__ == "__main__":
    main()
