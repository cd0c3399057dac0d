"""Loading a corpus folder: metadata, and bad files skipped with a reason."""

import os
from pathlib import Path

import pytest

from retrieval.corpus import CorpusError, load_corpus

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def write(folder: Path, name: str, content: str | bytes) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def test_the_seed_corpus_loads_with_titles_from_sources_yaml() -> None:
    corpus = load_corpus(SEEDS)
    assert corpus.problems == []
    assert [d.doc for d in corpus.documents] == sorted(p.name for p in SEEDS.glob("*.txt"))
    assert all(d.source.title != Path(d.doc).stem for d in corpus.documents)


def test_front_matter_wins_over_sources_yaml_and_is_not_indexed(tmp_path: Path) -> None:
    write(tmp_path, "sources.yaml", "a.md:\n  title: من الملف\n  outlet: وكالة\n")
    write(
        tmp_path, "a.md", "---\ntitle: عنوان المقال\nurl: https://example.org/a\n---\nنص المقال.\n"
    )
    (document,) = load_corpus(tmp_path).documents
    assert document.source.title == "عنوان المقال"
    assert document.source.outlet == "وكالة"
    assert document.source.url == "https://example.org/a"
    assert document.text == "نص المقال.\n"
    assert document.body_offset == len(
        "---\ntitle: عنوان المقال\nurl: https://example.org/a\n---\n"
    )


def test_without_metadata_the_file_name_is_the_title(tmp_path: Path) -> None:
    write(tmp_path, "تقرير القمة.txt", "نص.")
    (document,) = load_corpus(tmp_path).documents
    assert document.source.title == "تقرير القمة"
    assert document.doc == "تقرير القمة.txt"


def test_bad_files_are_skipped_and_reported_and_the_rest_loads(tmp_path: Path) -> None:
    write(tmp_path, "good.txt", "التقى كيم وبوتين.")
    write(tmp_path, "latin1.txt", "caf\xe9".encode("latin-1"))
    write(tmp_path, "empty.txt", "  \n")
    write(tmp_path, "binary.txt", b"\x00\x01\x02abc")
    write(tmp_path, "broken.md", "---\ntitle: [unclosed\n---\nنص.\n")
    write(tmp_path, "unclosed.md", "---\ntitle: عنوان\nنص بلا نهاية للترويسة.\n")
    write(tmp_path, "notes.pdf", b"%PDF")
    write(tmp_path, "sources.yaml", "missing.txt:\n  title: غائب\ngood.txt:\n  author: x\n")
    corpus = load_corpus(tmp_path)
    assert [d.doc for d in corpus.documents] == ["good.txt"]
    reasons = {p.path: p.reason for p in corpus.problems if p.path != "sources.yaml"}
    assert reasons["latin1.txt"].startswith("skipped, not UTF-8")
    assert reasons["empty.txt"] == "skipped, empty (no text)"
    assert reasons["binary.txt"].startswith("skipped, binary")
    assert reasons["broken.md"].startswith("skipped, broken front matter")
    assert reasons["unclosed.md"].startswith("skipped, front matter opened")
    yaml_problems = [p.reason for p in corpus.problems if p.path == "sources.yaml"]
    assert "entry 'missing.txt' names no corpus file" in yaml_problems
    assert any("unknown key 'author'" in r for r in yaml_problems)


def test_reading_in_worker_processes_gives_the_same_corpus(tmp_path: Path) -> None:
    for i in range(12):
        body = f"---\ntitle: خبر {i}\n---\nالتقى كيم وبوتين في القمة {i}.\n"
        write(tmp_path, f"news_{i:02d}.txt", body)
    write(tmp_path, "latin1.txt", "caf\xe9".encode("latin-1"))
    write(tmp_path, "binary.txt", b"\x00\x01\x02abc")
    write(tmp_path, "sources.yaml", "missing.txt:\n  title: غائب\nnews_03.txt:\n  outlet: وكالة\n")
    alone = load_corpus(tmp_path, workers=1)
    shared = load_corpus(tmp_path, workers=2)
    assert shared.documents == alone.documents
    assert shared.problems == alone.problems
    assert [d.doc for d in alone.documents][:2] == ["news_00.txt", "news_01.txt"]
    assert len(alone.documents) == 12 and len(alone.problems) == 3


def test_broken_sources_yaml_is_reported_and_files_still_load(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "نص.")
    write(tmp_path, "sources.yaml", "a.txt: [unclosed")
    corpus = load_corpus(tmp_path)
    assert [d.doc for d in corpus.documents] == ["a.txt"]
    assert corpus.problems[0].path == "sources.yaml"


def test_a_link_leading_outside_the_corpus_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("سر لا يقرأ.", encoding="utf-8")
    corpus_dir = tmp_path / "corpus"
    write(corpus_dir, "a.txt", "نص.")
    os.symlink(outside, corpus_dir / "link.txt")
    corpus = load_corpus(corpus_dir)
    assert [d.doc for d in corpus.documents] == ["a.txt"]
    assert corpus.problems[0].path == "link.txt"


def test_a_missing_folder_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")
    write(tmp_path, "file.txt", "x")
    with pytest.raises(CorpusError, match="is not a folder"):
        load_corpus(tmp_path / "file.txt")
