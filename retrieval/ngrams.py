"""Corpus terms that look like a question term: character n-grams over the vocabulary.

Light stemming leaves many forms of one word apart: clitics it does not strip
("قمتهما" / "قمة"), hamza seats ("فضائية" / "الفضاء"), verb and noun forms
("سيزور" / "زيارة"), transliterations ("فوستوتشني" / "فوستوشني"). Within-word
character n-grams see that such forms share most of their letters. Rather than a
second, n-gram-sized BM25 index, this keeps a small map from each n-gram of the
vocabulary's terms to the terms holding it (built once per index from the vocabulary
alone, kept on the index like the context field). A query looks up only the n-grams of
its own terms and gets the corpus terms whose n-gram sets are most alike (Dice
coefficient); search scores those at a lower weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.index import SentenceIndex

NGRAMS_KEY = "ngrams"
N = 3


def grams(term: str, n: int = N) -> list[str]:
    """Distinct character n-grams of `term` padded with word boundaries ("#قمه#")."""
    padded = f"#{term}#"
    return list(dict.fromkeys(padded[i : i + n] for i in range(len(padded) - n + 1)))


@dataclass(frozen=True, slots=True)
class NgramVocab:
    """n-gram → vocabulary term ids (CSR), and each term's number of distinct n-grams."""

    gram_ids: dict[str, int]
    indptr: np.ndarray  # int64, n_grams + 1
    terms: np.ndarray  # int32 term ids, ascending within a gram
    sizes: np.ndarray  # int32 per term id: its number of distinct n-grams

    def similar(self, term: str, min_dice: float, limit: int) -> list[tuple[int, float]]:
        """Up to `limit` (term id, Dice) of vocabulary terms most like `term`, best first."""
        own = [self.gram_ids[g] for g in grams(term) if g in self.gram_ids]
        if not own:
            return []
        parts = [self.terms[self.indptr[g] : self.indptr[g + 1]] for g in own]
        ids, shared = np.unique(np.concatenate(parts), return_counts=True)
        dice = 2.0 * shared / (len(grams(term)) + self.sizes[ids])
        keep = dice >= min_dice
        ids, dice = ids[keep], dice[keep]
        order = np.argsort(-dice, kind="stable")[:limit]
        return [(int(ids[i]), float(dice[i])) for i in order]


def ngrams_of(index: SentenceIndex) -> NgramVocab:
    """The n-gram map of `index`'s vocabulary, built on first use and kept with the index."""
    cached = index.derived.get(NGRAMS_KEY)
    if cached is None:
        cached = index.derived[NGRAMS_KEY] = build_ngrams(index.vocab)
    return cached  # type: ignore[return-value]


def build_ngrams(vocab: dict[str, int]) -> NgramVocab:
    gram_ids: dict[str, int] = {}
    pair_grams: list[int] = []
    pair_terms: list[int] = []
    sizes = np.zeros(len(vocab), dtype=np.int32)
    for term, term_id in vocab.items():
        own = grams(term)
        sizes[term_id] = len(own)
        for gram in own:
            pair_grams.append(gram_ids.setdefault(gram, len(gram_ids)))
            pair_terms.append(term_id)
    g = np.asarray(pair_grams, dtype=np.int64)
    t = np.asarray(pair_terms, dtype=np.int32)
    order = np.lexsort((t, g))
    indptr = np.zeros(len(gram_ids) + 1, dtype=np.int64)
    np.cumsum(np.bincount(g, minlength=len(gram_ids)), out=indptr[1:])
    return NgramVocab(gram_ids, indptr, t[order], sizes)


def updated_ngrams(old_terms: list[str], old: NgramVocab, vocab: dict[str, int]) -> NgramVocab:
    """The n-gram map of `vocab`, from the map of an earlier vocabulary `old_terms`.

    Only terms the old vocabulary lacked are cut into n-grams (an incremental
    update adds a few; the whole vocabulary is ~1 s of Python at a million
    sentences). Gram numbers may differ from `build_ngrams(vocab)`'s and grams of
    removed terms stay with no terms; `similar` answers exactly the same.
    """
    new_id = np.fromiter((vocab.get(t, -1) for t in old_terms), np.int64, len(old_terms))
    pair_gram = np.repeat(np.arange(len(old.indptr) - 1, dtype=np.int64), np.diff(old.indptr))
    pair_term = new_id[old.terms]
    kept = pair_term >= 0
    sizes = np.zeros(len(vocab), dtype=np.int32)
    survived = new_id >= 0
    sizes[new_id[survived]] = old.sizes[survived]
    gram_ids = dict(old.gram_ids)
    known = set(old_terms)
    extra_grams: list[int] = []
    extra_terms: list[int] = []
    for term, term_id in vocab.items():
        if term in known:
            continue
        own = grams(term)
        sizes[term_id] = len(own)
        for gram in own:
            extra_grams.append(gram_ids.setdefault(gram, len(gram_ids)))
            extra_terms.append(term_id)
    g = np.concatenate([pair_gram[kept], np.asarray(extra_grams, dtype=np.int64)])
    t = np.concatenate([pair_term[kept], np.asarray(extra_terms, dtype=np.int64)]).astype(np.int32)
    order = np.lexsort((t, g))
    indptr = np.zeros(len(gram_ids) + 1, dtype=np.int64)
    np.cumsum(np.bincount(g, minlength=len(gram_ids)), out=indptr[1:])
    return NgramVocab(gram_ids, indptr, t[order], sizes)
