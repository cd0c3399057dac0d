"""The corpus as every command reads it: the main folder, plus the uploads folder.

Documents of the uploads folder are named `uploads/NAME`, so citations and
/sources tell them apart from the main folder's, and the bot can tell which
documents it may delete. The uploads folder may not exist yet (nothing uploaded):
then it adds nothing. A main-folder document already named `uploads/NAME` wins;
the upload of the same name is skipped and reported.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from retrieval.corpus import Corpus, CorpusError, load_corpus
from retrieval.listing import Listing, list_corpus
from retrieval.models import Problem

UPLOADS_PREFIX = "uploads/"


def load_roots(corpus_dir: Path, uploads_dir: Path | None, **options: int | None) -> Corpus:
    """`load_corpus(corpus_dir)` with the uploads folder's documents appended."""
    main = load_corpus(corpus_dir, **options)  # type: ignore[arg-type]
    if uploads_dir is None or not os.path.lexists(uploads_dir):
        return main
    try:
        extra = load_corpus(uploads_dir, **options)  # type: ignore[arg-type]
    except CorpusError as exc:
        problem = Problem(UPLOADS_PREFIX.rstrip("/"), f"uploads folder skipped: {exc}")
        return Corpus(main.folder, main.documents, [*main.problems, problem])
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
    return Corpus(main.folder, documents, problems)


def list_roots(corpus_dir: Path, uploads_dir: Path | None) -> Listing:
    """`list_corpus(corpus_dir)` with the uploads folder's files appended under `uploads/`."""
    main = list_corpus(corpus_dir)
    if uploads_dir is None or not os.path.isdir(uploads_dir):
        return main
    extra = list_corpus(uploads_dir)
    files = main.files + tuple((UPLOADS_PREFIX + p, s, m) for p, s, m in extra.files)
    skipped = main.skipped + tuple(UPLOADS_PREFIX + s for s in extra.skipped)
    return Listing(tuple(sorted(files)), min(main.taken_ns, extra.taken_ns), skipped)


def folders_read(corpus_dir: Path, uploads_dir: Path | None) -> str:
    """The folders a load reads, as a summary names them."""
    if uploads_dir is None:
        return str(corpus_dir)
    return f"{corpus_dir} + {uploads_dir}"
