"""Who ran this sentence: every document holding it, or a near-duplicate of it.

Outlets rewrite agency copy lightly: a word changed, a name spelled another way,
punctuation moved. Two sentences count as the same copy when the Jaccard
similarity of their word shingles (sets of analyzed terms, `retrieval.normalize.
analyze`: hamza, alef, teh marbuta, diacritics, punctuation, stop words and light
stemming already made equal) reaches THRESHOLD, measured by benchmarks/neardup.py
(docs/neardup.md).

No extra index is kept. Candidates come from the BM25 index's postings by prefix
filtering (Chaudhuri et al., "A primitive operator for similarity joins", 2006):
a sentence whose term set S has Jaccard(Q, S) ≥ t with the quote's set Q shares
at least ⌈t·|Q|⌉ of Q's terms, so it must hold one of any |Q| − ⌈t·|Q|⌉ + 1 of
them; taking the rarest ones reads the shortest postings and misses nothing. The
candidates' shared-term counts (one probe per quote term) drop those that cannot
reach t, the best MAX_CANDIDATES left are analyzed again and their similarity
computed exactly. Identical sentences are one entry of the index that lists every
row holding them, so an exact copy in a hundred outlets is one candidate.

Why not MinHash LSH (datasketch): it estimates what is computed here exactly, its
band tables would have to be stored with the index and edited by every
incremental update, and datasketch imports scipy, which the image does not carry.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.dates import earliest_first, parse_date
from retrieval.index import SentenceIndex
from retrieval.models import Sentence, Source
from retrieval.normalize import analyze, analyze_keyed, normalize, tokenize
from retrieval.outlet_order import group_by_outlet

# Measured on rewritten agency sentences and same-topic sentences (benchmarks/neardup.py).
THRESHOLD = 0.6
SHINGLE_SIZE = 1  # word 1-grams of analyzed terms: measured better than 2-grams
MIN_WORDS = 3  # a shorter text matches too much to say who ran it
MAX_CHARACTERS = 1000  # about three long news sentences; a whole article is refused
MAX_CANDIDATES = 2000  # sentences whose similarity is computed, best shared-term count first
MAX_COPIES = 5000  # documents listed; a boilerplate line may sit in every file


@dataclass(frozen=True, slots=True)
class Copy:
    """One document that ran the sentence (or a near-duplicate of it)."""

    source: Source
    sentence: Sentence
    similarity: float  # Jaccard of the shingle sets; 1.0 for the same analyzed text

    @property
    def doc(self) -> str:
        return self.source.doc

    @property
    def outlet(self) -> str | None:
        return self.source.outlet

    @property
    def date(self) -> str | None:
        return self.source.date

    @property
    def url(self) -> str | None:
        return self.source.url

    @property
    def day(self) -> dt.date | None:
        return parse_date(self.source.date)


@dataclass(frozen=True, slots=True)
class OutletCopies:
    """The copies one outlet ran, earliest first (undated last)."""

    outlet: str | None
    copies: tuple[Copy, ...]

    @property
    def first(self) -> dt.date | None:
        return self.copies[0].day


@dataclass(frozen=True, slots=True)
class WhoRan:
    """The answer to "who ran this?": every copy found, earliest date first."""

    text: str
    terms: tuple[str, ...]
    copies: tuple[Copy, ...]
    candidates: int  # sentences whose similarity was computed
    truncated: bool  # more candidates (or copies) existed than were looked at

    def by_outlet(self) -> list[OutletCopies]:
        """The copies by outlet, the outlet that ran it first on top (undated last).

        Outlets first dated the same day: the one holding the closest copy first (an
        exact copy before a rewrite), then as `copies` lists them
        (retrieval/outlet_order.py)."""
        closest_first = sorted(self.copies, key=lambda copy: -copy.similarity)
        return [OutletCopies(o, found) for o, found in group_by_outlet(closest_first, _source)]


def word_count(text: str) -> int:
    """Words of `text` as the index sees them (punctuation and marks dropped)."""
    return len(tokenize(normalize(text)))


def shingles(terms: Sequence[str], size: int = SHINGLE_SIZE) -> frozenset[tuple[str, ...]]:
    """The set of `size` consecutive terms (a text shorter than that is one shingle)."""
    if size < 1:
        raise ValueError(f"shingle size must be at least 1, not {size}")
    if len(terms) <= size:
        return frozenset({tuple(terms)}) if terms else frozenset()
    return frozenset(tuple(terms[i : i + size]) for i in range(len(terms) - size + 1))


def jaccard(a: Iterable[object], b: Iterable[object]) -> float:
    """|A ∩ B| / |A ∪ B|; 0.0 when both are empty (nothing to compare is no match)."""
    a, b = set(a), set(b)
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def similarity(a_terms: Sequence[str], b_terms: Sequence[str], size: int = SHINGLE_SIZE) -> float:
    """Jaccard similarity of two analyzed sentences' shingles."""
    return jaccard(shingles(a_terms, size), shingles(b_terms, size))


def find_near_duplicates(
    index: SentenceIndex,
    text: str,
    threshold: float = THRESHOLD,
    max_candidates: int = MAX_CANDIDATES,
    size: int = SHINGLE_SIZE,
) -> WhoRan:
    """Every document holding `text` or a sentence whose similarity to it reaches
    `threshold`, earliest date first; one entry per document (its most similar sentence).
    """
    terms = analyze(text)
    candidates, truncated = candidate_sentences(index, terms, threshold, max_candidates)
    query = shingles(terms, size)
    found: dict[str, Copy] = {}
    for doc_id in candidates.tolist():
        row = int(index.doc_rows[doc_id])
        score = jaccard(query, shingles(analyze_keyed(index.texts[row])[0], size))
        if score < threshold:
            continue
        for row in index.rows_of(doc_id).tolist():
            source = index.sources[int(index.sent_doc[row])]
            kept = found.get(source.doc)
            if kept is None or score > kept.similarity:
                found[source.doc] = Copy(source, index.sentence(row), score)
    copies = sorted(found.values(), key=_earliest_first)
    if len(copies) > MAX_COPIES:
        copies, truncated = copies[:MAX_COPIES], True
    return WhoRan(text, tuple(terms), tuple(copies), len(candidates), truncated)


def candidate_sentences(
    index: SentenceIndex, terms: Sequence[str], threshold: float, limit: int = MAX_CANDIDATES
) -> tuple[np.ndarray, bool]:
    """(bm25 doc ids that may reach `threshold` with `terms`, whether `limit` cut them).

    Exact for 1-gram Jaccard (module docstring): a sentence left out cannot reach
    the threshold. With `limit`, the ones sharing most of the quote's terms are kept.
    """
    query = list(dict.fromkeys(terms))
    empty = np.empty(0, dtype=np.int64)
    if not query or not 0 < threshold <= 1:
        return empty, False
    need = math.ceil(threshold * len(query) - 1e-9)  # shared terms a match must have
    known = sorted(
        (int(index.indptr[i + 1] - index.indptr[i]), i) for i in index.term_ids(query)
    )  # rarest first
    unknown = len(query) - len(known)  # terms no sentence holds: never shared
    prefix = len(query) - need + 1 - unknown
    if prefix <= 0:
        return empty, False
    docs = np.unique(np.concatenate([index.postings(i)[0] for _, i in known[:prefix]]))
    shared = np.zeros(len(docs), dtype=np.int32)
    for _, term_id in known:
        shared += index.contains(term_id, docs)
    keep = shared >= need
    docs, shared = docs[keep], shared[keep]
    if len(docs) <= limit:
        return docs.astype(np.int64), False
    best = np.lexsort((docs, -shared))[:limit]
    return docs[best].astype(np.int64), True


def _earliest_first(copy: Copy) -> tuple[bool, dt.date, str]:
    return earliest_first(copy.source)


def _source(copy: Copy) -> Source:
    return copy.source
