"""Corpus terms grouped by Arabic root, for matching a question word's other derivations.

Light stems keep derivations apart: "ولد", "مولود" and "ولادة", or "اكتشف" and "اكتشاف", share
no term. The ISRI root stemmer (Taghva et al. 2005, NLTK's `ISRIStemmer`, vendored in
retrieval/isri.py) maps
each to a root-like key; search treats corpus terms with the question term's key
as look-alikes at a reduced weight (retrieval/search.py), like the 3-gram ones.
A root conflates far more than a light stem does (زيار and زير share one), which
is why it only adds a fraction of a term's score and coverage.

The map covers the `ROOT_VOCAB` most frequent terms of the index, so building it
stays bounded (18 µs a term) on a large corpus; rarer terms are matched by their
light stem only.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from retrieval.index import SentenceIndex
from retrieval.isri import ISRIStemmer

ROOTS_KEY = "roots"  # where the map is kept in index.derived
ROOT_VOCAB = 100_000
# Forms of one root offered per question term, the most frequent first.
ROOT_LIMIT = 10


_STEMMER = ISRIStemmer()


@lru_cache(maxsize=1 << 18)  # bounded: a large corpus has millions of forms
def root_of(term: str) -> str:
    """The ISRI root key of an index term ('' for short or non-Arabic terms)."""
    if len(term) < 3 or not ("\u0621" <= term[0] <= "\u064a"):
        return ""
    return _STEMMER.stem(term)


def roots_of(index: SentenceIndex) -> dict[str, tuple[int, ...]]:
    """root key → term ids of the index, most frequent first; built once per index."""
    cached = index.derived.get(ROOTS_KEY)
    if cached is None:
        cached = index.derived[ROOTS_KEY] = _build(index)
    return cached  # type: ignore[return-value]


def _build(index: SentenceIndex) -> dict[str, tuple[int, ...]]:
    terms = list(index.vocab)
    ids = np.fromiter(index.vocab.values(), dtype=np.int64, count=len(terms))
    # Most frequent = lowest IDF; ties by term id, so the map is deterministic.
    order = np.lexsort((ids, np.asarray(index.idf, dtype=np.float64)[ids]))[:ROOT_VOCAB]
    roots: dict[str, list[int]] = {}
    for at in order:
        key = root_of(terms[at])
        if key:
            roots.setdefault(key, []).append(int(ids[at]))
    return {key: tuple(found[:ROOT_LIMIT]) for key, found in roots.items()}
