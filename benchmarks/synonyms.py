"""Corpus-derived synonyms (retrieval/synonyms.py): what they cost and what they change.

    uv run python benchmarks/synonyms.py [--eval-dir ../shared/eval] [--news 1000000]

Prints, as Markdown rows for benchmarks/quality.md:
1. the build cost of the vectors (seconds, peak traced memory, size kept) on ARCD's and
   the seeds' corpora, and with `--news N` on the benchmark news corpus of N sentences
   (benchmarks/corpus.py), with the nearest terms of a few words;
2. the first stage with a question term's nearest terms as look-alikes
   (`Ranking.synonym_similarity`), on ARCD dev (shared scorer, span metric) and the
   seeds (answerable gold in the top 5 / unanswerable not answered / answerable
   without hits), with the vectors of the searched corpus and, with `--news`, with
   the news corpus's vectors carried over by term (what a large archive would give);
3. the re-ranker's folds (benchmarks/train_ranker.py) with one more feature, the
   question weight held only through a nearest term × its cosine, against without.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks import train_ranker
from benchmarks.corpus import build_corpus
from retrieval.corpus import load_corpus
from retrieval.engine import SENTENCE_PARAMS
from retrieval.evaluate import golds_for, judge_hits, load_questions
from retrieval.features import Candidates, features
from retrieval.index import SentenceIndex, build_index
from retrieval.normalize import analyze
from retrieval.search import DEFAULT_RANKING, Ranking, search
from retrieval.synonyms import SYNONYMS_KEY, TermVectors, build_vectors, synonyms_of

ROOT = Path(__file__).resolve().parents[1]
WORDS = "زيارة التقى لقاء الزوار أعربت يريد تعاون أكد".split()
SETTINGS = (
    ("nearest 3, cosine ≥ 0.6, × 0.5", dict(synonym_similarity=0.5)),
    ("nearest 3, cosine ≥ 0.5, × 0.7", dict(synonym_similarity=0.7, synonym_min_cosine=0.5)),
    (
        "nearest 5, cosine ≥ 0.7, × 0.7",
        dict(synonym_similarity=0.7, synonym_min_cosine=0.7, synonym_limit=5),
    ),
)
# The extra re-ranker feature: nearest terms per question term and how near.
FEATURE_LIMIT = 5
FEATURE_MIN_COSINE = 0.5


def timed_build(index: SentenceIndex) -> tuple[TermVectors, float, float]:
    """The vectors, seconds and peak traced MiB of one build."""
    tracemalloc.start()
    started = time.perf_counter()
    vectors = build_vectors(index)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    index.derived[SYNONYMS_KEY] = vectors
    return vectors, seconds, peak


def cost_row(name: str, index: SentenceIndex) -> None:
    vectors, seconds, peak = timed_build(index)
    kept = sum(a.nbytes for a in (vectors.row_of, vectors.nearest, vectors.cosines)) / 2**20
    print(
        f"| {name} | {index.n_docs} | {len(index.vocab)} | {len(vectors.nearest)} "
        f"| {seconds:.2f} s | {peak:.0f} MiB | {kept:.1f} MiB |"
    )


def neighbours(index: SentenceIndex) -> None:
    vectors = synonyms_of(index)
    terms = {i: t for t, i in index.vocab.items()}
    for word in WORDS:
        for term in analyze(word):
            near = vectors.similar(index.vocab.get(term, len(vectors.row_of)), 0.0, 6)
            print(f"    {word} ({term}): " + ", ".join(f"{terms[i]} {c:.2f}" for i, c in near))


def carried_over(source: SentenceIndex, target: SentenceIndex) -> TermVectors:
    """`source`'s nearest terms, for the terms `target` shares with it, in `target`'s ids."""
    vectors = synonyms_of(source)
    to_target = np.full(len(source.vocab), -1, dtype=np.int64)
    row_of = np.full(len(target.vocab), -1, dtype=np.int32)
    for term, i in target.vocab.items():
        j = source.vocab.get(term)
        if j is not None:
            to_target[j] = i
            row_of[i] = vectors.row_of[j]
    nearest = to_target[vectors.nearest]
    cosines = np.where(nearest >= 0, vectors.cosines, -1.0).astype(np.float32)
    return TermVectors(row_of, np.maximum(nearest, 0).astype(np.int32), cosines)


def arcd_row(eval_dir: Path, index: SentenceIndex, ranking: Ranking) -> str:
    arcd = train_ranker.scorer(eval_dir)
    questions = arcd.load_questions(str(eval_dir / "arcd" / "dev.jsonl"))
    gold = arcd.Gold(arcd.load_corpus(str(eval_dir / "arcd" / "corpus")), questions)
    run = {
        q["id"]: [h.text for h in search(index, q["question"], k=10, ranking=ranking).hits]
        for q in questions
    }
    m = arcd.score(run, questions, gold)["span"]
    return " | ".join(f"{m[k]:.3f}" for k in ("R@1", "R@5", "R@10", "MRR@10"))


def seeds_row(index: SentenceIndex, ranking: Ranking) -> str:
    questions = load_questions(ROOT / "tests" / "data" / "seeds_qa.jsonl")
    golds = golds_for(questions, index, ROOT / "seeds")
    top5 = silent = empty = 0
    for q, gold in zip(questions, golds, strict=True):
        result = search(index, q.question, k=5, ranking=ranking)
        if q.answerable:
            top5 += judge_hits(gold, result.hits) is not None
            empty += not result.hits
        else:
            silent += result.outcome != "answer"
    n_answerable = sum(q.answerable for q in questions)
    return f"{top5}/{n_answerable}, {silent}/{len(questions) - n_answerable}, {empty}"


def synonym_share(c: Candidates) -> np.ndarray:
    """Per candidate: question weight held only through a nearest term, × its cosine."""
    vectors = synonyms_of(c.index)
    held = np.zeros((len(c.group_ids), len(c.docs)))
    matched = np.zeros(held.shape, dtype=bool)
    for g, ids in enumerate(c.group_ids):
        for term_id in ids:
            matched[g] |= c.index.contains(term_id, c.docs)
        near = vectors.similar(ids[0], FEATURE_MIN_COSINE, FEATURE_LIMIT) if ids else []
        for term_id, cosine in near:
            held[g] = np.maximum(held[g], cosine * c.index.contains(term_id, c.docs))
    for g, term_id, _ in c.alike:
        matched[g] |= c.index.contains(term_id, c.docs)
    held[matched] = 0.0
    return c.weights @ held / (float(c.weights.sum()) or 1.0)


class _WithSynonym(train_ranker._Collector):
    """train_ranker's collector with the synonym share as one more column."""

    def rerank(self, candidates: Candidates) -> tuple[np.ndarray, np.ndarray]:
        self.last = np.column_stack((features(candidates), synonym_share(candidates)))
        return candidates.docs, candidates.scores


def folds(eval_dir: Path) -> None:
    """MRR@10 per fold out of fold, with and without the extra column."""
    train_ranker._Collector = _WithSynonym  # the collector arcd_queries/seed_queries build
    rng = np.random.default_rng(train_ranker.SEED)
    queries = train_ranker.arcd_queries(eval_dir, rng) + train_ranker.seed_queries(rng)
    without = [
        replace(q, matrix=np.column_stack((q.matrix[:, :-1], np.zeros(len(q.matrix)))))
        for q in queries
    ]
    print("\n| re-ranker | MRR@10 per fold (out of fold) | pooled R@1 / R@5 / R@10 / MRR@10 |")
    print("|---|---|---|")
    for name, lists in (("19 features", without), ("+ synonym share", queries)):
        per_fold, pooled = [], []
        for fold in range(train_ranker.FOLDS):
            model = train_ranker.train([q for q in lists if q.fold != fold])
            held = [q for q in lists if q.fold == fold and q.source == "arcd"]
            found = train_ranker.ranks(held, model)
            pooled += found
            per_fold.append(train_ranker.metrics(found)["MRR@10"])
        cells = " / ".join(f"{v:.3f}" for v in per_fold)
        print(f"| {name} | {cells} | {train_ranker._cells(train_ranker.metrics(pooled))} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--news", type=int, default=0, help="sentences of the news corpus")
    args = parser.parse_args()
    arcd = build_index(
        load_corpus(args.eval_dir / "arcd" / "corpus").documents, params=SENTENCE_PARAMS
    )
    seeds = build_index(load_corpus(ROOT / "seeds").documents, params=SENTENCE_PARAMS)
    print("| corpus | sentences (unique) | terms | terms with vectors | build | peak | kept |")
    print("|---|---|---|---|---|---|---|")
    cost_row("ARCD", arcd)
    cost_row("seeds", seeds)
    news = None
    if args.news:
        news = build_index(load_corpus(build_corpus(args.news)).documents, params=SENTENCE_PARAMS)
        cost_row(f"news {args.news}", news)
    for name, index in (("ARCD", arcd), ("news", news)):
        if index is not None:
            print(f"  nearest terms, {name}:")
            neighbours(index)

    print(
        "\n| first stage + nearest terms as look-alikes | vectors of | ARCD R@1 | R@5 | R@10 "
        "| MRR@10 | seeds top 5, unanswerable not answered, answerable without hits |"
    )
    print("|---|---|---|---|---|---|---|")
    sources = [("its own corpus", None)] + ([("the news corpus", news)] if news else [])
    base = (arcd_row(args.eval_dir, arcd, DEFAULT_RANKING), seeds_row(seeds, DEFAULT_RANKING))
    print(f"| off (today) | — | {base[0]} | {base[1]} |")
    for source_name, source in sources:
        for index in (arcd, seeds):
            index.derived[SYNONYMS_KEY] = (
                build_vectors(index) if source is None else carried_over(source, index)
            )
        for name, setting in SETTINGS:
            ranking = replace(DEFAULT_RANKING, **setting)
            row = (arcd_row(args.eval_dir, arcd, ranking), seeds_row(seeds, ranking))
            print(f"| {name} | {source_name} | {row[0]} | {row[1]} |")
    folds(args.eval_dir)


if __name__ == "__main__":
    main()
