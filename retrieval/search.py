"""Answering a question: analyze it, score sentences, keep the relevant ones, cite them.

Candidates are the sentences holding at least one question term (or a corpus
spelling of it: جونج/جونغ, بقاعدة→قاعدة, see retrieval/variants.py) or a corpus
term that looks like one (below). Their score:

    BM25 (exactly rank-bm25's BM25Okapi over unique sentences, `index.score`)
  + context_weight × IDF of each question term found in the sentence's context
    (document title, previous and next sentence; retrieval/context.py)
  + evidence_weight × mean question-term IDF when the question asks where / when /
    how many and the sentence names a place / date / number (retrieval/qtype.py)
  + ngram_weight × Dice × BM25 of corpus terms that look like a question term
    (character 3-grams: "قمتهما"/"قمة", "سيزور"/"يزور"; retrieval/ngrams.py) or
    share its root (ISRI; "ولد"/"مولود", counted with Dice = root_similarity;
    retrieval/arabic_roots.py)

Relevance rule: a sentence is returned only if it holds enough of the question.
Each distinct question term weighs its IDF (a term no sentence holds weighs the
most a term can); a sentence's *coverage* is the share of that weight found in
the sentence or its context (`context_coverage` of it when only the context has
it; `ngram_coverage` × Dice of it when only a look-alike term matches).
Sentences under `min_coverage` are dropped, so a question about something the
corpus never mentions gets no hits instead of the best of the noise, and a
sentence matching only a common word ("روسيا") does not answer a question about
the interpreter's name. The answer-kind bonus never counts toward coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.answerability import ANSWER, NONE, RELATED, Answerability, AnswerRule, Outcome
from retrieval.arabic_roots import root_of, roots_of
from retrieval.context import compiled_evidence, context_of, context_weights
from retrieval.features import Candidates
from retrieval.index import SentenceIndex, missing_term_idf
from retrieval.models import Hit
from retrieval.ngrams import ngrams_of
from retrieval.normalize import analyze, analyze_keyed, iter_word_spans
from retrieval.qtype import Asks, asks_for, evidence_flags
from retrieval.rerank import Reranker, default_ranker, rerank_head
from retrieval.synonyms import synonyms_of
from retrieval.variants import clitic_variants, spelling_variants

DEFAULT_MIN_COVERAGE = 0.3
# Answer-kind evidence counts when one of this many best hits carries it.
KIND_FROM_TOP = 3
# Candidates (best by BM25) whose extra evidence is looked up first; see _best_relevant.
FIRST_CANDIDATES = 64
# Slack for float rounding when a bound is compared with a computed score.
ROUNDING = 1e-9
# Deep-search candidates left under the loose context bound past which the
# neighbour check (_context_possible) pays for itself.
CONTEXT_CHECK_FROM = 1024
# Keys sampled to pick the first batch's threshold (_best_positions).
SAMPLE = 4096


@dataclass(frozen=True, slots=True)
class SearchResult:
    question: str
    terms: tuple[str, ...]  # the analyzed question, as searched
    hits: list[Hit]
    has_more: bool  # more relevant hits exist past this page
    # "answer", "related" (hits shown as related, not as the answer) or "none" (no hits);
    # decided on the best hit of the question, so every page of it says the same.
    outcome: Outcome = NONE
    answerability: Answerability | None = None


@dataclass(frozen=True, slots=True)
class _TermGroup:
    """A question term and the spellings of it the corpus uses (جونج / جونغ)."""

    term: str
    term_ids: tuple[int, ...]
    weight: float


@dataclass(frozen=True, slots=True)
class Ranking:
    """Weights of the evidence added to a sentence's own BM25 score (see module docstring).

    `Ranking.plain()` turns every extra signal off: the score is then exactly BM25.
    Defaults were measured on ARCD dev (benchmarks/quality.md).
    """

    context_weight: float = 0.3  # score per question term in the context, × its IDF
    context_coverage: float = 1.0  # share of a term's weight a context-only match covers
    context_all_terms: bool = True  # context also scores terms the sentence holds itself
    evidence_weight: float = 1.2  # bonus, × the question's mean term IDF, for answer-kind evidence
    ngram_weight: float = 0.5  # BM25 of a look-alike corpus term (retrieval/ngrams.py), × Dice
    ngram_min_dice: float = 0.5  # how alike (3-gram Dice) a corpus term must be to count
    ngram_limit: int = 5  # look-alikes per question term, most alike first
    ngram_coverage: float = 0.5  # share of a term's weight a look-alike match covers, × Dice
    root_similarity: float = 0.7  # the "Dice" given to a same-root term (retrieval/arabic_roots.py)
    # Corpus word-vector neighbours (retrieval/synonyms.py) as look-alikes, "Dice" =
    # synonym_similarity × cosine; 0 turns them off.
    synonym_similarity: float = 0.0
    synonym_min_cosine: float = 0.6
    synonym_limit: int = 3
    rerank: bool = True  # re-order the best candidates with the learned model (retrieval/rerank.py)

    @classmethod
    def plain(cls) -> Ranking:
        return cls(0.0, 0.0, False, 0.0, 0.0, ngram_coverage=0.0, root_similarity=0.0, rerank=False)


DEFAULT_RANKING = Ranking()
DEFAULT_ANSWER_RULE = AnswerRule(min_held=0.3)


def search(
    index: SentenceIndex,
    question: str,
    k: int = 5,
    offset: int = 0,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
    ranking: Ranking = DEFAULT_RANKING,
    answer_rule: AnswerRule = DEFAULT_ANSWER_RULE,
    allowed: np.ndarray | None = None,
    reranker: Reranker | None = None,
) -> SearchResult:
    """The relevant hits ranked offset+1 … offset+k for `question`.

    `allowed` (bool per `index.sources`, retrieval/filters.py) keeps only the candidates
    some allowed document holds, before anything is ranked, and hits cite only those
    documents; None searches everything. `reranker` replaces the shipped model of
    retrieval/rerank.py (used when `ranking.rerank`).
    """
    terms = analyze(question)
    groups = _term_groups(index, terms)
    query_ids = [tid for term in terms for tid in _ids_for(index, term)]
    alike = _look_alikes(index, groups, ranking)
    base_ids, base_weights = _base_terms(query_ids, alike, ranking)
    asked = asks_for(question) if groups else None
    kind = asked if ranking.evidence_weight > 0 else None
    if not ranking.rerank:
        reranker = None
    elif reranker is None:
        reranker = default_ranker()
    docs, scores = _best_relevant(
        index,
        groups,
        alike,
        base_ids,
        base_weights,
        ranking,
        kind,
        min_coverage,
        max(offset + k + 1, reranker.depth if reranker else 0),
        allowed,
    )
    if len(docs) == 0:
        return SearchResult(question, tuple(terms), [], False)
    # The outcome reads the first stage's best: the answer rule was set on its evidence.
    best = _answerability(index, groups, alike, docs[:KIND_FROM_TOP], ranking, asked)
    if reranker is not None:
        candidates = _candidates(index, terms, groups, alike, docs, scores, asked)
        docs, scores = rerank_head(reranker, candidates)
    page_docs = docs[offset : offset + k]
    matched = _highlight_terms(index, terms)
    hits = [
        _hit(index, offset + i + 1, float(scores[offset + i]), int(doc), matched, allowed)
        for i, doc in enumerate(page_docs)
    ]
    outcome = best.outcome(answer_rule) if hits else NONE
    if outcome == ANSWER and reranker is not None and scores[0] < reranker.related_under:
        outcome = RELATED  # the model doubts even its best sentence
    return SearchResult(question, tuple(terms), hits, len(docs) > offset + k, outcome, best)


def _candidates(
    index: SentenceIndex,
    terms: list[str],
    groups: list[_TermGroup],
    alike: list[tuple[int, int, float]],
    docs: np.ndarray,
    scores: np.ndarray,
    kind: Asks | None,
) -> Candidates:
    weights = np.asarray([g.weight for g in groups], dtype=np.float64)
    return Candidates(
        index,
        tuple(terms),
        tuple(g.term for g in groups),
        tuple(g.term_ids for g in groups),
        weights,
        tuple(alike),
        docs,
        scores,
        kind,
    )


def _answerability(
    index: SentenceIndex,
    groups: list[_TermGroup],
    alike: list[tuple[int, int, float]],
    top: np.ndarray,
    ranking: Ranking,
    kind: Asks | None,
) -> Answerability:
    """The evidence of the best sentence (and the kind evidence of the `top` few) for
    retrieval/answerability.py."""
    docs = top[:1]
    own, ctx = _evidence(index, groups, docs, ranking)
    held = np.maximum(own, _alike_held(index, groups, alike, docs, own))[:, 0]  # 1, or a Dice
    weights = np.asarray([g.weight for g in groups], dtype=np.float64)
    total = float(weights.sum()) or 1.0
    unmatched = (held == 0) & ~ctx[:, 0]
    known = [g for g, group in enumerate(groups) if group.term_ids]
    resembled = {g for g, _, _ in alike}
    unknown = [g for g in range(len(groups)) if g not in known and g not in resembled]
    focus = max(known, key=lambda g: weights[g]) if known else None
    return Answerability(
        held=float(weights @ held) / total,
        coverage=float(weights @ np.maximum(held, ctx[:, 0])) / total,
        missing=float(weights[unmatched].max(initial=0.0)) / total,
        focus_held=bool(focus is not None and held[focus] >= ranking.ngram_min_dice),
        known=focus is not None,
        unknown=float(weights[unknown].sum()) / total,
        kind_held=bool(evidence_flags(index)[kind][top].any()) if kind is not None else None,
    )


def _base_terms(
    query_ids: list[int], alike: list[tuple[int, int, float]], ranking: Ranking
) -> tuple[list[int], list[float]]:
    """Terms and multipliers of the base score: BM25 of the question's terms (× 1) plus
    `ngram_weight` × Dice × BM25 of each look-alike term."""
    ids = list(query_ids) + [term_id for _, term_id, _ in alike]
    weights = [1.0] * len(query_ids) + [ranking.ngram_weight * dice for _, _, dice in alike]
    return ids, weights


def _best_relevant(
    index: SentenceIndex,
    groups: list[_TermGroup],
    alike: list[tuple[int, int, float]],
    base_ids: list[int],
    base_weights: list[float],
    ranking: Ranking,
    kind: Asks | None,
    min_coverage: float,
    need: int,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The `need` best relevant candidates and their final scores, best first.

    Exactly the head of ranking every candidate, but only the candidates that could
    make it are looked up for context and look-alike evidence: the best by base
    score (BM25 + look-alikes) + answer-kind bonus first, then, in one pass, every
    other one that the context bonus could still lift above the last kept. At a
    million sentences a question has tens of thousands of candidates, and looking
    them all up was most of its time.
    """
    total = sum(g.weight for g in groups)
    context_bound = max(ranking.context_weight, 0.0) * total
    kind_bonus = max(ranking.evidence_weight, 0.0) * total / len(groups) if kind else 0.0

    def ranked(
        docs: np.ndarray, base: np.ndarray, kept: np.ndarray, kept_scores: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        scores, keep = _final_scores(index, groups, alike, docs, base, ranking, kind, min_coverage)
        kept = np.concatenate((kept, docs[keep]))
        kept_scores = np.concatenate((kept_scores, scores[keep]))
        order = np.lexsort((kept, -kept_scores))[:need]
        return kept[order], kept_scores[order]

    nothing = np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float64)
    docs, base = index.score(base_ids, base_weights)
    if allowed is not None:  # filtered before ranking: the head is the filtered head
        keep = held_by_allowed(index, allowed, docs)
        docs, base = docs[keep], base[keep]
    # Every candidate's answer-kind bonus is one array read and its context bonus at
    # most `context_bound`. The best candidates by base + answer kind are looked up
    # first; their kept ones are real hits, so a candidate whose base + both bonuses
    # stays under the `need`-th of them cannot make the head. The rest are scored
    # exactly in one pass, so each term's postings are marked once
    # (`SentenceIndex.contains`), not once per growing batch.
    upper = base
    if kind is not None and kind_bonus > 0:
        upper = base + kind_bonus * evidence_flags(index)[kind][docs]
    first = _best_positions(upper, max(FIRST_CANDIDATES, 8 * need))
    kept, kept_scores = ranked(docs[first], base[first], *nothing)
    rest = np.ones(len(docs), dtype=bool)
    rest[first] = False
    if len(kept_scores) >= need:
        floor = float(kept_scores[-1]) - ROUNDING
        rest &= upper + context_bound >= floor
        alive = np.flatnonzero(rest)
        if len(alive) > CONTEXT_CHECK_FROM:  # many left: drop those no context can reach
            bound = _context_bounds(index, groups, docs, docs[alive], ranking, context_bound)
            alive = alive[upper[alive] + bound >= floor]
    else:
        alive = np.flatnonzero(rest)
    return ranked(docs[alive], base[alive], kept, kept_scores)


def _best_positions(keys: np.ndarray, n: int) -> np.ndarray:
    """Positions of at least the `n` highest `keys` (all of them if fewer), in no order.

    Any such batch keeps the ranking exact; a threshold read off a strided sample
    (aimed at about 2n) is a fraction of the cost of partitioning every key.
    """
    if n >= len(keys):
        return np.arange(len(keys))
    step = len(keys) // SAMPLE
    if step > 1:
        sample = keys[::step]
        rank = min(len(sample) - 1, 2 * n // step)
        guess = np.partition(sample, len(sample) - 1 - rank)[len(sample) - 1 - rank]
        at = np.flatnonzero(keys >= guess)
        if n <= len(at) <= 16 * n:  # else (ties, a skewed sample) partition exactly
            return at
    nth = keys[np.argpartition(-keys, n - 1)[n - 1]]
    return np.flatnonzero(keys >= nth)


def _context_bounds(
    index: SentenceIndex,
    groups: list[_TermGroup],
    candidates: np.ndarray,
    docs: np.ndarray,
    ranking: Ranking,
    context_bound: float,
) -> np.ndarray:
    """The most context bonus each of `docs` can get.

    Compiled (and at most 64 question spellings): the context weight of the groups
    actually found in its context, plus rounding slack, as the kernel sums in another
    order than the final score. Else `context_bound` where a context is possible at
    all (`_context_possible`), 0 elsewhere.
    """
    terms = [(g, t) for g, group in enumerate(groups) for t in group.term_ids]
    if index.kernels() is None or len(terms) > 64 or ranking.context_weight <= 0:
        return context_bound * _context_possible(index, groups, candidates, docs, ranking)
    weights = np.asarray([g.weight for g in groups], dtype=np.float64)
    found = context_weights(index, context_of(index), docs, terms, weights)
    return ranking.context_weight * found * (1 + ROUNDING) + ROUNDING


def _context_possible(
    index: SentenceIndex,
    groups: list[_TermGroup],
    candidates: np.ndarray,
    docs: np.ndarray,
    ranking: Ranking,
) -> np.ndarray:
    """Which of `docs` can have a question term in their context at all.

    `candidates` are every sentence holding a question term, so a neighbour holding
    one is itself a candidate: a sentence whose previous and next sentence are not,
    and whose document's title holds no question term, gets no context bonus. A few
    array reads per sentence, where the exact context costs three per term.
    """
    if ranking.context_weight <= 0:
        return np.zeros(len(docs), dtype=bool)
    context = context_of(index)
    n = len(docs)
    kernels = index.kernels()
    if kernels is not None:
        scratch, generation = index.marks(1)
        ro = kernels.readonly
        possible = kernels.neighbour_marked(
            candidates,
            docs,
            ro(context.prev_doc),
            ro(context.next_doc),
            scratch.marks,
            generation + 1,
        )
    else:
        around = index.marked_in(
            candidates, np.concatenate((context.prev_doc[docs], context.next_doc[docs]))
        )
        possible = around[:n] | around[n:]
    titled = [context.title_postings(t) for g in groups for t in g.term_ids]
    titled = [t for t in titled if len(t)]
    if titled:
        in_title = np.zeros(len(index.sources), dtype=bool)
        in_title[np.concatenate(titled)] = True
        possible |= in_title[context.doc_source[docs]]
    return possible


def _final_scores(
    index: SentenceIndex,
    groups: list[_TermGroup],
    alike: list[tuple[int, int, float]],
    docs: np.ndarray,
    base: np.ndarray,
    ranking: Ranking,
    kind: Asks | None,
    min_coverage: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(score, relevant) of each candidate: base score plus context and answer-kind
    evidence, and whether its coverage reaches `min_coverage`.

    Look-alike terms add coverage only, so they are looked up only for candidates
    their answer could change: under `min_coverage` without them, yet able to reach
    it with the best look-alike of every term they miss. On a slow question that
    spares most of ~70 look-alike probes for each of tens of thousands of candidates.
    """
    own, ctx = _evidence(index, groups, docs, ranking)
    scores = base + ranking.context_weight * (
        _weighted(groups, ctx) if ranking.context_all_terms else _weighted(groups, ctx & ~own)
    )
    total = sum(g.weight for g in groups)
    if kind is not None:
        flags = evidence_flags(index)[kind][docs]
        scores = scores + ranking.evidence_weight * (total / len(groups)) * flags
    if total <= 0:
        return scores, np.ones(len(docs)) >= min_coverage

    # Coverage: (own + context_coverage × context-only + look-alike weight) / total.
    held = _weighted(groups, own) + ranking.context_coverage * _weighted(groups, ctx & ~own)
    relevant = held / total >= min_coverage
    if not alike or ranking.ngram_coverage <= 0:
        return scores, relevant
    best = np.zeros(len(groups))
    for g, _, dice in alike:
        best[g] = max(best[g], dice)
    weights = np.asarray([g.weight for g in groups], dtype=np.float64)
    reach = held + (ranking.ngram_coverage * best * weights) @ ~own
    open_ = ~relevant & ((reach * (1 + ROUNDING) + ROUNDING) / total >= min_coverage)
    if open_.any():
        at = np.flatnonzero(open_)
        own, ctx = own[:, at], ctx[:, at]
        partial = ranking.ngram_coverage * _alike_held(index, groups, alike, docs[at], own)
        coverage = (
            _weighted(groups, own)
            + ranking.context_coverage * _weighted(groups, ctx & ~own)
            + _weighted(groups, partial)
        ) / total
        relevant[at] = coverage >= min_coverage
    return scores, relevant


def _look_alikes(
    index: SentenceIndex, groups: list[_TermGroup], ranking: Ranking
) -> list[tuple[int, int, float]]:
    """(group, term id, Dice) of corpus terms that look like a question term but are not it."""
    if ranking.ngram_weight <= 0 and ranking.ngram_coverage <= 0:
        return []
    vocab = ngrams_of(index)
    out = []
    for g, group in enumerate(groups):
        if len(group.term) < 3:
            continue
        for term_id, dice in vocab.similar(group.term, ranking.ngram_min_dice, ranking.ngram_limit):
            if term_id not in group.term_ids:
                out.append((g, term_id, dice))
    if ranking.root_similarity > 0:
        roots = roots_of(index)
        for g, group in enumerate(groups):
            seen = {term_id for h, term_id, _ in out if h == g} | set(group.term_ids)
            for term_id in roots.get(root_of(group.term), ()):
                if term_id not in seen:
                    out.append((g, term_id, ranking.root_similarity))
    if ranking.synonym_similarity > 0:
        vectors = synonyms_of(index)
        for g, group in enumerate(groups):
            seen = {term_id for h, term_id, _ in out if h == g} | set(group.term_ids)
            for own in group.term_ids[:1]:
                for term_id, cosine in vectors.similar(
                    own, ranking.synonym_min_cosine, ranking.synonym_limit
                ):
                    if term_id not in seen:
                        seen.add(term_id)
                        out.append((g, term_id, ranking.synonym_similarity * cosine))
    return out


def _ids_for(index: SentenceIndex, term: str) -> list[int]:
    ids = index.term_ids([term])
    ids += index.term_ids(v for v in _variants(term) if v != term)
    return list(dict.fromkeys(ids))


def _variants(term: str) -> list[str]:
    return spelling_variants(term) + clitic_variants(term)


def _term_groups(index: SentenceIndex, terms: list[str]) -> list[_TermGroup]:
    groups = []
    for term in dict.fromkeys(terms):
        ids = tuple(_ids_for(index, term))
        weight = max((float(index.idf[i]) for i in ids), default=missing_term_idf(index.n_docs))
        groups.append(_TermGroup(term, ids, max(weight, 0.0)))
    return groups


def _evidence(
    index: SentenceIndex, groups: list[_TermGroup], docs: np.ndarray, ranking: Ranking
) -> tuple[np.ndarray, np.ndarray]:
    """(groups × docs) booleans: the sentence holds the term; its context holds it."""
    use_context = ranking.context_weight > 0 or ranking.context_coverage > 0
    context = context_of(index) if use_context else None
    if index.kernels() is not None:
        terms = [(g, t, -1.0) for g, group in enumerate(groups) for t in group.term_ids]
        own, ctx, _ = compiled_evidence(index, context, docs, terms, len(groups))
        return own, ctx
    own = np.zeros((len(groups), len(docs)), dtype=bool)
    ctx = np.zeros_like(own)
    for g, group in enumerate(groups):
        for term_id in group.term_ids:
            if context is None:
                own[g] |= index.contains(term_id, docs)
            else:
                holds, around = context.lookup(index, term_id, docs)
                own[g] |= holds
                ctx[g] |= around
    return own, ctx


def _alike_held(
    index: SentenceIndex,
    groups: list[_TermGroup],
    alike: list[tuple[int, int, float]],
    docs: np.ndarray,
    own: np.ndarray,
) -> np.ndarray:
    """(groups × docs): where the sentence lacks the term (`own` False), the largest Dice
    of the term's look-alikes it holds; else 0."""
    if index.kernels() is not None:
        _, _, held = compiled_evidence(index, None, docs, alike, len(groups))
    else:
        held = np.zeros(own.shape)
        for g, term_id, dice in alike:
            held[g] = np.maximum(held[g], dice * index.contains(term_id, docs))
    return np.where(own, 0.0, held)


def _weighted(groups: list[_TermGroup], held: np.ndarray) -> np.ndarray:
    """Sum of the IDF weights of the held groups (× `held` when it is a share), per doc.

    Added group after group, so a doc's sum is the same whatever other docs share its
    batch (a BLAS matrix product rounds the last bit differently by a doc's place in
    the batch, and search scores candidates in batches that depend on the pruning).
    """
    out = np.zeros(held.shape[1])
    for g, group in enumerate(groups):
        if held.dtype == np.bool_:
            np.add(out, group.weight, out=out, where=held[g])  # x + w, or x + 0
        else:
            out += group.weight * held[g]
    return out


def _highlight_terms(index: SentenceIndex, terms: list[str]) -> set[str]:
    """The question's terms plus the corpus spellings they were matched through."""
    matched = set(terms)
    for term in terms:
        matched.update(v for v in _variants(term) if v in index.vocab)
    return matched


def held_by_allowed(index: SentenceIndex, allowed: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """Bool per bm25 doc of `docs`: at least one of the sentence rows holding it belongs to
    an allowed source document (a quote shared by several outlets has several holders)."""
    docs = np.asarray(docs, dtype=np.int64)
    if not len(docs):
        return np.zeros(0, dtype=bool)
    starts = index.dup_indptr[docs]
    lengths = index.dup_indptr[docs + 1] - starts  # at least 1: every bm25 doc has a row
    firsts = np.zeros(len(docs), dtype=np.int64)
    np.cumsum(lengths[:-1], out=firsts[1:])
    # Positions in dup_rows of every candidate's rows, candidate after candidate.
    positions = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - firsts, lengths)
    held = allowed[index.sent_doc[index.dup_rows[positions]]]
    return np.logical_or.reduceat(held, firsts)


def _hit(
    index: SentenceIndex,
    rank: int,
    score: float,
    doc: int,
    matched: set[str],
    allowed: np.ndarray | None = None,
) -> Hit:
    rows = index.rows_of(doc)
    if allowed is not None:
        rows = rows[allowed[index.sent_doc[rows]]]
    sentence = index.sentence(int(rows[0]))
    sources = tuple(dict.fromkeys(index.sources[int(index.sent_doc[r])] for r in rows))
    return Hit(
        rank=rank,
        score=score,
        sentence=sentence,
        sources=sources,
        highlights=highlight_spans(sentence.text, matched),
    )


# word -> its index terms, for highlighting: a hit's words are mostly common ones
# met before, and a dict look-up is a fraction of `analyze_keyed`'s call.
_WORD_TERMS: dict[str, tuple[str, ...]] = {}
_WORD_TERMS_LIMIT = 200_000


def highlight_spans(text: str, terms: set[str]) -> tuple[tuple[int, int], ...]:
    """Character spans of the words of `text` whose index term is one of `terms`."""
    spans = []
    for start, end, word in iter_word_spans(text):
        word_terms = _WORD_TERMS.get(word)
        if word_terms is None:
            # analyze_keyed's cache: the same terms as analyze(word), without re-normalizing
            word_terms = tuple(analyze_keyed(word)[0])
            if len(_WORD_TERMS) < _WORD_TERMS_LIMIT:
                _WORD_TERMS[word] = word_terms
        if any(term in terms for term in word_terms):
            spans.append((start, end))
    return tuple(spans)
