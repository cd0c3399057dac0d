"""Links and races: whatever a corpus folder's names point to while a load runs, no text
from outside the folder is indexed."""

import os
import threading
from pathlib import Path

from retrieval.corpus import load_corpus

GOOD = "التقى كيم وبوتين في قاعدة فوستوشني الفضائية."
INSIDE = "نص من داخل المجلد عن القمة."
SECRET = "كلمة سر خارجية لا تفهرس أبدا."


def outside_and_corpus(tmp_path: Path) -> tuple[Path, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET, encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    return outside, corpus


def test_files_and_folders_flipped_to_outside_links_during_loads_are_never_indexed(
    tmp_path: Path,
) -> None:
    # A file and a folder flip between their real selves and links to outside while
    # 30 loads run. 300 files are read before them, so each load has time to see one
    # version when it lists the folder and the other when it reads: the listing's link
    # check and the open used to be separate steps, and outside text got in.
    outside, corpus = outside_and_corpus(tmp_path)
    for i in range(300):
        (corpus / f"{i:03d}.txt").write_text(f"{GOOD} {i}", encoding="utf-8")
    (corpus / "zz").mkdir()
    (corpus / "zz" / "secret.txt").write_text(INSIDE, encoding="utf-8")
    (corpus / ".folder").mkdir()
    (corpus / ".folder" / "secret.txt").write_text(INSIDE, encoding="utf-8")
    flips = {"count": 0}
    stop = threading.Event()

    def flip() -> None:
        # Hidden names are not corpus files; os.replace swaps each name atomically.
        while not stop.is_set():
            os.symlink(outside / "secret.txt", corpus / ".link")
            os.replace(corpus / ".link", corpus / "zzz.txt")
            os.symlink(outside, corpus / ".dirlink")
            os.rename(corpus / "zz", corpus / ".folder-was")
            os.replace(corpus / ".dirlink", corpus / "zz")
            (corpus / ".file").write_text(INSIDE, encoding="utf-8")
            os.replace(corpus / ".file", corpus / "zzz.txt")
            os.unlink(corpus / "zz")
            os.rename(corpus / ".folder-was", corpus / "zz")
            flips["count"] += 1

    flipper = threading.Thread(target=flip, daemon=True)
    flipper.start()
    seen: dict[str, int] = {"inside": 0, "refused": 0}
    loads = 0
    try:
        # At least 30 loads, and on until both versions were met and the names flipped
        # 30 times (a busy machine may starve the flipping thread for a while); never
        # more than 300.
        while loads < 30 or (
            loads < 300 and not (seen["inside"] and seen["refused"] and flips["count"] >= 30)
        ):
            loads += 1
            result = load_corpus(corpus, workers=1)
            texts = {d.doc: d.text for d in result.documents}
            assert [doc for doc, text in texts.items() if SECRET in text] == []
            seen["inside"] += texts.get("zzz.txt") == INSIDE
            seen["refused"] += any(p.path == "zzz.txt" for p in result.problems)
    finally:
        stop.set()
        flipper.join(timeout=10)
    assert flips["count"] >= 30, "the names did not flip during the loads"
    assert seen["inside"] > 0, "the regular version was never read"
    assert seen["refused"] > 0, "the link was never met"


def test_a_link_inside_the_folder_to_a_file_inside_it_is_still_read(tmp_path: Path) -> None:
    _, corpus = outside_and_corpus(tmp_path)
    (corpus / "archive").mkdir()
    (corpus / "archive" / "a.txt").write_text(INSIDE, encoding="utf-8")
    os.symlink(corpus / "archive" / "a.txt", corpus / "latest.txt")
    result = load_corpus(corpus)
    assert {d.doc: d.text for d in result.documents} == {
        "archive/a.txt": INSIDE,
        "latest.txt": INSIDE,
    }
    assert result.problems == []


def test_sources_yaml_linked_from_outside_is_not_read(tmp_path: Path) -> None:
    outside, corpus = outside_and_corpus(tmp_path)
    (outside / "sources.yaml").write_text("a.txt:\n  title: عنوان من الخارج\n", encoding="utf-8")
    os.symlink(outside / "sources.yaml", corpus / "sources.yaml")
    (corpus / "a.txt").write_text(GOOD, encoding="utf-8")
    result = load_corpus(corpus)
    (document,) = result.documents
    assert document.source.title == "a"
    assert [str(p) for p in result.problems] == [
        "sources.yaml: ignored, a link that leads outside the corpus folder"
    ]


def test_sources_yaml_linked_inside_the_folder_is_read(tmp_path: Path) -> None:
    _, corpus = outside_and_corpus(tmp_path)
    (corpus / "meta").mkdir()
    (corpus / "meta" / "citations.yaml").write_text(
        "a.txt:\n  title: لقاء القمة\n", encoding="utf-8"
    )
    os.symlink(corpus / "meta" / "citations.yaml", corpus / "sources.yaml")
    (corpus / "a.txt").write_text(GOOD, encoding="utf-8")
    result = load_corpus(corpus)
    assert [d.source.title for d in result.documents] == ["لقاء القمة"]
    assert result.problems == []


def test_a_named_pipe_as_sources_yaml_is_reported_without_blocking(tmp_path: Path) -> None:
    _, corpus = outside_and_corpus(tmp_path)
    os.mkfifo(corpus / "sources.yaml")
    (corpus / "a.txt").write_text(GOOD, encoding="utf-8")
    result: list = []
    loader = threading.Thread(target=lambda: result.append(load_corpus(corpus)), daemon=True)
    loader.start()
    loader.join(timeout=10)
    assert result, "loading the corpus blocked on sources.yaml"
    assert [str(p) for p in result[0].problems] == [
        "sources.yaml: ignored, not a regular file (a named pipe)"
    ]
