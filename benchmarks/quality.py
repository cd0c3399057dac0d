"""Re-measure retrieval quality on ARCD dev: two baselines and our ranking, in one run.

    uv sync --group bench
    uv run python benchmarks/quality.py [--eval-dir ../shared/eval]

Every system is scored by the shared scorer (`arcd_score.py`, imported from where
it lies, never copied). Baselines index the scorer's own sentence split; ours
index the corpus folder with the product's pipeline. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from retrieval.corpus import load_corpus
from retrieval.engine import SENTENCE_PARAMS
from retrieval.index import BM25Params, build_index
from retrieval.normalize import normalize, tokenize
from retrieval.search import Ranking, search
from retrieval.stopwords import STOP_WORDS

Run = dict[str, list[str]]


def scorer(eval_dir: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("arcd_score", eval_dir / "arcd_score.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"no arcd_score.py in {eval_dir}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rank_bm25_plain(sentences: list[str], questions: list[dict]) -> Run:
    from rank_bm25 import BM25Okapi

    bm25 = BM25Okapi([s.split() for s in sentences])
    return {q["id"]: _top(bm25.get_scores(q["question"].split()), sentences) for q in questions}


def bm25s_snowball(sentences: list[str], questions: list[dict]) -> Run:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("arabic")

    def analyze(text: str) -> list[str]:
        words = [t for t in tokenize(normalize(text)) if t not in STOP_WORDS]
        return stemmer.stemWords(words)

    retriever = bm25s.BM25()
    tokenized = _ids(sentences, analyze)
    retriever.index(tokenized)
    run = {}
    for q in questions:
        terms = [t for t in analyze(q["question"]) if t in tokenized.vocab]
        run[q["id"]] = _top(retriever.get_scores(terms), sentences) if terms else []
    return run


def _ids(sentences: list[str], analyze: Callable[[str], list[str]]):  # -> bm25s Tokenized
    import bm25s

    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in analyze(s)] for s in sentences]
    return bm25s.tokenization.Tokenized(ids=ids, vocab=vocab)


def _top(scores: object, sentences: list[str], k: int = 10) -> list[str]:
    import numpy as np

    values = np.asarray(scores)
    order = np.argsort(-values, kind="stable")[:k]
    return [sentences[i] for i in order if values[i] > 0]


def ours(corpus: Path, questions: list[dict], params: BM25Params, ranking: Ranking, cut: float):
    index = build_index(load_corpus(corpus).documents, params=params)
    run, times = {}, []
    for q in questions:
        started = time.perf_counter()
        hits = search(index, q["question"], k=10, min_coverage=cut, ranking=ranking).hits
        times.append(time.perf_counter() - started)
        run[q["id"]] = [h.text for h in hits]
    return run, sorted(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=Path(__file__).parents[2] / "shared/eval")
    args = parser.parse_args()
    arcd = scorer(args.eval_dir)
    corpus = args.eval_dir / "arcd" / "corpus"
    questions = arcd.load_questions(str(args.eval_dir / "arcd" / "dev.jsonl"))
    docs = arcd.load_corpus(str(corpus))
    gold = arcd.Gold(docs, questions)
    sentences = [s["text"] for s in arcd.corpus_sentences(docs)]

    def row(name: str, run: Run, times: list[float] | None = None) -> None:
        m = arcd.score(run, questions, gold)["span"]
        lat = ""
        if times:
            p50, p95 = times[len(times) // 2], times[int(0.95 * (len(times) - 1))]
            lat = f"{p50 * 1000:.2f} / {p95 * 1000:.2f}"
        cells = " | ".join(f"{m[k]:.3f}" for k in ("R@1", "R@5", "R@10", "MRR@10"))
        print(f"| {name} | {cells} | {lat} |", flush=True)

    print("| system | R@1 | R@5 | R@10 | MRR@10 | ms p50 / p95 |")
    print("|---|---|---|---|---|---|")
    row("rank-bm25, whitespace tokens", rank_bm25_plain(sentences, questions))
    try:
        row(
            "bm25s + our normalization + stop words + Snowball",
            bm25s_snowball(sentences, questions),
        )
    except ImportError:
        print("| bm25s + Snowball | (run `uv sync --group bench`) | | | | |")
    okapi = BM25Params()
    row("ours: BM25 k1=1.5 b=0.75, no cut-off", *ours(corpus, questions, okapi, Ranking.plain(), 0))
    row("ours: main before (cut-off 0.4)", *ours(corpus, questions, okapi, Ranking.plain(), 0.4))
    row("+ k1=0.8 b=0.3", *ours(corpus, questions, SENTENCE_PARAMS, Ranking.plain(), 0))
    first = {"rerank": False}
    no_alike = {"ngram_weight": 0.0, "ngram_coverage": 0.0, "root_similarity": 0.0, **first}
    context = Ranking(evidence_weight=0.0, **no_alike)
    row("+ context field", *ours(corpus, questions, SENTENCE_PARAMS, context, 0))
    evidence = Ranking(evidence_weight=0.5, **no_alike)
    row("+ answer-kind evidence 0.5", *ours(corpus, questions, SENTENCE_PARAMS, evidence, 0))
    alike = Ranking(evidence_weight=0.5, root_similarity=0.0, **first)
    row("+ 3-gram look-alike terms", *ours(corpus, questions, SENTENCE_PARAMS, alike, 0))
    roots = Ranking(evidence_weight=0.5, **first)
    row("+ same-root terms", *ours(corpus, questions, SENTENCE_PARAMS, roots, 0))
    stage = Ranking(**first)
    row("+ evidence 1.2", *ours(corpus, questions, SENTENCE_PARAMS, stage, 0))
    row("+ cut-off 0.3 (first stage)", *ours(corpus, questions, SENTENCE_PARAMS, stage, 0.3))
    row("final: + learned re-ranker", *ours(corpus, questions, SENTENCE_PARAMS, Ranking(), 0.3))


if __name__ == "__main__":
    main()
