"""Odd and hostile corpus folders: problems are reported, everything else loads."""

import os
import socket
import stat
import threading
from pathlib import Path

from retrieval.corpus import load_corpus
from retrieval.engine import Engine
from retrieval.search import search

GOOD = "التقى كيم وبوتين في قاعدة فوستوشني الفضائية."


def reasons(folder: Path) -> dict[str, str]:
    return {p.path: p.reason for p in load_corpus(folder).problems}


def test_a_50_mb_file_is_skipped_as_too_large(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    with (tmp_path / "dump.txt").open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: cheap to make
    corpus = load_corpus(tmp_path)
    assert [d.doc for d in corpus.documents] == ["good.txt"]
    assert reasons(tmp_path)["dump.txt"].startswith("skipped, too large (52,428,800 bytes")


def test_a_file_with_one_1_mb_line_is_indexed_in_bounded_sentences(tmp_path: Path) -> None:
    line = ("كلمة عربية طويلة " * 60_000)[: 1024 * 1024 // 2]
    (tmp_path / "long.txt").write_text(line + " فوستوشني", encoding="utf-8")
    snapshot = Engine(tmp_path).open()
    index = snapshot.index
    assert index.n_sentences > 500
    assert max(index.sent_end - index.sent_start) <= 1000
    assert search(index, "فوستوشني").hits


def test_a_file_of_only_diacritics_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "marks.txt").write_text("َُِّْ" * 100, encoding="utf-8")
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    assert reasons(tmp_path) == {
        "marks.txt": "skipped, no words (only marks, punctuation or symbols)"
    }


def test_mixed_and_legacy_encodings_are_skipped_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "mixed.txt").write_bytes(GOOD.encode("utf-8") + "كيم".encode("cp1256"))
    (tmp_path / "windows.txt").write_bytes((GOOD * 3).encode("cp1256"))
    (tmp_path / "utf16.txt").write_bytes(GOOD.encode("utf-16"))
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    found = reasons(tmp_path)
    assert found["mixed.txt"].startswith("skipped, not UTF-8 (bad byte at offset")
    assert found["windows.txt"].endswith("convert with iconv -f cp1256 -t utf-8")
    assert found["utf16.txt"].endswith("it looks like UTF-16: convert it to UTF-8")
    (bom,) = load_corpus(tmp_path).documents
    assert bom.doc == "bom.txt" and bom.text == GOOD


def test_a_symlinked_folder_is_not_followed_out_of_the_corpus(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("سر.", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    os.symlink(outside, corpus / "linked")
    assert [d.doc for d in load_corpus(corpus).documents] == ["good.txt"]


def test_names_with_spaces_and_arabic_letters_load_and_cite(tmp_path: Path) -> None:
    (tmp_path / "تقارير القمة").mkdir()
    (tmp_path / "تقارير القمة" / "لقاء كيم وبوتين.txt").write_text(GOOD, encoding="utf-8")
    (hit,) = search(Engine(tmp_path).open().index, "فوستوشني").hits
    assert hit.source.doc == "تقارير القمة/لقاء كيم وبوتين.txt"
    assert hit.source.title == "لقاء كيم وبوتين"


def test_a_folder_of_10000_small_files_loads(tmp_path: Path) -> None:
    for i in range(10_000):
        (tmp_path / f"{i:05d}.txt").write_text(f"خبر رقم {i} عن القمة.", encoding="utf-8")
    snapshot = Engine(tmp_path, tmp_path.parent / "cache").open()
    assert len(snapshot.index.sources) == 10_000
    assert snapshot.problems == []
    assert search(snapshot.index, "خبر رقم 9999").hits[0].source.doc == "09999.txt"


def test_an_unreadable_file_is_skipped(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root reads everything; a dangling link is the unreadable file root meets.
        os.symlink(tmp_path / "gone.txt", tmp_path / "dangling.txt")
        name = "dangling.txt"
    else:
        (tmp_path / "locked.txt").write_text(GOOD, encoding="utf-8")
        (tmp_path / "locked.txt").chmod(0)
        name = "locked.txt"
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    assert [d.doc for d in load_corpus(tmp_path).documents] == ["good.txt"]
    assert reasons(tmp_path)[name].startswith("skipped, cannot be read")


def test_named_pipes_sockets_and_devices_are_skipped_without_blocking(tmp_path: Path) -> None:
    # Reading a named pipe waits for a writer forever; a device may never end. The load
    # below would hang (and the test time out) if any of them were opened for reading.
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.txt")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "socket.md"))
    expected = {
        "pipe.txt": "skipped, not a regular file (a named pipe)",
        "socket.md": "skipped, not a regular file (a socket)",
    }
    if os.geteuid() == 0:  # only root may make device nodes
        os.mknod(tmp_path / "zero.txt", 0o600 | stat.S_IFCHR, os.makedev(1, 5))
        expected["zero.txt"] = "skipped, not a regular file (a character device)"
    result: list = []
    loader = threading.Thread(target=lambda: result.append(load_corpus(tmp_path)), daemon=True)
    loader.start()
    loader.join(timeout=10)
    listener.close()
    assert result, "loading the corpus blocked on a special file"
    assert [d.doc for d in result[0].documents] == ["good.txt"]
    assert {p.path: p.reason for p in result[0].problems} == expected
