"""A small corpus change applied to the previous index, array for array as a full merge.

The global merge (`index_from_chunks`) re-places every posting of the corpus:
seconds at a million sentences even when one file changed. Here the previous
index (memory-mapped) is edited instead: the rows of removed documents are
deleted and the rows of added ones inserted at their place in corpus order;
sentence groups (BM25 documents) touched by those rows are renumbered by their
first row, as a full build numbers them; postings of dead or moved groups are
deleted and those of new or moved groups inserted, each at its sorted place;
then IDF, the average length and every impact are recomputed from the stored
term frequencies over the whole corpus (one numpy expression). Kept groups keep
their relative order (kept rows keep theirs), so their postings stay sorted
after renumbering and are never re-sorted.

The result equals `index_from_chunks` over the whole corpus array for array
(tests/test_incremental.py). When the change is large, or the previous index
lacks what the edit needs (term frequencies, sentence keys), `delta_index`
returns None and the caller merges in full.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter

import numpy as np

from retrieval.context import CONTEXT_KEY, ContextIndex, neighbour_arrays
from retrieval.index import (
    AnalyzedChunk,
    BM25Params,
    SentenceIndex,
    TextColumn,
    bm25_impacts,
    lucene_idf,
    okapi_idf,
)
from retrieval.models import Document
from retrieval.normalize import analyze

FRESH_TITLES_KEY = "title_terms_fresh"  # index.derived: titles analyzed by this edit
# Above this many rows removed plus added, the full merge is about as fast.
MAX_DELTA_ROWS = 50_000
_KEY_WORDS = 2  # a sentence key is 16 bytes: two uint64 words
_path_of = attrgetter("doc")
# The texts are rewritten as one part past this many parts, or when fewer than
# this share of their bytes belong to live rows.
MAX_TEXT_PARTS = 16
# Postings are spliced run by run up to this many runs, else with whole-array copies.
MAX_SPLICE_RUNS = 20_000
MIN_LIVE_TEXT = 0.75


def delta_index(
    old: SentenceIndex,
    documents: list[Document],
    analyzed: Callable[[list[int]], AnalyzedChunk],
    corpus_key: str,
    params: BM25Params,
    title_terms: Callable[[], dict[str, list[str]]] | None = None,
    empty: Callable[[str, int, type], np.ndarray] | None = None,
) -> SentenceIndex | None:
    """The index of `documents` made by editing `old`, or None when a full merge is due.

    `analyzed(positions)` returns the analyzed chunk of documents[p] for those
    positions (ascending), documents numbered from 0 in that order. The context
    field is carried over and edited too when `old` has one; `title_terms()` gives
    the analyzed titles of every document, asked only when a kept document's title
    may hold a term new to the vocabulary (added documents' titles are analyzed
    here, and left in `index.derived[FRESH_TITLES_KEY]`). `empty(name, length,
    dtype)` makes the posting arrays (retrieval/store.py `Staging`: straight into
    files that saving then links instead of writing).
    """
    if old.post_tf is None or old.doc_keys is None or old.params != params:
        return None
    n_old_src = len(old.sources)
    old_sources, old_digests = old.sources, old.digests
    old_at = dict(zip(map(_path_of, old_sources), range(n_old_src), strict=True))
    from_old = np.full(len(documents), -1, dtype=np.int64)
    sources = [d.source for d in documents]
    for j, i in enumerate(map(old_at.get, map(_path_of, sources))):
        if i is None or old_digests[i] != documents[j].digest:
            continue
        if old_sources[i] is sources[j] or old_sources[i] == sources[j]:  # usually the same object
            from_old[j] = i
    is_kept = from_old >= 0
    kept_src = from_old[is_kept]
    if len(kept_src) > 1 and np.any(np.diff(kept_src) <= 0):
        return None  # documents reordered: not an edit
    old_rows_per_src = np.bincount(old.sent_doc, minlength=n_old_src)
    removed_src = np.ones(n_old_src, dtype=bool)
    removed_src[kept_src] = False
    added_docs = np.flatnonzero(~is_kept)
    if int(old_rows_per_src[removed_src].sum()) > MAX_DELTA_ROWS:
        return None
    chunk = analyzed(added_docs.tolist()) if len(added_docs) else None
    n_chunk_rows = chunk.n_rows if chunk is not None else 0
    if n_chunk_rows > MAX_DELTA_ROWS:
        return None

    # --- Rows: `src` is, per new row, the old row (>= 0) or -1 - the chunk row.
    keep_row = ~removed_src[old.sent_doc]
    kept_rows = np.flatnonzero(keep_row)
    if chunk is not None:
        kept_cum = np.zeros(len(kept_src) + 1, dtype=np.int64)
        np.cumsum(old_rows_per_src[kept_src], out=kept_cum[1:])
        kept_before = np.cumsum(is_kept) - is_kept
        at = kept_cum[kept_before[added_docs]][chunk.sent_doc]
        src = np.insert(kept_rows, at, -1 - np.arange(n_chunk_rows, dtype=np.int64))
    else:
        src = kept_rows
    n_rows = len(src)
    row_old = src >= 0
    old_src_rows = src[row_old]
    chunk_src_rows = -1 - src[~row_old]

    def column(old_col: np.ndarray, chunk_col: np.ndarray | None) -> np.ndarray:
        out = np.empty(n_rows, dtype=old_col.dtype)
        out[row_old] = old_col[old_src_rows]
        if chunk_col is not None:
            out[~row_old] = np.asarray(chunk_col)[chunk_src_rows]
        return out

    rows_per_doc = np.zeros(len(documents), dtype=np.int64)
    rows_per_doc[is_kept] = old_rows_per_src[kept_src]
    if chunk is not None:
        rows_per_doc[added_docs] = np.bincount(chunk.sent_doc, minlength=len(added_docs))
    sent_doc = np.repeat(np.arange(len(documents), dtype=np.int32), rows_per_doc)
    sent_pos = column(old.sent_pos, chunk.sent_pos if chunk else None)
    sent_start = column(old.sent_start, chunk.sent_start if chunk else None)
    sent_end = column(old.sent_end, chunk.sent_end if chunk else None)
    texts = _texts(old.texts, chunk, src)

    # --- Groups (BM25 documents): old group ids, then new groups after them.
    n_old_docs = old.n_docs
    old_row_group = np.full(old.n_sentences, -1, dtype=np.int64)
    old_row_group[old.dup_rows] = np.repeat(
        np.arange(n_old_docs, dtype=np.int64), np.diff(old.dup_indptr)
    )
    chunk_group, new_keys, new_first_chunk_row = _chunk_groups(old.doc_keys, chunk, n_old_docs)
    n_groups = n_old_docs + len(new_keys)
    row_group = np.empty(n_rows, dtype=np.int64)
    row_group[row_old] = old_row_group[old_src_rows]
    row_group[~row_old] = chunk_group[chunk_src_rows]
    touched = np.zeros(n_groups, dtype=bool)  # groups whose rows changed
    gone = old_row_group[~keep_row]
    touched[gone[gone >= 0]] = True
    touched[chunk_group[chunk_group >= 0]] = True
    grouped = np.flatnonzero(row_group >= 0)
    alive = np.zeros(n_groups, dtype=bool)
    alive[row_group[grouped]] = True
    old_to_new_row = np.full(old.n_sentences, -1, dtype=np.int64)
    old_to_new_row[old_src_rows] = np.flatnonzero(row_old)
    first = np.empty(n_groups, dtype=np.int64)
    first[:n_old_docs] = old_to_new_row[old.doc_rows]
    first[touched] = n_rows
    moved_rows = grouped[touched[row_group[grouped]]]
    np.minimum.at(first, row_group[moved_rows], moved_rows)
    live_groups = np.flatnonzero(alive)
    order = np.argsort(first[live_groups], kind="stable")
    by_first = live_groups[order]
    new_id = np.full(n_groups, -1, dtype=np.int32)
    new_id[by_first] = np.arange(len(by_first), dtype=np.int32)
    n_docs = len(by_first)
    doc_rows = first[by_first].astype(np.int32)
    group_len = np.empty(n_groups, dtype=np.int32)
    group_len[:n_old_docs] = old.doc_len
    if chunk is not None and len(new_keys):
        group_len[n_old_docs:] = np.asarray(chunk.n_terms)[new_first_chunk_row]
    doc_len = group_len[by_first]
    group_keys = (
        np.concatenate([old.doc_keys, new_keys]) if len(new_keys) else np.asarray(old.doc_keys)
    )
    doc_keys = group_keys[by_first]
    row_doc = new_id[row_group[grouped]]
    dup_rows = grouped[np.argsort(row_doc, kind="stable")].astype(np.int32)
    dup_indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_doc, minlength=n_docs), out=dup_indptr[1:])

    # --- Vocabulary: old terms plus the chunk's, sorted; unused ones drop out below.
    old_terms = list(old.vocab)
    moving = touched.copy()
    moving[n_old_docs:] = False
    moving[:n_old_docs] |= ~alive[:n_old_docs]  # dead groups' postings go too
    drop = moving[old.post_docs]
    dropped = np.flatnonzero(drop)
    dropped_terms = np.searchsorted(old.indptr, dropped, side="right") - 1
    readd_mask = alive[old.post_docs[dropped]]  # moved groups: their postings come back
    readd = dropped[readd_mask]
    ins_old_terms = dropped_terms[readd_mask]
    ins_docs = [new_id[old.post_docs[readd]]]
    ins_tf = [np.asarray(old.post_tf[readd], dtype=np.int32)]
    chunk_terms: list[str] = []
    if chunk is not None and len(new_keys):
        is_first_row = np.zeros(chunk.n_rows, dtype=bool)
        is_first_row[new_first_chunk_row] = True
        group_of_row = chunk_group.copy()
        take = is_first_row[chunk.post_row]
        chunk_post_terms = np.asarray(chunk.post_term)[take]
        ins_docs.append(new_id[group_of_row[np.asarray(chunk.post_row)[take]]])
        ins_tf.append(np.asarray(chunk.post_tf, dtype=np.int32)[take])
        chunk_terms = [chunk.vocab[t] for t in np.unique(chunk_post_terms).tolist()]
    else:
        chunk_post_terms = np.empty(0, dtype=np.int64)
    known = old.vocab
    extra = sorted(t for t in chunk_terms if t not in known)
    if extra:
        all_terms = sorted([*old_terms, *extra])
        term_id = {t: i for i, t in enumerate(all_terms)}
        old_to_new_term = np.fromiter(map(term_id.__getitem__, old_terms), np.int64, len(old_terms))
    else:
        all_terms = old_terms
        term_id = known
        old_to_new_term = np.arange(len(old_terms), dtype=np.int64)
    n_terms = len(all_terms)
    chunk_to_new = (
        np.fromiter(map(term_id.__getitem__, chunk.vocab), np.int64, len(chunk.vocab))
        if chunk is not None and len(new_keys)
        else np.empty(0, np.int64)
    )
    ins_terms = np.concatenate(
        [old_to_new_term[ins_old_terms], chunk_to_new[chunk_post_terms]]
    ).astype(np.int64)
    ins_docs_all = np.concatenate(ins_docs).astype(np.int64)
    ins_tf_all = np.concatenate(ins_tf)

    # --- Postings: kept ones renumbered (still sorted), the others inserted in place.
    kept_df_old = np.diff(old.indptr)
    if len(dropped):
        kept_df_old = kept_df_old - np.bincount(dropped_terms, minlength=len(old_terms))
    kept_df = np.zeros(n_terms, dtype=np.int64)
    kept_df[old_to_new_term] = kept_df_old
    kept_indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(kept_df, out=kept_indptr[1:])
    ins_order = np.lexsort((ins_docs_all, ins_terms))
    ins_terms, ins_docs_all, ins_tf_all = (
        ins_terms[ins_order],
        ins_docs_all[ins_order],
        ins_tf_all[ins_order],
    )
    # Where each new posting goes among its term's kept ones (their new numbers are
    # ascending: kept groups keep their order).
    new_to_old_term = np.full(n_terms, -1, dtype=np.int64)
    new_to_old_term[old_to_new_term] = np.arange(len(old_terms))
    positions = np.empty(len(ins_terms), dtype=np.int64)
    bounds = np.flatnonzero(np.r_[True, ins_terms[1:] != ins_terms[:-1], True])
    if not len(ins_terms):
        bounds = bounds[:1]
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        t = int(ins_terms[lo])
        positions[lo:hi] = kept_indptr[t]
        o = int(new_to_old_term[t])
        if o >= 0:  # a term the old index held
            a, b = int(old.indptr[o]), int(old.indptr[o + 1])
            docs = old.post_docs[a:b]
            if len(dropped):
                docs = docs[~drop[a:b]]
            positions[lo:hi] += np.searchsorted(new_id[docs], ins_docs_all[lo:hi])
    post_docs, post_tf = _spliced(
        old.post_docs, old.post_tf, new_id, dropped, positions, ins_docs_all, ins_tf_all, empty
    )
    df = kept_df + np.bincount(ins_terms, minlength=n_terms)
    used = df > 0
    if not used.all():
        df = df[used]
        all_terms = [t for t, u in zip(all_terms, used.tolist(), strict=True) if u]
        term_id = None
    term_map = np.full(n_terms, -1, dtype=np.int64)  # previous numbering -> final
    term_map[used] = np.arange(int(used.sum()))
    indptr = np.zeros(len(df) + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    vocab = term_id if term_id is not None else {t: i for i, t in enumerate(all_terms)}
    if vocab is known:
        vocab = dict(known)

    idf = (
        lucene_idf(df, n_docs) if params.idf == "lucene" else okapi_idf(df, n_docs, params.epsilon)
    )
    weights = bm25_impacts(
        post_docs,
        post_tf,
        doc_len,
        idf,
        df,
        params,
        out=empty("post_weights", len(post_docs), np.float64) if empty else None,
    )
    index = SentenceIndex(
        params=params,
        corpus_key=corpus_key,
        sources=sources,
        digests=[d.digest for d in documents],
        sent_doc=sent_doc,
        sent_pos=sent_pos,
        sent_start=sent_start,
        sent_end=sent_end,
        texts=texts,
        doc_rows=doc_rows,
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
    context = old.derived.get(CONTEXT_KEY)
    if isinstance(context, ContextIndex):
        src_map = np.full(n_old_src, -1, dtype=np.int64)
        src_map[kept_src] = np.flatnonzero(is_kept)
        full_map = term_map[old_to_new_term]
        fresh: dict[str, list[str]] = {}
        index.derived[CONTEXT_KEY] = _edited_context(
            index, context, src_map, full_map, added_docs, set(extra), title_terms, fresh
        )
        index.derived[FRESH_TITLES_KEY] = fresh
    return index


def _spliced(
    old_docs: np.ndarray,
    old_tf: np.ndarray,
    new_id: np.ndarray,
    dropped: np.ndarray,
    positions: np.ndarray,
    ins_docs: np.ndarray,
    ins_tf: np.ndarray,
    empty: Callable[[str, int, type], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The old postings without `dropped` (old places, ascending), renumbered by
    `new_id`, with `ins_*` inserted before the kept postings `positions` (as
    `np.insert`). A small edit copies the runs between cuts straight into the new
    arrays: no 18M-posting temporaries (kept copy, renumbered copy, insert masks)."""
    n_kept = len(old_docs) - len(dropped)
    sits = dropped - np.arange(len(dropped))  # kept postings before each dropped one
    cuts = np.unique(np.concatenate([[0, n_kept], positions, sits]))
    if len(cuts) > MAX_SPLICE_RUNS:
        keep = np.ones(len(old_docs), dtype=bool)
        keep[dropped] = False
        kept_docs, kept_tf = new_id[old_docs[keep]], np.asarray(old_tf)[keep]
        return (
            np.insert(kept_docs, positions, ins_docs.astype(np.int32)),
            np.insert(kept_tf, positions, ins_tf),
        )
    n = n_kept + len(positions)
    out_docs = empty("post_docs", n, np.int32) if empty else np.empty(n, dtype=np.int32)
    out_tf = empty("post_tf", n, np.int32) if empty else np.empty(n, dtype=np.int32)
    starts, stops = cuts[:-1], cuts[1:]
    old_at = starts + np.searchsorted(sits, starts, side="right")
    out_at = starts + np.searchsorted(positions, starts, side="right")
    for lo, hi, o, w in zip(
        starts.tolist(), stops.tolist(), old_at.tolist(), out_at.tolist(), strict=True
    ):
        np.take(new_id, old_docs[o : o + hi - lo], out=out_docs[w : w + hi - lo])
        out_tf[w : w + hi - lo] = old_tf[o : o + hi - lo]
    placed = positions + np.arange(len(positions))
    out_docs[placed] = ins_docs
    out_tf[placed] = ins_tf
    return out_docs, out_tf


def _texts(old: TextColumn, chunk: AnalyzedChunk | None, src: np.ndarray) -> TextColumn:
    """The texts of the new rows: old rows keep their bytes where they are, the
    chunk's texts become one more part (nothing copied); compacted into one part
    when there are many parts or removed rows' bytes are a large share."""
    row_old = src >= 0
    starts = np.empty(len(src), dtype=np.int64)
    ends = np.empty(len(src), dtype=np.int64)
    starts[row_old] = old.starts[src[row_old]]
    ends[row_old] = old.ends[src[row_old]]
    parts, readers = old.parts, old.readers
    if chunk is not None and chunk.n_rows:
        chunk_len = np.asarray(chunk.text_len, dtype=np.int64)
        chunk_off = np.zeros(len(chunk_len) + 1, dtype=np.int64)
        np.cumsum(chunk_len, out=chunk_off[1:])
        rows = -1 - src[~row_old]
        starts[~row_old] = old.bounds[-1] + chunk_off[rows]
        ends[~row_old] = old.bounds[-1] + chunk_off[rows + 1]
        parts = (*parts, np.frombuffer(chunk.text_blob, np.uint8))
        readers = (*readers, None)
    texts = TextColumn(parts, starts, ends, readers)
    if len(parts) > MAX_TEXT_PARTS or texts.live_bytes < MIN_LIVE_TEXT * texts.bounds[-1]:
        return texts.compacted()
    return texts


def _chunk_groups(
    doc_keys: np.ndarray, chunk: AnalyzedChunk | None, n_old_docs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chunk row -> group or -1, keys of new groups, first chunk row of each new group).

    A chunk row whose sentence the old index holds joins that group; the others
    form new groups numbered from n_old_docs in order of their first row.
    """
    empty_keys = np.empty((0, _KEY_WORDS), dtype=np.uint64)
    if chunk is None:
        return np.empty(0, np.int64), empty_keys, np.empty(0, np.int64)
    words = np.frombuffer(bytes(chunk.keys), dtype=np.uint64).reshape(chunk.n_rows, _KEY_WORDS)
    scored = np.flatnonzero(np.asarray(chunk.n_terms) > 0)
    candidates = np.flatnonzero(np.isin(doc_keys[:, 0], words[scored, 0]))
    known = {(int(doc_keys[d, 0]), int(doc_keys[d, 1])): int(d) for d in candidates}
    group = np.full(chunk.n_rows, -1, dtype=np.int64)
    new_keys: list[tuple[int, int]] = []
    first_rows: list[int] = []
    for row in scored.tolist():
        key = (int(words[row, 0]), int(words[row, 1]))
        found = known.get(key)
        if found is None:
            found = known[key] = n_old_docs + len(new_keys)
            new_keys.append(key)
            first_rows.append(row)
        group[row] = found
    keys = np.array(new_keys, dtype=np.uint64).reshape(-1, _KEY_WORDS)
    return group, keys, np.asarray(first_rows, dtype=np.int64)


def _edited_context(
    index: SentenceIndex,
    old: ContextIndex,
    src_map: np.ndarray,
    term_map: np.ndarray,
    added_docs: np.ndarray,
    new_terms: set[str],
    title_terms: Callable[[], dict[str, list[str]]] | None,
    fresh: dict[str, list[str]],
) -> ContextIndex:
    """The context field of `index`: neighbours recomputed (vectorized), title
    postings edited: removed documents out, added documents' titles in, and kept
    documents' titles holding a term new to the vocabulary (a title word no
    sentence held had no postings until now)."""
    prev_doc, next_doc, doc_source = neighbour_arrays(index)
    n_terms = len(index.vocab)
    old_terms = np.repeat(np.arange(len(old.title_indptr) - 1), np.diff(old.title_indptr))
    members = src_map[old.title_sources]
    terms = term_map[old_terms]
    keep = (members >= 0) & (terms >= 0)
    terms, members = terms[keep], members[keep]
    add_terms, add_members = [], []
    added = set(added_docs.tolist())
    for doc in added_docs.tolist():
        title = index.sources[doc].title
        words = fresh.get(title)
        if words is None:
            words = fresh[title] = analyze(title)
        ids = {index.vocab[w] for w in words if w in index.vocab}
        add_terms.extend(ids)
        add_members.extend([doc] * len(ids))
    if new_terms:
        known = title_terms() if title_terms is not None else {}
        known.update(fresh)

        def title_of(doc: int) -> list[str]:
            title = index.sources[doc].title
            words = known.get(title)
            if words is None:
                words = known[title] = fresh[title] = analyze(title)
            return words

        for doc in range(len(index.sources)):
            if doc in added:
                continue
            ids = {index.vocab[w] for w in title_of(doc) if w in new_terms}
            add_terms.extend(ids)
            add_members.extend([doc] * len(ids))
    terms = np.concatenate([terms, np.asarray(add_terms, dtype=np.int64)])
    members = np.concatenate([members, np.asarray(add_members, dtype=np.int64)])
    if add_terms:
        order = np.lexsort((members, terms))
        terms, members = terms[order], members[order]
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=n_terms), out=indptr[1:])
    return ContextIndex(prev_doc, next_doc, doc_source, indptr, members.astype(np.int32))
