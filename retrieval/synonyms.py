"""Corpus terms used like a question term: word vectors learned from the corpus itself.

A question and its answer often name one thing with different words ("زيارة" /
"سيزور", "لقاء" / "الاجتماع", "رد فعل" / "أعربت"). Neither the 3-gram look-alikes
(retrieval/ngrams.py) nor the roots (retrieval/arabic_roots.py) join those. Words
used in the same company are likely to mean alike (distributional similarity):
this counts, for the `SYN_VOCAB` most frequent terms, the sentences they share
with each of the `SYN_CONTEXTS` most frequent terms, weighs the counts by positive
pointwise mutual information (context counts smoothed by ^0.75, Levy, Goldberg &
Dagan 2015), and reduces the matrix to `dims` dimensions with a truncated SVD
(randomized, fixed seed; numpy only). Two terms are
alike when the cosine of their vectors is high; search scores a question term's
nearest terms at a reduced weight, like the look-alikes.

Nothing is downloaded: the vectors are only as good as the corpus is large. The map
is derived from the index's postings when first needed and kept in `index.derived`
(like the roots map), so an incremental edit, which makes a new index object,
gets vectors of its own corpus.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.index import SentenceIndex

SYNONYMS_KEY = "synonyms"  # where the vectors are kept in index.derived
SYN_VOCAB = 20_000  # terms that get a vector, most frequent first
SYN_CONTEXTS = 2_000  # terms counted as company, most frequent first
MIN_DF = 3  # a term needs this many sentences for a vector
DIMS = 100
NEAREST = 10  # neighbours kept per term
ROWS_PER_BLOCK = 1_000  # bounds the memory of the neighbour search
PAIRS_PER_CHUNK = 4_000_000  # bounds the memory of the pair counting
SEED = 7


@dataclass(frozen=True, slots=True)
class TermVectors:
    """Each frequent term's nearest terms by the cosine of their vectors (module docstring)."""

    row_of: np.ndarray  # int32 per term id: its row below, -1 without a vector
    nearest: np.ndarray  # int32 (rows, NEAREST): term ids, nearest first
    cosines: np.ndarray  # float32 (rows, NEAREST), descending

    def similar(self, term_id: int, min_cosine: float, limit: int) -> list[tuple[int, float]]:
        """Up to `limit` (term id, cosine) of the terms nearest `term_id`, best first."""
        if term_id >= len(self.row_of) or self.row_of[term_id] < 0:
            return []
        row = int(self.row_of[term_id])
        return [
            (int(t), float(c))
            for t, c in zip(self.nearest[row, :limit], self.cosines[row, :limit], strict=True)
            if c >= min_cosine
        ]


def synonyms_of(index: SentenceIndex) -> TermVectors:
    """The term vectors of `index`, built on first use and kept with the index."""
    cached = index.derived.get(SYNONYMS_KEY)
    if cached is None:
        cached = index.derived[SYNONYMS_KEY] = build_vectors(index)
    return cached  # type: ignore[return-value]


def build_vectors(
    index: SentenceIndex,
    vocab_size: int = SYN_VOCAB,
    contexts: int = SYN_CONTEXTS,
    dims: int = DIMS,
    min_df: int = MIN_DF,
) -> TermVectors:
    """PPMI + truncated SVD vectors of the index's frequent terms (module docstring)."""
    n_terms = len(index.indptr) - 1
    df = np.diff(index.indptr)
    # Most frequent first, ties by term id: deterministic for one vocabulary.
    by_df = np.lexsort((np.arange(n_terms), -df))
    frequent = by_df[df[by_df] >= min_df]
    targets = frequent[:vocab_size].astype(np.int64)
    company = frequent[:contexts].astype(np.int64)
    row_of = np.full(n_terms, -1, dtype=np.int32)
    row_of[targets] = np.arange(len(targets), dtype=np.int32)
    if len(targets) <= NEAREST or len(company) < 2:
        row_of[:] = -1
        empty = np.zeros((0, NEAREST))
        return TermVectors(row_of, empty.astype(np.int32), empty.astype(np.float32))
    vectors = _ppmi_svd(_cooccurrence(index, targets, company), dims)
    nearest, cosines = _nearest(vectors)
    return TermVectors(row_of, targets[nearest].astype(np.int32), cosines)


def _nearest(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, NEAREST) rows and cosines of each row's nearest other rows, nearest first."""
    rows = len(vectors)
    nearest = np.zeros((rows, NEAREST), dtype=np.int64)
    cosines = np.zeros((rows, NEAREST), dtype=np.float32)
    for lo in range(0, rows, ROWS_PER_BLOCK):
        hi = min(lo + ROWS_PER_BLOCK, rows)
        block = vectors[lo:hi] @ vectors.T
        block[np.arange(hi - lo), np.arange(lo, hi)] = -2.0  # not its own neighbour
        top = np.argpartition(-block, NEAREST, axis=1)[:, :NEAREST]
        values = np.take_along_axis(block, top, axis=1)
        order = np.lexsort((top, -values), axis=1)
        nearest[lo:hi] = np.take_along_axis(top, order, axis=1)
        cosines[lo:hi] = np.take_along_axis(values, order, axis=1)
    return nearest, cosines


def _entries(index: SentenceIndex, term_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bm25 doc, local number of the term) of every posting of `term_ids`, as int32."""
    lo, hi = index.indptr[term_ids], index.indptr[term_ids + 1]
    lengths = hi - lo
    at = np.repeat(lo - np.cumsum(lengths) + lengths, lengths)
    at += np.arange(len(at))
    local = np.repeat(np.arange(len(term_ids), dtype=np.int32), lengths)
    return np.asarray(index.post_docs[at], dtype=np.int32), local


def _cooccurrence(index: SentenceIndex, targets: np.ndarray, company: np.ndarray) -> np.ndarray:
    """(targets × company) float32: how many sentences hold both terms.

    Every (target posting, company term of the same sentence) pair is counted with
    a bincount over one block of `ROWS_PER_BLOCK` targets at a time, at most
    `PAIRS_PER_CHUNK` pairs at once, so memory stays bounded whatever the corpus.
    """
    t_doc, t_local = _entries(index, targets)  # grouped by target, in target order
    c_doc, c_local = _entries(index, company)
    order = np.argsort(c_doc, kind="stable")
    c_doc, c_local = c_doc[order], c_local[order]
    del order
    c_start = np.searchsorted(c_doc, np.arange(index.n_docs + 1))
    del c_doc
    reps = np.diff(c_start).astype(np.int32)[t_doc]  # company terms in the target's sentence
    ends = np.cumsum(reps, dtype=np.int64)
    width = len(company)
    counts = np.zeros((len(targets), width), dtype=np.float32)
    for lo in range(0, len(targets), ROWS_PER_BLOCK):
        hi = min(lo + ROWS_PER_BLOCK, len(targets))
        first, stop = np.searchsorted(t_local, (lo, hi))
        while first < stop:
            done = ends[first] - reps[first]
            last = int(np.searchsorted(ends, done + PAIRS_PER_CHUNK, "right"))
            last = min(max(last, first + 1), stop)
            rep = reps[first:last]
            own = np.repeat(np.arange(first, last), rep)
            within = np.arange(len(own)) - np.repeat(np.cumsum(rep) - rep, rep)
            keys = (t_local[own].astype(np.int64) - lo) * width
            keys += c_local[c_start[t_doc[own]] + within]
            block = np.bincount(keys, minlength=(hi - lo) * width).reshape(hi - lo, width)
            counts[lo:hi] += block
            first = last
    # A term is no company of itself: targets and company both start with the most frequent.
    same = np.arange(min(len(targets), width))
    counts[same, same] = 0.0
    return counts


def _ppmi_svd(counts: np.ndarray, dims: int) -> np.ndarray:
    """Unit rows of the truncated SVD (U·√S) of the PPMI of `counts`."""
    total = counts.sum()
    if total <= 0:
        return np.zeros((len(counts), 0), np.float32)
    row = np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    col = counts.sum(axis=0, dtype=np.float64) ** 0.75
    col = np.maximum(col / col.sum(), 1e-12).astype(np.float32)
    # PMI(t, c) = log(P(t, c) / (P(t) · P(c)^0.75)), in place: the matrix is the big part.
    ppmi = counts
    ppmi /= row
    ppmi /= col
    with np.errstate(divide="ignore"):
        np.log(ppmi, out=ppmi)
    np.maximum(ppmi, 0.0, out=ppmi)
    k = min(dims, min(ppmi.shape) - 1)
    rng = np.random.default_rng(SEED)
    probe = rng.standard_normal((ppmi.shape[1], k + 10)).astype(np.float32)
    basis = _orthonormal(ppmi @ probe)
    for _ in range(2):  # power iterations sharpen the leading directions
        basis = _orthonormal(ppmi @ (ppmi.T @ basis))
    small = (basis.T @ ppmi).astype(np.float64)
    # B = U·S·Vᵀ, so B·Bᵀ = U·S²·Uᵀ: a small symmetric eigenproblem gives U and S.
    values, u_small = np.linalg.eigh(small @ small.T)
    top = np.argsort(-values, kind="stable")[:k]
    singular = np.sqrt(np.maximum(values[top], 0.0))
    vectors = (basis @ u_small[:, top].astype(np.float32)) * np.sqrt(singular).astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def _orthonormal(block: np.ndarray) -> np.ndarray:
    """An orthonormal basis of `block`'s columns (float32), through the eigenvectors of
    its small Gram matrix: LAPACK's QR of a tall matrix took seconds here."""
    wide = block.astype(np.float64)
    values, vectors = np.linalg.eigh(wide.T @ wide)
    keep = values > values.max() * 1e-10
    return (wide @ (vectors[:, keep] / np.sqrt(values[keep]))).astype(np.float32)
