"""The uploads folder: atomic stores, names, duplicates, removal, and its place in the corpus."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from bot.settings import load_settings
from retrieval.engine import Engine
from retrieval.ingest import Extracted, IngestError
from retrieval.ingest.uploads import AlreadyStored, remove, slug, store
from retrieval.roots import list_roots, load_roots

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FACT = "افتتحت بلدية مادبا مكتبة عامة جديدة تضم ألفي كتاب للأطفال واليافعين."
LIBRARY = Extracted(FACT, "مكتبة مادبا الجديدة", outlet="بترا", date="2024-03-01")


def test_an_upload_is_markdown_with_its_citation_and_provenance(tmp_path: Path):
    stored = store(
        LIBRARY, tmp_path / "uploads", original_name="lib.docx", added_by=1001, added_at=0
    )
    assert stored.name == "مكتبة-مادبا-الجديدة.md" and stored.doc == f"uploads/{stored.name}"
    text = stored.path.read_text(encoding="utf-8")
    head, body = text.removeprefix("---\n").split("---\n", 1)
    assert yaml.safe_load(head) == {
        "title": "مكتبة مادبا الجديدة",
        "outlet": "بترا",
        "date": "2024-03-01",
        "added_by": "1001",
        "added_at": "1970-01-01T00:00:00Z",
        "original_name": "lib.docx",
    }
    assert body == FACT + "\n"
    assert [p.name for p in (tmp_path / "uploads").iterdir()] == [stored.name]


def test_names_are_safe_slugs_and_never_overwrite(tmp_path: Path):
    assert slug("قمة كيم/بوتين: ../../etc") == "قمة-كيم-بوتين-etc"
    assert slug("مُحَمَّد — Putin’s visit") == "محمد-putin-s-visit"
    assert slug("؟!") == ""
    other = Extracted("نص آخر مختلف تماماً عن الأول.", LIBRARY.title)
    first = store(LIBRARY, tmp_path, original_name="a.docx", added_by=1)
    second = store(other, tmp_path, original_name="b.docx", added_by=1)
    assert (first.name, second.name) == ("مكتبة-مادبا-الجديدة.md", "مكتبة-مادبا-الجديدة-2.md")
    untitled = store(Extracted("نص ثالث.", "؟"), tmp_path, original_name="؟.txt", added_by=1)
    assert untitled.name == "upload.md"


def test_the_same_text_twice_is_refused_naming_the_first(tmp_path: Path):
    store(LIBRARY, tmp_path, original_name="lib.docx", added_by=1)
    respaced = Extracted("  " + FACT.replace(" ", "  ") + "\n\n", "عنوان آخر")
    with pytest.raises(AlreadyStored) as caught:
        store(respaced, tmp_path, original_name="copy.pdf", added_by=2)
    assert str(caught.value) == "copy.pdf: already in the corpus as uploads/مكتبة-مادبا-الجديدة.md"
    assert len(list(tmp_path.iterdir())) == 1


def _limit_file_size() -> None:
    """A full disk, as far as this process can tell: writes past 4 KB fail (EFBIG)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_a_full_disk_leaves_nothing_behind(tmp_path: Path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from retrieval.ingest import Extracted, IngestError
        from retrieval.ingest.uploads import store
        try:
            store(Extracted({FACT!r} * 200, "كبير"), Path({str(folder)!r}),
                  original_name="big.txt", added_by=1)
        except IngestError as exc:
            print(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_file_size,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"big.txt: could not be stored in {folder}: File too large")
    assert list(folder.iterdir()) == [], "no file, whole or partial, and no temporary file"


def test_remove_deletes_only_uploads_of_the_folder(tmp_path: Path):
    folder = tmp_path / "uploads"
    stored = store(LIBRARY, folder, original_name="lib.docx", added_by=1)
    outside = tmp_path / "secret.md"
    outside.write_text("سر", encoding="utf-8")
    os.symlink(outside, folder / "link.md")
    for name in ("../secret.md", "uploads/../secret.md", "/etc/passwd", ".hidden.md", ""):
        with pytest.raises(IngestError, match="not the name of an uploaded document"):
            remove(folder, name)
    with pytest.raises(IngestError, match=r"no uploaded document uploads/link\.md"):
        remove(folder, "link.md")
    with pytest.raises(IngestError, match=r"no uploaded document uploads/missing\.md"):
        remove(folder, "missing")
    assert outside.exists()
    assert remove(folder, f"uploads/{stored.name}") == stored.name
    assert not stored.path.exists()


# --- the uploads folder in the corpus --------------------------------------------------------


def test_uploads_join_the_corpus_as_uploads_name(tmp_path: Path):
    stored = store(LIBRARY, tmp_path / "uploads", original_name="lib.docx", added_by=1)
    corpus = load_roots(SEEDS, tmp_path / "uploads")
    docs = [d.doc for d in corpus.documents]
    assert docs[-1] == stored.doc and len(docs) == 6
    source = corpus.documents[-1].source
    assert (source.title, source.outlet, source.date) == (
        "مكتبة مادبا الجديدة",
        "بترا",
        "2024-03-01",
    )
    assert corpus.problems == [], "provenance keys are not reported as unknown"
    listing = list_roots(SEEDS, tmp_path / "uploads")
    assert f"uploads/{stored.name}" in [path for path, *_ in listing.files]
    assert load_roots(SEEDS, tmp_path / "never-made").documents == load_roots(SEEDS, None).documents


def test_a_main_corpus_document_named_like_an_upload_wins(tmp_path: Path):
    corpus = tmp_path / "corpus"
    (corpus / "uploads").mkdir(parents=True)
    (corpus / "uploads" / "x.md").write_text("نص من المجلد الرئيسي.", encoding="utf-8")
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "x.md").write_text("نص مرفوع.", encoding="utf-8")
    loaded = load_roots(corpus, tmp_path / "up")
    assert [d.text for d in loaded.documents] == ["نص من المجلد الرئيسي."]
    assert [str(p) for p in loaded.problems] == [
        "uploads/x.md: upload skipped: the main corpus folder has this name"
    ]


def test_the_engine_answers_from_an_upload_after_a_reload(tmp_path: Path):
    engine = Engine(SEEDS, tmp_path / "index", uploads_dir=tmp_path / "uploads")
    engine.open()
    assert FACT not in [hit.text for hit in engine.search("كم كتابا في مكتبة مادبا؟").hits]
    stored = store(LIBRARY, tmp_path / "uploads", original_name="lib.docx", added_by=1)
    report = engine.reload()
    assert report.added == [stored.doc]
    hit = engine.search("كم كتابا في مكتبة مادبا؟").hits[0]
    assert hit.text == FACT and hit.source.doc == stored.doc
    # A fresh start trusts the listing, uploads included: the same index, nothing reread.
    again = Engine(SEEDS, tmp_path / "index", uploads_dir=tmp_path / "uploads")
    assert again.open().from_cache
    assert again.search("كم كتابا في مكتبة مادبا؟").hits[0].source.doc == stored.doc


def test_ask_from_the_command_line_cites_the_upload(tmp_path: Path):
    store(LIBRARY, tmp_path / "uploads", original_name="lib.docx", added_by=1)
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump({"corpus": {"path": str(SEEDS), "index_dir": str(tmp_path / "index")}}),
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "ask",
            "كم كتابا في مكتبة مادبا؟",
            "--config",
            str(config),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_BOT_")},
    )
    assert done.returncode == 0, done.stderr
    assert FACT in done.stdout and "uploads/مكتبة-مادبا-الجديدة.md" in done.stdout


# --- settings ----------------------------------------------------------------------------------


def _settings(tmp_path: Path, corpus: dict, monkeypatch: pytest.MonkeyPatch, **env: str):
    for key in ("COVERAGE_BOT_UPLOADS", "COVERAGE_BOT_INDEX_DIR", "COVERAGE_BOT_CORPUS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"corpus": corpus}), encoding="utf-8")
    return load_settings(config)


def test_the_uploads_folder_defaults_beside_the_index_and_env_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    beside = _settings(tmp_path, {"path": "c", "index_dir": "data/index"}, monkeypatch)
    assert beside.corpus.uploads == tmp_path / "data" / "uploads"
    named = _settings(tmp_path, {"path": "c", "uploads": "mine"}, monkeypatch)
    assert named.corpus.uploads == tmp_path / "mine"
    assert _settings(tmp_path, {"path": "c", "index_dir": None}, monkeypatch).corpus.uploads is None
    off = _settings(tmp_path, {"path": "c", "index_dir": "i", "uploads": None}, monkeypatch)
    assert off.corpus.uploads is None
    env = _settings(tmp_path, {"path": "c"}, monkeypatch, COVERAGE_BOT_UPLOADS="/srv/up")
    assert env.corpus.uploads == Path("/srv/up")
    assert beside.ingest.max_bytes == 20 * 1024 * 1024
    assert beside.ingest.allow_private_addresses is False
