"""Reading a corpus folder: the only module that opens corpus files.

A corpus is a folder (searched recursively) of UTF-8 `.txt` and `.md` files.
A file's citation comes from, in order: a YAML front matter block at its top
(`---` lines around `title`, `outlet`, `url`, `date`), its entry in the folder's
`sources.yaml`, or its file name. A bad file never stops a load: it is skipped
and reported as a `Problem` naming the file and the reason.

Every file (and `sources.yaml`) is opened one path component at a time without
following links, then checked on its descriptor: a file swapped for a link to
`/etc/…` between the listing and the read cannot get outside text indexed. A link
is followed only when it resolves inside the folder. Metadata is read by
`retrieval.metadata`, which refuses what a citation does not need.
"""

from __future__ import annotations

import errno
import hashlib
import multiprocessing
import os
import stat
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import regex
import yaml

from retrieval.display import printable
from retrieval.index import AnalyzedRun, analyze_chunk
from retrieval.metadata import FIELD_CHARS, cap, clean_fields, quoted, read_yaml
from retrieval.models import Document, Problem, Source
from retrieval.normalize import analyze_keyed

SUFFIXES = (".txt", ".md")
# A news article is kilobytes; a file this large is an export or a mistake, and
# indexing it would stall a reload for everyone.
MAX_FILE_BYTES = 20 * 1024 * 1024
SOURCES_FILE = "sources.yaml"
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# O_NONBLOCK: a name swapped for a named pipe since it was checked must not wait for a writer.
_FILE_FLAGS = os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW | _CLOEXEC
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC
# What opening a link with O_NOFOLLOW fails with (ELOOP; ENOTDIR with O_DIRECTORY; EMLINK on BSD).
_LINK_ERRNOS = (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)
_WORD_CHAR_RE = regex.compile(r"[\p{L}\p{N}]")


class CorpusError(Exception):
    """The corpus as a whole cannot be read (missing folder, not a folder, unreadable)."""


@dataclass(frozen=True, slots=True)
class Corpus:
    folder: Path
    documents: list[Document]
    problems: list[Problem]
    # With `load_corpus(analyze=True)`: runs of documents analyzed where they were
    # read; those documents come without text.
    analyzed: tuple[AnalyzedRun, ...] = ()


def load_corpus(
    folder: str | os.PathLike[str],
    max_file_bytes: int = MAX_FILE_BYTES,
    workers: int | None = None,
    analyze: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Corpus:
    """Documents of `folder` and the problems met on the way; raises CorpusError only
    when the folder itself is unusable.

    Files are read and parsed in `workers` processes (default: every core for a
    corpus of PARALLEL_MIN_FILES files or more): at 94k files, parsing front
    matter and hashing is 15 s of one core. The result does not depend on `workers`.

    With `analyze`, each worker also segments and analyzes the documents it read
    (`retrieval.index.analyze_chunk`) and sends back their chunk instead of their
    text: texts are never pickled to this process and back to analysis workers,
    nor held here while the index is built. Read in-process, documents keep their
    text and nothing is analyzed. `progress` is told how many files each finished
    batch held.
    """
    root = Path(folder)
    if not root.exists():
        raise CorpusError(f"corpus folder {root} does not exist")
    if not root.is_dir():
        raise CorpusError(f"corpus path {root} is not a folder")
    problems: list[Problem] = []
    try:
        files = corpus_files(root, problems)
    except OSError as exc:
        raise CorpusError(f"corpus folder {root} cannot be read: {exc.strerror or exc}") from exc
    real_root = os.path.realpath(root)
    sources = _read_sources_yaml(real_root, problems, max_file_bytes)
    todo = [(path, rel, sources.pop(rel, None)) for rel, path in files]
    if workers is None:
        workers = _cores() if len(todo) >= PARALLEL_MIN_FILES else 1
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    analyzed: tuple[AnalyzedRun, ...] = ()
    if workers == 1:
        documents, read_problems = _read_batch(todo, max_file_bytes, real_root)
        if progress is not None:
            progress(len(todo))
    else:
        documents, read_problems, analyzed = _read_in_workers(
            todo, max_file_bytes, real_root, workers, analyze, progress
        )
    problems.extend(read_problems)
    for rel in sorted(sources):
        problems.append(Problem(SOURCES_FILE, f"entry {quoted(rel)} names no corpus file"))
    return Corpus(root, documents, problems, analyzed)


def read_documents(
    folder: str | os.PathLike[str],
    rels: list[str],
    listed: dict[str, dict[str, str]] | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> tuple[list[Document], list[Problem]]:
    """Some files of `folder` (relative paths), read exactly as a load reads them.

    For callers that need a few documents, not the corpus: the same link rules,
    size cap and front matter parsing. `listed` holds `sources.yaml` entries by path.
    """
    listed = listed or {}
    todo = [(str(Path(folder) / rel), rel, listed.get(rel)) for rel in rels]
    return _read_batch(todo, max_file_bytes, os.path.realpath(folder))


# Below this many files a corpus is read in-process: starting workers costs more.
PARALLEL_MIN_FILES = 5_000
_BATCHES_PER_WORKER = 4
# Batches that are also analyzed are smaller: a worker that ends early idles less.
_ANALYZED_BATCHES_PER_WORKER = 6

_Todo = list[tuple[str, str, dict[str, str] | None]]  # (path, relative path, sources.yaml entry)


def _read_batch(
    todo: _Todo, max_file_bytes: int, real_root: str
) -> tuple[list[Document], list[Problem]]:
    """Read files in order: a plain function of its arguments, so a worker can run it."""
    problems: list[Problem] = []
    documents = []
    try:
        root_fd = os.open(real_root, _DIR_FLAGS)
    except OSError as exc:  # the folder went away since it was listed
        reason = f"skipped, cannot be read: {exc.strerror or exc}"
        return [], [Problem(rel, reason) for _, rel, _ in todo]
    try:
        for _, rel, listed in todo:
            try:
                document = _read_document(root_fd, real_root, rel, listed, problems, max_file_bytes)
            except Exception as exc:  # a bad file must never stop a load
                why = f"{type(exc).__name__}: {_short(exc)}"
                problems.append(Problem(rel, f"skipped, could not be read ({why})"))
                continue
            if document is not None:
                documents.append(document)
    finally:
        os.close(root_fd)
    return documents, problems


def _read_and_analyze(
    todo: _Todo, max_file_bytes: int, real_root: str
) -> tuple[list[Document], list[Problem], AnalyzedRun | None]:
    """`_read_batch`, then the documents (and their titles) analyzed here; they are
    returned without their text."""
    documents, problems = _read_batch(todo, max_file_bytes, real_root)
    if not documents:
        return documents, problems, None
    chunk = analyze_chunk(0, [d.text for d in documents], [d.body_offset for d in documents])
    titles = {d.source.title: analyze_keyed(d.source.title)[0] for d in documents}
    run = AnalyzedRun([d.digest for d in documents], chunk, titles)
    return [replace(d, text="") for d in documents], problems, run


def _read_in_workers(
    todo: _Todo,
    max_file_bytes: int,
    real_root: str,
    workers: int,
    analyze: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[Document], list[Problem], tuple[AnalyzedRun, ...]]:
    per_worker = _ANALYZED_BATCHES_PER_WORKER if analyze else _BATCHES_PER_WORKER
    size = -(-len(todo) // (workers * per_worker))
    batches = [todo[i : i + size] for i in range(0, len(todo), size)]
    documents: list[Document] = []
    problems: list[Problem] = []
    analyzed: list[AnalyzedRun] = []
    context = multiprocessing.get_context("spawn")  # fork is unsafe in a threaded bot
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        n = len(batches)
        if not analyze:
            read_batches = pool.map(_read_batch, batches, [max_file_bytes] * n, [real_root] * n)
            for batch, (read, met) in zip(batches, read_batches, strict=True):
                documents.extend(read)
                problems.extend(met)
                if progress is not None:
                    progress(len(batch))
            return documents, problems, ()
        results = pool.map(_read_and_analyze, batches, [max_file_bytes] * n, [real_root] * n)
        for batch, (read, met, run) in zip(batches, results, strict=True):
            documents.extend(read)
            problems.extend(met)
            if run is not None:
                analyzed.append(run)
            if progress is not None:
                progress(len(batch))
    return documents, problems, tuple(analyzed)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def corpus_files(root: Path, problems: list[Problem]) -> list[tuple[str, str]]:
    """(path relative to root, '/'-separated; path) of the corpus files under root, sorted
    by relative path; links that lead outside the folder are not followed."""
    real_root = root.resolve()
    found: list[tuple[str, str]] = []

    def folder_failed(exc: OSError) -> None:
        # The folder itself is an error for the caller; a subfolder renamed or removed
        # while the walk runs is a problem of its own, not a reason to stop the load.
        if exc.filename is None or Path(exc.filename) == root:
            raise exc
        rel = Path(exc.filename).relative_to(root).as_posix()
        problems.append(Problem(rel, f"skipped, folder cannot be read: {exc.strerror or exc}"))

    # Plain strings, not Path objects, per file: 94k files took seconds through pathlib.
    top = os.fspath(root)
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False, onerror=folder_failed):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        folder = os.path.relpath(dirpath, top)
        prefix = "" if folder == "." else folder.replace(os.sep, "/") + "/"
        for name in filenames:
            if name.startswith(".") or not name.lower().endswith(SUFFIXES):
                continue
            path = os.path.join(dirpath, name)
            try:
                outside = os.path.islink(path) and not _inside(path, real_root)
            except OSError as exc:
                # Replaced between the two looks (a link turned file: EINVAL from
                # readlink): a problem of this file, not of the whole folder.
                reason = f"skipped, it changed while the folder was listed: {exc.strerror or exc}"
                problems.append(Problem(prefix + name, reason))
                continue
            if outside:
                problems.append(
                    Problem(prefix + name, "skipped, a link that leads outside the corpus folder")
                )
                continue
            found.append((prefix + name, path))
    found.sort()
    return found


def _inside(path: str, real_root: Path) -> bool:
    """Whether `path`, its links followed, lies inside the corpus folder."""
    return Path(path).resolve().is_relative_to(real_root)


class _Refusal(Exception):
    """A file that is not read, and why (e.g. "not a regular file (a named pipe)")."""


def _read_sources_yaml(
    real_root: str, problems: list[Problem], max_file_bytes: int
) -> dict[str, dict[str, str]]:
    """`sources.yaml`'s entries; a bad entry is reported and ignored, the rest are kept."""
    try:
        root_fd = os.open(real_root, _DIR_FLAGS)
        try:
            data = _read_bytes(root_fd, real_root, SOURCES_FILE, max_file_bytes)
        finally:
            os.close(root_fd)
    except FileNotFoundError:
        return {}
    except _Refusal as refusal:
        problems.append(Problem(SOURCES_FILE, f"ignored, {refusal}"))
        return {}
    except OSError as exc:
        problems.append(Problem(SOURCES_FILE, f"ignored, cannot be read: {exc.strerror or exc}"))
        return {}
    try:
        fields = read_yaml(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError, RecursionError, MemoryError) as exc:
        problems.append(Problem(SOURCES_FILE, f"ignored, cannot be read as YAML: {_short(exc)}"))
        return {}
    if fields is None:
        return {}
    if not isinstance(fields, dict):
        problems.append(Problem(SOURCES_FILE, "ignored, expected a mapping of file name → fields"))
        return {}
    entries = {}
    for name, entry in fields.items():
        what = f"entry {quoted(name)}"
        meta = clean_fields(entry, SOURCES_FILE, what, problems)
        if meta is not None and isinstance(name, str):
            entries[name] = meta
    return entries


def _read_document(
    root_fd: int,
    real_root: str,
    rel: str,
    listed: dict[str, str] | None,
    problems: list[Problem],
    max_file_bytes: int,
) -> Document | None:
    try:
        data = _read_bytes(root_fd, real_root, rel, max_file_bytes)
    except _Refusal as refusal:
        problems.append(Problem(rel, f"skipped, {refusal}"))
        return None
    except OSError as exc:
        problems.append(Problem(rel, f"skipped, cannot be read: {exc.strerror or exc}"))
        return None
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        problems.append(Problem(rel, "skipped, binary file (contains NUL bytes)"))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(
            Problem(
                rel, f"skipped, not UTF-8 (bad byte at offset {exc.start})" + _encoding_hint(data)
            )
        )
        return None
    # A byte order mark is not text; spans still count it, as they index the file.
    offset = 1 if text.startswith("\ufeff") else 0
    text = text[offset:]
    meta = dict(listed or {})
    body, body_offset, front = _split_front_matter(text, rel, problems)
    if front is None and body_offset < 0:
        return None
    if front:
        meta.update(front)
    if not body.strip():
        problems.append(Problem(rel, "skipped, empty (no text)"))
        return None
    if not _WORD_CHAR_RE.search(body):
        problems.append(Problem(rel, "skipped, no words (only marks, punctuation or symbols)"))
        return None
    source = Source(
        doc=rel,
        title=meta.get("title") or cap(printable(Path(rel).stem), FIELD_CHARS["title"]),
        outlet=meta.get("outlet"),
        url=meta.get("url"),
        date=meta.get("date"),
    )
    return Document(
        source=source,
        text=body,
        body_offset=offset + body_offset,
        digest=hashlib.sha256(data).hexdigest(),
    )


def _special_kind(mode: int) -> str | None:
    """What a non-regular file is (reading a named pipe or a device would block or never
    end); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kinds = (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a folder"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def _read_bytes(root_fd: int, real_root: str, rel: str, max_file_bytes: int) -> bytes:
    """The bytes of corpus file `rel`, from a descriptor certain to lie inside the folder.

    Raises _Refusal for a link leading outside, a special file or a file too large, and
    OSError when the file cannot be read. The checks are made on the open descriptor,
    so a name swapped since it was listed cannot change what is read.
    """
    fd = _open_inside(root_fd, real_root, rel)
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        kind = _special_kind(info.st_mode)
        if kind is not None:
            raise _Refusal(f"not a regular file ({kind})")
        data = file.read(max_file_bytes + 1) if info.st_size <= max_file_bytes else b""
        size = max(info.st_size, len(data))  # a file may grow while it is read
        if size > max_file_bytes:
            limit = f"{max_file_bytes / 1024 / 1024:g} MB"
            raise _Refusal(f"too large ({size:,} bytes; limit {limit})")
        return data


def _open_inside(root_fd: int, real_root: str, rel: str) -> int:
    """A descriptor for `rel` under the folder, opened without following any link on the
    way; a link is followed only when the whole path resolves inside the folder."""
    try:
        return _open_beneath(root_fd, rel)
    except OSError as exc:
        if exc.errno not in _LINK_ERRNOS:
            raise
    target = os.path.realpath(os.path.join(real_root, rel))
    inside = os.path.relpath(target, real_root)
    if inside == os.pardir or inside.startswith(os.pardir + os.sep):
        raise _Refusal("a link that leads outside the corpus folder") from None
    # Opened the same way: a link put in its place since resolving fails here.
    return _open_beneath(root_fd, inside)


def _open_beneath(root_fd: int, rel: str) -> int:
    """Open `rel` one component at a time from `root_fd`, following no link (ELOOP or
    ENOTDIR at a link). A special file is refused from its `lstat`, before it is opened:
    opening a device can have effects of its own."""
    *folders, name = rel.split(os.sep)
    dir_fd = root_fd
    try:
        for folder in folders:
            parent = dir_fd
            dir_fd = os.open(folder, _DIR_FLAGS | _NOFOLLOW, dir_fd=parent)
            if parent != root_fd:
                os.close(parent)
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), rel)
        kind = _special_kind(info.st_mode)
        if kind is not None:
            raise _Refusal(f"not a regular file ({kind})")
        return os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    finally:
        if dir_fd != root_fd:
            os.close(dir_fd)


def _split_front_matter(
    text: str, rel: str, problems: list[Problem]
) -> tuple[str, int, dict[str, str] | None]:
    """(body, offset of body in text, front matter fields); offset -1 means skip the file."""
    if not text.startswith("---"):
        return text, 0, None
    lines = text.splitlines(keepends=True)
    if lines[0].rstrip() != "---":
        return text, 0, None
    consumed = len(lines[0])
    for line in lines[1:]:
        if line.rstrip() in ("---", "..."):
            block = text[len(lines[0]) : consumed]
            end = consumed + len(line)
            try:
                fields = read_yaml(block)
            except yaml.YAMLError as exc:
                problems.append(Problem(rel, f"skipped, broken front matter: {_short(exc)}"))
                return "", -1, None
            if fields is None:
                return text[end:], end, {}
            meta = clean_fields(fields, rel, "front matter", problems)
            if meta is None:
                return "", -1, None
            return text[end:], end, meta
        consumed += len(line)
    problems.append(Problem(rel, "skipped, front matter opened with '---' is never closed"))
    return "", -1, None


def _encoding_hint(data: bytes) -> str:
    """Name the likely encoding of a non-UTF-8 file, so the fix is one iconv away."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "; it looks like UTF-16: convert it to UTF-8"
    try:
        decoded = data.decode("cp1256")
    except UnicodeDecodeError:
        return ""
    arabic = sum(1 for ch in decoded if "\u0600" <= ch <= "\u06ff")
    if arabic > len(decoded) / 4:
        return "; it looks like Windows-1256: convert with iconv -f cp1256 -t utf-8"
    return ""


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
