"""The incremental index: a changed corpus re-analyzes only what changed, and the
index it merges is exactly the index a full rebuild makes.

Equality is checked array for array (sentence table, texts, duplicate groups,
vocabulary, postings, BM25 impacts to 1e-12) and by the answers to questions,
after random sequences of files added, changed, copied and removed. Stored
segments that are missing or damaged are never trusted: their documents are
analyzed again and the result is still a full rebuild's.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from retrieval import arabic_roots
from retrieval import corpus as corpus_module
from retrieval import delta as delta_module
from retrieval import engine as engine_module
from retrieval import reread as reread_module
from retrieval import segments as segments_module
from retrieval.arabic_roots import roots_of
from retrieval.context import context_of
from retrieval.corpus import load_corpus
from retrieval.engine import SENTENCE_PARAMS, Engine, ReloadFailed
from retrieval.index import SentenceIndex, build_index
from retrieval.listing import list_corpus
from retrieval.models import Problem
from retrieval.ngrams import ngrams_of
from retrieval.normalize import analyze
from retrieval.qtype import evidence_flags
from retrieval.reread import read_corpus
from retrieval.roots import Roots
from retrieval.search import search
from retrieval.segments import incremental_index, load_titles, save_titles, segments_dir
from retrieval.store import corpus_key, load_index, previous_index, save_index

QUESTIONS = [
    "ماذا قال كيم عن الإمبريالية؟",
    "أين التقى بوتين وكيم؟",
    "متى زار كيم روسيا؟",
    "ما هو مهرجان الزيتون؟",
    "من افتتح الجسر في قرطبون؟",
]
SENTENCES = [
    "افتتح المزارعون مهرجان الزيتون السنوي في مدينة جرش بمشاركة واسعة.",
    "أعلنت بلدية قرطبون افتتاح جسر الزعفران الجديد فوق وادي السنديان.",
    "قال الرئيس إن المحادثات بين الوفدين تناولت التعاون الاقتصادي والعسكري.",
    "وصل الوفد الكوري إلى محطة فوستوتشني الفضائية صباح الأربعاء.",
    "أكد المتحدث أن اللجنة ستجتمع مجددا الأسبوع المقبل لمراجعة النتائج.",
    "ارتفعت أسعار القمح في الأسواق المحلية بنسبة عشرة في المئة.",
    "كيم يتعهد بالدعم الكامل لبوتين في قمة الشرق الأقصى.",
    "شارك ثلاثة آلاف عداء في ماراثون العاصمة يوم الجمعة.",
]


def full_index(corpus: Path) -> SentenceIndex:
    documents = load_corpus(corpus).documents
    return build_index(documents, corpus_key(documents, SENTENCE_PARAMS), SENTENCE_PARAMS)


def incremental(corpus: Path, cache: Path, edited: bool | None = None) -> tuple[SentenceIndex, int]:
    """(index, number of documents analyzed) of an incremental update of `cache`.

    `edited`: whether the update must have edited the previous index
    (retrieval/delta.py) rather than merged every segment again.
    """
    documents = load_corpus(corpus).documents
    key = corpus_key(documents, SENTENCE_PARAMS)
    index, update = incremental_index(documents, key, SENTENCE_PARAMS, cache)
    if edited is not None:
        assert ("edit" in update.seconds) == edited, update.seconds
    save_index(index, cache)  # as the engine does: the next update edits it
    return index, update.analyzed_docs


def assert_same_index(got: SentenceIndex, want: SentenceIndex) -> None:
    assert got.corpus_key == want.corpus_key
    assert got.sources == want.sources
    assert got.digests == want.digests
    for name in (
        "sent_doc", "sent_pos", "sent_start", "sent_end", "doc_rows", "dup_indptr",
        "dup_rows", "doc_len", "indptr", "post_docs", "post_tf", "doc_keys",
    ):  # fmt: skip
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    # An edit recomputes impacts with the full build's own arithmetic: equal to the bit.
    np.testing.assert_array_equal(got.idf, want.idf)
    np.testing.assert_array_equal(got.post_weights, want.post_weights)
    mine_context, their_context = context_of(got), context_of(want)
    for name in ("prev_doc", "next_doc", "doc_source", "title_indptr", "title_sources"):
        np.testing.assert_array_equal(
            getattr(mine_context, name), getattr(their_context, name), err_msg=name
        )
    # Texts row by row: an edit appends a part instead of rewriting them in row order.
    assert len(got.texts) == len(want.texts)
    assert [got.texts[i] for i in range(len(got.texts))] == [
        want.texts[i] for i in range(len(want.texts))
    ]
    assert got.vocab == want.vocab
    np.testing.assert_allclose(got.idf, want.idf, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.post_weights, want.post_weights, rtol=0, atol=1e-12)
    # The look-alike map (updated from the previous index's, not rebuilt) finds the same terms.
    mine_grams, their_grams = ngrams_of(got), ngrams_of(want)
    for term in want.vocab:
        assert mine_grams.similar(term, 0.5, 5) == their_grams.similar(term, 0.5, 5), term
    # The roots map (updated: only terms it never stemmed are stemmed) groups the same terms.
    assert roots_of(got).as_dict() == roots_of(want).as_dict()
    mine_flags, their_flags = evidence_flags(got), evidence_flags(want)
    assert mine_flags.keys() == their_flags.keys()
    for kind, flags in their_flags.items():
        np.testing.assert_array_equal(mine_flags[kind], flags, err_msg=kind.value)
    for question in QUESTIONS:
        mine, theirs = search(got, question), search(want, question)
        assert [(h.text, h.sources) for h in mine.hits] == [
            (h.text, h.sources) for h in theirs.hits
        ]
        np.testing.assert_allclose(
            [h.score for h in mine.hits], [h.score for h in theirs.hits], rtol=0, atol=1e-12
        )


TITLE_WORDS = ["السنديان", "الزنبق", "القيقب", "الصفصاف"]


def write_article(path: Path, rng: random.Random) -> None:
    """Known sentences (shared with other files), one holding a word no other file
    has (its removal drops a term), sometimes a title whose word a later file's
    sentence brings into the vocabulary, or an empty line of punctuation only."""
    word = "".join(rng.choice("بتثجحخدذرزسشصضطظعغفقكلمن") for _ in range(6))
    lines = [*rng.sample(SENTENCES, rng.randint(1, 4)), f"ورد في الخبر اسم {word} مرتين."]
    if rng.random() < 0.5:
        lines.insert(rng.randint(0, len(lines)), f"زرع الأهالي أشجار {rng.choice(TITLE_WORDS)}.")
    if rng.random() < 0.3:
        lines.insert(rng.randint(0, len(lines)), "...")
    if rng.random() < 0.5:
        lines.insert(0, f"---\ntitle: حديقة {rng.choice(TITLE_WORDS)} الكبرى\n---")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_random_changes_merge_to_exactly_a_full_rebuild(
    corpus: Path, tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files added, changed, copied (identical content) and removed in sequence."""
    monkeypatch.setattr(segments_module, "MAX_SEGMENTS", 4)  # merges happen within the run
    if seed % 2:  # postings spliced by whole-array copies instead of run by run
        monkeypatch.setattr(delta_module, "MAX_SPLICE_RUNS", 0)
    if seed > 2:  # the roots map's most frequent terms change as the corpus does
        monkeypatch.setattr(arabic_roots, "ROOT_VOCAB", 40 if seed % 2 else 120)
        monkeypatch.setattr(arabic_roots, "ROOT_LIMIT", 2)
    rng = random.Random(seed)
    cache = tmp_path / "cache"
    index, analyzed = incremental(corpus, cache, edited=False)
    assert analyzed == 5, "the first update analyzes every seed"
    assert_same_index(index, full_index(corpus))
    for step in range(12):
        files = sorted(p for p in corpus.rglob("*.txt"))
        action = rng.choice(["add", "add", "change", "copy", "remove"])
        if action == "add" or len(files) < 3:
            write_article(corpus / f"sub{rng.randint(0, 2)}" / f"new_{step}.txt", rng)
            expected = 1
        elif action == "change":
            victim = rng.choice(files)
            victim.write_text(
                victim.read_text("utf-8") + "\n" + rng.choice(SENTENCES) + "\n", "utf-8"
            )
            expected = 1
        elif action == "copy":
            shutil.copy(rng.choice(files), corpus / f"copy_{step}.txt")
            expected = 0  # same digest: its analysis is already stored
        else:
            rng.choice(files).unlink()
            expected = 0
        index, analyzed = incremental(corpus, cache, edited=True)
        assert analyzed == expected, f"step {step} ({action})"
        assert_same_index(index, full_index(corpus))
    assert (
        len(
            json.loads((cache.with_name("cache.segments") / "catalog.json").read_text())["segments"]
        )
        <= 4
    )


def test_an_edit_links_the_saved_texts_and_compacts_them_in_time(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Texts of unchanged rows are neither copied nor rewritten: the new version links
    the previous version's file and adds a part. Past MAX_TEXT_PARTS parts, or with
    too many bytes of removed rows, they are rewritten as one part; the texts and the
    rest of the index stay a full rebuild's throughout."""
    monkeypatch.setattr(delta_module, "MAX_TEXT_PARTS", 3)
    rng = random.Random(7)
    cache = tmp_path / "cache"
    index, _ = incremental(corpus, cache, edited=False)
    first_part = (cache / index.corpus_key / "text_part_0.npy").stat()
    counts = []
    for step in range(4):
        write_article(corpus / f"new_{step}.txt", rng)
        index, _ = incremental(corpus, cache, edited=True)
        assert_same_index(index, full_index(corpus))
        counts.append(len(index.texts.parts))
        if step == 0:
            linked = (cache / index.corpus_key / "text_part_0.npy").stat()
            assert (linked.st_ino, linked.st_dev) == (first_part.st_ino, first_part.st_dev)
        # The postings were made in staged files and linked in: what was saved is the edit.
        assert [p.name for p in cache.iterdir()] == [index.corpus_key], "no staging left"
        assert_same_index(load_index(cache, index.corpus_key, SENTENCE_PARAMS), index)
    assert counts == [2, 3, 1, 2], "the fourth part made them one"
    monkeypatch.setattr(delta_module, "MIN_LIVE_TEXT", 1.0)  # any removed byte
    (corpus / "new_0.txt").unlink()
    index, _ = incremental(corpus, cache, edited=True)
    assert len(index.texts.parts) == 1, "bytes of removed rows over the share: rewritten"
    assert_same_index(index, full_index(corpus))


def test_titles_an_edit_analyzes_are_appended_and_read_back(corpus: Path, tmp_path: Path) -> None:
    """An edit appends the titles it analyzed to a log instead of rewriting every
    title; the next update reads both, and the index still equals a full rebuild."""
    cache = tmp_path / "cache"
    Engine(corpus, cache).open()
    state = segments_dir(cache)
    stored = (state / "titles.json").read_bytes()
    title = "حديقة الزنبق الكبرى"
    (corpus / "olives.txt").write_text(f"---\ntitle: {title}\n---\n{SENTENCES[0]}\n", "utf-8")
    snapshot = Engine(corpus, cache).open()
    assert not snapshot.from_cache
    assert (state / "titles.json").read_bytes() == stored, "not rewritten"
    assert json.loads((state / "titles.log").read_text("utf-8")) == [title, analyze(title)]
    assert load_titles(state)[title] == analyze(title)
    assert_same_index(snapshot.index, full_index(corpus))
    (corpus / "olives.txt").unlink()
    assert_same_index(Engine(corpus, cache).open().index, full_index(corpus))


def test_a_damaged_or_missing_segment_is_analyzed_again(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    incremental(corpus, cache)
    root = segments_dir(cache)
    (segment,) = json.loads((root / "catalog.json").read_text())["segments"]
    np.save(root / segment / "post_row.npy", np.zeros(3, dtype=np.int32))  # truncated
    index, analyzed = incremental(corpus, cache)
    assert analyzed == 5
    assert_same_index(index, full_index(corpus))

    (segment,) = json.loads((root / "catalog.json").read_text())["segments"]
    shutil.rmtree(root / segment)
    index, analyzed = incremental(corpus, cache)
    assert analyzed == 5
    assert_same_index(index, full_index(corpus))

    (root / "catalog.json").write_text("{not json", "utf-8")
    index, analyzed = incremental(corpus, cache)
    assert analyzed == 5
    assert_same_index(index, full_index(corpus))


def test_a_segment_whose_arrays_point_outside_it_is_not_trusted(
    corpus: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    incremental(corpus, cache)
    root = segments_dir(cache)
    (segment,) = json.loads((root / "catalog.json").read_text())["segments"]
    rows = np.load(root / segment / "post_row.npy")
    rows[-1] = 10**6  # same length, a row that does not exist
    np.save(root / segment / "post_row.npy", rows)
    index, analyzed = incremental(corpus, cache)
    assert analyzed == 5
    assert_same_index(index, full_index(corpus))


def test_removed_documents_never_answer(corpus: Path, tmp_path: Path) -> None:
    (corpus / "olives.txt").write_text(SENTENCES[0] + "\n", "utf-8")
    engine = Engine(corpus, tmp_path / "cache")
    engine.open()
    assert engine.search("مهرجان الزيتون").hits[0].text == SENTENCES[0]
    (corpus / "olives.txt").unlink()
    report = engine.reload()
    assert report.removed == ["olives.txt"]
    assert not any("الزيتون" in h.text for h in engine.search("مهرجان الزيتون").hits)
    assert "olives.txt" not in {s.doc for s in engine.snapshot.index.sources}
    assert_same_index(engine.snapshot.index, full_index(corpus))


def test_a_sentence_in_an_old_and_a_new_file_cites_both(corpus: Path, tmp_path: Path) -> None:
    (corpus / "old.txt").write_text(SENTENCES[1] + "\n", "utf-8")
    engine = Engine(corpus, tmp_path / "cache")
    engine.open()
    (corpus / "new.txt").write_text(SENTENCES[5] + "\n" + SENTENCES[1] + "\n", "utf-8")
    report = engine.reload()
    assert report.added == ["new.txt"]
    top = engine.search("جسر الزعفران في قرطبون").hits[0]
    assert top.text == SENTENCES[1]
    assert [s.doc for s in top.sources] == ["new.txt", "old.txt"]
    assert_same_index(engine.snapshot.index, full_index(corpus))


def test_an_upload_is_answered_after_a_reload_and_the_rest_is_not_analyzed(
    corpus: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    engine = Engine(corpus, cache)
    engine.open()
    (corpus / "uploads").mkdir()
    (corpus / "uploads" / "bridge.md").write_text(
        "---\ntitle: جسر الزعفران\n---\n" + SENTENCES[1] + "\n", "utf-8"
    )
    report = engine.reload()  # the child process updates the index; this one maps it
    assert report.added == ["uploads/bridge.md"]
    hit = engine.search("ماذا افتتحت بلدية قرطبون؟").hits[0]
    assert hit.text == SENTENCES[1]
    assert hit.source.title == "جسر الزعفران"
    catalog = json.loads((segments_dir(cache) / "catalog.json").read_text())["segments"]
    sizes = sorted(
        len(json.loads((segments_dir(cache) / name / "manifest.json").read_text())["digests"])
        for name in catalog
    )
    assert sizes == [1, 5], "the seeds' segment is reused; the upload got its own"
    assert_same_index(engine.snapshot.index, full_index(corpus))


def test_an_uploads_folder_beside_the_corpus_is_updated_file_by_file(
    corpus: Path, tmp_path: Path
) -> None:
    """The bot's uploads folder is a second root: its documents are named uploads/NAME,
    a changed upload is read again on its own, and a removed one stops answering."""
    cache, uploads = tmp_path / "cache", tmp_path / "uploads"
    engine = Engine(corpus, cache, uploads_dir=uploads)
    engine.open()
    uploads.mkdir()
    upload = uploads / "bridge.md"
    upload.write_text("---\ntitle: جسر الزعفران\n---\n" + SENTENCES[1] + "\n", "utf-8")
    assert engine.reload().added == ["uploads/bridge.md"]
    hit = engine.search("ماذا افتتحت بلدية قرطبون؟").hits[0]
    assert (hit.text, hit.source.doc) == (SENTENCES[1], "uploads/bridge.md")

    upload.write_text("---\ntitle: جسر الزعفران\n---\n" + SENTENCES[2] + "\n", "utf-8")
    assert engine.reload().changed == ["uploads/bridge.md"]
    assert engine.search("ماذا افتتحت بلدية قرطبون؟").hits == []
    reference = Engine(corpus, None, uploads_dir=uploads)
    reference.open()
    assert_same_index(engine.snapshot.index, reference.snapshot.index)

    upload.unlink()
    assert engine.reload().removed == ["uploads/bridge.md"]
    assert all(not source.doc.startswith("uploads/") for source in engine.snapshot.index.sources)


def test_a_failed_reload_keeps_the_previous_index(corpus: Path, tmp_path: Path) -> None:
    engine = Engine(corpus, tmp_path / "cache")
    engine.open()
    (corpus / "olives.txt").write_text(SENTENCES[0] + "\n", "utf-8")
    engine.reload()
    before = engine.snapshot
    shutil.rmtree(corpus)
    corpus.write_text("not a folder", "utf-8")
    with pytest.raises(ReloadFailed, match="not a folder"):
        engine.reload()
    assert engine.snapshot is before
    assert engine.search("مهرجان الزيتون").hits[0].text == SENTENCES[0]


def test_start_up_after_a_change_reads_only_the_changed_file(corpus: Path, tmp_path: Path) -> None:
    """`coverage-bot index` after one edit: the others come from the file record."""
    cache = tmp_path / "cache"
    Engine(corpus, cache).open()
    (corpus / "olives.txt").write_text(SENTENCES[0] + "\n", "utf-8")
    snapshot = Engine(corpus, cache).open()
    assert not snapshot.from_cache
    assert engine_answers(snapshot.index, "مهرجان الزيتون") == SENTENCES[0]
    assert_same_index(snapshot.index, full_index(corpus))


def engine_answers(index: SentenceIndex, question: str) -> str:
    return search(index, question).hits[0].text


def aged(folder: Path) -> None:
    """Every file's mtime an hour back: none is within the racy window of a listing."""
    past = time.time() - 3600
    for path in folder.rglob("*"):
        os.utime(path, (past, past))


def test_only_files_whose_size_mtime_or_ctime_changed_are_opened(
    corpus: Path, tmp_path: Path
) -> None:
    (corpus / "sources.yaml").unlink()  # its entries apply by name: with it, all are read
    (corpus / "empty.txt").write_text("  \n", "utf-8")
    aged(corpus)
    cache = tmp_path / "cache"
    Engine(corpus, cache).open()
    (corpus / "olives.txt").write_text(SENTENCES[0] + "\n", "utf-8")
    edited = corpus / "002_092c1b17ba5817fe.txt"
    before = edited.stat()
    text = edited.read_text("utf-8")
    edited.write_text(text.replace("بوتين", "بوتان"), "utf-8")  # same size
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))  # the old mtime back
    assert edited.stat().st_mtime_ns == before.st_mtime_ns, "only the ctime tells"

    previous = previous_index(cache, SENTENCE_PARAMS)
    got, opened = read_corpus(Roots(corpus), list_corpus(corpus), segments_dir(cache), previous)
    want = load_corpus(corpus)
    assert opened == 2, "the new file and the edited one"
    assert [(d.source, d.digest, d.body_offset) for d in got.documents] == [
        (d.source, d.digest, d.body_offset) for d in want.documents
    ]
    assert [d.doc for d in got.documents if d.text] == [edited.name, "olives.txt"]
    assert got.problems == want.problems == [Problem("empty.txt", "skipped, empty (no text)")]


def test_citations_come_from_the_previous_index_else_the_file_is_read(
    corpus: Path, tmp_path: Path
) -> None:
    """The record keeps no citations: an unchanged file's comes from the previous
    index when it holds that path with the recorded digest; otherwise (no previous
    index, or one that disagrees) the file is read, never cited from a guess."""
    (corpus / "sources.yaml").unlink()
    aged(corpus)
    cache = tmp_path / "cache"
    Engine(corpus, cache).open()
    reread_module._kept.clear()  # as in a fresh process (`coverage-bot index`)
    roots, listing, state = Roots(corpus), list_corpus(corpus), segments_dir(cache)
    previous = previous_index(cache, SENTENCE_PARAMS)
    want = [(d.source, d.digest, d.body_offset) for d in load_corpus(corpus).documents]

    got, opened = read_corpus(roots, listing, state, previous)
    assert opened == 0
    assert [(d.source, d.digest, d.body_offset) for d in got.documents] == want

    got, opened = read_corpus(roots, listing, state, None)
    assert opened == len(want), "no previous index: every file read"
    assert [(d.source, d.digest, d.body_offset) for d in got.documents] == want

    previous.digests[1] = "0" * 64  # an index that does not hold that file's content
    got, opened = read_corpus(roots, listing, state, previous)
    assert opened == 1
    assert [d.doc for d in got.documents if d.text] == [previous.sources[1].doc]
    assert [(d.source, d.digest, d.body_offset) for d in got.documents] == want


def test_a_sources_file_means_every_file_is_read(corpus: Path, tmp_path: Path) -> None:
    aged(corpus)
    cache = tmp_path / "cache"
    Engine(corpus, cache).open()
    previous = previous_index(cache, SENTENCE_PARAMS)
    _, opened = read_corpus(Roots(corpus), list_corpus(corpus), segments_dir(cache), previous)
    assert opened == 6  # five articles and sources.yaml


@pytest.mark.parametrize("in_process", [True, False])
def test_reloads_edit_the_serving_index_into_exactly_a_full_rebuild(
    corpus: Path,
    tmp_path: Path,
    in_process: bool,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A few changed files: the serving index is edited in this process (else, past
    the limit, a child process rebuilds). Either way every array equals a full
    rebuild's, the new fact answers, and a fresh start-up opens the saved index."""
    if not in_process:
        monkeypatch.setattr(engine_module, "IN_PROCESS_MAX_FILES", 0)
    (corpus / "sources.yaml").unlink()  # with it, every reload reads every file
    rng = random.Random(7)
    cache = tmp_path / "cache"
    engine = Engine(corpus, cache)
    engine.open()
    for step in range(6):
        files = sorted(corpus.rglob("*.txt"))
        if step % 3 == 2:
            files[rng.randrange(len(files))].unlink()
        else:
            write_article(corpus / f"sub{step % 2}" / f"new_{step}.txt", rng)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="retrieval.engine"):
            report = engine.reload()
        edited = any("edited in this process" in r.getMessage() for r in caplog.records)
        assert edited == in_process
        assert report.after.from_cache is False
        assert_same_index(engine.snapshot.index, full_index(corpus))
    (corpus / "bridge.txt").write_text(SENTENCES[1] + "\n", "utf-8")
    engine.reload()
    assert engine.search("ماذا افتتحت بلدية قرطبون؟").hits[0].text == SENTENCES[1]
    again = Engine(corpus, cache)
    assert again.open().from_cache
    assert_same_index(again.snapshot.index, full_index(corpus))


def test_a_corpus_analyzed_where_it_is_read_builds_the_same_index(
    corpus: Path, tmp_path: Path
) -> None:
    """Workers that read a batch of files also analyze it and send back its chunk, not
    the texts: batches cut anywhere give the index of a full build, and become the
    segments the next update reuses."""
    read = load_corpus(corpus, workers=2, analyze=True)
    assert len(read.analyzed) > 1, "one batch per file or two: several chunks"
    assert all(d.text == "" for d in read.documents)
    held = [digest for run in read.analyzed for digest in run.digests]
    assert held == [d.digest for d in read.documents]
    titles = {t: w for run in read.analyzed for t, w in run.titles.items()}
    assert titles == {d.source.title: analyze(d.source.title) for d in read.documents}
    key = corpus_key(read.documents, SENTENCE_PARAMS)
    cache = tmp_path / "cache"
    index, update = incremental_index(
        read.documents, key, SENTENCE_PARAMS, cache, analyzed=read.analyzed
    )
    assert (update.analyzed_docs, update.reused_docs) == (len(read.documents), 0)
    assert_same_index(index, full_index(corpus))
    save_index(index, cache)
    save_titles(segments_dir(cache), index)
    assert load_titles(segments_dir(cache)) == titles
    again, analyzed = incremental(corpus, cache)
    assert analyzed == 0
    assert_same_index(again, full_index(corpus))


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="reading in workers needs 2 cores")
def test_a_first_build_analyzes_in_the_reading_workers_uploads_included(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With nothing stored yet, the engine's load analyzes where it reads (here every
    corpus counts as large); an upload named like a main file is skipped although
    its worker analyzed it, and a later change is analyzed alone."""
    monkeypatch.setattr(corpus_module, "PARALLEL_MIN_FILES", 1)
    cache, uploads = tmp_path / "cache", tmp_path / "uploads"
    uploads.mkdir()
    (corpus / "uploads").mkdir()
    (corpus / "uploads" / "bridge.md").write_text(f"{SENTENCES[2]}\n", "utf-8")
    (uploads / "bridge.md").write_text(f"---\ntitle: جسر\n---\n{SENTENCES[1]}\n", "utf-8")
    shutil.copy(sorted(corpus.glob("*.txt"))[0], uploads / "copy.txt")  # cited twice
    engine = Engine(corpus, cache, uploads_dir=uploads)
    bars: list[list[int]] = []

    def progress(total: int) -> Callable[[int], None]:
        bars.append([total])
        return bars[-1].append

    snapshot = engine.open(progress)
    assert any("main corpus folder has this name" in p.reason for p in snapshot.problems)
    n_files = len([*corpus.rglob("*.txt"), *corpus.rglob("*.md"), *uploads.iterdir()])
    assert [bar[0] for bar in bars] == [n_files], "one bar: files read and analyzed"
    assert sum(bars[0][1:]) == n_files
    catalog = segments_dir(cache) / "catalog.json"
    first_segments = json.loads(catalog.read_text())["segments"]
    assert len(first_segments) > 2, "analyzed in batches where read"
    assert_same_index(snapshot.index, Engine(corpus, None, uploads_dir=uploads).open().index)

    (corpus / "olives.txt").write_text(f"---\ntitle: زيتون\n---\n{SENTENCES[0]}\n", "utf-8")
    engine.reload()
    added = set(json.loads(catalog.read_text())["segments"]) - set(first_segments)
    assert len(added) == 1, "only the new file analyzed"
    assert_same_index(engine.snapshot.index, Engine(corpus, None, uploads_dir=uploads).open().index)
