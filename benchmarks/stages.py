"""Where the whole ask path's time goes, stage by stage.

    uv run python -m benchmarks.stages CORPUS_DIR INDEX_DIR [QUESTIONS_JSON]

Opens the persisted index on one core, answers the scale benchmark's questions
(`benchmarks/out/queries-300.json` by default) once untimed, then once more with a
timer around each stage of `retrieval.search.search` (the stages are wrapped in
place for this process only) and prints the mean milliseconds per question of each,
beside the whole call. Stages nest: `_best_relevant` holds `SentenceIndex.score`,
`_final_scores` and `_context_bounds`; `rerank_head` holds `_windows`.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.corpus import OUT
from retrieval import features, search
from retrieval.engine import Engine

STAGES = {
    search: (
        "_look_alikes",
        "_best_relevant",
        "_final_scores",
        "_context_bounds",
        "_answerability",
        "rerank_head",
        "_hit",
    ),
    features: ("_windows",),
}


def timed(spent: dict[str, float], name: str, function: Callable) -> Callable:
    @functools.wraps(function)
    def wrapper(*args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

    return wrapper


def main(argv: list[str]) -> None:
    corpus, index_dir = argv[0], argv[1]
    questions_file = Path(argv[2]) if len(argv) > 2 else OUT / "queries-300.json"
    questions = json.loads(questions_file.read_text("utf-8"))
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    engine = Engine(corpus, index_dir)
    index = engine.open().index
    for question in questions:
        engine.search(question)
    spent: dict[str, float] = {}
    for module, names in STAGES.items():
        for name in names:
            setattr(module, name, timed(spent, name, getattr(module, name)))
    index.score = timed(spent, "SentenceIndex.score", index.score)  # type: ignore[method-assign]
    whole = []
    for question in questions:
        started = time.perf_counter()
        engine.search(question)
        whole.append(time.perf_counter() - started)
    per_question = 1000 / len(questions)
    path = "compiled" if index.kernels() else "numpy"
    mean, p50, p95 = (1000 * f(whole) for f in (np.mean, np.median, lambda w: np.percentile(w, 95)))
    print(f"| stage ({index.n_docs:,} unique sentences, {path}) | ms per question |")
    print("|---|---|")
    print(f"| whole `Engine.search` (p50 / p95) | {mean:.2f} ({p50:.2f} / {p95:.2f}) |")
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"| `{name}` | {seconds * per_question:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
