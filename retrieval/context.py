"""Sentence-in-context evidence: what a sentence's surroundings say about it.

News and encyclopedia sentences often answer a question without naming its
subject: "كان أبوه حجر ملكاً" answers a question about جندح because the article
is about جندح; "وأضاف أن ..." continues the previous sentence's speaker. The
context field of a sentence is the set of terms of its document's title and of
its previous and next sentence. It is extra, lower-weighted evidence: search
adds `weight × IDF` for each question term found in a candidate's context, and
a candidate must still hold at least one question term itself.

The field is never materialized as postings of its own. A term is in a
sentence's context when the term's own postings hold the previous or the next
sentence, or the title postings hold the sentence's document. So the field is
two neighbour arrays (bm25 doc → the bm25 doc of the sentence before / after
its first occurrence, -1 at a document's edge) plus title postings (term →
documents): built in a second at a million sentences, a few MB, where term ×
sentence context postings took 51 s, 5 GB of peak memory and ~200 MB on disk,
for exactly the same field (tests/test_context.py). A lookup costs three binary
searches in place of one, and only for the candidates search ranks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.index import SentenceIndex, compiled_kernels
from retrieval.normalize import analyze

CONTEXT_KEY = "context"  # where the field is kept in index.derived (retrieval.store too)


@dataclass(frozen=True, slots=True)
class ContextIndex:
    """The context field of one index (see module docstring)."""

    prev_doc: np.ndarray  # int32 per bm25 doc: bm25 doc of the sentence before, -1 if none
    next_doc: np.ndarray  # int32 per bm25 doc: bm25 doc of the sentence after, -1 if none
    doc_source: np.ndarray  # int32 per bm25 doc: its document (index into sources)
    title_indptr: np.ndarray  # int64, n_terms + 1: term -> documents whose title holds it
    title_sources: np.ndarray  # int32, ascending within a term

    def title_postings(self, term_id: int) -> np.ndarray:
        return self.title_sources[self.title_indptr[term_id] : self.title_indptr[term_id + 1]]

    def lookup(
        self, index: SentenceIndex, term_id: int, docs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(own, context) booleans for `docs`: the sentence holds the term; its context does.

        One pass over the term's postings answers both the sentence and its
        neighbours (`SentenceIndex.contains`).
        """
        n = len(docs)
        probe = np.concatenate((docs, self.prev_doc[docs], self.next_doc[docs]))
        found = index.contains(term_id, probe)
        own = found[:n]
        ctx = found[n : 2 * n] | found[2 * n :]
        titles = self.title_postings(term_id)
        if len(titles):
            ctx |= member(titles, self.doc_source[docs])
        return own, ctx

    def contains(self, index: SentenceIndex, term_id: int, docs: np.ndarray) -> np.ndarray:
        """Which of `docs` have the term in their context."""
        return self.lookup(index, term_id, docs)[1]


_NO_IDS = np.empty(0, dtype=np.int32)
_NO_OFFSETS = np.zeros(1, dtype=np.int64)


def compiled_evidence(
    index: SentenceIndex,
    context: ContextIndex | None,
    docs: np.ndarray,
    terms: list[tuple[int, int, float]],
    n_groups: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(own, ctx, alike), (groups × docs) each, for (group, term id, Dice) `terms` in one
    compiled pass (retrieval/kernels.py `evidence`); Dice < 0 marks a group's own
    spelling, looked up in the sentence and (with `context`) its context, as `lookup`.
    """
    kernels = index.kernels() or compiled_kernels()
    term_group = np.fromiter((g for g, _, _ in terms), np.int64, len(terms))
    term_ids = np.fromiter((t for _, t, _ in terms), np.int64, len(terms))
    term_dice = np.fromiter((d for _, _, d in terms), np.float64, len(terms))
    n_sources = len(index.sources) if context is not None else 0
    scratch, generation = index.marks(2 * len(terms) + 1, n_sources)
    ro = kernels.readonly
    own, ctx, alike, _ = kernels.evidence(
        ro(index.indptr),
        ro(index.post_docs),
        np.asarray(docs, dtype=np.int32),
        term_ids,
        term_group,
        term_dice,
        n_groups,
        context is not None,
        ro(_NO_IDS if context is None else context.prev_doc),
        ro(_NO_IDS if context is None else context.next_doc),
        ro(_NO_IDS if context is None else context.doc_source),
        ro(_NO_OFFSETS if context is None else context.title_indptr),
        ro(_NO_IDS if context is None else context.title_sources),
        scratch.marks,
        scratch.source_marks,
        scratch.slots,
        scratch.bits,
        scratch.source_bits,
        generation,
    )
    return own, ctx, alike


def context_weights(
    index: SentenceIndex,
    context: ContextIndex,
    docs: np.ndarray,
    terms: list[tuple[int, int]],
    group_weights: np.ndarray,
) -> np.ndarray:
    """Per doc of `docs`, the summed weight of the groups of (group, term id) `terms` found
    in its context, compiled (retrieval/kernels.py `context_weight`; at most 64 terms)."""
    kernels = index.kernels() or compiled_kernels()
    scratch, _ = index.marks(0, len(index.sources))
    ro = kernels.readonly
    return kernels.context_weight(
        ro(index.indptr),
        ro(index.post_docs),
        np.asarray(docs, dtype=np.int32),
        np.fromiter((t for _, t in terms), np.int64, len(terms)),
        np.fromiter((g for g, _ in terms), np.int64, len(terms)),
        np.asarray(group_weights, dtype=np.float64),
        ro(context.prev_doc),
        ro(context.next_doc),
        ro(context.doc_source),
        ro(context.title_indptr),
        ro(context.title_sources),
        scratch.bits,
        scratch.source_bits,
    )


def member(sorted_ids: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """Which of `probe` occur in the ascending `sorted_ids` (negative probes never do)."""
    if not len(sorted_ids) or not len(probe):
        return np.zeros(len(probe), dtype=bool)
    at = np.searchsorted(sorted_ids, probe)
    at[at == len(sorted_ids)] = 0
    return sorted_ids[at] == probe


TITLE_TERMS_KEY = "title_terms"  # index.derived: title -> its analyzed terms


def context_of(index: SentenceIndex) -> ContextIndex:
    """The context field of `index`, built on first use and kept with the index."""
    cached = index.derived.get(CONTEXT_KEY)
    if cached is None:
        cached = index.derived[CONTEXT_KEY] = build_context(index)
    return cached  # type: ignore[return-value]


def build_context(index: SentenceIndex) -> ContextIndex:
    """Neighbour arrays from the sentence table, title postings from the titles."""
    prev_doc, next_doc, doc_source = neighbour_arrays(index)
    title_indptr, title_sources = _title_postings(index)
    return ContextIndex(prev_doc, next_doc, doc_source, title_indptr, title_sources)


def neighbour_arrays(index: SentenceIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prev_doc, next_doc, doc_source) of every bm25 doc, from the sentence table."""
    n_docs, n_rows = index.n_docs, index.n_sentences
    # Which bm25 doc each sentence row holds (-1 for rows without terms).
    row_doc = np.full(n_rows + 2, -1, dtype=np.int32)  # one spare row at each end
    row_doc[1:-1][index.dup_rows] = np.repeat(
        np.arange(n_docs, dtype=np.int32), np.diff(index.dup_indptr)
    )
    row_src = np.full(n_rows + 2, -1, dtype=np.int64)
    row_src[1:-1] = index.sent_doc
    rows = index.doc_rows.astype(np.int64) + 1  # the first row holding each bm25 doc
    own_src = row_src[rows]
    prev_doc = np.where(row_src[rows - 1] == own_src, row_doc[rows - 1], -1).astype(np.int32)
    next_doc = np.where(row_src[rows + 1] == own_src, row_doc[rows + 1], -1).astype(np.int32)
    return prev_doc, next_doc, own_src.astype(np.int32)


def _title_postings(index: SentenceIndex) -> tuple[np.ndarray, np.ndarray]:
    """term -> documents whose title holds it (CSR, documents ascending)."""
    n_terms = len(index.vocab)
    # Analyzed titles kept from an earlier build (retrieval/segments.py), else analyzed
    # here: 94k titles are seconds of analysis. New ones are added to the same dict.
    known: dict[str, list[str]] = index.derived.setdefault(TITLE_TERMS_KEY, {})  # type: ignore[assignment]
    flat: list[str] = []
    counts = np.zeros(len(index.sources), dtype=np.int64)
    for source_index, source in enumerate(index.sources):
        terms = known.get(source.title)
        if terms is None:
            terms = known[source.title] = analyze(source.title)
        flat.extend(terms)
        counts[source_index] = len(terms)
    # All titles' terms looked up at once, then (term, document) pairs made unique.
    vocab = index.vocab
    ids = np.fromiter((vocab.get(t, -1) for t in flat), np.int64, len(flat))
    docs = np.repeat(np.arange(len(index.sources), dtype=np.int64), counts)
    found = ids >= 0
    pairs = np.unique(ids[found] * max(len(index.sources), 1) + docs[found])
    terms = pairs // max(len(index.sources), 1)
    sources = (pairs % max(len(index.sources), 1)).astype(np.int32)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=n_terms), out=indptr[1:])
    return indptr, sources
