"""Analyzed segments: the incremental index. A changed file re-analyzes that file only.

Analysis (segmentation, normalization, stemming) is nearly all of a build (~40 s
of ~45 s at a million sentences); merging analyzed chunks into an index is
array work. So the analysis is kept, Lucene-style, in immutable segments beside
the index: `index_dir/segments/<name>/`, each the `AnalyzedChunk` of a run of
documents (sentence table, texts, sentence identities, counted postings in a
segment-local vocabulary) and the sha256 digests of those documents, its name
a hash of those digests and the pipeline version. `catalog.json` names the live
segments.

An update looks every current document up by digest. Documents found in a
segment are taken from it; the rest (new or changed files) are analyzed into
one new small segment. A removed or changed document's rows stay in their old
segment but are not taken: the current corpus is the deletion mask (Lucene keeps
a bitmap per segment; here the list of digests already says which rows live,
so nothing else has to be written or kept consistent). A small change then edits
the previous index (retrieval/delta.py); a large one merges the live rows in
corpus order by the same `index_from_chunks` a full build uses. Both recompute
IDF, average length and every impact over the whole corpus: scores are exactly a
full rebuild's (tests/test_incremental.py compares every array). Keeping postings
per segment and scoring across segments at query
time (Lucene's way) would avoid the merge, but every impact depends on the
global IDF and average length, so each question would redo that arithmetic and
the search, context and n-gram code would all have to learn segments; editing
one global index costs about a second at a million sentences and leaves search
as it is.

Merges keep the segment count bounded: past MAX_SEGMENTS, the smallest are
rewritten into one (array work, no analysis), and a segment most of whose rows
are dead is rewritten with its live documents only. A segment that is missing,
half-written or inconsistent is never trusted: its documents are analyzed again.
Segments and the catalog are written to temporary names and renamed into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np

from retrieval.arabic_roots import ROOTS_KEY, updated_roots
from retrieval.context import CONTEXT_KEY, TITLE_TERMS_KEY
from retrieval.delta import FRESH_TITLES_KEY, delta_index
from retrieval.index import (
    AnalyzedChunk,
    AnalyzedRun,
    BM25Params,
    SentenceIndex,
    analyze_documents,
    index_from_chunks,
    slice_chunk,
)
from retrieval.models import Document
from retrieval.ngrams import NGRAMS_KEY, updated_ngrams
from retrieval.normalize import PIPELINE_VERSION
from retrieval.store import STAGED_KEY, Staging, latest_ngrams, previous_index

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.json"
TITLES_FILE = "titles.json"  # title -> analyzed terms, for the context field's title postings
# Titles analyzed by edits since TITLES_FILE was written, one JSON [title, terms] a line:
# appending a few is instant, rewriting 94k titles took 0.6 s.
TITLES_LOG = "titles.log"
_TITLES_LOADED = "title_terms_loaded"  # index.derived: how many titles came from TITLES_FILE
SEGMENT_FORMAT = 2  # 2: vocabulary sorted
# More live segments than this and the smallest are merged (each costs a slice in
# every update, and a few files more to open).
MAX_SEGMENTS = 24
# A segment with fewer live rows than this share is rewritten with those rows only.
MIN_LIVE_SHARE = 0.5
_ARRAYS = (
    "sent_doc", "sent_pos", "sent_start", "sent_end", "text_len", "n_terms",
    "post_term", "post_row", "post_tf",
)  # fmt: skip
_KEY_BYTES = 16


def segments_dir(index_dir: Path) -> Path:
    """Where the segments of an index folder live: beside it (`index` -> `index.segments`),
    so the index folder keeps holding index versions only."""
    index_dir = Path(index_dir)
    return index_dir.with_name(index_dir.name + ".segments")


class NotAnalyzed(Exception):
    """Documents taken without their text (retrieval/reread.py) that no segment holds."""


class BadSegment(Exception):
    """A stored segment that cannot be trusted; its documents are analyzed again."""


@dataclass(frozen=True, slots=True)
class Segment:
    """A stored analysis: documents (by digest) and their chunk, numbered from 0."""

    name: str
    digests: list[str]
    chunk: AnalyzedChunk


@dataclass(frozen=True, slots=True)
class Update:
    """What an incremental build did, for logs and benchmarks."""

    analyzed_docs: int  # documents analyzed now (new or changed content)
    reused_docs: int
    segments: int  # live segments after the update
    merged: int  # segments rewritten by a merge
    seconds: dict[str, float]  # load / analyze / merge / save


def segment_name(digests: list[str]) -> str:
    """Names a segment by its content: the pipeline and its documents' digests."""
    h = hashlib.blake2b(digest_size=12)
    h.update(f"segment={SEGMENT_FORMAT};pipeline={PIPELINE_VERSION};".encode())
    for digest in digests:
        h.update(digest.encode("ascii") + b"\n")
    return h.hexdigest()


def incremental_index(
    documents: list[Document],
    corpus_key: str,
    params: BM25Params,
    index_dir: Path,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    previous: SentenceIndex | None = None,
    analyzed: Iterable[AnalyzedRun] = (),
) -> tuple[SentenceIndex, Update]:
    """The index of `documents`, analyzing only those no segment of `index_dir` holds.

    `analyzed` holds runs of documents already analyzed (by digest, as
    `load_corpus(analyze=True)` returns them): they become new segments as if
    analyzed here, and their documents need no text.

    A small change edits the previous index (`previous`, else the one last saved
    in `index_dir`; retrieval/delta.py) instead of merging every segment.

    Documents need their text only when their digest is in no segment (else
    NotAnalyzed). The result equals `build_index(documents, corpus_key, params)`
    array for array. The n-gram map and the roots map of the vocabulary are updated
    from the previous index in `index_dir` when there is one.
    """
    root = segments_dir(index_dir)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    segments = load_catalog(root)
    seconds["load"] = time.perf_counter() - started

    started = time.perf_counter()
    where = _locate(segments)
    fresh, given_titles = [], {}
    for run in analyzed:
        fresh.append(Segment(segment_name(run.digests), run.digests, run.chunk))
        given_titles.update(run.titles)
    given = {digest for segment in fresh for digest in segment.digests}
    for segment in fresh:
        where.update(_locate([segment], first=len(segments)))
        segments.append(segment)
    # Repeated files are analyzed (and stored) in place, not once: a segment then
    # holds the corpus's runs of documents unbroken, and a merge takes few slices.
    todo = [d for d in documents if d.digest not in where]
    unread = [d.doc for d in todo if not d.text]
    if unread:
        raise NotAnalyzed(f"{len(unread)} documents not read and not analyzed, e.g. {unread[0]}")
    analyzed_now = _analyze(todo, progress, workers)
    if progress is not None:
        progress(len(documents) - len(todo))
    seconds["analyze"] = time.perf_counter() - started

    started = time.perf_counter()
    for segment in analyzed_now:
        where.update(_locate([segment], first=len(segments)))
        segments.append(segment)
    fresh.extend(analyzed_now)
    pieces = _pieces(documents, segments, where)
    if previous is None:
        previous = previous_index(index_dir, params)
    kept_titles = previous.derived.get(TITLE_TERMS_KEY) if previous is not None else None
    titles: dict[str, list[str]] | None = None
    loaded = -1
    if isinstance(kept_titles, dict):  # the serving index's, already up to date
        titles, loaded = kept_titles, previous.derived.get(_TITLES_LOADED, -1)

    def all_titles() -> dict[str, list[str]]:
        """The stored analyzed titles, read on first need (0.3 s at 94k files)."""
        nonlocal titles, loaded
        if titles is None:
            titles = load_titles(root)
            loaded = len(titles)
        return titles

    index = None
    if previous is not None:

        def analyzed(positions: list[int]) -> AnalyzedChunk:
            parts = []
            for k, position in enumerate(positions):
                s, local = where[documents[position].digest]
                parts.append(slice_chunk(segments[s].chunk, local, local + 1, k))
            return concat_chunks(parts)

        staging = None
        with contextlib.suppress(OSError):  # else the arrays are made in memory
            staging = Staging(index_dir)
        index = delta_index(
            previous,
            documents,
            analyzed,
            corpus_key,
            params,
            all_titles,
            staging.empty if staging is not None else None,
        )
        if index is not None and staging is not None:
            index.derived[STAGED_KEY] = staging.arrays
    if index is None:
        chunks = [slice_chunk(segments[s].chunk, lo, hi, first) for s, lo, hi, first in pieces]
        index = index_from_chunks(
            [d.source for d in documents], [d.digest for d in documents], chunks, corpus_key, params
        )
    if CONTEXT_KEY not in index.derived or given_titles:
        all_titles()  # a merged index's context field is derived from every title
    if titles is not None:
        titles.update(given_titles)
        titles.update(index.derived.get(FRESH_TITLES_KEY, {}))
        index.derived[TITLE_TERMS_KEY] = titles
        index.derived[_TITLES_LOADED] = loaded
    seconds["edit" if CONTEXT_KEY in index.derived else "merge"] = time.perf_counter() - started
    started = time.perf_counter()
    if previous is not None and NGRAMS_KEY in previous.derived:
        index.derived[NGRAMS_KEY] = updated_ngrams(
            list(previous.vocab), previous.derived[NGRAMS_KEY], index.vocab
        )
    else:
        found = latest_ngrams(index_dir)
        if found is not None:
            index.derived[NGRAMS_KEY] = updated_ngrams(*found, index.vocab)
    seconds["n-grams"] = time.perf_counter() - started
    if previous is not None and ROOTS_KEY in previous.derived and ROOTS_KEY not in index.derived:
        # Only terms the previous map never stemmed are stemmed (else 1.5 s at 1M).
        started = time.perf_counter()
        old_roots = previous.derived[ROOTS_KEY]
        index.derived[ROOTS_KEY] = updated_roots(previous.vocab, old_roots, index)  # type: ignore[arg-type]
        seconds["roots"] = time.perf_counter() - started

    started = time.perf_counter()
    live, merged = _compact(segments, pieces, fresh)
    try:
        for segment in live:
            if not (root / segment.name / "manifest.json").exists():
                save_segment(root, segment)
        save_catalog(root, [s.name for s in live])
        if not given:  # chunks analyzed where read are let go once merged (their memory)
            _keep(root, live)
    except OSError as exc:  # the index itself is fine; the next update analyzes more
        log.warning("analyzed segments not stored in %s: %s", root, exc.strerror or exc)
    seconds["save"] = time.perf_counter() - started
    n_analyzed = len(todo) + sum(d.digest in given for d in documents)
    update = Update(n_analyzed, len(documents) - n_analyzed, len(live), merged, seconds)
    log.info(
        "incremental index: %d documents analyzed, %d reused, %d segments (%d merged); %s",
        update.analyzed_docs,
        update.reused_docs,
        update.segments,
        update.merged,
        " ".join(f"{k} {v:.2f} s" for k, v in seconds.items()),
    )
    return index, update


def _locate(segments: list[Segment], first: int = 0) -> dict[str, tuple[int, int]]:
    """digest -> (segment number, document number in it); the first segment holding it wins."""
    where: dict[str, tuple[int, int]] = {}
    # Last to first, so that the first holder is written last; dict.update and zip
    # iterate in C (94k documents).
    for number in range(len(segments) - 1, -1, -1):
        digests = segments[number].digests
        places = zip(repeat(number + first), range(len(digests) - 1, -1, -1), strict=False)
        where.update(zip(reversed(digests), places, strict=False))
    return where


def _analyze(
    documents: list[Document], progress: Callable[[int], None] | None, workers: int | None
) -> list[Segment]:
    """New segments for `documents`: one per analysis run (one for a few files)."""
    if not documents:
        return []
    segments = []
    for lo, hi, chunk in analyze_documents(documents, progress, workers):
        digests = [d.digest for d in documents[lo:hi]]
        segments.append(Segment(segment_name(digests), digests, chunk))
    return segments


def _holds(segment: Segment, local: int, digest: str) -> bool:
    return local < len(segment.digests) and segment.digests[local] == digest


def _pieces(
    documents: list[Document], segments: list[Segment], where: dict[str, tuple[int, int]]
) -> list[tuple[int, int, int, int]]:
    """(segment, first doc, stop doc, first corpus doc): runs of the corpus held
    consecutively by one segment, in corpus order."""
    pieces: list[list[int]] = []
    for i, document in enumerate(documents):
        last = pieces[-1] if pieces else None
        if last is not None and _holds(segments[last[0]], last[2], document.digest):
            last[2] += 1  # a repeated file continues the run it sits in
            continue
        segment, local = where[document.digest]
        if last is not None and last[0] == segment and last[2] == local:
            last[2] += 1
        else:
            pieces.append([segment, local, local + 1, i])
    return [(s, lo, hi, first) for s, lo, hi, first in pieces]


def _compact(
    segments: list[Segment], pieces: list[tuple[int, int, int, int]], fresh: list[Segment]
) -> tuple[list[Segment], int]:
    """The segments to keep: those the corpus uses, mostly-dead ones rewritten, the
    smallest merged when there are too many. Returns (segments, number rewritten)."""
    used: dict[int, list[tuple[int, int]]] = {}
    for s, lo, hi, _ in pieces:
        used.setdefault(s, []).append((lo, hi))
    fresh_names = {s.name for s in fresh}
    keep: list[Segment] = []
    rewrite: list[Segment] = []
    for number, segment in enumerate(segments):
        if number not in used:
            continue  # every document gone: dropped
        runs = sorted(set(used[number]))
        live = _live_docs(runs)
        if len(live) < MIN_LIVE_SHARE * len(segment.digests) and segment.name not in fresh_names:
            rewrite.append(_take(segment, live))
        else:
            keep.append(segment)
    merged = len(rewrite)
    out = keep + rewrite
    if len(out) > MAX_SEGMENTS:
        out.sort(key=lambda s: s.chunk.n_rows)
        small = out[: len(out) - MAX_SEGMENTS // 2 + 1]
        out = [*out[len(small) :], _concat(small)]
        merged += len(small)
    return out, merged


def _live_docs(runs: list[tuple[int, int]]) -> list[int]:
    return sorted({i for lo, hi in runs for i in range(lo, hi)})


def _take(segment: Segment, docs: list[int]) -> Segment:
    """A new segment of some documents of `segment` (no analysis: its rows are copied)."""
    parts = []
    start = 0
    while start < len(docs):
        stop = start + 1
        while stop < len(docs) and docs[stop] == docs[stop - 1] + 1:
            stop += 1
        parts.append(slice_chunk(segment.chunk, docs[start], docs[stop - 1] + 1, start))
        start = stop
    digests = [segment.digests[i] for i in docs]
    return Segment(segment_name(digests), digests, concat_chunks(parts))


def _concat(segments: list[Segment]) -> Segment:
    parts, digests = [], []
    for segment in segments:
        parts.append(slice_chunk(segment.chunk, 0, len(segment.digests), len(digests)))
        digests.extend(segment.digests)
    return Segment(segment_name(digests), digests, concat_chunks(parts))


def concat_chunks(chunks: list[AnalyzedChunk]) -> AnalyzedChunk:
    """One chunk of several (documents already numbered consecutively), with one
    vocabulary of the terms its rows hold and postings sorted by (term, row)."""
    present = [np.unique(chunk.post_term).tolist() for chunk in chunks]
    union = sorted({c.vocab[t] for c, ids in zip(chunks, present, strict=True) for t in ids})
    vocab = {t: i for i, t in enumerate(union)}  # sorted, as index_from_chunks relies on
    terms, rows, tfs = [], [], []
    row0 = 0
    for chunk, kept in zip(chunks, present, strict=True):
        ids = np.full(len(chunk.vocab), -1, dtype=np.int64)
        ids[kept] = [vocab[chunk.vocab[t]] for t in kept]
        terms.append(ids[chunk.post_term])
        rows.append(chunk.post_row.astype(np.int64) + row0)
        tfs.append(chunk.post_tf)
        row0 += chunk.n_rows
    term = np.concatenate(terms) if terms else np.empty(0, np.int64)
    row = np.concatenate(rows) if rows else np.empty(0, np.int64)
    order = np.lexsort((row, term))

    def column(name: str, dtype: type) -> np.ndarray:
        parts = [np.asarray(getattr(c, name)) for c in chunks]
        return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype)

    return AnalyzedChunk(
        sent_doc=column("sent_doc", np.int32),
        sent_pos=column("sent_pos", np.int32),
        sent_start=column("sent_start", np.int32),
        sent_end=column("sent_end", np.int32),
        text_blob=b"".join(c.text_blob for c in chunks),
        text_len=column("text_len", np.int64),
        keys=b"".join(c.keys for c in chunks),
        n_terms=column("n_terms", np.int32),
        vocab=list(vocab),
        post_term=term[order].astype(np.int32),
        post_row=row[order].astype(np.int32),
        post_tf=(np.concatenate(tfs) if tfs else np.empty(0, np.int32))[order].astype(np.int32),
    )


def save_segment(root: Path, segment: Segment) -> Path:
    """Write a segment under root/<name>/, atomically (temporary folder, then rename)."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / segment.name
    tmp = Path(tempfile.mkdtemp(prefix=f".{segment.name}.", dir=root))
    try:
        chunk = segment.chunk
        for name in _ARRAYS:
            np.save(tmp / f"{name}.npy", np.asarray(getattr(chunk, name)), allow_pickle=False)
        np.save(tmp / "text_blob.npy", _bytes_array(chunk.text_blob), allow_pickle=False)
        np.save(tmp / "keys.npy", _bytes_array(chunk.keys), allow_pickle=False)
        (tmp / "vocab.json").write_text(json.dumps(chunk.vocab, ensure_ascii=False), "utf-8")
        manifest = {
            "format": SEGMENT_FORMAT,
            "pipeline_version": PIPELINE_VERSION,
            "name": segment.name,
            "digests": segment.digests,
            "n_rows": chunk.n_rows,
            "n_terms": len(chunk.vocab),
            "n_postings": len(chunk.post_term),
            "text_bytes": len(_bytes_array(chunk.text_blob)),
        }
        # The manifest is written last: a folder without one is incomplete.
        (tmp / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _bytes_array(data: bytes | np.ndarray) -> np.ndarray:
    return data if isinstance(data, np.ndarray) else np.frombuffer(data, dtype=np.uint8)


def load_segment(root: Path, name: str) -> Segment:
    """A stored segment, memory-mapped; raises BadSegment unless it is whole and consistent."""
    folder = root / name
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != SEGMENT_FORMAT:
            raise BadSegment(f"segment {name}: format {manifest.get('format')!r}")
        if manifest.get("pipeline_version") != PIPELINE_VERSION:
            raise BadSegment(f"segment {name}: another pipeline version")
        digests = manifest["digests"]
        if manifest.get("name") != name or segment_name(digests) != name:
            raise BadSegment(f"segment {name}: its documents do not match its name")
        arrays = {
            key: np.load(folder / f"{key}.npy", mmap_mode="r", allow_pickle=False).view(np.ndarray)
            for key in (*_ARRAYS, "text_blob", "keys")
        }
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    except BadSegment:
        raise
    except FileNotFoundError as exc:
        raise BadSegment(f"segment {name}: {Path(exc.filename).name} missing") from exc
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise BadSegment(f"segment {name} is unreadable: {exc}") from exc
    chunk = AnalyzedChunk(vocab=vocab, **arrays)
    _check(name, chunk, manifest)
    return Segment(name, list(digests), chunk)


def _check(name: str, chunk: AnalyzedChunk, manifest: dict) -> None:
    """Catch truncated, mismatched or out-of-range arrays before a merge trusts them."""
    n_rows, n_docs = manifest["n_rows"], len(manifest["digests"])
    n_terms, n_postings = manifest["n_terms"], manifest["n_postings"]
    sent_doc = chunk.sent_doc
    checks = {
        "sentence table": all(
            len(getattr(chunk, a)) == n_rows
            for a in ("sent_doc", "sent_pos", "sent_start", "sent_end", "text_len", "n_terms")
        ),
        "keys": len(chunk.keys) == n_rows * _KEY_BYTES,
        "texts": len(chunk.text_blob) == manifest["text_bytes"] == int(chunk.text_len.sum()),
        "vocabulary": len(chunk.vocab) == n_terms
        and chunk.vocab == sorted(chunk.vocab)  # linear on sorted input, in C
        and len(set(chunk.vocab)) == n_terms,
        "posting order": not n_postings
        or bool(np.all(chunk.post_term[1:] >= chunk.post_term[:-1])),
        "postings": len(chunk.post_term) == len(chunk.post_row) == len(chunk.post_tf) == n_postings,
        "documents": not n_rows
        or (
            int(sent_doc[0]) >= 0
            and int(sent_doc[-1]) < n_docs
            and bool(np.all(sent_doc[1:] >= sent_doc[:-1]))
        ),
        "posting range": not n_postings
        or (
            int(chunk.post_term.min()) >= 0
            and int(chunk.post_term.max()) < n_terms
            and int(chunk.post_row.min()) >= 0
            and int(chunk.post_row.max()) < n_rows
            and int(chunk.post_tf.min()) > 0
        ),
    }
    for what, ok in checks.items():
        if not ok:
            raise BadSegment(f"segment {name} is inconsistent ({what})")


# Segments this process last loaded, by folder: a serving process's next reload
# does not parse their vocabularies again. Trusted only while every file of the
# catalog and of its segments has the same (inode, size, mtime).
_kept: dict[Path, tuple[list[tuple[int, int, int]], list[Segment]]] = {}


def _stamps(root: Path, names: list[str]) -> list[tuple[int, int, int]]:
    """(inode, size, mtime) of the catalog and of every file of its segments."""
    stat = (root / CATALOG_FILE).stat()
    stamps = [(stat.st_ino, stat.st_size, stat.st_mtime_ns)]
    for folder in (root / name for name in names):
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_file() and not entry.name.startswith("."):
                    stat = entry.stat()
                    stamps.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
    return stamps


def nothing_stored(index_dir: Path) -> bool:
    """No segment catalog beside `index_dir`: every document will be analyzed, so a
    load may analyze them where it reads them (`load_corpus(analyze=True)`)."""
    return not (segments_dir(index_dir) / CATALOG_FILE).exists()


def load_catalog(root: Path) -> list[Segment]:
    """The live segments; those that cannot be trusted are left out (and logged)."""
    kept = _kept.get(root)
    if kept is not None:
        try:
            if _stamps(root, [s.name for s in kept[1]]) == kept[0]:
                return list(kept[1])
        except OSError:
            pass
    try:
        catalog = json.loads((root / CATALOG_FILE).read_text(encoding="utf-8"))
        names = [str(n) for n in catalog["segments"]]
        if catalog.get("format") != SEGMENT_FORMAT:
            return []
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("segment catalog in %s unreadable, analyzing everything: %s", root, exc)
        return []
    segments = []
    for name in names:
        try:
            segments.append(load_segment(root, name))
        except BadSegment as exc:
            log.warning("%s; its documents are analyzed again", exc)
    if len(segments) == len(names):
        _keep(root, segments)
    return list(segments)


def _keep(root: Path, segments: list[Segment]) -> None:
    with contextlib.suppress(OSError):
        _kept[root] = (_stamps(root, [s.name for s in segments]), list(segments))


def save_catalog(root: Path, names: list[str]) -> None:
    """Name the live segments (atomically), then drop every other segment folder."""
    root.mkdir(parents=True, exist_ok=True)
    record = {"format": SEGMENT_FORMAT, "segments": names}
    fd, tmp = tempfile.mkstemp(prefix=".catalog.", dir=root)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(record))
        os.replace(tmp, root / CATALOG_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    keep = set(names)
    for entry in root.iterdir():
        if entry.is_dir() and entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)


def load_titles(root: Path) -> dict[str, list[str]]:
    """Titles analyzed by an earlier build or edit (empty when there is no usable record)."""
    try:
        record = json.loads((root / TITLES_FILE).read_text(encoding="utf-8"))
        if record.get("pipeline_version") != PIPELINE_VERSION:
            return {}
        titles = record["titles"]
        if not isinstance(titles, dict):
            return {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("analyzed titles in %s unreadable, analyzing them again: %s", root, exc)
        return {}
    try:
        with open(root / TITLES_LOG, encoding="utf-8") as lines:
            for line in lines:
                with contextlib.suppress(ValueError, TypeError):  # a torn last line
                    title, terms = json.loads(line)
                    if isinstance(title, str) and isinstance(terms, list):
                        titles[title] = terms
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("analyzed titles log in %s unreadable: %s", root, exc)
    return titles


def save_titles(root: Path, index: SentenceIndex) -> None:
    """Keep the titles analyzed for `index` (after its context field was built): the
    few an edit analyzed are appended to TITLES_LOG; after a merge or a first build,
    every title is written to TITLES_FILE (the log then starts over)."""
    fresh = index.derived.get(FRESH_TITLES_KEY)
    known = index.derived.get(TITLE_TERMS_KEY)
    root.mkdir(parents=True, exist_ok=True)
    if isinstance(fresh, dict):
        if fresh:
            text = "".join(json.dumps([t, w], ensure_ascii=False) + "\n" for t, w in fresh.items())
            with open(root / TITLES_LOG, "a", encoding="utf-8") as out:
                out.write(text)
        if isinstance(known, dict):
            index.derived[_TITLES_LOADED] = len(known)  # the files now hold them all
        return
    if not isinstance(known, dict) or len(known) == index.derived.get(_TITLES_LOADED):
        return  # nothing new was analyzed (titles of removed files may stay: harmless)
    titles = {s.title: known[s.title] for s in index.sources if s.title in known}
    record = {"pipeline_version": PIPELINE_VERSION, "titles": titles}
    fd, tmp = tempfile.mkstemp(prefix=".titles.", dir=root)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False))  # C encoder; dump() is Python
        os.replace(tmp, root / TITLES_FILE)
        (root / TITLES_LOG).unlink(missing_ok=True)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    index.derived[_TITLES_LOADED] = len(known)
