"""Reading a corpus folder: the only module that opens corpus files.

A corpus is a folder (searched recursively) of UTF-8 `.txt` and `.md` files.
A file's citation comes from, in order: a YAML front matter block at its top
(`---` lines around `title`, `outlet`, `url`, `date`), its entry in the folder's
`sources.yaml`, or its file name. A bad file never stops a load: it is skipped
and reported as a `Problem` naming the file and the reason.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import stat
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import regex
import yaml

from retrieval.models import Document, Problem, Source

SUFFIXES = (".txt", ".md")
# A news article is kilobytes; a file this large is an export or a mistake, and
# indexing it would stall a reload for everyone.
MAX_FILE_BYTES = 20 * 1024 * 1024
SOURCES_FILE = "sources.yaml"
META_KEYS = ("title", "outlet", "url", "date")
# Written by the bot into uploaded documents (retrieval/ingest/uploads.py); not citation fields.
PROVENANCE_KEYS = ("added_by", "added_at", "original_name")
# libyaml's loader when PyYAML has it (its wheels do): the same safe loading,
# ten times faster, which matters with a front matter block in every file.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_WORD_CHAR_RE = regex.compile(r"[\p{L}\p{N}]")


class CorpusError(Exception):
    """The corpus as a whole cannot be read (missing folder, not a folder, unreadable)."""


@dataclass(frozen=True, slots=True)
class Corpus:
    folder: Path
    documents: list[Document]
    problems: list[Problem]


def load_corpus(
    folder: str | os.PathLike[str],
    max_file_bytes: int = MAX_FILE_BYTES,
    workers: int | None = None,
) -> Corpus:
    """Documents of `folder` and the problems met on the way; raises CorpusError only
    when the folder itself is unusable.

    Files are read and parsed in `workers` processes (default: every core for a
    corpus of PARALLEL_MIN_FILES files or more): at 94k files, parsing front
    matter and hashing is 15 s of one core. The result does not depend on `workers`.
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
    sources = _read_sources_yaml(root, problems)
    todo = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        todo.append((str(path), rel, sources.pop(rel, None)))
    if workers is None:
        workers = _cores() if len(todo) >= PARALLEL_MIN_FILES else 1
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if workers == 1:
        documents, read_problems = _read_batch(todo, max_file_bytes)
    else:
        documents, read_problems = _read_in_workers(todo, max_file_bytes, workers)
    problems.extend(read_problems)
    for rel in sorted(sources):
        problems.append(Problem(SOURCES_FILE, f"entry {rel!r} names no corpus file"))
    return Corpus(root, documents, problems)


# Below this many files a corpus is read in-process: starting workers costs more.
PARALLEL_MIN_FILES = 5_000
_BATCHES_PER_WORKER = 4

_Todo = list[tuple[str, str, dict[str, str] | None]]  # (path, relative path, sources.yaml entry)


def _read_batch(todo: _Todo, max_file_bytes: int) -> tuple[list[Document], list[Problem]]:
    """Read files in order: a plain function of its arguments, so a worker can run it."""
    problems: list[Problem] = []
    documents = []
    for path, rel, listed in todo:
        document = _read_document(Path(path), rel, listed, problems, max_file_bytes)
        if document is not None:
            documents.append(document)
    return documents, problems


def _read_in_workers(
    todo: _Todo, max_file_bytes: int, workers: int
) -> tuple[list[Document], list[Problem]]:
    size = -(-len(todo) // (workers * _BATCHES_PER_WORKER))
    batches = [todo[i : i + size] for i in range(0, len(todo), size)]
    documents: list[Document] = []
    problems: list[Problem] = []
    context = multiprocessing.get_context("spawn")  # fork is unsafe in a threaded bot
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for read, met in pool.map(_read_batch, batches, [max_file_bytes] * len(batches)):
            documents.extend(read)
            problems.extend(met)
    return documents, problems


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def corpus_files(root: Path, problems: list[Problem]) -> list[Path]:
    """Corpus files under root, sorted; links that lead outside the folder are not followed."""
    real_root = root.resolve()
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=_raise):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith(".") or not name.lower().endswith(SUFFIXES):
                continue
            path = Path(dirpath, name)
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                rel = path.relative_to(root).as_posix()
                problems.append(
                    Problem(rel, "skipped, a link that leads outside the corpus folder")
                )
                continue
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _raise(exc: OSError) -> None:
    raise exc


def _read_sources_yaml(root: Path, problems: list[Problem]) -> dict[str, dict[str, str]]:
    path = root / SOURCES_FILE
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(Problem(SOURCES_FILE, f"ignored, cannot be read as YAML: {_short(exc)}"))
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(Problem(SOURCES_FILE, "ignored, expected a mapping of file name → fields"))
        return {}
    entries = {}
    for name, fields in data.items():
        meta = _clean_meta(fields, SOURCES_FILE, f"entry {name!r}", problems)
        if meta is not None:
            entries[str(name)] = meta
    return entries


def _clean_meta(
    fields: object, file: str, what: str, problems: list[Problem]
) -> dict[str, str] | None:
    """Citation fields of one entry; unknown keys are reported and ignored."""
    if not isinstance(fields, dict):
        problems.append(Problem(file, f"{what} is not a mapping of fields, ignored"))
        return None
    meta = {}
    for key, value in fields.items():
        if key in PROVENANCE_KEYS:
            continue
        if key not in META_KEYS:
            known = ", ".join(META_KEYS)
            problems.append(Problem(file, f"{what}: unknown key {key!r} ignored (known: {known})"))
            continue
        if value is None:
            continue
        meta[key] = str(value).strip()
    return meta


def _read_document(
    path: Path,
    rel: str,
    listed: dict[str, str] | None,
    problems: list[Problem],
    max_file_bytes: int,
) -> Document | None:
    try:
        kind = _special_kind(path.stat().st_mode)
        if kind is not None:
            problems.append(Problem(rel, f"skipped, not a regular file ({kind})"))
            return None
        data = _read_regular(path, rel, problems, max_file_bytes)
    except OSError as exc:
        problems.append(Problem(rel, f"skipped, cannot be read: {exc.strerror or exc}"))
        return None
    if data is None:
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
        title=meta.get("title") or Path(rel).stem,
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


def _read_regular(
    path: Path, rel: str, problems: list[Problem], max_file_bytes: int
) -> bytes | None:
    """The file's bytes, checked again on the open descriptor: the name may have been
    swapped for a pipe since it was listed, and O_NONBLOCK keeps even that open from
    waiting for a writer."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        kind = _special_kind(info.st_mode)
        if kind is not None:
            problems.append(Problem(rel, f"skipped, not a regular file ({kind})"))
            return None
        data = file.read(max_file_bytes + 1) if info.st_size <= max_file_bytes else b""
        size = max(info.st_size, len(data))  # a file may grow while it is read
        if size > max_file_bytes:
            limit = f"{max_file_bytes / 1024 / 1024:g} MB"
            problems.append(Problem(rel, f"skipped, too large ({size:,} bytes; limit {limit})"))
            return None
        return data


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
                fields = yaml.load(block, Loader=_YAML_LOADER)
            except yaml.YAMLError as exc:
                problems.append(Problem(rel, f"skipped, broken front matter: {_short(exc)}"))
                return "", -1, None
            if fields is None:
                return text[end:], end, {}
            meta = _clean_meta(fields, rel, "front matter", problems)
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
