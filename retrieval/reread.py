"""Reading only the corpus files that changed since the last read.

Reading and hashing every file is 10 s at 94k files, twice the budget of a
one-file update. So beside the analyzed segments (retrieval/segments.py),
`files.json` keeps what the last read found for each file: its listing entry
(size, mtime and ctime in ns, retrieval/listing.py), digest and body offset, or
the problems it had. A file whose entry is unchanged is taken from there without
being opened (its Document has no text: its analysis is in a segment under its
digest); every other file is read as `load_corpus` reads it.

The citation of an unchanged file is taken from the previous index, which holds
every document's citation and digest: the digest is of the file's bytes, front
matter included, so the same path and digest mean the same citation. The record
does not repeat the citations (parsing and writing 94k of them twice cost ~1 s
of a one-file update); a file the previous index does not hold with the recorded
digest is read. Without a previous index every file is read.

Why this is safe for a reload, which must see every content change: writing a
file always sets its ctime to the current time, and no tool can set a ctime
back (`touch -d` and `rsync -a` restore mtimes, not ctimes), so an edit that
keeps size and mtime still changes the entry. A file modified within two seconds
of the last read (RACY_NS) is read again whatever its entry says.

The whole corpus is read (`load_corpus`) when there is no usable record, when
`sources.yaml` exists (its entries apply to files by name, and its "names no
corpus file" reports depend on the whole file set), or when the folder walk
refused different links.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import replace
from itertools import repeat
from operator import attrgetter
from pathlib import Path

import numpy as np

from retrieval.corpus import SOURCES_FILE, Corpus
from retrieval.index import SentenceIndex
from retrieval.listing import RACY_NS, Listing
from retrieval.models import Document, Problem
from retrieval.roots import Roots

log = logging.getLogger(__name__)

FILES_RECORD = "files.json"
_RECORD_FORMAT = 4  # 3: columns; 4: citations taken from the previous index
_path_of = attrgetter("doc")
_document_path = attrgetter("source.doc")
# The record this process last read or wrote, by state folder, with the Documents of
# its rows: a serving process's next reload neither parses 94k entries nor makes
# their objects again. Trusted only while the file's (inode, size, mtime) is the same.
_kept: dict[Path, tuple[tuple[int, int, int], dict, list[Document | None]]] = {}


class TooManyChanges(Exception):
    """More files changed than the caller's limit (or the whole corpus must be read)."""


def read_corpus(
    roots: Roots,
    listing: Listing | None,
    state_dir: Path,
    previous: SentenceIndex | None,
    limit: int | None = None,
    analyze: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[Corpus, int]:
    """(the corpus, number of files opened) of the folders `roots` names.

    `analyze`: a corpus read whole may come analyzed where it was read, `progress`
    counting its files (`Roots.load`).

    Documents taken from the record have an empty text, their stored digest and
    `previous`'s citation (the index last built; None: every file is read).
    With `limit`, raises TooManyChanges instead of opening more files than that.
    """
    record = _read_record(state_dir) if listing is not None else None
    if (
        listing is None
        or record is None
        or any(rel == SOURCES_FILE for rel, *_ in listing.files)
        or tuple(record["skipped"]) != listing.skipped
    ):
        if limit is not None:
            raise TooManyChanges("the whole corpus must be read")
        corpus = roots.load(analyze, progress)
        return corpus, len(listing.files) if listing is not None else -1
    try:
        made = _kept_documents(state_dir, record)
        return _read_changed(roots, listing, record, limit, made, previous)
    except (ValueError, TypeError, KeyError) as exc:
        if limit is not None:
            raise TooManyChanges(f"file record in {state_dir} malformed") from exc
        log.warning("file record in %s malformed, reading every file: %s", state_dir, exc)
        return roots.load(analyze, progress), len(listing.files)


def _read_changed(
    roots: Roots,
    listing: Listing,
    record: dict,
    limit: int | None,
    made: list[Document | None] | None,
    previous: SentenceIndex | None,
) -> tuple[Corpus, int]:
    """Files whose entry is unchanged from the record; the others read. Columns are
    compared whole (94k files: a Python loop of per-file comparisons took seconds)."""
    paths: list[str] = record["paths"]
    stats = record["stats"]  # [sizes, mtimes, ctimes]
    digests, offsets = record["digests"], record["offsets"]
    reasons: dict[str, list[str]] = record["problems"]
    n = len(paths)
    if not (len(digests) == len(offsets) == n and all(len(c) == n for c in stats)):
        raise ValueError("columns of different lengths")
    if made is None:  # citations from the previous index, where it holds the same file
        made = [None] * n
        if previous is not None:  # dict and map calls iterate in C: 94k rows
            sources, previous_digests = previous.sources, previous.digests
            held = dict(zip(map(_path_of, sources), range(len(sources)), strict=True))
            for i, j in enumerate(map(held.get, paths)):
                if j is not None and digests[i] is not None and previous_digests[j] == digests[i]:
                    made[i] = Document(sources[j], "", offsets[i], digests[i])
    current = list(zip(*listing.files, strict=True)) if listing.files else [[], [], [], []]
    now_paths = list(current[0])
    if now_paths == paths:
        at = np.arange(n)
    else:
        where = dict(zip(paths, range(n), strict=True))
        at = np.fromiter(map(where.get, now_paths, repeat(-1)), np.int64, len(now_paths))
    known = at >= 0
    safe = np.where(known, at, 0)
    same = known.copy()
    for column, now in zip(stats, current[1:], strict=True):
        same &= np.asarray(column, dtype=np.int64)[safe] == np.asarray(now, dtype=np.int64)
    # Racy entries: modified too close to the recorded listing to trust the mtime.
    same &= np.asarray(current[2], dtype=np.int64) < int(record["taken_ns"]) - RACY_NS
    # A document the record knows but no citation was found for is read; a file that
    # had no document (its problems recorded) needs none.
    held = np.fromiter(
        (m is not None or d is None for m, d in zip(made, digests, strict=True)), bool, n
    )
    same &= held[safe]
    if limit is not None:
        # Added or changed files, and removed ones: a removal changes the index too.
        removed = n - int(np.unique(at[known]).size)
        changed = int(len(same) - same.sum()) + removed
        if changed > limit:
            raise TooManyChanges(f"{changed} files added, changed or removed")
    documents: list[Document] = []
    problems = [Problem(p, r) for p, r in record["walk_problems"]]
    opened = 0
    for rel, i, ok in zip(now_paths, safe.tolist(), same.tolist(), strict=True):
        if ok:
            document = made[i]
            if document is not None:
                documents.append(document)
            if rel in reasons:
                problems.extend(Problem(rel, r) for r in reasons[rel])
            continue
        opened += 1
        document, found = roots.read(rel)
        if document is not None:
            documents.append(document)
        problems.extend(found)
    return Corpus(roots.corpus_dir, documents, problems), opened


def save_record(state_dir: Path, listing: Listing, corpus: Corpus) -> None:
    """Remember what reading `corpus` under `listing` found, for the next read_corpus."""
    paths = [e[0] for e in listing.files]
    row = dict(zip(paths, range(len(paths)), strict=True))
    digests: list[str | None] = [None] * len(paths)
    offsets: list[int] = [0] * len(paths)
    # The Documents of the rows, texts dropped: a serving process's next reload uses them.
    made: list[Document | None] = [None] * len(paths)
    documents = corpus.documents
    for i, document in zip(map(row.get, map(_document_path, documents)), documents, strict=True):
        if i is not None:
            digests[i] = document.digest
            offsets[i] = document.body_offset
            made[i] = replace(document, text="") if document.text else document
    problems: dict[str, list[str]] = {}
    walk_problems = []
    for problem in corpus.problems:
        if problem.path in row:
            problems.setdefault(problem.path, []).append(problem.reason)
        else:
            walk_problems.append([problem.path, problem.reason])
    columns = list(zip(*listing.files, strict=True))[1:] if listing.files else [[], [], []]
    record = {
        "format": _RECORD_FORMAT,
        "taken_ns": listing.taken_ns,
        "skipped": list(listing.skipped),
        "walk_problems": walk_problems,
        "paths": paths,
        "stats": [list(c) for c in columns],
        "digests": digests,
        "offsets": offsets,
        "problems": problems,
    }
    state_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".files.", dir=state_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False))  # C encoder; dump() is Python
        os.replace(tmp, state_dir / FILES_RECORD)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _kept[state_dir] = (_stamp(state_dir / FILES_RECORD), record, made)


def _stamp(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _kept_documents(state_dir: Path, record: dict) -> list[Document | None] | None:
    kept = _kept.get(state_dir)
    return kept[2] if kept is not None and kept[1] is record else None


def _read_record(state_dir: Path) -> dict | None:
    try:
        kept = _kept.get(state_dir)
        if kept is not None and kept[0] == _stamp(state_dir / FILES_RECORD):
            return kept[1]
        record = json.loads((state_dir / FILES_RECORD).read_text(encoding="utf-8"))
        if record.get("format") != _RECORD_FORMAT:
            return None
        for name in ("taken_ns", "skipped", "walk_problems", "paths", "stats", "digests"):
            record[name]
        return record
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("file record in %s unreadable, reading every file: %s", state_dir, exc)
        return None
