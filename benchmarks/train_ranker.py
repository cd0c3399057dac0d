"""Train the re-ranker (retrieval/rerank.py) with cross-validation; optionally write the model.

    uv run python benchmarks/train_ranker.py [--eval-dir ../shared/eval] [--write]

Data: ARCD dev (693 questions, labels by the shared scorer's span rule,
`arcd_score.py` imported from where it lies) and the seed questions
(tests/data/seeds_qa.jsonl, labels by retrieval/evaluate.py's rule). Each question
is run through today's search; its `DEPTH` best candidates, in first-stage order,
with their features (retrieval/features.py) and a label (the sentence answers)
are one training list.

Folds: ARCD questions are grouped by article, so no article is in two folds;
seed questions are dealt round-robin. `FOLDS` folds, fixed seed. For each fold a
model is trained on the others and scored on it against the first-stage order
(today's search, the best hand-tuned combination) on the same candidates.
Prints the fold table in Markdown. With `--write`, and only if the model beats
the first stage on MRR@10 in every fold, a model trained on all questions is
written to retrieval/ranker.json.

Model: linear, trained with a listwise softmax loss (the probability the model
gives the list's correct sentences, -log of it, plus L2), full-batch Adam, fixed
number of steps: deterministic, numpy only.
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.quality import scorer
from retrieval.corpus import load_corpus
from retrieval.engine import SENTENCE_PARAMS
from retrieval.evaluate import golds_for, judge_hits, load_questions
from retrieval.features import FEATURES, Candidates, features
from retrieval.index import build_index
from retrieval.rerank import MODEL_PATH, LinearRanker
from retrieval.search import search

ROOT = Path(__file__).resolve().parents[1]
DEPTH = 20
FOLDS = 5
SEED = 11
STEPS = 400
LEARNING_RATE = 0.05
L2 = 1e-3
# Chosen from the out-of-fold calibration table this script prints.
RELATED_UNDER = -0.5
CALIBRATION_EDGES = (-0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 5.0)


@dataclass
class Query:
    qid: str
    source: str  # "arcd" or "seeds"
    fold: int
    matrix: np.ndarray  # (n, len(FEATURES))
    labels: np.ndarray  # bool (n,)
    answerable: bool = True


class _Collector:
    """A reranker that keeps the features of each question and changes nothing."""

    depth = DEPTH
    related_under = -np.inf

    def __init__(self) -> None:
        self.last = np.zeros((0, len(FEATURES)))

    def rerank(self, candidates: Candidates) -> tuple[np.ndarray, np.ndarray]:
        self.last = features(candidates)
        return candidates.docs, candidates.scores


def arcd_queries(eval_dir: Path, rng: np.random.Generator) -> list[Query]:
    arcd = scorer(eval_dir)
    corpus = eval_dir / "arcd" / "corpus"
    questions = arcd.load_questions(str(eval_dir / "arcd" / "dev.jsonl"))
    gold = arcd.Gold(arcd.load_corpus(str(corpus)), questions)
    index = build_index(load_corpus(corpus).documents, params=SENTENCE_PARAMS)
    articles = sorted({q["doc"] for q in questions})
    shuffled = [articles[i] for i in rng.permutation(len(articles))]
    fold_of = {doc: i % FOLDS for i, doc in enumerate(shuffled)}
    collector = _Collector()
    out = []
    for q in questions:
        hits = search(index, q["question"], k=_Collector.depth, reranker=collector).hits
        labels = np.array([gold.judge(q["id"], h.text)[0] for h in hits], dtype=bool)
        matrix = collector.last[: len(hits)] if hits else np.zeros((0, len(FEATURES)))
        out.append(Query(q["id"], "arcd", fold_of[q["doc"]], matrix, labels))
    return out


def seed_queries(rng: np.random.Generator) -> list[Query]:
    questions = load_questions(ROOT / "tests" / "data" / "seeds_qa.jsonl")
    corpus = ROOT / "seeds"
    index = build_index(load_corpus(corpus).documents, params=SENTENCE_PARAMS)
    golds = golds_for(questions, index, corpus)
    order = rng.permutation(len(questions))
    collector = _Collector()
    out = []
    for position, i in enumerate(order):
        q, gold = questions[i], golds[i]
        hits = search(index, q.question, k=_Collector.depth, reranker=collector).hits
        labels = np.array([judge_hits(gold, [h]) is not None for h in hits], dtype=bool)
        matrix = collector.last[: len(hits)] if hits else np.zeros((0, len(FEATURES)))
        out.append(Query(q.id, "seeds", position % FOLDS, matrix, labels, q.answerable))
    return out


def train(queries: list[Query]) -> LinearRanker:
    """Listwise softmax over each list with a correct sentence; Adam, fixed steps."""
    lists = [q for q in queries if q.labels.any() and len(q.labels) > 1]
    rows = np.concatenate([q.matrix for q in lists])
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale < 1e-9] = 1.0
    x = (rows - mean) / scale
    labels = np.concatenate([q.labels for q in lists]).astype(np.float64)
    owner = np.repeat(np.arange(len(lists)), [len(q.labels) for q in lists])
    n_lists = len(lists)
    w = np.zeros(x.shape[1])
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for step in range(1, STEPS + 1):
        s = x @ w
        s = s - np.repeat(_segment_max(s, owner, n_lists), np.bincount(owner))
        e = np.exp(s)
        z = np.bincount(owner, e, n_lists)
        zp = np.bincount(owner, e * labels, n_lists)
        p = e / z[owner]
        q = e * labels / zp[owner]
        grad = x.T @ (p - q) / n_lists + L2 * w
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        w -= LEARNING_RATE * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return LinearRanker(_Collector.depth, mean, scale, w)


def _segment_max(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, owner, values)
    return out


def ranks(queries: list[Query], model: LinearRanker | None) -> list[int | None]:
    """1-based rank of each question's first correct sentence (None: none in the list)."""
    out = []
    for q in queries:
        if not q.labels.any():
            out.append(None)
            continue
        if model is None:
            order = np.arange(len(q.labels))
        else:
            order = np.lexsort((np.arange(len(q.labels)), -model.score(q.matrix)))
        out.append(int(np.flatnonzero(q.labels[order])[0]) + 1)
    return out


def metrics(found: list[int | None]) -> dict[str, float]:
    n = max(len(found), 1)
    out = {f"R@{k}": sum(r is not None and r <= k for r in found) / n for k in (1, 5, 10)}
    out["MRR@10"] = sum(1 / r for r in found if r is not None and r <= 10) / n
    return out


def _calibration(tops: list[tuple[float, int | None]]) -> None:
    """Out-of-fold: how often the best re-ranked sentence is correct, by its score."""
    print("\n| best re-ranked score (out of fold) | ARCD lists | correct first | in top 5 |")
    print("|---|---|---|---|")
    edges = (-np.inf, *CALIBRATION_EDGES, np.inf)
    for lo, hi in itertools.pairwise(edges):
        found = [r for score, r in tops if lo <= score < hi]
        if found:
            first = sum(r == 1 for r in found) / len(found)
            top5 = sum(r is not None and r <= 5 for r in found) / len(found)
            print(f"| [{lo:g}, {hi:g}) | {len(found)} | {first:.2f} | {top5:.2f} |")


def _cells(m: dict[str, float]) -> str:
    return " / ".join(f"{m[k]:.3f}" for k in ("R@1", "R@5", "R@10", "MRR@10"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--write", action="store_true", help=f"write {MODEL_PATH}")
    parser.add_argument(
        "--drop", nargs="*", default=[], choices=FEATURES, help="features held at 0 (ablation)"
    )
    parser.add_argument("--depth", type=int, default=DEPTH, help="candidates re-ranked")
    parser.add_argument(
        "--related-under",
        type=float,
        default=RELATED_UNDER,
        help="best re-ranked score under which an answer is shown as related",
    )
    args = parser.parse_args()
    _Collector.depth = args.depth
    rng = np.random.default_rng(SEED)
    queries = arcd_queries(args.eval_dir, rng) + seed_queries(rng)
    for q in queries:
        q.matrix[:, [FEATURES.index(name) for name in args.drop]] = 0.0
    print(
        "| fold | questions (ARCD + seeds) | first stage R@1 / R@5 / R@10 / MRR@10 "
        "| re-ranked R@1 / R@5 / R@10 / MRR@10 | seeds top 5 before → after |"
    )
    print("|---|---|---|---|---|")
    wins, pooled_before, pooled_after, per_fold, tops = [], [], [], [], []
    seeds_total = [0, 0]
    for fold in range(FOLDS):
        model = train([q for q in queries if q.fold != fold])
        held = [q for q in queries if q.fold == fold]
        arcd_held = [q for q in held if q.source == "arcd"]
        seeds_held = [q for q in held if q.source == "seeds" and q.answerable]
        found_before, found_after = ranks(arcd_held, None), ranks(arcd_held, model)
        tops += [
            (float(model.score(q.matrix).max()), r)
            for q, r in zip(arcd_held, found_after, strict=True)
            if len(q.labels)
        ]
        pooled_before += found_before
        pooled_after += found_after
        before, after = metrics(found_before), metrics(found_after)
        per_fold.append(after["MRR@10"] - before["MRR@10"])
        s_before = sum(r is not None and r <= 5 for r in ranks(seeds_held, None))
        s_after = sum(r is not None and r <= 5 for r in ranks(seeds_held, model))
        seeds_total[0] += s_before
        seeds_total[1] += s_after
        wins.append(after["MRR@10"] > before["MRR@10"])
        print(
            f"| {fold + 1} | {len(arcd_held)} + {len(seeds_held)} "
            f"| {_cells(before)} | {_cells(after)} | {s_before} → {s_after} |"
        )
    gain = np.asarray(per_fold)
    n_seeds = sum(q.source == "seeds" and q.answerable for q in queries)
    print(
        f"| all (pooled) | {len(pooled_before)} + {n_seeds} "
        f"| {_cells(metrics(pooled_before))} | {_cells(metrics(pooled_after))} "
        f"| {seeds_total[0]} → {seeds_total[1]} |"
    )
    print(
        f"\nMRR@10 gain per fold: mean {gain.mean():+.3f}, std {gain.std(ddof=1):.3f}, "
        f"min {gain.min():+.3f}; better in {sum(wins)} of {FOLDS} folds"
    )
    _calibration(tops)
    model = train(queries)
    model = LinearRanker(model.depth, model.mean, model.scale, model.weights, args.related_under)
    print("\nweights (standardized features):")
    for name, weight in sorted(zip(FEATURES, model.weights, strict=True), key=lambda x: -abs(x[1])):
        print(f"  {name:14s} {weight:+.3f}")
    if args.write:
        if args.drop or not all(wins):
            raise SystemExit("not written: an ablation, or not better in every fold")
        MODEL_PATH.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")
        print(f"written: {MODEL_PATH}")


if __name__ == "__main__":
    main()
