"""Scoring through postings equals rank-bm25's full scan."""

import math
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi

from retrieval.corpus import load_corpus
from retrieval.index import BM25Params, SentenceIndex, build_index
from retrieval.normalize import analyze
from retrieval.search import search

QUESTIONS = [
    "ماذا قال كيم عن الإمبريالية؟",
    "قاعدة فوستوشني الفضائية",
    "روسيا روسيا كوريا",  # a repeated term counts twice, as in rank-bm25
    "تسليم الأسلحة من كوريا الشمالية إلى روسيا",
    "وزير الدفاع الروسي سيرغي شويغو",
]


def test_postings_scores_equal_rank_bm25_full_scan(seed_index: SentenceIndex) -> None:
    corpus = [analyze(seed_index.texts[int(row)]) for row in seed_index.doc_rows]
    reference = BM25Okapi(corpus, k1=1.5, b=0.75, epsilon=0.25)
    for question in QUESTIONS:
        terms = analyze(question)
        expected = reference.get_scores(terms)
        docs, scores = seed_index.score(seed_index.term_ids(terms))
        full = [0.0] * seed_index.n_docs
        for doc, score in zip(docs, scores, strict=True):
            full[int(doc)] = float(score)
        assert max(abs(a - b) for a, b in zip(full, expected, strict=True)) < 1e-6, question


def test_identical_sentences_are_indexed_once_and_cite_every_place(tmp_path) -> None:
    quote = "سندعم دائما قرارات الرئيس بوتين والقيادة الروسية."
    (tmp_path / "a.txt").write_text(f"{quote}\nخبر أول.", encoding="utf-8")
    (tmp_path / "b.txt").write_text(f"خبر ثان.\n{quote}", encoding="utf-8")
    index = build_index(load_corpus(tmp_path).documents)
    assert index.n_sentences == 4 and index.n_docs == 3
    (hit,) = search(index, "قرارات الرئيس بوتين").hits
    assert [s.doc for s in hit.sources] == ["a.txt", "b.txt"]


class LuceneBM25(BM25Okapi):
    """rank-bm25 with Lucene's IDF, log(1 + (N - n + 0.5) / (n + 0.5)), in place of Okapi's."""

    def _calc_idf(self, nd: dict) -> None:
        for word, freq in nd.items():
            self.idf[word] = math.log(1 + (self.corpus_size - freq + 0.5) / (freq + 0.5))


def test_lucene_idf_option_equals_a_rank_bm25_subclass() -> None:
    """A name in half the sentences ("كيم") keeps a positive weight instead of Okapi's 0."""
    seeds = load_corpus(Path(__file__).parent.parent / "seeds").documents
    index = build_index(seeds, params=BM25Params(k1=0.8, b=0.3, idf="lucene"))
    corpus = [analyze(index.texts[int(row)]) for row in index.doc_rows]
    reference = LuceneBM25(corpus, k1=0.8, b=0.3)
    assert index.idf[index.vocab["كيم"]] > 0
    for question in QUESTIONS:
        terms = analyze(question)
        docs, scores = index.score(index.term_ids(terms))
        full = np.zeros(index.n_docs)
        full[docs] = scores
        assert np.abs(full - reference.get_scores(terms)).max() < 1e-5, question


def test_contains_answers_the_same_for_few_and_many_probes(seed_index: SentenceIndex) -> None:
    """Few probes are binary searches, many are one read of a marked buffer: same answers,
    -1 (no neighbour) never matches, repeated probes and repeated calls are independent."""
    rng = np.random.default_rng(7)
    for term_id in range(0, len(seed_index.vocab), 7):
        held = set(seed_index.postings(term_id)[0].tolist())
        for size in (1, 3, 500):
            probe = rng.integers(-1, seed_index.n_docs, size=size).astype(np.int32)
            got = seed_index.contains(term_id, probe)
            assert got.tolist() == [int(d) in held for d in probe], (term_id, size)
