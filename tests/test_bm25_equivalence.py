"""The index's scores are rank-bm25's, whatever layout serves them.

rank-bm25's `BM25Okapi.get_scores` (a full scan) is the reference: for many
questions, on the seeds and on a corpus built to hit the corner cases (identical
sentences, a term in most sentences so its raw IDF is negative and floored,
repeated question terms), the postings-based scores must equal it to 1e-6.
A build spread over worker processes must equal a build in one process.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from retrieval.corpus import load_corpus
from retrieval.index import SentenceIndex, best_first, build_index, compiled_kernels
from retrieval.models import Document
from retrieval.normalize import analyze

ROOT = Path(__file__).resolve().parent.parent
SEED_QUESTIONS = [
    json.loads(line)["question"]
    for line in (ROOT / "tests" / "data" / "seeds_qa.jsonl").read_text("utf-8").splitlines()
]


def reference(index: SentenceIndex) -> BM25Okapi:
    """rank-bm25 over the index's unique sentences, analyzed by the query pipeline."""
    corpus = [analyze(index.texts[int(row)]) for row in index.doc_rows]
    return BM25Okapi(corpus, k1=index.params.k1, b=index.params.b, epsilon=index.params.epsilon)


def full_scores(index: SentenceIndex, terms: list[str]) -> np.ndarray:
    docs, scores = index.score(index.term_ids(terms))
    assert len(np.unique(docs)) == len(docs), "a sentence came back twice"
    full = np.zeros(index.n_docs)
    full[docs] = scores
    return full


def questions(index: SentenceIndex, seed: int, n: int = 150) -> list[list[str]]:
    """Seed questions, then bags of index terms with repeats and unknown words."""
    rng = random.Random(seed)
    vocab = sorted(index.vocab)
    asked = [analyze(q) for q in SEED_QUESTIONS]
    for _ in range(n):
        terms = rng.choices(vocab, k=rng.randint(1, 6))
        if rng.random() < 0.3:
            terms += [rng.choice(terms)] * rng.randint(1, 3)  # a repeated term counts again
        if rng.random() < 0.2:
            terms.append("كلمهغيرموجوده")
        asked.append(terms)
    return asked


def assert_equal_to_rank_bm25(index: SentenceIndex, seed: int) -> None:
    okapi = reference(index)
    for terms in questions(index, seed):
        expected = okapi.get_scores(terms)
        got = full_scores(index, terms)
        worst = float(np.abs(got - expected).max()) if len(got) else 0.0
        assert worst < 1e-6, (terms, worst)


PATHS = pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "compiled"])


@PATHS
def test_seed_scores_equal_rank_bm25_for_many_questions(
    seed_index: SentenceIndex, compiled: bool
) -> None:
    index = replace(seed_index, compiled=compiled)  # the numpy or the numba path
    assert_equal_to_rank_bm25(index, seed=1)


COMMON = "روسيا"
LINES = [
    "أعلنت روسيا اليوم دعمها الكامل لكوريا الشمالية.",
    "قال الكرملين إن روسيا لن تتراجع عن موقفها.",
    "روسيا وكوريا الشمالية توقعان اتفاقا للتعاون العسكري.",
    "زار كيم جونغ أون قاعدة فوستوشني الفضائية في روسيا.",
    "ناقش بوتين وكيم صفقة أسلحة تهم روسيا كثيرا.",
    "روسيا روسيا روسيا: هتف الحشد في الساحة.",
    "أطلقت كوريا الشمالية صاروخين باليستيين باتجاه البحر.",
    "حذرت واشنطن من أي صفقة أسلحة.",
    "تصافح الزعيمان أمام الصحفيين.",
]
QUOTE = "سندعم دائما قرارات الرئيس بوتين والقيادة الروسية."


def write_corner_corpus(folder: Path, files: int = 30) -> None:
    """Files mixing the lines above; one quote recurs across many files (far apart)."""
    rng = random.Random(5)
    for i in range(files):
        body = rng.sample(LINES, rng.randint(2, 5))
        if i % 7 == 0:
            body.insert(rng.randint(0, len(body)), QUOTE)
        if i % 11 == 0:
            body.append(body[0])  # the same sentence twice in one file
        (folder / f"{i:03d}.txt").write_text("\n".join(body) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def corner_documents(tmp_path_factory: pytest.TempPathFactory) -> list[Document]:
    folder = tmp_path_factory.mktemp("corner")
    write_corner_corpus(folder)
    return load_corpus(folder).documents


def test_corner_corpus_really_has_its_corner_cases(corner_documents: list[Document]) -> None:
    index = build_index(corner_documents)
    assert index.n_docs < index.n_sentences  # duplicates folded
    assert len(index.rows_of(index.doc_rows.tolist().index(_row_of(index, QUOTE)))) >= 4
    common = index.vocab[analyze(COMMON)[0]]
    df = int(index.indptr[common + 1] - index.indptr[common])
    assert df > index.n_docs / 2  # raw Okapi IDF is negative: the epsilon floor applies
    assert index.idf[common] == pytest.approx(0.25 * float(reference(index).average_idf))


def _row_of(index: SentenceIndex, text: str) -> int:
    return next(int(r) for r in index.doc_rows if index.texts[int(r)] == text)


@PATHS
def test_corner_corpus_scores_equal_rank_bm25(
    corner_documents: list[Document], compiled: bool
) -> None:
    index = build_index(corner_documents)
    index.compiled = compiled
    assert_equal_to_rank_bm25(index, seed=2)


def assert_same_index(a: SentenceIndex, b: SentenceIndex) -> None:
    assert a.vocab == b.vocab
    assert [a.texts[i] for i in range(a.n_sentences)] == [b.texts[i] for i in range(b.n_sentences)]
    for name in (
        "sent_doc", "sent_pos", "sent_start", "sent_end", "doc_rows", "dup_indptr", "dup_rows",
        "doc_len", "idf", "indptr", "post_docs", "post_weights",
    ):  # fmt: skip
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_a_parallel_build_equals_a_serial_one(corner_documents: list[Document]) -> None:
    seeds = load_corpus(ROOT / "seeds").documents
    documents = seeds + corner_documents  # the quote recurs across worker chunks
    assert_same_index(build_index(documents, workers=1), build_index(documents, workers=2))


@PATHS
def test_best_first_equals_the_head_of_a_full_sort_ties_included(
    seed_index: SentenceIndex, compiled: bool
) -> None:
    kernels = compiled_kernels() if compiled else None
    for terms in questions(seed_index, seed=3, n=60):
        docs, scores = seed_index.score(seed_index.term_ids(terms))
        order = np.lexsort((docs, -scores))
        for n in (1, 5, 10, len(docs) + 3):
            top_docs, top_scores = best_first(docs, scores, n, kernels)
            assert top_docs.tolist() == docs[order][:n].tolist(), (terms, n)
            assert np.allclose(top_scores, scores[order][:n], rtol=0, atol=1e-9)


@PATHS
def test_best_first_breaks_ties_by_sentence_order(compiled: bool) -> None:
    kernels = compiled_kernels() if compiled else None
    docs = np.array([9, 3, 7, 1, 5], dtype=np.int32)
    scores = np.array([1.0, 2.0, 2.0, 2.0, 0.5])
    assert best_first(docs, scores, 2, kernels)[0].tolist() == [1, 3]
    assert best_first(docs, scores, 9, kernels)[0].tolist() == [1, 3, 7, 9, 5]


def test_a_reloaded_index_scores_and_ranks_as_the_built_one(
    corner_documents: list[Document], tmp_path: Path
) -> None:
    from retrieval.context import build_context, context_of
    from retrieval.store import load_index, save_index

    built = build_index(corner_documents, corpus_key="k")
    save_index(built, tmp_path)
    loaded = load_index(tmp_path, "k", built.params)
    assert_same_index(built, loaded)
    fresh, stored = build_context(loaded), context_of(loaded)
    for name in ("prev_doc", "next_doc", "doc_source", "title_indptr", "title_sources"):
        assert np.array_equal(getattr(stored, name), getattr(fresh, name)), name
    for terms in questions(built, seed=4, n=40):
        ids = built.term_ids(terms)
        assert np.array_equal(
            best_first(*built.score(ids), 5)[0], best_first(*loaded.score(ids), 5)[0]
        )
