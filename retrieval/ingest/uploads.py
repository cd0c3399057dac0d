"""The uploads folder: each added document is one Markdown file with YAML front matter.

Files are written atomically: into a hidden temporary file in the same folder (the
corpus walk skips hidden files), flushed and fsync'ed, then linked to their final
name, which fails rather than overwrite if that name was taken meanwhile. A full
disk or any other failure leaves no file behind, half-written or whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import regex
import yaml

from retrieval.ingest.extract import split_front_matter
from retrieval.ingest.models import Extracted, IngestError

SUFFIX = ".md"
PREFIX = "uploads/"  # how the corpus names a document of the uploads folder
MAX_SLUG = 60
_SLUG_DROP_RE = regex.compile(r"[^\p{Script=Arabic}\p{L}\p{N}]+")
_ARABIC_MARKS_RE = regex.compile(r"[\p{Mn}\u0640]")  # diacritics and tatweel


@dataclass(frozen=True, slots=True)
class Stored:
    name: str  # file name inside the uploads folder
    path: Path

    @property
    def doc(self) -> str:
        """The document's name in citations and /sources."""
        return PREFIX + self.name


class AlreadyStored(IngestError):
    """The same text is already in the uploads folder; `name` is its file name."""

    def __init__(self, culprit: str, name: str) -> None:
        super().__init__(culprit, f"already in the corpus as {PREFIX}{name}")
        self.name = name


def store(
    extracted: Extracted,
    folder: Path,
    *,
    original_name: str,
    added_by: int | str,
    added_at: float | None = None,
) -> Stored:
    """Write `extracted` as a new Markdown file in `folder` (created if missing).

    Raises AlreadyStored when the same text is there already, and IngestError (naming
    `original_name`) when the file cannot be written; nothing is left behind then.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        existing = find_same_text(folder, extracted.text)
    except OSError as exc:
        raise IngestError(
            original_name, f"cannot use the uploads folder {folder}: {_why(exc)}"
        ) from exc
    if existing is not None:
        raise AlreadyStored(original_name, existing)
    content = render(extracted, original_name, added_by, added_at)
    stem = slug(extracted.title) or slug(Path(original_name).stem) or "upload"
    try:
        return _write_new(folder, stem, content.encode("utf-8"))
    except OSError as exc:
        raise IngestError(original_name, f"could not be stored in {folder}: {_why(exc)}") from exc


def render(
    extracted: Extracted, original_name: str, added_by: int | str, added_at: float | None
) -> str:
    """The Markdown file: citation fields and provenance in front matter, then the text."""
    moment = time.gmtime(time.time() if added_at is None else added_at)
    fields = {
        "title": extracted.title,
        "outlet": extracted.outlet,
        "date": extracted.date,
        "url": extracted.url,
        "added_by": str(added_by),
        "added_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", moment),
        "original_name": original_name,
    }
    front = yaml.safe_dump(
        {k: v for k, v in fields.items() if v is not None},
        allow_unicode=True,
        sort_keys=False,
        width=10_000,
    )
    return f"---\n{front}---\n{extracted.text.rstrip()}\n"


def slug(text: str) -> str:
    """A file-name stem from a title: Arabic and other letters and digits kept, the rest
    folded into hyphens, at most MAX_SLUG characters ("قمة كيم/بوتين" → "قمة-كيم-بوتين")."""
    text = _ARABIC_MARKS_RE.sub("", text)
    words = [w for w in _SLUG_DROP_RE.split(text) if w]
    stem = "-".join(words).lower()[:MAX_SLUG].strip("-")
    return stem


def _write_new(folder: Path, stem: str, data: bytes) -> Stored:
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        for number in range(1, 1000):
            name = f"{stem}{SUFFIX}" if number == 1 else f"{stem}-{number}{SUFFIX}"
            try:
                os.link(tmp, folder / name)  # fails if the name is taken: never overwrites
            except FileExistsError:
                continue
            _sync_folder(folder)
            return Stored(name, folder / name)
        raise FileExistsError(f"no free file name for {stem}{SUFFIX}")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _sync_folder(folder: Path) -> None:
    """Make the new name itself durable (a crash right after must not lose it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def text_digest(text: str) -> str:
    """The hash two uploads share when their text is the same, whitespace aside."""
    words = " ".join(text.split())
    return hashlib.sha256(words.encode("utf-8")).hexdigest()


def find_same_text(folder: Path, text: str) -> str | None:
    """The name of the upload holding the same text as `text`, if any."""
    wanted = text_digest(text)
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            _, body = split_front_matter(path.read_text(encoding="utf-8"), path.name)
        except (OSError, UnicodeDecodeError, IngestError):
            continue  # a file the corpus load reports anyway
        if text_digest(body) == wanted:
            return path.name
    return None


def upload_name(name: str) -> str | None:
    """The file name an admin's NAME refers to ("uploads/x.md" or "x.md" or "x"), or None
    when it could leave the folder (a path, "..", a hidden name)."""
    name = name.strip().removeprefix(PREFIX)
    if not name or "/" in name or "\\" in name or "\x00" in name or name.startswith("."):
        return None
    return name if name.endswith(SUFFIX) else name + SUFFIX


def remove(folder: Path, name: str) -> str:
    """Delete upload `name` from `folder`; returns its file name. Raises IngestError when
    `name` is not an upload of this folder."""
    file_name = upload_name(name)
    if file_name is None:
        raise IngestError(name, "not the name of an uploaded document")
    path = folder / file_name
    if path.is_symlink() or not path.is_file():
        raise IngestError(name, f"no uploaded document {PREFIX}{file_name}")
    try:
        path.unlink()
    except OSError as exc:
        raise IngestError(name, f"could not be removed: {_why(exc)}") from exc
    _sync_folder(folder)
    return file_name


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)
