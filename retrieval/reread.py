"""Reading only the corpus files that changed since the last read.

Reading and hashing every file is 10 s at 94k files, twice the budget of a
one-file update. So beside the analyzed segments (retrieval/segments.py),
`files.json` keeps what the last read found for each file: its listing entry
(size, mtime and ctime in ns, retrieval/listing.py) and its citation, digest and
body offset, or the problems it had. A file whose entry is unchanged is taken
from there without being opened (its Document has no text: its analysis is in a
segment under its digest); every other file is read as `load_corpus` reads it.

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
from dataclasses import fields
from operator import attrgetter
from pathlib import Path

from retrieval.corpus import MAX_FILE_BYTES, SOURCES_FILE, Corpus, _read_document
from retrieval.listing import RACY_NS, Listing
from retrieval.models import Document, Problem, Source

log = logging.getLogger(__name__)

FILES_RECORD = "files.json"
_RECORD_FORMAT = 2
_SOURCE_FIELDS = tuple(f.name for f in fields(Source))
_source_values = attrgetter(*_SOURCE_FIELDS)  # not asdict: it deep-copies, 2 s at 94k files


def read_corpus(
    folder: Path,
    listing: Listing | None,
    state_dir: Path,
    load: Callable[[Path], Corpus],
) -> tuple[Corpus, int]:
    """(the corpus, number of files opened); `load` reads a whole folder (load_corpus).

    Documents taken from the record have an empty text and their stored digest.
    """
    record = _read_record(state_dir) if listing is not None else None
    if (
        listing is None
        or record is None
        or any(rel == SOURCES_FILE for rel, *_ in listing.files)
        or tuple(record["skipped"]) != listing.skipped
    ):
        corpus = load(folder)
        return corpus, len(listing.files) if listing is not None else -1
    try:
        return _read_changed(folder, listing, record)
    except (ValueError, TypeError, KeyError) as exc:
        log.warning("file record in %s malformed, reading every file: %s", state_dir, exc)
        return load(folder), len(listing.files)


def _read_changed(folder: Path, listing: Listing, record: dict) -> tuple[Corpus, int]:
    known: dict[str, list] = record["files"]
    taken = int(record["taken_ns"])
    documents: list[Document] = []
    problems = [Problem(p, r) for p, r in record["walk_problems"]]
    opened = 0
    for entry in listing.files:
        rel = entry[0]
        stored = known.get(rel)
        if stored is not None and list(entry) == stored[0] and entry[2] < taken - RACY_NS:
            meta, reasons = stored[1], stored[2]
            if meta is not None:
                digest, offset, values = meta
                if len(values) != len(_SOURCE_FIELDS):
                    raise ValueError(f"the record of {rel} has other citation fields")
                source = Source(*values)
                if source.doc != rel:
                    raise ValueError(f"the record of {rel} names {source.doc}")
                documents.append(Document(source, "", offset, digest))
            problems.extend(Problem(rel, r) for r in reasons)
            continue
        opened += 1
        found: list[Problem] = []
        document = _read_document(folder / rel, rel, None, found, MAX_FILE_BYTES)
        if document is not None:
            documents.append(document)
        problems.extend(found)
    return Corpus(folder, documents, problems), opened


def save_record(state_dir: Path, listing: Listing, corpus: Corpus) -> None:
    """Remember what reading `corpus` under `listing` found, for the next read_corpus."""
    by_file: dict[str, list] = {e[0]: [list(e), None, []] for e in listing.files}
    walk_problems = []
    for document in corpus.documents:
        if document.doc in by_file:
            values = _source_values(document.source)
            meta = [document.digest, document.body_offset, values]
            by_file[document.doc][1] = meta
    for problem in corpus.problems:
        if problem.path in by_file:
            by_file[problem.path][2].append(problem.reason)
        else:
            walk_problems.append([problem.path, problem.reason])
    record = {
        "format": _RECORD_FORMAT,
        "taken_ns": listing.taken_ns,
        "skipped": list(listing.skipped),
        "walk_problems": walk_problems,
        "files": by_file,
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


def _read_record(state_dir: Path) -> dict | None:
    try:
        record = json.loads((state_dir / FILES_RECORD).read_text(encoding="utf-8"))
        if record.get("format") != _RECORD_FORMAT:
            return None
        for name in ("taken_ns", "skipped", "walk_problems", "files"):
            record[name]
        return record
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("file record in %s unreadable, reading every file: %s", state_dir, exc)
        return None
