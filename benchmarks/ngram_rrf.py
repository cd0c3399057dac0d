"""Character n-gram BM25 fused by reciprocal rank with the product's ranking, ARCD dev.

    uv run --group bench python benchmarks/ngram_rrf.py [--eval-dir ../shared/eval] [--first-stage]

The n-gram side is bm25s over within-word character 3- and 4-grams (word boundaries
marked, stop words left out) of the product's own sentences; fusion is reciprocal
rank (k = 60) over each side's 50 best, the n-gram side weighted by `w`. "union" lets
the n-gram side bring new sentences; "re-rank only" re-orders the product's own list.
Prints Markdown rows (span metric of the shared scorer) for benchmarks/quality.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.quality import _ids, scorer
from retrieval.corpus import load_corpus
from retrieval.engine import SENTENCE_PARAMS
from retrieval.index import build_index
from retrieval.normalize import normalize, tokenize
from retrieval.search import Ranking, search
from retrieval.stopwords import STOP_WORDS

DEPTH = 50
RRF_K = 60


def grams(text: str, sizes: tuple[int, ...] = (3, 4)) -> list[str]:
    """Within-word character n-grams of the normalized content words."""
    out = []
    for word in tokenize(normalize(text)):
        if word in STOP_WORDS:
            continue
        marked = f"#{word}#"
        for n in sizes:
            out.extend(marked[i : i + n] for i in range(max(1, len(marked) - n + 1)))
    return out


def fuse(ours: list[str], ngram: list[str], weight: float, union: bool) -> list[str]:
    scores: dict[str, float] = {}
    for rank, text in enumerate(ours):
        scores[text] = scores.get(text, 0.0) + 1 / (RRF_K + rank)
    for rank, text in enumerate(ngram):
        if union or text in scores:
            scores[text] = scores.get(text, 0.0) + weight / (RRF_K + rank)
    return sorted(scores, key=lambda text: -scores[text])[:10]


def main() -> None:
    import bm25s

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=Path(__file__).parents[2] / "shared/eval")
    parser.add_argument("--first-stage", action="store_true", help="fuse without the re-ranker")
    args = parser.parse_args()
    arcd = scorer(args.eval_dir)
    corpus = args.eval_dir / "arcd" / "corpus"
    questions = arcd.load_questions(str(args.eval_dir / "arcd" / "dev.jsonl"))
    gold = arcd.Gold(arcd.load_corpus(str(corpus)), questions)
    index = build_index(load_corpus(corpus).documents, params=SENTENCE_PARAMS)
    texts = [index.texts[i] for i in range(len(index.texts))]
    ranking = Ranking(rerank=False) if args.first_stage else Ranking()

    def row(name: str, run: dict[str, list[str]]) -> None:
        m = arcd.score(run, questions, gold)["span"]
        print(
            f"| {name} | "
            + " | ".join(f"{m[k]:.3f}" for k in ("R@1", "R@5", "R@10", "MRR@10"))
            + " |"
        )

    ours = {
        q["id"]: [h.text for h in search(index, q["question"], k=DEPTH, ranking=ranking).hits]
        for q in questions
    }
    tokenized = _ids(texts, grams)
    retriever = bm25s.BM25()
    retriever.index(tokenized, show_progress=False)
    ngram: dict[str, list[str]] = {}
    for q in questions:
        terms = [t for t in grams(q["question"]) if t in tokenized.vocab]
        scores = np.asarray(retriever.get_scores(terms)) if terms else np.zeros(len(texts))
        order = np.argsort(-scores, kind="stable")[:DEPTH]
        ngram[q["id"]] = [texts[i] for i in order if scores[i] > 0]
    stage = "first stage" if args.first_stage else "with the re-ranker"
    print("| system | R@1 | R@5 | R@10 | MRR@10 |")
    print("|---|---|---|---|---|")
    row(f"ours ({stage})", {k: v[:10] for k, v in ours.items()})
    row("char 3+4-gram BM25 alone", {k: v[:10] for k, v in ngram.items()})
    for weight in (0.1, 0.25, 1.0):
        for union in (True, False):
            run = {q["id"]: fuse(ours[q["id"]], ngram[q["id"]], weight, union) for q in questions}
            row(f"RRF, n-gram weight {weight}, {'union' if union else 're-rank only'}", run)


if __name__ == "__main__":
    main()
