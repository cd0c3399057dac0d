"""Sentence-in-context evidence: what a sentence's surroundings say about it.

News and encyclopedia sentences often answer a question without naming its
subject: "كان أبوه حجر ملكاً" answers a question about جندح because the article
is about جندح; "وأضاف أن ..." continues the previous sentence's speaker. The
context field of a sentence is the set of terms of its document's title and of
its previous and next sentence. It is extra, lower-weighted evidence: search
adds `weight × IDF` for each question term found in a candidate's context, and
a candidate must still hold at least one question term itself.

The field is derived from the index alone (postings, sentence table, titles),
so it needs no change to how the index is built or cached; it is built once per
index in vectorized numpy and kept on the index. Like the word postings it is
stored per term, so a query touches only the context postings of its own terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.index import SentenceIndex
from retrieval.normalize import analyze

_CACHE_KEY = "context"


@dataclass(frozen=True, slots=True)
class ContextIndex:
    """Per term: the bm25 docs whose context (title, neighbours) holds it; CSR layout."""

    indptr: np.ndarray  # int64, n_terms + 1
    docs: np.ndarray  # int32, ascending within a term

    def postings(self, term_id: int) -> np.ndarray:
        return self.docs[self.indptr[term_id] : self.indptr[term_id + 1]]

    def contains(self, term_id: int, docs: np.ndarray) -> np.ndarray:
        post = self.postings(term_id)
        if not len(post):
            return np.zeros(len(docs), dtype=bool)
        at = np.searchsorted(post, docs)
        at[at == len(post)] = 0
        return post[at] == docs


def context_of(index: SentenceIndex) -> ContextIndex:
    """The context field of `index`, built on first use and kept with the index."""
    cached = index.derived.get(_CACHE_KEY)
    if cached is None:
        cached = index.derived[_CACHE_KEY] = build_context(index)
    return cached


def build_context(index: SentenceIndex, neighbours: int = 1) -> ContextIndex:
    """Context postings: title terms and the terms of the `neighbours` sentences either side."""
    n_docs, n_terms = index.n_docs, len(index.vocab)
    if n_docs == 0:
        return ContextIndex(np.zeros(n_terms + 1, dtype=np.int64), np.empty(0, dtype=np.int32))
    # Terms of each bm25 doc (CSR by doc), from the term-major postings.
    post_terms = np.repeat(np.arange(n_terms, dtype=np.int64), np.diff(index.indptr))
    order = np.argsort(index.post_docs, kind="stable")
    doc_terms = post_terms[order]
    doc_indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(index.post_docs, minlength=n_docs), out=doc_indptr[1:])
    # Which bm25 doc each sentence row holds (-1 for rows without terms).
    row_doc = np.full(index.n_sentences, -1, dtype=np.int64)
    row_doc[index.dup_rows] = np.repeat(
        np.arange(n_docs, dtype=np.int64), np.diff(index.dup_indptr)
    )
    rows = index.doc_rows.astype(np.int64)
    pair_docs, pair_terms = [], []
    for step in range(1, neighbours + 1):
        for shift in (-step, step):
            other = rows + shift
            ok = (other >= 0) & (other < index.n_sentences)
            ok[ok] &= index.sent_doc[other[ok]] == index.sent_doc[rows[ok]]
            owner = np.flatnonzero(ok)
            source = row_doc[other[ok]]
            owner, source = owner[source >= 0], source[source >= 0]
            counts = doc_indptr[source + 1] - doc_indptr[source]
            starts = np.repeat(doc_indptr[source] - np.cumsum(counts) + counts, counts)
            within = np.arange(int(counts.sum()), dtype=np.int64) + starts
            pair_docs.append(np.repeat(owner, counts))
            pair_terms.append(doc_terms[within])
    title_ids = [
        np.asarray(index.term_ids(analyze(s.title)), dtype=np.int64) for s in index.sources
    ]
    doc_source = index.sent_doc[rows]
    counts = np.asarray([len(title_ids[s]) for s in doc_source], dtype=np.int64)
    if counts.sum():
        pair_docs.append(np.repeat(np.arange(n_docs, dtype=np.int64), counts))
        pair_terms.append(np.concatenate([title_ids[s] for s in doc_source]))
    docs = np.concatenate(pair_docs) if pair_docs else np.empty(0, dtype=np.int64)
    terms = np.concatenate(pair_terms) if pair_terms else np.empty(0, dtype=np.int64)
    keys = np.unique(terms * n_docs + docs)
    ctx_terms, ctx_docs = keys // n_docs, (keys % n_docs).astype(np.int32)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(ctx_terms, minlength=n_terms), out=indptr[1:])
    return ContextIndex(indptr, ctx_docs)
