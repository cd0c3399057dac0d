"""The corpus as every command reads it: the main folder, plus the uploads folder.

Documents of the uploads folder are named `uploads/NAME`, so citations and
/sources tell them apart from the main folder's, and the bot can tell which
documents it may delete. The uploads folder may not exist yet (nothing uploaded):
then it adds nothing. A main-folder document already named `uploads/NAME` wins;
the upload of the same name is skipped and reported.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from retrieval.corpus import Corpus, CorpusError, load_corpus, read_documents
from retrieval.listing import Listing, list_corpus
from retrieval.models import Document, Problem

UPLOADS_PREFIX = "uploads/"


def load_roots(corpus_dir: Path, uploads_dir: Path | None, **options: object) -> Corpus:
    """`load_corpus(corpus_dir)` with the uploads folder's documents appended."""
    main = load_corpus(corpus_dir, **options)  # type: ignore[arg-type]
    if uploads_dir is None or not os.path.lexists(uploads_dir):
        return main
    try:
        extra = load_corpus(uploads_dir, **options)  # type: ignore[arg-type]
    except CorpusError as exc:
        problem = Problem(UPLOADS_PREFIX.rstrip("/"), f"uploads folder skipped: {exc}")
        return Corpus(main.folder, main.documents, [*main.problems, problem], main.analyzed)
    taken = {d.doc for d in main.documents}
    documents = list(main.documents)
    problems = list(main.problems)
    for document in extra.documents:
        doc = UPLOADS_PREFIX + document.doc
        if doc in taken:
            problems.append(Problem(doc, "upload skipped: the main corpus folder has this name"))
            continue
        documents.append(replace(document, source=replace(document.source, doc=doc)))
    problems.extend(Problem(UPLOADS_PREFIX + p.path, p.reason) for p in extra.problems)
    return Corpus(main.folder, documents, problems, main.analyzed + extra.analyzed)


def list_roots(corpus_dir: Path, uploads_dir: Path | None) -> Listing:
    """`list_corpus(corpus_dir)` with the uploads folder's files appended under `uploads/`."""
    main = list_corpus(corpus_dir)
    if uploads_dir is None or not os.path.isdir(uploads_dir):
        return main
    extra = list_corpus(uploads_dir)
    files = main.files + tuple((UPLOADS_PREFIX + p, *stat) for p, *stat in extra.files)
    skipped = main.skipped + tuple(UPLOADS_PREFIX + s for s in extra.skipped)
    return Listing(tuple(sorted(files)), min(main.taken_ns, extra.taken_ns), skipped)


def folders_read(corpus_dir: Path, uploads_dir: Path | None) -> str:
    """The folders a load reads, as a summary names them."""
    if uploads_dir is None:
        return str(corpus_dir)
    return f"{corpus_dir} + {uploads_dir}"


@dataclass(frozen=True, slots=True)
class Roots:
    """The folders one corpus is read from, as the engine and retrieval/reread.py use them."""

    corpus_dir: Path
    uploads_dir: Path | None = None

    def load(self, analyze: bool = False, progress: Callable[[int], None] | None = None) -> Corpus:
        """Every document of both folders (`load_roots`); with `analyze`, large folders
        come analyzed where they were read, `progress` counting files (`load_corpus`)."""
        return load_roots(self.corpus_dir, self.uploads_dir, analyze=analyze, progress=progress)

    def list(self) -> Listing:
        """Every file of both folders with its size and times (`list_roots`)."""
        return list_roots(self.corpus_dir, self.uploads_dir)

    def read(self, doc: str) -> tuple[Document | None, list[Problem]]:
        """One document by its corpus name (`uploads/NAME` for an upload), read as a load
        reads it; None with the problems when it cannot be used."""
        folder, rel = self.corpus_dir, doc
        if self.uploads_dir is not None and doc.startswith(UPLOADS_PREFIX):
            folder, rel = self.uploads_dir, doc[len(UPLOADS_PREFIX) :]
        documents, problems = read_documents(folder, [rel])
        if folder is self.corpus_dir:
            return (documents[0] if documents else None), problems
        renamed = [Problem(UPLOADS_PREFIX + p.path, p.reason) for p in problems]
        if not documents:
            return None, renamed
        document = documents[0]
        return replace(document, source=replace(document.source, doc=doc)), renamed
