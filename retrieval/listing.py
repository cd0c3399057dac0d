"""What a corpus folder looks like from its file metadata alone: the quick start-up check.

Checking that a cached index matches the corpus by content means reading and
hashing every file: 10 s for 94k files at a million sentences, where mapping the
index takes 0.4 s. Instead, the index folder keeps a digest of the listing its
corpus was read under: every corpus file's (path, size, mtime in ns) and
`sources.yaml`'s, taken before the files were read. At start-up, a corpus whose
listing has the same digest is taken to be the same corpus, so opening costs one
`stat` per file (the entries themselves, ctimes included, are kept once, in the
file record of retrieval/reread.py).

The trade-off: an edit that keeps a file's size and its modification time to the
nanosecond (a tool that restores mtimes, e.g. `rsync -a` of a same-size change,
or `touch -d`) is not seen at start-up: `coverage-bot index --verify` reads and
hashes every file, and a `/reload` reads every file whose ctime changed too (the
ctime is set by every write and by nothing else on request; retrieval/reread.py). A file modified
within the last seconds before the listing was taken is never trusted (its mtime
may not have ticked yet), so such a corpus is read in full next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from retrieval.corpus import SOURCES_FILE, SUFFIXES
from retrieval.models import Problem

LISTING_FILE = "listing.json"
_LISTING_FORMAT = 2  # 2: a digest of the entries instead of the entries
# mtimes this close to the moment the listing was taken may not have ticked yet
RACY_NS = 2_000_000_000


@dataclass(frozen=True, slots=True)
class Listing:
    """(path, size, mtime_ns, ctime_ns) of every corpus file and of sources.yaml, by path.

    The ctime is what makes an entry trustworthy for reading only changed files
    (retrieval/reread.py): every write sets it, and no tool sets it back.
    """

    files: tuple[tuple[str, int, int, int], ...]
    taken_ns: int  # wall clock when the files were stat'ed
    skipped: tuple[str, ...] = ()  # what the walk itself refused (links leading outside)

    def trustworthy(self) -> bool:
        """No file was modified so close to the listing that its mtime could hide an edit."""
        return all(mtime < self.taken_ns - RACY_NS for _, _, mtime, _ in self.files)

    def digest(self) -> str:
        """Names the (path, size, mtime) entries and what the walk skipped: the start-up
        check compares this instead of 94k stored entries (0.5 s of JSON at 1M)."""
        h = hashlib.blake2b(digest_size=16)
        h.update("\0".join(f"{p}\t{size}\t{mtime}" for p, size, mtime, _ in self.files).encode())
        h.update(b"\1" + "\0".join(self.skipped).encode())
        return h.hexdigest()


def list_corpus(folder: str | os.PathLike[str]) -> Listing:
    """The listing of `folder` now; raises OSError when it cannot be walked.

    The same files as `corpus_files` (hidden folders and files skipped, links leading
    outside refused), walked with `os.scandir` and plain strings: one `stat` per
    file and no Path objects, half the time of a pathlib walk at 94k files.
    """
    root = os.fspath(folder)
    taken = time.time_ns()
    refused: list[Problem] = []
    files: list[tuple[str, int, int, int]] = []
    _walk(root, "", Path(root).resolve(), files, refused)
    extra = os.path.join(root, SOURCES_FILE)
    if os.path.isfile(extra):
        files.append(_entry(extra, SOURCES_FILE))
    return Listing(tuple(sorted(files)), taken, tuple(sorted(str(p) for p in refused)))


def _walk(
    folder: str,
    prefix: str,
    real_root: Path,
    files: list[tuple[str, int, int, int]],
    refused: list[Problem],
) -> None:
    with os.scandir(folder) as entries:
        found = list(entries)
    for entry in found:
        name = entry.name
        if name.startswith("."):
            continue
        rel = prefix + name
        if entry.is_dir():  # follows links, as os.walk sorts them; links are not walked
            if not entry.is_symlink():
                _walk(entry.path, rel + "/", real_root, files, refused)
            continue
        if not name.lower().endswith(SUFFIXES):
            continue
        if entry.is_symlink() and not Path(entry.path).resolve().is_relative_to(real_root):
            refused.append(Problem(rel, "skipped, a link that leads outside the corpus folder"))
            continue
        files.append(_entry(entry.path, rel))


def _entry(path: str, rel: str) -> tuple[str, int, int, int]:
    try:
        info = os.stat(path)
    except OSError:
        return (rel, -1, -1, -1)
    return (rel, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def save_listing(index_folder: Path, listing: Listing, problems: list[Problem]) -> None:
    """Store the listing (and the problems met reading the corpus) beside a cached index."""
    record = {
        "format": _LISTING_FORMAT,
        "digest": listing.digest(),
        "trustworthy": listing.trustworthy(),
        "problems": [[p.path, p.reason] for p in problems],
    }
    fd, tmp = tempfile.mkstemp(prefix=".listing.", dir=index_folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False))  # C encoder; dump() is Python
        os.replace(tmp, index_folder / LISTING_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_key_for(cache_dir: Path, listing: Listing) -> tuple[str, list[Problem]] | None:
    """(corpus key, problems) of the cached index read under the same listing, if any."""
    if not listing.trustworthy() or not cache_dir.is_dir():
        return None
    digest = listing.digest()  # sizes and mtimes only: the trade-off of the module docstring
    for folder in cache_dir.iterdir():
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        try:
            record = json.loads((folder / LISTING_FILE).read_text(encoding="utf-8"))
            if record.get("format") != _LISTING_FORMAT or record["digest"] != digest:
                continue
            if record["trustworthy"] is not True:
                continue
            return folder.name, [Problem(str(p), str(r)) for p, r in record["problems"]]
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None
