"""Corpus terms grouped by Arabic root, for matching a question word's other derivations.

Light stems keep derivations apart: "ولد", "مولود" and "ولادة", or "اكتشف" and "اكتشاف", share
no term. The ISRI root stemmer (Taghva et al. 2005, NLTK's `ISRIStemmer`, vendored in
retrieval/isri.py) maps
each to a root-like key; search treats corpus terms with the question term's key
as look-alikes at a reduced weight (retrieval/search.py), like the 3-gram ones.
A root conflates far more than a light stem does (زيار and زير share one), which
is why it only adds a fraction of a term's score and coverage.

The map covers the `ROOT_VOCAB` most frequent terms of the index, so building it
stays bounded (13–18 µs a term) on a large corpus; rarer terms are matched by their
light stem only. Stemming is what costs (1.5 s at a million sentences), so the map
keeps each term's root key (`RootMap.term_keys`) and is stored with the index
(retrieval/store.py); an incremental update (`updated_roots`) stems only the terms
whose key it does not know yet and regroups the rest with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from retrieval.index import SentenceIndex
from retrieval.isri import ISRIStemmer

ROOTS_KEY = "roots"  # where the map is kept in index.derived
ROOT_VOCAB = 100_000
# Forms of one root offered per question term, the most frequent first.
ROOT_LIMIT = 10
NO_ROOT = -1  # term_keys: the term has no root key (short or non-Arabic)
UNKNOWN = -2  # term_keys: not stemmed (outside the most frequent terms when the map was made)


_STEMMER = ISRIStemmer()


@lru_cache(maxsize=1 << 18)  # bounded: a large corpus has millions of forms
def root_of(term: str) -> str:
    """The ISRI root key of an index term ('' for short or non-Arabic terms)."""
    if len(term) < 3 or not ("\u0621" <= term[0] <= "\u064a"):
        return ""
    return _STEMMER.stem(term)


@dataclass(frozen=True, slots=True)
class RootMap:
    """root key → term ids of the index (CSR, most frequent first, at most ROOT_LIMIT),
    and the root key number of every term that was stemmed (the stemming cache)."""

    keys: list[str]  # root key by number
    indptr: np.ndarray  # int64, len(keys) + 1
    terms: np.ndarray  # int32 term ids
    term_keys: np.ndarray  # int32 per term id: key number, NO_ROOT or UNKNOWN
    key_ids: dict[str, int]  # root key → number

    def get(self, key: str, default: tuple[int, ...] = ()) -> tuple[int, ...]:
        """Term ids of the root `key`, the most frequent first (`default` if none)."""
        number = self.key_ids.get(key)
        if number is None or self.indptr[number] == self.indptr[number + 1]:
            return default
        return tuple(self.terms[self.indptr[number] : self.indptr[number + 1]].tolist())

    def as_dict(self) -> dict[str, tuple[int, ...]]:
        """Every root key holding a term, with its term ids: how two maps compare."""
        return {key: found for key in self.keys if (found := self.get(key))}


def roots_of(index: SentenceIndex) -> RootMap:
    """The root map of `index`; built (every listed term stemmed) on first need."""
    cached = index.derived.get(ROOTS_KEY)
    if cached is None:
        cached = index.derived[ROOTS_KEY] = _assemble(
            index, np.full(len(index.vocab), UNKNOWN, dtype=np.int32), {}
        )
    return cached  # type: ignore[return-value]


def updated_roots(old_vocab: dict[str, int], old: RootMap, index: SentenceIndex) -> RootMap:
    """The root map of `index`, reusing the root keys `old` (of vocabulary `old_vocab`) knows.

    Equal, as `as_dict()`, to `roots_of` on the same index built from scratch: the
    most frequent terms are chosen again from the new IDF, and only those with no
    known key are stemmed (the few terms an update adds, or that become frequent).
    Key numbers may differ from a fresh map's; keys of removed terms stay empty.
    """
    vocab = index.vocab
    old_ids = np.fromiter(old_vocab.values(), dtype=np.int64, count=len(old_vocab))
    new_ids = np.fromiter((vocab.get(t, -1) for t in old_vocab), np.int64, len(old_vocab))
    kept = new_ids >= 0
    term_keys = np.full(len(vocab), UNKNOWN, dtype=np.int32)
    term_keys[new_ids[kept]] = old.term_keys[old_ids[kept]]
    return _assemble(index, term_keys, dict(old.key_ids))


def _assemble(index: SentenceIndex, term_keys: np.ndarray, key_ids: dict[str, int]) -> RootMap:
    """Choose the ROOT_VOCAB most frequent terms, stem those with an UNKNOWN key
    (`term_keys` and `key_ids` are filled in), and group them by key."""
    n_terms = len(term_keys)
    # Most frequent = lowest IDF; ties by term id, so the map is deterministic.
    idf = np.asarray(index.idf, dtype=np.float64)
    top = np.lexsort((np.arange(n_terms), idf))[:ROOT_VOCAB]
    missing = top[term_keys[top] == UNKNOWN]
    if len(missing):
        by_id = [""] * n_terms
        for term, term_id in index.vocab.items():
            by_id[term_id] = term
        for term_id in missing.tolist():
            key = root_of(by_id[term_id])
            term_keys[term_id] = key_ids.setdefault(key, len(key_ids)) if key else NO_ROOT
    keys = sorted(key_ids, key=key_ids.__getitem__)
    chosen = top[term_keys[top] >= 0]
    chosen_keys = term_keys[chosen]
    order = np.argsort(chosen_keys, kind="stable")  # within a key: most frequent first
    grouped, grouped_keys = chosen[order], chosen_keys[order]
    counts = np.bincount(grouped_keys, minlength=len(keys))
    starts = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    rank = np.arange(len(grouped)) - starts[grouped_keys]
    keep = rank < ROOT_LIMIT
    indptr = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(np.minimum(counts, ROOT_LIMIT), out=indptr[1:])
    return RootMap(keys, indptr, grouped[keep].astype(np.int32), term_keys, key_ids)
