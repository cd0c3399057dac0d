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

import hashlib
import itertools
import math
import multiprocessing
import os
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import NamedTuple

import numpy as np

from retrieval.blockmax import BlockMaxima, block_maxima
from retrieval.filebytes import FileBytes
from retrieval.models import Document, Sentence, Source
from retrieval.normalize import PIPELINE_VERSION, form_table
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
    """Many strings as UTF-8 bytes in a few blobs: far lighter than millions of str objects.

    Row i is bytes starts[i]:ends[i] of the parts laid end to end, inside one part.
    A build writes one part in row order. An incremental edit (retrieval/delta.py)
    appends a part holding the new rows' texts and leaves the old parts as they
    are, so a saved part is linked into the next index version instead of copied
    (270 MB at a million sentences); removed rows' bytes stay until `compacted`.
    """

    parts: tuple[np.ndarray, ...]  # uint8
    starts: np.ndarray  # int64, per row
    ends: np.ndarray  # int64, per row
    # Per part mapped from a saved file, that file, its bytes read by position: one
    # row's text is read through it, so a serving process does not map the pages
    # around every row it reads (retrieval/filebytes.py); a save links it (its
    # `path`). Whole-part work (save, edit, compaction) uses `parts`.
    readers: tuple[FileBytes | None, ...] = ()
    bounds: list[int] = field(init=False)  # where each part starts, and the total

    def __post_init__(self) -> None:
        self.bounds = [0, *np.cumsum([len(p) for p in self.parts]).tolist()]
        if not self.readers:
            self.readers = (None,) * len(self.parts)

    @classmethod
    def contiguous(cls, blob: np.ndarray, offsets: np.ndarray) -> TextColumn:
        """Row i is blob[offsets[i]:offsets[i + 1]]."""
        return cls((blob,), offsets[:-1], offsets[1:])

    @classmethod
    def from_strings(cls, texts: Iterable[str]) -> TextColumn:
        encoded = [t.encode("utf-8") for t in texts]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        return cls.contiguous(blob, offsets)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> str:
        start, end = int(self.starts[i]), int(self.ends[i])
        part = 0
        if len(self.parts) > 1:
            part = min(bisect_right(self.bounds, start), len(self.parts)) - 1
        base = self.bounds[part]
        reader = self.readers[part]
        if reader is not None:
            return reader.read(start - base, end - start).decode("utf-8")
        return self.parts[part][start - base : end - base].tobytes().decode("utf-8")

    @property
    def live_bytes(self) -> int:
        return int((self.ends - self.starts).sum())

    def compacted(self) -> TextColumn:
        """The same texts in one part, in row order (no bytes of removed rows)."""
        lengths = self.ends - self.starts
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        whole = self.parts[0] if len(self.parts) == 1 else np.concatenate(self.parts)
        blob = np.empty(int(offsets[-1]), dtype=np.uint8)
        # Runs of rows whose texts already lie back to back are copied in one piece.
        breaks = np.flatnonzero(self.starts[1:] != self.ends[:-1]) + 1
        firsts = np.r_[0, breaks].tolist() if len(lengths) else []
        lasts = np.r_[breaks, len(lengths)].tolist() if len(lengths) else []
        for lo, hi in zip(firsts, lasts, strict=True):
            blob[offsets[lo] : offsets[hi]] = whole[self.starts[lo] : self.ends[hi - 1]]
        return TextColumn.contiguous(blob, offsets)


# From this many bm25 docs on, scoring and the evidence look-ups run compiled
# (retrieval/kernels.py); below it numpy answers in about a millisecond and
# importing numba (0.2–0.4 s) would cost more than it saves (`coverage-bot ask`
# on a small corpus). Both paths give identical results (tests/test_kernels.py).
COMPILED_FROM = 50_000
BLOCK_MAXIMA_KEY = "block_maxima"  # where retrieval.blockmax's arrays are kept in derived
COMPILED_ENV = "COVERAGE_BOT_COMPILED"  # "1": compiled at any size, "0": numpy at any size
_INT32_MAX = int(np.iinfo(np.int32).max)


_warmed = threading.Lock()


def compiled_kernels() -> ModuleType:
    """retrieval.kernels, imported on first use (it imports numba), its kernels loaded."""
    from retrieval import kernels

    if not getattr(kernels, "warmed", False):
        with _warmed:  # two threads meeting a cold cache compile once
            if not getattr(kernels, "warmed", False):
                kernels.warm()
                kernels.warmed = True
    return kernels


@dataclass(slots=True)
class _Scratch:
    """Per-thread buffers for scoring, as long as the number of bm25 docs."""

    scores: np.ndarray  # float64, all zero between queries
    stamp: np.ndarray  # int32, garbage between queries (always written before read)
    seen: np.ndarray | None = None  # uint8, all zero between queries (compiled scoring)
    marks: np.ndarray | None = None  # int32, n_docs + 1: generation that last marked a doc
    generation: int = 0
    source_marks: np.ndarray | None = None  # int32 per source document, same generations
    slots: np.ndarray | None = None  # int32 per doc: a candidate's place, valid where marked
    bits: np.ndarray | None = None  # uint64, n_docs + 1: term bits, all zero between uses
    source_bits: np.ndarray | None = None  # uint64 per source document, likewise

    def generations(self, count: int, n_docs: int, n_sources: int = 0) -> int:
        """Reserve `count` fresh mark generations; returns the last one used before them.

        The mark buffers are never cleared: each use marks with a new generation,
        and only when the counter would overflow are they zeroed and it restarts.
        """
        if (
            self.marks is None
            or self.generation + count >= _INT32_MAX
            or (n_sources and (self.source_marks is None or len(self.source_marks) != n_sources))
        ):
            self.marks = np.zeros(n_docs + 1, dtype=np.int32)
            self.source_marks = np.zeros(n_sources, dtype=np.int32)
            self.slots = np.zeros(n_docs, dtype=np.int32)
            self.bits = np.zeros(n_docs + 1, dtype=np.uint64)
            self.source_bits = np.zeros(n_sources, dtype=np.uint64)
            self.generation = 0
        first = self.generation
        self.generation += count
        return first


def _distinct(parts: list[np.ndarray], scratch: _Scratch) -> np.ndarray:
    """The doc ids of `parts` (each free of repeats), each once, in no order, without sorting."""
    if len(parts) == 1:
        return np.array(parts[0])
    every = np.concatenate(parts)
    positions = np.arange(len(every), dtype=np.int32)
    scratch.stamp[every] = positions
    return every[scratch.stamp[every] == positions]


def _times(impacts: np.ndarray, weights: list[float] | None, i: int) -> np.ndarray:
    """`impacts` × the i-th weight; untouched (not even × 1.0) when there are no weights."""
    if weights is None or weights[i] == 1.0:
        return impacts
    return weights[i] * impacts


# Up to this many hits a compiled top-k (one pass, insertion into n slots) beats
# argpartition; past it a candidate beats the n-th best too often.
COMPILED_TOP_MAX = 64


def best_first(
    docs: np.ndarray, scores: np.ndarray, n: int, kernels: ModuleType | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The `n` highest-scoring of (docs, scores), best first, ties by doc id.

    Selects a candidate set with argpartition (linear) and sorts only that; every
    doc scoring exactly the n-th best score stays a candidate, so ties are broken
    as a full sort would break them. With `kernels` (retrieval/kernels.py) and a
    small `n`, one compiled pass does the same.
    """
    if n <= 0 or not len(docs):
        return docs[:0], scores[:0]
    if kernels is not None and n <= COMPILED_TOP_MAX:
        best = kernels.top_positions(docs, scores, n)
        return docs[best], scores[best]
    if n < len(docs):
        nth = scores[np.argpartition(-scores, n - 1)[n - 1]]
        candidates = np.flatnonzero(scores >= nth)
        docs, scores = docs[candidates], scores[candidates]
    order = np.lexsort((docs, -scores))[:n]
    return docs[order], scores[order]


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
    post_weights: np.ndarray  # float64: idf * BM25 term-frequency factor
    # What an incremental edit needs (retrieval/delta.py): each posting's term
    # frequency, and each bm25 doc's 16-byte sentence key as two uint64 words.
    post_tf: np.ndarray | None = None  # int32, like post_docs
    doc_keys: np.ndarray | None = None  # uint64, (n_docs, 2)
    pipeline_version: str = PIPELINE_VERSION
    build_seconds: float = 0.0
    _local: threading.local = field(default_factory=threading.local, repr=False)
    # Structures derived from the arrays above on first use (e.g. retrieval.context).
    derived: dict[str, object] = field(default_factory=dict, repr=False, compare=False)
    # Compiled scoring and look-ups (retrieval/kernels.py): True or False forces one
    # path (tests compare the two); None lets COVERAGE_BOT_COMPILED ("1" or "0")
    # decide, else the size (COMPILED_FROM).
    compiled: bool | None = field(default=None, repr=False, compare=False)

    def kernels(self) -> ModuleType | None:
        """The compiled kernels when this index uses them, else None (numpy)."""
        use = self.compiled
        if use is None:
            forced = os.environ.get(COMPILED_ENV, "").strip()
            use = forced == "1" if forced in ("0", "1") else self.n_docs >= COMPILED_FROM
        return compiled_kernels() if use else None

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

    def score(
        self, term_ids: list[int], weights: list[float] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(bm25 doc ids, scores) of every sentence holding at least one term, in no order.

        Repeated term ids count again, as in rank-bm25. `weights` multiply each
        term's impacts (search adds look-alike terms at a lower weight); without
        them the score is exactly BM25. Each term's precomputed
        impacts are added into a per-thread buffer (a sentence appears once per
        term's postings, so a plain fancy-index add is exact); the touched
        sentences are then de-duplicated without sorting: every touched entry
        stamps its position into a second buffer, and an entry whose stamp
        survived is the one copy kept. That is linear in the postings read, where
        `np.unique` sorted them (most of a query's time at a million sentences).
        """
        if not term_ids:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float64)
        scratch = self._scratch()
        kernels = self.kernels()
        if kernels is not None:
            if scratch.seen is None:
                scratch.seen = np.zeros(self.n_docs, dtype=np.uint8)
            ro = kernels.readonly
            return kernels.score_terms(
                ro(self.indptr),
                ro(self.post_docs),
                ro(self.post_weights),
                np.asarray(term_ids, dtype=np.int64),
                np.ones(len(term_ids)) if weights is None else np.asarray(weights, np.float64),
                scratch.scores,
                scratch.seen,
                kernels.SCORE_BLOCK,
            )
        buffer = scratch.scores
        indptr, post_docs, post_weights = self.indptr, self.post_docs, self.post_weights
        touched = []
        for i, term_id in enumerate(term_ids):
            lo, hi = int(indptr[term_id]), int(indptr[term_id + 1])
            docs = post_docs[lo:hi]
            buffer[docs] += _times(post_weights[lo:hi], weights, i)
            touched.append(docs)
        docs = _distinct(touched, scratch)
        scores = buffer[docs]
        buffer[docs] = 0.0
        return docs, scores

    def top(
        self, term_ids: list[int], n: int, weights: list[float] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `n` best (bm25 doc ids, scores), best first: `best_first` of `score`.

        Every candidate is scored: on the benchmark questions that is faster than
        Block-Max WAND (`block_max_top`) up to a million sentences, where their common
        words keep ~90 % of the postings in play (benchmarks/README.md).
        """
        return best_first(*self.score(term_ids, weights), n, self.kernels())

    def block_max_top(
        self,
        kernels: ModuleType,
        term_ids: list[int],
        n: int,
        weights: list[float] | None,
        floor: float = -np.inf,
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """The `n` best scoring above `floor`, as `top` ranks them, and the postings read:
        (docs, scores, read) by Block-Max WAND (`kernels.block_max_top`,
        retrieval/blockmax.py). Compiled only; weights must be ≥ 0. Not what `top`
        uses: measured slower below 5M sentences (benchmarks/RESULTS.md)."""
        maxima = self.derived.get(BLOCK_MAXIMA_KEY)
        if maxima is None:
            maxima = self.derived[BLOCK_MAXIMA_KEY] = block_maxima(
                self.indptr, self.post_docs, self.post_weights
            )
        assert isinstance(maxima, BlockMaxima)
        ro = kernels.readonly
        return kernels.block_max_top(
            ro(self.indptr),
            ro(self.post_docs),
            ro(self.post_weights),
            maxima.size,
            ro(maxima.indptr),
            ro(maxima.high),
            ro(maxima.last),
            ro(maxima.term_high),
            np.asarray(term_ids, dtype=np.int64),
            np.ones(len(term_ids)) if weights is None else np.asarray(weights, np.float64),
            n,
            floor,
        )

    def marks(self, count: int, n_sources: int = 0) -> tuple[_Scratch, int]:
        """This thread's scratch buffers (marks, slots, bits) and the last mark generation
        used, with `count` fresh generations after it reserved for the caller."""
        scratch = self._scratch()
        return scratch, scratch.generations(count, self.n_docs, n_sources)

    def _scratch(self) -> _Scratch:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None or len(scratch.scores) != self.n_docs:
            scratch = _Scratch(
                np.zeros(self.n_docs, dtype=np.float64), np.zeros(self.n_docs, dtype=np.int32)
            )
            self._local.scratch = scratch
        return scratch

    def contains(self, term_id: int, docs: np.ndarray) -> np.ndarray:
        """Which of `docs` (bm25 doc ids; -1 is none and never matches) hold the term.

        A few probes: binary searches of the sorted postings. Many probes against
        long postings (search looking up thousands of candidates for a common
        word): the postings are marked once in a per-thread buffer and every probe
        is one read, linear instead of a binary search each.
        """
        post, _ = self.postings(term_id)
        if not len(post) or not len(docs):
            return np.zeros(len(docs), dtype=bool)
        if len(docs) * len(post).bit_length() < 4 * len(post):
            at = np.searchsorted(post, docs)
            at[at == len(post)] = 0
            return post[at] == docs
        return self.marked_in(post, docs)

    def marked_in(self, members: np.ndarray, probe: np.ndarray) -> np.ndarray:
        """Which of `probe` (bm25 doc ids; -1 never matches) are among `members`.

        `members` are marked in a per-thread buffer that is never cleared (each call
        marks with a new generation), so the cost is one write per member and one
        read per probe, whatever the number of docs.
        """
        scratch = self._scratch()
        generation = scratch.generations(1, self.n_docs) + 1
        marks = scratch.marks
        marks[members + 1] = generation  # shifted by one: -1 lands on the unused slot 0
        return marks[probe + 1] == generation

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
class AnalyzedChunk:
    """A run of documents segmented and analyzed: what one build worker sends back.

    Terms travel as ids into the chunk's own vocabulary and postings are already
    counted and sorted by (term, row), so the merge is array work, not Python loops.
    """

    sent_doc: np.ndarray  # int32: index of the document in the whole corpus
    sent_pos: np.ndarray  # int32
    sent_start: np.ndarray  # int32: span in the file
    sent_end: np.ndarray  # int32
    text_blob: bytes | np.ndarray  # the sentences' texts, UTF-8, back to back (uint8 if mapped)
    text_len: np.ndarray  # int64: bytes per sentence
    keys: bytes | np.ndarray  # 16-byte digest of each sentence's normalized text (its identity)
    n_terms: np.ndarray  # int32: terms per sentence (0: nothing to index)
    vocab: list[str]  # chunk term id -> term, sorted (so ids rise with the merged index's)
    post_term: np.ndarray  # int32: chunk term id, ascending
    post_row: np.ndarray  # int32: row within the chunk, ascending within a term
    post_tf: np.ndarray  # int32: occurrences of the term in the row

    @property
    def n_rows(self) -> int:
        return len(self.sent_doc)


_KEY_BYTES = 16


class AnalyzedRun(NamedTuple):
    """Documents analyzed where they were read (`load_corpus(analyze=True)`)."""

    digests: list[str]  # the documents, in order
    chunk: AnalyzedChunk  # numbered from 0
    titles: dict[str, list[str]]  # each title's `analyze` terms (the context field's)


def slice_chunk(chunk: AnalyzedChunk, first: int, stop: int, first_doc: int) -> AnalyzedChunk:
    """Documents `first` ≤ i < `stop` of `chunk` (numbered as in its sent_doc), renumbered
    from `first_doc`: the rows of a stored segment that the current corpus still holds.

    Postings stay sorted by (term, row); the vocabulary is kept whole (terms no
    kept row holds drop out in `index_from_chunks`).
    """
    lo = int(np.searchsorted(chunk.sent_doc, first, side="left"))
    hi = int(np.searchsorted(chunk.sent_doc, stop, side="left"))
    shift = first_doc - first
    if lo == 0 and hi == chunk.n_rows:
        return replace(chunk, sent_doc=(chunk.sent_doc + shift).astype(np.int32))
    keep = (chunk.post_row >= lo) & (chunk.post_row < hi)
    post_row = chunk.post_row[keep] - lo
    starts = np.r_[0, np.cumsum(chunk.text_len[lo:hi])] + (
        int(chunk.text_len[:lo].sum()) if lo else 0
    )
    return AnalyzedChunk(
        sent_doc=(chunk.sent_doc[lo:hi] + shift).astype(np.int32),
        sent_pos=chunk.sent_pos[lo:hi],
        sent_start=chunk.sent_start[lo:hi],
        sent_end=chunk.sent_end[lo:hi],
        text_blob=bytes(memoryview(chunk.text_blob)[int(starts[0]) : int(starts[-1])]),
        text_len=chunk.text_len[lo:hi],
        keys=bytes(memoryview(chunk.keys)[lo * _KEY_BYTES : hi * _KEY_BYTES]),
        n_terms=chunk.n_terms[lo:hi],
        vocab=chunk.vocab,
        post_term=chunk.post_term[keep],
        post_row=post_row,
        post_tf=chunk.post_tf[keep],
    )


def analyze_chunk(first_doc: int, texts: list[str], body_offsets: list[int]) -> AnalyzedChunk:
    """Segment and analyze documents first_doc, first_doc + 1, …: the costly step of a build.

    A plain function of its arguments so it can run in a worker process. Terms
    are counted as the process's form-table numbers (retrieval/normalize.py:
    each distinct chunk of text analyzed once per process) and turned into
    strings once per distinct term, at the end.
    """
    table = form_table()
    counts: list[int] = []
    spans_all: list[tuple[int, int]] = []
    encoded: list[bytes] = []
    keys: list[bytes] = []
    n_terms: list[int] = []
    numbers: list[int] = []
    analyze, blake2b = table.analyze, hashlib.blake2b
    for text in texts:
        spans = split_sentences(text)
        counts.append(len(spans))
        spans_all.extend(spans)
        for start, end in spans:
            sentence = text[start:end]
            count, key = analyze(sentence, numbers)
            encoded.append(sentence.encode("utf-8"))
            keys.append(blake2b(key.encode("utf-8"), digest_size=_KEY_BYTES).digest())
            n_terms.append(count)
    n_rows = len(spans_all)
    per_doc = np.asarray(counts, dtype=np.int64)
    sent_doc = np.repeat(np.arange(first_doc, first_doc + len(texts), dtype=np.int32), per_doc)
    doc_first_row = np.repeat(np.cumsum(per_doc) - per_doc, per_doc)
    sent_pos = (np.arange(n_rows, dtype=np.int64) - doc_first_row).astype(np.int32)
    spans_array = np.asarray(spans_all, dtype=np.int64).reshape(n_rows, 2)
    shift = np.repeat(np.asarray(body_offsets, dtype=np.int64), per_doc)
    lengths = np.asarray(n_terms, dtype=np.int32)
    token_rows = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
    # Terms numbered in sorted order, as in the merged index: a chunk's postings
    # then come in the merged index's term order (index_from_chunks relies on it).
    token_numbers = np.asarray(numbers, dtype=np.int64)
    used = np.unique(token_numbers)
    used_terms = list(map(table.terms.__getitem__, used.tolist()))
    order = sorted(range(len(used_terms)), key=used_terms.__getitem__)
    rank = np.zeros(int(used[-1]) + 1 if len(used) else 0, dtype=np.int64)
    rank[used[np.asarray(order, dtype=np.int64)]] = np.arange(len(used_terms))
    token_ranks = rank[token_numbers]
    pairs, tf = np.unique(token_ranks * max(n_rows, 1) + token_rows, return_counts=True)
    return AnalyzedChunk(
        sent_doc=sent_doc,
        sent_pos=sent_pos,
        sent_start=(spans_array[:, 0] + shift).astype(np.int32),
        sent_end=(spans_array[:, 1] + shift).astype(np.int32),
        text_blob=b"".join(encoded),
        text_len=np.fromiter(map(len, encoded), dtype=np.int64, count=n_rows),
        keys=b"".join(keys),
        n_terms=lengths,
        vocab=[used_terms[i] for i in order],
        post_term=(pairs // max(n_rows, 1)).astype(np.int32),
        post_row=(pairs % max(n_rows, 1)).astype(np.int32),
        post_tf=tf.astype(np.int32),
    )


# Below this many characters a build runs in-process: starting workers costs more.
PARALLEL_MIN_CHARS = 2_000_000
_CHUNKS_PER_WORKER = 6


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def build_index(
    documents: list[Document],
    corpus_key: str = "",
    params: BM25Params | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> SentenceIndex:
    """Build the index of `documents` (segment, analyze, count, weigh).

    Analysis runs in `workers` processes (default: every core this process may
    use, for corpora large enough to gain from it): it is nearly all the work and,
    done there, it leaves the GIL free for questions answered during a reload.
    The result does not depend on the number of workers.
    """
    params = params or BM25Params()
    pieces = analyze_documents(documents, progress, workers)
    chunks = [slice_chunk(chunk, 0, hi - lo, lo) for lo, hi, chunk in pieces]
    return index_from_chunks(
        [d.source for d in documents], [d.digest for d in documents], chunks, corpus_key, params
    )


def analyze_documents(
    documents: list[Document],
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> list[tuple[int, int, AnalyzedChunk]]:
    """(lo, hi, chunk of documents[lo:hi] numbered from 0): the costly part of a build.

    Runs in `workers` processes (default: every core this process may use, for
    corpora large enough to gain from it).
    """
    total_chars = sum(len(d.text) for d in documents)
    if workers is None:
        workers = default_workers() if total_chars >= PARALLEL_MIN_CHARS else 1
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    runs = _runs(documents, total_chars, workers * _CHUNKS_PER_WORKER if workers > 1 else 1)
    pieces: list[tuple[int, int, AnalyzedChunk]] = []
    if workers == 1:
        for lo, hi in runs:
            pieces.append((lo, hi, _analyze_run(documents, lo, hi)))
            if progress is not None:
                progress(hi - lo)
        return pieces
    context = multiprocessing.get_context("spawn")  # fork is unsafe in a threaded bot
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [
            pool.submit(
                analyze_chunk,
                0,
                [d.text for d in documents[lo:hi]],
                [d.body_offset for d in documents[lo:hi]],
            )
            for lo, hi in runs
        ]
        for (lo, hi), future in zip(runs, futures, strict=True):
            pieces.append((lo, hi, future.result()))
            if progress is not None:
                progress(hi - lo)
    return pieces


def _analyze_run(documents: list[Document], lo: int, hi: int) -> AnalyzedChunk:
    run = documents[lo:hi]
    return analyze_chunk(0, [d.text for d in run], [d.body_offset for d in run])


def _runs(documents: list[Document], total_chars: int, n_runs: int) -> list[tuple[int, int]]:
    """Split documents into about `n_runs` consecutive runs of similar text length."""
    if n_runs <= 1 or len(documents) <= 1:
        return [(0, len(documents))] if documents else []
    target = total_chars / n_runs
    runs, lo, size = [], 0, 0
    for i, document in enumerate(documents):
        size += len(document.text)
        if size >= target:
            runs.append((lo, i + 1))
            lo, size = i + 1, 0
    if lo < len(documents):
        runs.append((lo, len(documents)))
    return runs


def index_from_chunks(
    sources: list[Source],
    digests: list[str],
    chunks: list[AnalyzedChunk],
    corpus_key: str,
    params: BM25Params,
) -> SentenceIndex:
    """Merge analyzed chunks (in document order) into one index."""
    n_terms_all = (
        np.concatenate([c.n_terms for c in chunks]) if chunks else np.empty(0, dtype=np.int32)
    )
    n_rows = len(n_terms_all)
    row0 = np.zeros(len(chunks) + 1, dtype=np.int64)
    np.cumsum([c.n_rows for c in chunks], out=row0[1:])

    # Unique non-empty sentences become BM25 documents, numbered in order of first
    # occurrence; duplicates point at them.
    keys = b"".join(c.keys for c in chunks)
    row_group, doc_rows_arr = _group_rows(keys, n_terms_all)
    doc_keys = np.frombuffer(keys, dtype=np.uint64).reshape(n_rows, _KEY_BYTES // 8)[doc_rows_arr]
    del keys
    n_docs = len(doc_rows_arr)
    is_first = np.zeros(n_rows, dtype=bool)
    is_first[doc_rows_arr] = True
    grouped = np.flatnonzero(row_group >= 0)
    order = np.argsort(row_group[grouped], kind="stable")
    dup_rows = grouped[order].astype(np.int32)
    dup_indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_group[grouped], minlength=n_docs), out=dup_indptr[1:])
    doc_len = n_terms_all[doc_rows_arr].astype(np.int32)

    # One vocabulary, sorted: the numbering depends only on the terms, not on how
    # the corpus was cut into chunks, so an incremental merge (retrieval/segments.py)
    # numbers terms exactly as a full build does.
    # Pieces of one stored segment share its vocabulary list: each is mapped once.
    vocabs = {id(c.vocab): c.vocab for c in chunks}
    all_terms = sorted(set().union(*vocabs.values()))
    term_id = {t: i for i, t in enumerate(all_terms)}
    mapped = {
        key: np.fromiter(map(term_id.__getitem__, v), np.int32, len(v)) for key, v in vocabs.items()
    }
    global_ids = [mapped[id(c.vocab)] for c in chunks]
    del term_id, mapped
    n_terms = len(all_terms)

    # Postings of first occurrences only. Each chunk's are sorted by term and chunks
    # come in document order, so a posting's place is its term's start, plus the
    # term's postings in earlier chunks, plus its rank within its chunk's run: a
    # counting sort, one gather and two scatters per chunk (a stable argsort of
    # every posting cost three times as much at a million sentences). Each chunk's
    # kept postings are selected twice, to count and to place, rather than held
    # between the passes (150 MB at a million sentences).
    first_group = row_group.astype(np.int32)

    def first_occurrences(k: int) -> tuple[np.ndarray, np.ndarray]:
        """(global term, row) of chunk k's postings whose row is a first occurrence."""
        chunk = chunks[k]
        rows = chunk.post_row.astype(np.int64) + row0[k]
        keep = is_first[rows]
        return global_ids[k][chunk.post_term[keep]], keep

    df = np.zeros(n_terms, dtype=np.int64)
    for k in range(len(chunks)):
        df += np.bincount(first_occurrences(k)[0], minlength=n_terms)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    post_docs = np.empty(int(indptr[-1]), dtype=np.int32)
    post_tf = np.empty(int(indptr[-1]), dtype=np.int32)
    filled = indptr[:-1].copy()  # where each term's next postings go
    for k, chunk in enumerate(chunks):
        terms, keep = first_occurrences(k)
        counts = np.bincount(terms, minlength=n_terms)
        base = filled - (np.cumsum(counts) - counts)  # place - position within the chunk
        at = base[terms] + np.arange(len(terms))
        post_docs[at] = first_group[chunk.post_row[keep].astype(np.int64) + row0[k]]
        post_tf[at] = chunk.post_tf[keep]
        filled += counts
    del first_group, filled
    # A chunk cut from a segment (retrieval/segments.py) may name terms none of its
    # rows holds any more: they leave the vocabulary, as a full build never met them.
    used = df > 0
    if not used.all():
        df, indptr = df[used], np.r_[0, indptr[1:][used]]
        all_terms = [t for t, u in zip(all_terms, used.tolist(), strict=True) if u]
    vocab = {t: i for i, t in enumerate(all_terms)}
    del all_terms

    idf = (
        lucene_idf(df, n_docs) if params.idf == "lucene" else okapi_idf(df, n_docs, params.epsilon)
    )
    weights = bm25_impacts(post_docs, post_tf, doc_len, idf, df, params)

    text_len = np.concatenate([c.text_len for c in chunks]) if chunks else np.empty(0, np.int64)
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(text_len, out=offsets[1:])
    # The chunks' texts stay where they are, one part each (no 240 MB join at 1M
    # beside the chunks); saving streams them into one file (retrieval/store.py).
    blobs = (np.frombuffer(c.text_blob, np.uint8) for c in chunks)
    parts = tuple(blob for blob in blobs if len(blob)) or (np.empty(0, dtype=np.uint8),)
    texts = TextColumn(parts, offsets[:-1], offsets[1:])

    def column(name: str) -> np.ndarray:
        parts = [getattr(c, name) for c in chunks]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)

    return SentenceIndex(
        params=params,
        corpus_key=corpus_key,
        sources=sources,
        digests=digests,
        sent_doc=column("sent_doc"),
        sent_pos=column("sent_pos"),
        sent_start=column("sent_start"),
        sent_end=column("sent_end"),
        texts=texts,
        doc_rows=doc_rows_arr.astype(np.int32),
        dup_indptr=dup_indptr,
        dup_rows=dup_rows,
        doc_len=doc_len,
        vocab=vocab,
        idf=idf,
        indptr=indptr,
        post_docs=post_docs,
        post_weights=weights,
        post_tf=post_tf,
        doc_keys=doc_keys,
    )


def bm25_impacts(
    post_docs: np.ndarray,
    post_tf: np.ndarray,
    doc_len: np.ndarray,
    idf: np.ndarray,
    df: np.ndarray,
    params: BM25Params,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Every posting's BM25 impact, idf × tf·(k1 + 1) / (tf + k1·(1 − b + b·len/avgdl)).

    No temporary as long as the postings besides the result (each would be 145 MB
    at a million sentences). A full merge and an incremental edit both call this,
    so their impacts are equal to the last bit.
    """
    n_docs = len(doc_len)
    avgdl = float(doc_len.sum()) / n_docs if n_docs else 0.0
    # k1·(1 − b + b·len/avgdl) once per sentence, then gathered per posting.
    doc_norm = doc_len.astype(np.float64)
    if n_docs:
        doc_norm *= params.b / avgdl
        doc_norm += 1.0 - params.b
        doc_norm *= params.k1
    # Nearly every posting has tf 1 (a term rarely repeats in a sentence): its factor
    # (k1 + 1) / (1 + norm) is one per sentence, gathered; the few others are
    # computed alone (the same operations as for any tf, so the same bits). Done by
    # blocks of whole terms, ~1M postings each: block temporaries stay small, where
    # whole-array ones cost more in fresh pages than in arithmetic.
    once = np.float64(params.k1 + 1.0) / (doc_norm + 1.0)
    weights = np.empty(len(post_docs), dtype=np.float64) if out is None else out
    indptr = np.zeros(len(df) + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    firsts = np.searchsorted(indptr, np.arange(0, len(post_docs), _IMPACT_BLOCK), side="right")
    cuts = [*np.unique(firsts - 1).tolist(), len(df)] if len(post_docs) else [0, len(df)]
    for t0, t1 in itertools.pairwise(cuts):
        a, b = int(indptr[t0]), int(indptr[t1])
        block, docs, tfs = weights[a:b], post_docs[a:b], post_tf[a:b]
        np.take(once, docs, out=block)
        repeated = np.flatnonzero(tfs != 1)
        if len(repeated):
            tf = tfs[repeated].astype(np.float64)
            block[repeated] = tf * (params.k1 + 1.0) / (tf + doc_norm[docs[repeated]])
        block *= np.repeat(idf[t0:t1], df[t0:t1])
    return weights


_IMPACT_BLOCK = 1 << 20


def _group_rows(keys: bytes, n_terms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group rows by sentence identity: (row -> group or -1 for empty rows, group -> first row).

    Groups are numbered in order of their first row. Sorting the 16-byte keys
    (as two uint64 words, stably) puts equal ones together with the earliest row first.
    """
    n_rows = len(n_terms)
    row_group = np.full(n_rows, -1, dtype=np.int64)
    scored = np.flatnonzero(n_terms > 0)
    if not len(scored):
        return row_group, np.empty(0, dtype=np.int64)
    words = np.frombuffer(keys, dtype=np.uint64).reshape(n_rows, _KEY_BYTES // 8)
    head = words[scored, 0]
    # Sorting by the first 8 bytes is enough unless two different keys share them
    # (then the full 16 bytes are sorted).
    order = np.argsort(head, kind="stable")
    ordered_head = head[order]
    tail = words[scored[order], 1]
    same_head = ordered_head[1:] == ordered_head[:-1]
    if np.any(same_head & (tail[1:] != tail[:-1])):
        order = np.lexsort((words[scored, 1], head))
        ordered_head, tail = head[order], words[scored[order], 1]
        same_head = ordered_head[1:] == ordered_head[:-1]
    starts = np.r_[True, ~(same_head & (tail[1:] == tail[:-1]))]
    first_rows = scored[order[starts]]
    by_first = np.argsort(first_rows, kind="stable")
    number = np.empty(len(by_first), dtype=np.int64)
    number[by_first] = np.arange(len(by_first))
    row_group[scored[order]] = number[np.cumsum(starts) - 1]
    return row_group, first_rows[by_first]


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
