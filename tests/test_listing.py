"""Start-up from the cache by file sizes and mtimes, without reading the corpus.

An index folder keeps the listing (path, size, mtime) its corpus was read under;
`Engine.open` trusts a cached index whose listing is unchanged and reads no file.
A reload, or `open(verify=True)`, always reads and hashes every file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from retrieval import roots as roots_module  # the engine reads the corpus through it
from retrieval.corpus import load_corpus
from retrieval.engine import Engine
from retrieval.listing import list_corpus
from retrieval.search import search

FILE = "000_3f68c5776c6a3e96.txt"
AN_HOUR_AGO = time.time() - 3600


def age(folder: Path, when: float = AN_HOUR_AGO) -> None:
    """Set every file's mtime in the past, as for a corpus not edited just now."""
    for path in folder.rglob("*"):
        os.utime(path, (when, when))


def no_reading(*args: object, **kwargs: object) -> None:
    raise AssertionError("the corpus files were read")


def test_an_unchanged_corpus_opens_without_reading_a_file(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    age(corpus)
    first = Engine(corpus, tmp_path / "cache").open()
    monkeypatch.setattr(roots_module, "load_corpus", no_reading)
    second = Engine(corpus, tmp_path / "cache").open()
    assert second.from_cache
    question = "أين التقى بوتين وكيم؟"
    assert [h.text for h in search(second.index, question).hits] == [
        h.text for h in search(first.index, question).hits
    ]


def test_problems_found_reading_the_corpus_are_still_reported(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (corpus / "فارغ.txt").write_text("   \n", encoding="utf-8")
    age(corpus)
    first = Engine(corpus, tmp_path / "cache").open()
    monkeypatch.setattr(roots_module, "load_corpus", no_reading)
    second = Engine(corpus, tmp_path / "cache").open()
    assert [str(p) for p in second.problems] == [str(p) for p in first.problems]
    assert any("فارغ.txt" in str(p) for p in second.problems)


def test_a_file_of_another_size_is_read_and_indexed(corpus: Path, tmp_path: Path) -> None:
    age(corpus)
    Engine(corpus, tmp_path / "cache").open()
    path = corpus / FILE
    path.write_text(path.read_text("utf-8") + "\nأعلنت كوبا دعمها للمبادرة.\n", "utf-8")
    age(corpus, AN_HOUR_AGO + 60)
    snapshot = Engine(corpus, tmp_path / "cache").open()
    assert not snapshot.from_cache
    assert search(snapshot.index, "كوبا").hits[0].text == "أعلنت كوبا دعمها للمبادرة."


def test_a_same_size_same_mtime_edit_needs_verify(corpus: Path, tmp_path: Path) -> None:
    """The documented trade-off: such an edit is invisible to sizes and mtimes."""
    age(corpus)
    Engine(corpus, tmp_path / "cache").open()
    path = corpus / FILE
    text = path.read_text("utf-8")
    path.write_text(text.replace("بوتين", "كوبان", 1), "utf-8")  # same byte length
    age(corpus)
    assert not search(Engine(corpus, tmp_path / "cache").open().index, "كوبان").hits
    verified = Engine(corpus, tmp_path / "cache").open(verify=True)
    assert not verified.from_cache
    assert search(verified.index, "كوبان").hits


def test_a_file_modified_just_now_is_never_trusted(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its mtime may not have ticked since the listing: the files are read again."""
    path = corpus / FILE
    path.write_text(path.read_text("utf-8"), "utf-8")  # its mtime is now
    Engine(corpus, tmp_path / "cache").open()
    assert not list_corpus(corpus).trustworthy()
    read = []

    def counted(folder: Path, **options: object) -> object:
        read.append(folder)
        return load_corpus(folder, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(roots_module, "load_corpus", counted)
    assert Engine(corpus, tmp_path / "cache").open().from_cache  # by content
    assert read


def test_a_reload_always_reads_the_files(corpus: Path, tmp_path: Path) -> None:
    age(corpus)
    engine = Engine(corpus, tmp_path / "cache")
    engine.open()
    # A same-size edit that restores the mtime: invisible to the listing, seen by reading.
    path = corpus / "002_092c1b17ba5817fe.txt"
    text = path.read_text("utf-8")
    assert "بوتين" in text
    path.write_text(text.replace("بوتين", "بوتان"), "utf-8")
    age(corpus)
    report = engine.reload()
    assert not report.after.from_cache
    assert report.changed == [path.name]


def test_a_new_or_removed_file_changes_the_listing(corpus: Path) -> None:
    before = list_corpus(corpus)
    (corpus / "sub").mkdir()
    (corpus / "sub" / "new.txt").write_text("خبر.", "utf-8")
    assert list_corpus(corpus).files != before.files
    (corpus / "sub" / "new.txt").unlink()
    assert list_corpus(corpus).files == before.files
