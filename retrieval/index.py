"""The sentence index: BM25 over unique normalized sentences, laid out for fast lookup.

Scoring is BM25 exactly as rank-bm25's `BM25Okapi` computes it (same k1, b and
IDF rule with its epsilon floor); tests/test_index.py proves the scores equal
`BM25Okapi.get_scores` on the same analyzed sentences. rank-bm25 scans every
sentence in Python for every query term, which takes seconds at a million
sentences, so the index stores each term's postings (sentence ids and their
precomputed BM25 impacts) and a query adds up only the postings of its terms.

Sentences whose analyzed text is identical (the same quote in several outlets,
a paragraph repeated in one article) are indexed once; the index keeps every
place such a sentence occurs, so a hit cites all its sources.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from retrieval.models import Document, Sentence, Source
from retrieval.normalize import PIPELINE_VERSION, analyze, fingerprint
from retrieval.segment import split_sentences


@dataclass(frozen=True, slots=True)
class BM25Params:
    """rank-bm25's BM25Okapi parameters (its defaults)."""

    k1: float = 1.5
    b: float = 0.75
    epsilon: float = 0.25
    # "okapi": BM25Okapi's IDF with its epsilon floor; "lucene": log(1 + (N - n + 0.5)/(n + 0.5)),
    # always positive (a BM25Okapi subclass overriding `_calc_idf`; see `lucene_idf`).
    idf: str = "okapi"


@dataclass(slots=True)
class TextColumn:
    """Many strings in one UTF-8 blob: far lighter than millions of str objects."""

    blob: np.ndarray  # uint8
    offsets: np.ndarray  # int64, len n + 1

    @classmethod
    def from_strings(cls, texts: Iterable[str]) -> TextColumn:
        encoded = [t.encode("utf-8") for t in texts]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        return cls(blob, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self.blob[self.offsets[i] : self.offsets[i + 1]].tobytes().decode("utf-8")


@dataclass
class SentenceIndex:
    """Everything a search needs, as flat arrays (see module docstring)."""

    params: BM25Params
    corpus_key: str
    sources: list[Source]
    digests: list[str]
    # The sentence table: every sentence of every document, in document order.
    sent_doc: np.ndarray  # int32: index into sources
    sent_pos: np.ndarray  # int32: position within its document
    sent_start: np.ndarray  # int32: character span in the file
    sent_end: np.ndarray
    texts: TextColumn
    # BM25 "documents": unique analyzed sentences.
    doc_rows: np.ndarray  # int32: bm25 doc -> first sentence row holding it
    dup_indptr: np.ndarray  # int64: bm25 doc -> its rows in dup_rows
    dup_rows: np.ndarray  # int32: every sentence row, grouped by bm25 doc
    doc_len: np.ndarray  # int32: number of terms
    vocab: dict[str, int]
    idf: np.ndarray  # float64 per term id
    indptr: np.ndarray  # int64: term id -> its postings
    post_docs: np.ndarray  # int32, ascending within a term
    post_weights: np.ndarray  # float32: idf * BM25 term-frequency factor
    pipeline_version: str = PIPELINE_VERSION
    build_seconds: float = 0.0
    _local: threading.local = field(default_factory=threading.local, repr=False)
    # Structures derived from the arrays above on first use (e.g. retrieval.context).
    derived: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_docs(self) -> int:
        """Number of unique scored sentences (BM25's N)."""
        return len(self.doc_rows)

    @property
    def n_sentences(self) -> int:
        return len(self.sent_doc)

    @property
    def avg_doc_len(self) -> float:
        return float(self.doc_len.mean()) if len(self.doc_len) else 0.0

    def term_ids(self, terms: Iterable[str]) -> list[int]:
        vocab = self.vocab
        return [vocab[t] for t in terms if t in vocab]

    def postings(self, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.indptr[term_id], self.indptr[term_id + 1]
        return self.post_docs[lo:hi], self.post_weights[lo:hi]

    def score(self, term_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(bm25 doc ids, scores) of every sentence holding at least one term.

        Repeated term ids count again, as in rank-bm25. Scores are summed into a
        per-thread buffer and only the touched entries are read back and reset.
        """
        if not term_ids:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float64)
        buffer = self._buffer()
        touched = []
        for term_id in term_ids:
            docs, weights = self.postings(term_id)
            buffer[docs] += weights  # doc ids are unique within one term's postings
            touched.append(docs)
        docs = np.unique(np.concatenate(touched)) if len(touched) > 1 else touched[0]
        scores = buffer[docs]
        buffer[docs] = 0.0
        return docs, scores

    def _buffer(self) -> np.ndarray:
        buffer = getattr(self._local, "buffer", None)
        if buffer is None or len(buffer) != self.n_docs:
            buffer = np.zeros(self.n_docs, dtype=np.float64)
            self._local.buffer = buffer
        return buffer

    def contains(self, term_id: int, docs: np.ndarray) -> np.ndarray:
        """Which of `docs` hold the term (postings are sorted, so a binary search)."""
        post, _ = self.postings(term_id)
        at = np.searchsorted(post, docs)
        at[at == len(post)] = 0
        return post[at] == docs if len(post) else np.zeros(len(docs), dtype=bool)

    def sentence(self, row: int) -> Sentence:
        return Sentence(
            doc=self.sources[int(self.sent_doc[row])].doc,
            position=int(self.sent_pos[row]),
            start=int(self.sent_start[row]),
            end=int(self.sent_end[row]),
            text=self.texts[row],
        )

    def rows_of(self, doc_id: int) -> np.ndarray:
        """Every sentence row holding the text of bm25 doc `doc_id`."""
        return self.dup_rows[self.dup_indptr[doc_id] : self.dup_indptr[doc_id + 1]]

    def document_rows(self, source_index: int) -> np.ndarray:
        """Sentence rows of one document, in order."""
        lo = np.searchsorted(self.sent_doc, source_index, side="left")
        hi = np.searchsorted(self.sent_doc, source_index, side="right")
        return np.arange(lo, hi)

    def sentence_counts(self) -> np.ndarray:
        return np.bincount(self.sent_doc, minlength=len(self.sources))


@dataclass(frozen=True, slots=True)
class AnalyzedSentences:
    """The output of segmentation and analysis, the input of index building."""

    sent_doc: list[int]
    sent_pos: list[int]
    sent_start: list[int]
    sent_end: list[int]
    texts: list[str]
    terms: list[list[str]]
    keys: list[str]


def analyze_documents(
    documents: list[Document], progress: Callable[[int], None] | None = None
) -> AnalyzedSentences:
    """Split every document into sentences and analyze each: the costly step of a build."""
    out = AnalyzedSentences([], [], [], [], [], [], [])
    for doc_index, document in enumerate(documents):
        text = document.text
        for position, (start, end) in enumerate(split_sentences(text)):
            sentence_text = text[start:end]
            out.sent_doc.append(doc_index)
            out.sent_pos.append(position)
            out.sent_start.append(start + document.body_offset)
            out.sent_end.append(end + document.body_offset)
            out.texts.append(sentence_text)
            out.terms.append(analyze(sentence_text))
            out.keys.append(fingerprint(sentence_text))
        if progress is not None:
            progress(1)
    return out


def build_index(
    documents: list[Document],
    corpus_key: str = "",
    params: BM25Params | None = None,
    progress: Callable[[int], None] | None = None,
) -> SentenceIndex:
    """Build the index of `documents` (segment, analyze, count, weigh)."""
    return index_from_analyzed(
        [d.source for d in documents],
        [d.digest for d in documents],
        analyze_documents(documents, progress),
        corpus_key,
        params or BM25Params(),
    )


def index_from_analyzed(
    sources: list[Source],
    digests: list[str],
    analyzed: AnalyzedSentences,
    corpus_key: str,
    params: BM25Params,
) -> SentenceIndex:
    n_rows = len(analyzed.texts)
    # Unique non-empty sentences become BM25 documents; duplicates point at them.
    group_of_key: dict[str, int] = {}
    row_group = np.full(n_rows, -1, dtype=np.int64)
    doc_rows: list[int] = []
    for row, (key, terms) in enumerate(zip(analyzed.keys, analyzed.terms, strict=True)):
        if not terms:
            continue
        group = group_of_key.get(key)
        if group is None:
            group = group_of_key[key] = len(doc_rows)
            doc_rows.append(row)
        row_group[row] = group
    n_docs = len(doc_rows)
    grouped = np.flatnonzero(row_group >= 0)
    order = np.argsort(row_group[grouped], kind="stable")
    dup_rows = grouped[order].astype(np.int32)
    dup_indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_group[grouped], minlength=n_docs), out=dup_indptr[1:])

    # Term ids per token, then (term, doc) pairs counted at once with numpy.
    vocab: dict[str, int] = {}
    token_ids: list[int] = []
    doc_len = np.zeros(n_docs, dtype=np.int32)
    for doc_id, row in enumerate(doc_rows):
        terms = analyzed.terms[row]
        doc_len[doc_id] = len(terms)
        for term in terms:
            term_id = vocab.get(term)
            if term_id is None:
                term_id = vocab[term] = len(vocab)
            token_ids.append(term_id)
    n_terms = len(vocab)
    token_terms = np.asarray(token_ids, dtype=np.int64)
    token_docs = np.repeat(np.arange(n_docs, dtype=np.int64), doc_len)
    pairs, tf = np.unique(token_terms * max(n_docs, 1) + token_docs, return_counts=True)
    post_terms = pairs // max(n_docs, 1)
    post_docs = (pairs % max(n_docs, 1)).astype(np.int32)
    df = np.bincount(post_terms, minlength=n_terms)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])

    idf = (
        lucene_idf(df, n_docs) if params.idf == "lucene" else okapi_idf(df, n_docs, params.epsilon)
    )
    avgdl = float(doc_len.sum()) / n_docs if n_docs else 0.0
    dl = doc_len[post_docs].astype(np.float64)
    tf = tf.astype(np.float64)
    norm = params.k1 * (1.0 - params.b + params.b * dl / avgdl) if n_docs else dl
    weights = idf[post_terms] * (tf * (params.k1 + 1.0)) / (tf + norm)

    return SentenceIndex(
        params=params,
        corpus_key=corpus_key,
        sources=sources,
        digests=digests,
        sent_doc=np.asarray(analyzed.sent_doc, dtype=np.int32),
        sent_pos=np.asarray(analyzed.sent_pos, dtype=np.int32),
        sent_start=np.asarray(analyzed.sent_start, dtype=np.int32),
        sent_end=np.asarray(analyzed.sent_end, dtype=np.int32),
        texts=TextColumn.from_strings(analyzed.texts),
        doc_rows=np.asarray(doc_rows, dtype=np.int32),
        dup_indptr=dup_indptr,
        dup_rows=dup_rows,
        doc_len=doc_len,
        vocab=vocab,
        idf=idf,
        indptr=indptr,
        post_docs=post_docs,
        post_weights=weights.astype(np.float32),
    )


def okapi_idf(df: np.ndarray, n_docs: int, epsilon: float) -> np.ndarray:
    """BM25Okapi's IDF: log((N - n + 0.5) / (n + 0.5)), negatives floored at epsilon × mean.

    With sentences as documents few terms reach half of them, but those that do
    would otherwise subtract from a sentence's score (rank-bm25 issues #29, #39).
    """
    df = df.astype(np.float64)
    idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
    if len(idf):
        floor = epsilon * (idf.sum() / len(idf))
        idf = np.where(idf < 0, floor, idf)
    return idf


def lucene_idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """Lucene's BM25 IDF, log(1 + (N - n + 0.5) / (n + 0.5)): positive for every term.

    A name in half the sentences of a small corpus ("كيم" in the seeds) gets
    Okapi IDF exactly 0 and stops counting; here it still weighs a little.
    """
    df = df.astype(np.float64)
    return np.log1p((n_docs - df + 0.5) / (df + 0.5))


def missing_term_idf(n_docs: int) -> float:
    """The IDF a term would have if no sentence held it: the most informative a term can be."""
    return math.log(n_docs + 0.5) - math.log(0.5)
