"""The persisted index: round trip, and stale or corrupt caches rebuilt, never trusted."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from retrieval import arabic_roots
from retrieval.arabic_roots import ROOTS_KEY, roots_of
from retrieval.corpus import load_corpus
from retrieval.engine import SENTENCE_PARAMS, Engine
from retrieval.index import BM25Params, build_index
from retrieval.ngrams import build_ngrams, ngrams_of
from retrieval.qtype import FLAGS_KEY, evidence_flags
from retrieval.search import search
from retrieval.store import StaleIndex, corpus_key, load_index, mapped_like, save_index

QUESTION = "ماذا قال كيم عن الإمبريالية؟"


def hits(index, question=QUESTION):
    return [
        (h.text, round(h.score, 9), [s.doc for s in h.sources])
        for h in search(index, question).hits
    ]


def test_save_then_load_returns_identical_hits(corpus: Path, tmp_path: Path) -> None:
    documents = load_corpus(corpus).documents
    key = corpus_key(documents, BM25Params())
    built = build_index(documents, key)
    save_index(built, tmp_path / "cache")
    loaded = load_index(tmp_path / "cache", key, BM25Params())
    assert hits(loaded) == hits(built)
    assert loaded.sources == built.sources
    assert loaded.vocab == built.vocab


def test_texts_of_several_analysis_runs_are_saved_as_one_file(corpus: Path, tmp_path: Path) -> None:
    """A build keeps each run's texts where the run left them (no join in memory); the
    save streams them into one part, and the saved index reads every sentence back."""
    documents = load_corpus(corpus).documents
    key = corpus_key(documents, BM25Params())
    built = build_index(documents, key, workers=2)  # the seeds in several runs
    assert len(built.texts.parts) > 1
    folder = save_index(built, tmp_path / "cache")
    assert sorted(p.name for p in folder.glob("text_part_*.npy")) == ["text_part_0.npy"]
    assert json.loads((folder / "manifest.json").read_text("utf-8"))["text_parts"] == 1
    for loaded in (
        load_index(tmp_path / "cache", key, BM25Params()),
        mapped_like(built, folder.parent),
    ):
        assert len(loaded.texts.parts) == 1
        assert [loaded.texts[i] for i in range(len(loaded.texts))] == [
            built.texts[i] for i in range(len(built.texts))
        ]
    assert hits(load_index(tmp_path / "cache", key, BM25Params())) == hits(built)


def _mapped_kb(path: Path) -> int | None:
    """Resident kB of this process's maps of `path` (/proc/self/smaps), None off Linux."""
    smaps = Path("/proc/self/smaps")
    if not smaps.exists():
        return None
    total, inside = 0, False
    for line in smaps.read_text().splitlines():
        if re.match(r"[0-9a-f]+-[0-9a-f]+ ", line):  # a map's first line: its address range
            inside = line.rstrip().endswith(str(path))
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


def test_a_loaded_index_reads_sentences_by_position_not_through_the_map(
    corpus: Path, tmp_path: Path
) -> None:
    """Each row read from a saved index is read at its place in the file (os.pread), so
    a serving process does not take the pages around every hit into its own memory.
    The file stays readable after the index folder is removed (an update's clean-up)."""
    documents = load_corpus(corpus).documents
    key = corpus_key(documents, BM25Params())
    built = build_index(documents, key)
    folder = save_index(built, tmp_path / "cache")
    loaded = load_index(tmp_path / "cache", key, BM25Params())
    text_file = (folder / "text_part_0.npy").resolve()
    assert loaded.texts.readers[0] is not None
    texts = [loaded.texts[i] for i in range(len(loaded.texts))]
    assert texts == [built.texts[i] for i in range(len(built.texts))]
    assert "كيم جونغ أون" in " ".join(texts)
    if (resident := _mapped_kb(text_file)) is not None:
        assert resident == 0
    hits_before = hits(loaded)
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    assert hits(loaded) == hits_before == hits(built)


def test_the_key_changes_with_content_metadata_and_parameters(corpus: Path) -> None:
    documents = load_corpus(corpus).documents
    key = corpus_key(documents, BM25Params())
    assert corpus_key(documents, BM25Params(k1=1.2)) != key
    (corpus / "000_3f68c5776c6a3e96.txt").write_text("نص جديد.", encoding="utf-8")
    assert corpus_key(load_corpus(corpus).documents, BM25Params()) != key


def test_an_unchanged_corpus_is_read_from_the_cache(corpus: Path, tmp_path: Path) -> None:
    first = Engine(corpus, tmp_path / "cache").open()
    second = Engine(corpus, tmp_path / "cache").open()
    assert not first.from_cache and second.from_cache
    assert hits(second.index) == hits(first.index)


def test_a_changed_corpus_rebuilds_instead_of_trusting_the_cache(
    corpus: Path, tmp_path: Path
) -> None:
    Engine(corpus, tmp_path / "cache").open()
    (corpus / "new.txt").write_text("أعلنت كوبا دعمها للمبادرة الجديدة.", encoding="utf-8")
    snapshot = Engine(corpus, tmp_path / "cache").open()
    assert not snapshot.from_cache
    assert search(snapshot.index, "كوبا").hits[0].text == "أعلنت كوبا دعمها للمبادرة الجديدة."
    assert len(list((tmp_path / "cache").iterdir())) == 1, "the stale version is pruned"


@pytest.mark.parametrize("damage", ["truncate", "garbage", "delete", "manifest"])
def test_a_corrupt_cache_is_rebuilt(corpus: Path, tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "cache"
    expected = hits(Engine(corpus, cache).open().index)
    (folder,) = cache.iterdir()
    target = folder / ("manifest.json" if damage == "manifest" else "post_docs.npy")
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage in ("garbage", "manifest"):
        target.write_bytes(b"\x00garbage")
    else:
        target.unlink()
    with pytest.raises(StaleIndex):
        load_index(cache, folder.name, SENTENCE_PARAMS)
    snapshot = Engine(corpus, cache).open()
    assert not snapshot.from_cache
    assert hits(snapshot.index) == expected


def test_a_cache_of_other_shape_is_rejected(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    engine = Engine(corpus, cache)
    engine.open()
    (folder,) = cache.iterdir()
    np.save(folder / "post_weights.npy", np.zeros(3, dtype=np.float32))
    with pytest.raises(StaleIndex, match="inconsistent"):
        load_index(cache, folder.name, engine.params)


def test_an_unwritable_cache_still_serves_and_says_why(corpus: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    snapshot = Engine(corpus, blocker / "cache").open()
    assert snapshot.cache_error is not None and "not cached" in snapshot.cache_error
    assert hits(snapshot.index)


def test_the_stored_ngram_map_is_the_one_derived_from_the_vocabulary(
    corpus: Path, tmp_path: Path
) -> None:
    documents = load_corpus(corpus).documents
    built = build_index(documents, corpus_key(documents, SENTENCE_PARAMS))
    save_index(built, tmp_path)
    stored = ngrams_of(load_index(tmp_path, built.corpus_key, built.params))
    derived = build_ngrams(built.vocab)
    assert stored.gram_ids == derived.gram_ids
    for name in ("indptr", "terms", "sizes"):
        assert np.array_equal(getattr(stored, name), getattr(derived, name))
    # "قمتهما" (their summit) finds the corpus's forms of "قمة" through shared n-grams.
    assert stored.similar("قمتهما", 0.4, 5) == derived.similar("قمتهما", 0.4, 5)
    assert stored.similar("قمتهما", 0.4, 5)


def test_the_stored_roots_and_flags_are_the_ones_derived_from_the_index(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start-up maps them instead of stemming the vocabulary; other grouping
    settings regroup the stored stems, other evidence rules derive the flags again."""
    documents = load_corpus(corpus).documents
    built = build_index(documents, corpus_key(documents, SENTENCE_PARAMS))
    save_index(built, tmp_path)
    fresh = build_index(documents, built.corpus_key)  # nothing derived yet
    loaded = load_index(tmp_path, built.corpus_key, built.params)
    assert ROOTS_KEY in loaded.derived and FLAGS_KEY in loaded.derived
    assert roots_of(loaded).as_dict() == roots_of(fresh).as_dict()
    assert any(len(ids) > 1 for ids in roots_of(loaded).as_dict().values())
    assert evidence_flags(loaded).keys() == evidence_flags(fresh).keys()
    for kind, flags in evidence_flags(fresh).items():
        assert np.array_equal(evidence_flags(loaded)[kind], flags), kind
        assert flags.any(), kind

    monkeypatch.setattr(arabic_roots, "ROOT_LIMIT", 1)
    regrouped = roots_of(load_index(tmp_path, built.corpus_key, built.params))
    narrow = roots_of(build_index(documents, built.corpus_key))
    assert regrouped.as_dict() == narrow.as_dict()
    assert all(len(ids) == 1 for ids in regrouped.as_dict().values())

    folder = tmp_path / built.corpus_key
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    manifest["flags"]["version"] = "other rules"
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    stale = load_index(tmp_path, built.corpus_key, built.params)
    assert FLAGS_KEY not in stale.derived
    for kind, flags in evidence_flags(fresh).items():
        assert np.array_equal(evidence_flags(stale)[kind], flags), kind

    np.save(folder / "root_terms.npy", np.full(3, 10**6, dtype=np.int32))
    with pytest.raises(StaleIndex, match="roots"):
        load_index(tmp_path, built.corpus_key, built.params)
