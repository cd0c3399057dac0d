"""Persisting the index: one folder per corpus version, written atomically.

A cached index is used only when its manifest says it was built from the same
corpus content by the same pipeline with the same BM25 parameters; anything
else (stale, corrupt, half-written, another format) is rebuilt, never trusted.
Arrays are plain `.npy` files so a large index opens memory-mapped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import asdict, fields, replace
from operator import attrgetter
from pathlib import Path

import numpy as np

from retrieval import arabic_roots
from retrieval.arabic_roots import ROOTS_KEY, RootMap, roots_of, updated_roots
from retrieval.context import CONTEXT_KEY, ContextIndex, context_of
from retrieval.filebytes import FileBytes
from retrieval.index import BM25Params, SentenceIndex, TextColumn
from retrieval.models import Document, Source
from retrieval.ngrams import NGRAMS_KEY, NgramVocab, ngrams_of
from retrieval.nogc import collector_paused
from retrieval.normalize import PIPELINE_VERSION
from retrieval.qtype import EVIDENCE_VERSION, FLAGS_KEY, Asks, evidence_flags

# 2: float64 impacts, context field stored; 3: context as neighbours + titles; 4: n-gram map;
# 5: vocabulary sorted (numbering independent of how the corpus was cut into segments);
# 6: term frequencies and sentence keys stored (an update edits the previous index);
# 7: texts in parts (an update links the previous version's parts instead of copying them)
# 8: look-alike roots map and answer-kind flags stored (start-up derived them: 1.6 s at 1M)
FORMAT_VERSION = 8
_ARRAYS = (
    "sent_doc", "sent_pos", "sent_start", "sent_end", "doc_rows", "dup_indptr", "dup_rows",
    "doc_len", "idf", "indptr", "post_docs", "post_weights", "post_tf", "doc_keys",
)  # fmt: skip
# The context field (retrieval/context.py) is derived, but stored: start-up only maps it.
_CONTEXT_ARRAYS = ("prev_doc", "next_doc", "doc_source", "title_indptr", "title_sources")
_CONTEXT_FILES = tuple(f"context_{name}" for name in _CONTEXT_ARRAYS)
# The n-gram map of the vocabulary (retrieval/ngrams.py): 0.9 s to derive at 1M sentences.
_NGRAM_ARRAYS = ("indptr", "terms", "sizes")
_NGRAM_FILES = tuple(f"ngram_{name}" for name in _NGRAM_ARRAYS)
# The look-alike roots map (retrieval/arabic_roots.py): 1.5 s of stemming at 1M sentences.
_ROOT_ARRAYS = ("indptr", "terms", "term_keys")
_ROOT_FILES = tuple(f"root_{name}" for name in _ROOT_ARRAYS)
# Answer-kind flags (retrieval/qtype.py): one row of booleans per kind, per bm25 doc.
_KINDS = tuple(Asks)


log = logging.getLogger(__name__)
SOURCE_FIELDS = tuple(f.name for f in fields(Source))


class StaleIndex(Exception):
    """The cache holds no usable index for this corpus; build one."""


STAGED_KEY = "staged"  # index.derived: array name -> (its file, the array), see Staging


class Staging:
    """Index arrays made straight into `.npy` files of a temporary folder beside the
    index versions. `save_index` links such a file into the new version instead of
    writing the array again: an incremental edit's postings (290 MB at a million
    sentences) are then written once, by the arithmetic that makes them. The folder
    goes at the next save (leftovers of interrupted writes are pruned)."""

    def __init__(self, cache_dir: str | os.PathLike[str]) -> None:
        cache = Path(cache_dir)
        cache.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=".staging.", dir=cache))
        self.arrays: dict[str, tuple[Path, np.ndarray]] = {}

    def empty(self, name: str, length: int, dtype: type) -> np.ndarray:
        if not length:  # nothing to map
            return np.empty(0, dtype=dtype)
        path = self.folder / f"{name}.npy"
        mapped = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(length,))
        array = mapped.view(np.ndarray)
        self.arrays[name] = (path, array)
        return array


def corpus_key(documents: list[Document], params: BM25Params) -> str:
    """Names the corpus content + pipeline + parameters: equal keys, equal indexes."""
    digest = hashlib.sha256()
    digest.update(f"format={FORMAT_VERSION};pipeline={PIPELINE_VERSION};".encode())
    digest.update(json.dumps(asdict(params), sort_keys=True).encode())
    values = attrgetter(*SOURCE_FIELDS)  # not asdict: it deep-copies (1 s at 94k files)
    records = [(*values(d.source), d.digest, d.body_offset) for d in documents]
    digest.update(json.dumps(records, ensure_ascii=False).encode())
    return digest.hexdigest()[:24]


def save_index(index: SentenceIndex, cache_dir: str | os.PathLike[str]) -> Path:
    """Write `index` under cache_dir/<corpus_key>/, atomically (temp folder, then rename)."""
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    final = cache / index.corpus_key
    tmp = Path(tempfile.mkdtemp(prefix=f".{index.corpus_key}.", dir=cache))
    try:
        staged = index.derived.get(STAGED_KEY) or {}
        for name in _ARRAYS:
            array = getattr(index, name)
            path, made = staged.get(name, (None, None))
            if made is array and len(array):
                try:
                    os.link(path, tmp / f"{name}.npy")
                    continue
                except OSError:  # gone, or links refused: written below
                    pass
            np.save(tmp / f"{name}.npy", array, allow_pickle=False)
        # The context field is derived from the arrays above, but deriving it takes
        # seconds at a million sentences: stored, start-up only maps it.
        context = context_of(index)
        for name in _CONTEXT_ARRAYS:
            np.save(tmp / f"context_{name}.npy", getattr(context, name), allow_pickle=False)
        ngrams = ngrams_of(index)
        for name in _NGRAM_ARRAYS:
            np.save(tmp / f"ngram_{name}.npy", getattr(ngrams, name), allow_pickle=False)
        grams = sorted(ngrams.gram_ids, key=ngrams.gram_ids.__getitem__)
        (tmp / "ngrams.json").write_text(json.dumps(grams, ensure_ascii=False), encoding="utf-8")
        roots = roots_of(index)
        for name in _ROOT_ARRAYS:
            np.save(tmp / f"root_{name}.npy", getattr(roots, name), allow_pickle=False)
        record = {**_root_settings(), "keys": roots.keys}
        (tmp / "roots.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        flags = evidence_flags(index)
        np.save(tmp / "flags.npy", np.stack([flags[kind] for kind in _KINDS]), allow_pickle=False)
        text_parts = _save_texts(index.texts, tmp)
        terms = sorted(index.vocab, key=index.vocab.__getitem__)
        (tmp / "vocab.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        meta = {
            "source_fields": SOURCE_FIELDS,
            "sources": list(map(attrgetter(*SOURCE_FIELDS), index.sources)),
            "digests": index.digests,
            "build_seconds": index.build_seconds,
        }
        (tmp / "documents.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
        manifest = {
            "format": FORMAT_VERSION,
            "pipeline_version": index.pipeline_version,
            "params": asdict(index.params),
            "corpus_key": index.corpus_key,
            "n_sentences": index.n_sentences,
            "n_docs": index.n_docs,
            "n_terms": len(index.vocab),
            "text_parts": text_parts,
            "flags": {"version": EVIDENCE_VERSION, "kinds": [kind.value for kind in _KINDS]},
        }
        # The manifest is written last: a folder without one is incomplete.
        (tmp / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    index.derived.pop(STAGED_KEY, None)  # linked: the staging folder goes with the prune
    _prune(cache, keep=final)
    return final


def load_index(
    cache_dir: str | os.PathLike[str], key: str, params: BM25Params, mmap: bool = True
) -> SentenceIndex:
    """The cached index for `key`; raises StaleIndex when there is none usable."""
    with collector_paused():  # 93k citations at 1M: retrieval/nogc.py
        return _load_index(cache_dir, key, params, mmap)


def _load_index(
    cache_dir: str | os.PathLike[str], key: str, params: BM25Params, mmap: bool
) -> SentenceIndex:
    folder = Path(cache_dir) / key
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        expected = {
            "format": FORMAT_VERSION,
            "pipeline_version": PIPELINE_VERSION,
            "params": asdict(params),
            "corpus_key": key,
        }
        for name, value in expected.items():
            if manifest.get(name) != value:
                raise StaleIndex(f"cached {name} {manifest.get(name)!r} is not {value!r}")
        mode = "r" if mmap else None
        # Plain ndarray views of the maps: np.memmap's Python-level slicing costs
        # more than a query's arithmetic.
        arrays = {
            name: np.load(folder / f"{name}.npy", mmap_mode=mode, allow_pickle=False).view(
                np.ndarray
            )
            for name in (
                *_ARRAYS, "text_starts", "text_ends", *_CONTEXT_FILES, *_NGRAM_FILES, *_ROOT_FILES
            )
        }  # fmt: skip
        context = ContextIndex(*(arrays.pop(f"context_{name}") for name in _CONTEXT_ARRAYS))
        grams = json.loads((folder / "ngrams.json").read_text(encoding="utf-8"))
        ngrams = NgramVocab(
            {gram: i for i, gram in enumerate(grams)},
            *(arrays.pop(f"ngram_{name}") for name in _NGRAM_ARRAYS),
        )
        root_settings, roots = _load_roots(folder, arrays)
        flags = np.load(folder / "flags.npy", mmap_mode=mode, allow_pickle=False).view(np.ndarray)
        terms = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        meta = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
        index = SentenceIndex(
            params=params,
            corpus_key=key,
            sources=_sources(meta),
            digests=list(meta["digests"]),
            texts=_load_texts(folder, manifest["text_parts"], arrays, mode),
            vocab={term: i for i, term in enumerate(terms)},
            build_seconds=float(meta.get("build_seconds", 0.0)),
            **arrays,
        )
        _check_shapes(index, manifest)
        if (
            len(context.title_indptr) != len(index.vocab) + 1
            or int(context.title_indptr[-1]) != len(context.title_sources)
            or not len(context.prev_doc) == len(context.next_doc) == len(context.doc_source)
            or len(context.prev_doc) != index.n_docs
        ):
            raise StaleIndex("cached index is inconsistent (context)")
        if (
            len(ngrams.indptr) != len(grams) + 1
            or int(ngrams.indptr[-1]) != len(ngrams.terms)
            or len(ngrams.sizes) != len(index.vocab)
        ):
            raise StaleIndex("cached index is inconsistent (n-grams)")
        if (
            len(roots.term_keys) != len(index.vocab)
            or len(roots.indptr) != len(roots.keys) + 1
            or int(roots.indptr[-1]) != len(roots.terms)
            or (len(roots.terms) and int(roots.terms.max()) >= len(index.vocab))
            or (len(roots.term_keys) and int(roots.term_keys.max()) >= len(roots.keys))
        ):
            raise StaleIndex("cached index is inconsistent (roots)")
        if flags.shape != (len(_KINDS), index.n_docs):
            raise StaleIndex("cached index is inconsistent (answer-kind flags)")
        index.derived[CONTEXT_KEY] = context
        index.derived[NGRAMS_KEY] = ngrams
        if root_settings == _root_settings():
            index.derived[ROOTS_KEY] = roots
        else:  # regrouped from the stored root keys, stemming only terms never stemmed
            index.derived[ROOTS_KEY] = updated_roots(index.vocab, roots, index)
        if manifest.get("flags") == {
            "version": EVIDENCE_VERSION,
            "kinds": [kind.value for kind in _KINDS],
        }:  # else derived again from the postings (0.15 s at 1M)
            index.derived[FLAGS_KEY] = dict(zip(_KINDS, flags, strict=True))
        return index
    except StaleIndex:
        raise
    except FileNotFoundError as exc:
        raise StaleIndex(f"no cached index ({Path(exc.filename).name} missing)") from exc
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise StaleIndex(f"cached index is unreadable: {exc}") from exc


def mapped_like(index: SentenceIndex, cache_dir: str | os.PathLike[str]) -> SentenceIndex:
    """`index` with its arrays replaced by maps of the copies `save_index` just wrote
    (the memory is then the page cache's, shared, not this process's own). Only
    the arrays are read: sources and vocabulary stay the objects `index` holds."""
    folder = Path(cache_dir) / index.corpus_key
    arrays = {
        name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False).view(np.ndarray)
        for name in (*_ARRAYS, "text_starts", "text_ends")
    }
    for name in _ARRAYS:
        if arrays[name].shape != getattr(index, name).shape:
            raise StaleIndex(f"saved {name} has another shape")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    texts = _load_texts(folder, manifest["text_parts"], arrays, "r")
    if texts.bounds[-1] != index.texts.bounds[-1] or len(texts) != len(index.texts):
        raise StaleIndex("saved texts have another length")
    mapped = replace(index, texts=texts, _local=threading.local(), derived={}, **arrays)
    mapped.derived.update(index.derived)
    return mapped


def _save_texts(texts: TextColumn, folder: Path) -> int:
    """Write the text parts; returns how many files hold them.

    A part mapped from a saved file is hard-linked (no copy). Parts held in memory
    next to each other (a fresh build's, one per analysis run) are streamed into
    one file, so the build never joins them in memory (240 MB at 1M) and a full
    build saves one part, as an edit expects (retrieval/delta.py compacts past 16).
    """
    number = 0
    pending: list[np.ndarray] = []

    def write_pending() -> None:
        nonlocal number
        if pending:
            _write_blob(folder / f"text_part_{number}.npy", pending)
            number += 1
            pending.clear()

    for part, reader in zip(texts.parts, texts.readers, strict=True):
        if reader is None:
            pending.append(part)
            continue
        write_pending()
        target = folder / f"text_part_{number}.npy"
        try:
            os.link(reader.path, target)
        except OSError:  # another file system, or links refused: copy it
            np.save(target, part, allow_pickle=False)
        number += 1
    write_pending()
    np.save(folder / "text_starts.npy", texts.starts, allow_pickle=False)
    np.save(folder / "text_ends.npy", texts.ends, allow_pickle=False)
    return number


def _write_blob(path: Path, parts: list[np.ndarray]) -> None:
    """One uint8 .npy file holding `parts` end to end, written part by part."""
    total = sum(len(part) for part in parts)
    with path.open("wb") as out:
        header = {"descr": "|u1", "fortran_order": False, "shape": (total,)}
        np.lib.format.write_array_header_1_0(out, header)
        for part in parts:
            out.write(memoryview(np.ascontiguousarray(part, dtype=np.uint8)))


def _load_texts(folder: Path, n_parts: int, arrays: dict, mode: str | None) -> TextColumn:
    files = [folder / f"text_part_{number}.npy" for number in range(int(n_parts))]
    loaded = [np.load(f, mmap_mode=mode, allow_pickle=False) for f in files]
    parts = tuple(part.view(np.ndarray) for part in loaded)
    # Rows are read by position, past each file's .npy header (np.memmap's offset).
    readers = tuple(
        FileBytes(f, part.offset) if isinstance(part, np.memmap) else None
        for f, part in zip(files, loaded, strict=True)
    )
    return TextColumn(parts, arrays.pop("text_starts"), arrays.pop("text_ends"), readers)


def previous_index(cache_dir: str | os.PathLike[str], params: BM25Params) -> SentenceIndex | None:
    """The most recently saved index in `cache_dir` (memory-mapped), whatever its corpus,
    or None: an update edits it (retrieval/delta.py)."""
    for folder in _newest_first(Path(cache_dir)):
        try:
            return load_index(folder.parent, folder.name, params)
        except StaleIndex as exc:
            log.info("previous index in %s unusable: %s", folder, exc)
    return None


def _newest_first(cache: Path) -> list[Path]:
    """Index folders of `cache`, the most recently written first."""
    folders = []
    try:
        for entry in cache.iterdir():
            manifest = entry / "manifest.json"
            if not entry.name.startswith(".") and manifest.is_file():
                folders.append((manifest.stat().st_mtime_ns, entry))
    except OSError:
        return []
    return [folder for _, folder in sorted(folders, reverse=True)]


def latest_ngrams(cache_dir: str | os.PathLike[str]) -> tuple[list[str], NgramVocab] | None:
    """(vocabulary in id order, n-gram map) of the most recently saved index, or None.

    Only those files are read: an update starts its n-gram map from them.
    """
    for folder in _newest_first(Path(cache_dir)):
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("format") != FORMAT_VERSION:
                continue
            terms = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
            grams = json.loads((folder / "ngrams.json").read_text(encoding="utf-8"))
            arrays = [
                np.load(folder / f"ngram_{name}.npy", mmap_mode="r", allow_pickle=False).view(
                    np.ndarray
                )
                for name in _NGRAM_ARRAYS
            ]
            ngrams = NgramVocab({gram: i for i, gram in enumerate(grams)}, *arrays)
            if (
                len(terms) != manifest["n_terms"]
                or len(ngrams.indptr) != len(grams) + 1
                or int(ngrams.indptr[-1]) != len(ngrams.terms)
                or len(ngrams.sizes) != len(terms)
                or (len(ngrams.terms) and int(ngrams.terms.max()) >= len(terms))
            ):
                continue
            return terms, ngrams
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.info("previous n-gram map in %s unusable: %s", folder, exc)
            continue
    return None


def _root_settings() -> dict[str, int]:
    """What a stored roots map was grouped by: another value regroups it at load."""
    return {"vocab": arabic_roots.ROOT_VOCAB, "limit": arabic_roots.ROOT_LIMIT}


def _load_roots(folder: Path, arrays: dict) -> tuple[dict, RootMap]:
    """(the settings it was made with, the stored roots map); its arrays leave `arrays`."""
    record = json.loads((folder / "roots.json").read_text(encoding="utf-8"))
    keys = list(record.pop("keys"))
    indptr, terms, term_keys = (arrays.pop(f"root_{name}") for name in _ROOT_ARRAYS)
    key_ids = {key: number for number, key in enumerate(keys)}
    return record, RootMap(keys, indptr, terms, term_keys, key_ids)


def _sources(meta: dict) -> list[Source]:
    if tuple(meta["source_fields"]) != SOURCE_FIELDS:
        raise StaleIndex("cached index names other citation fields")
    return [Source(*values) for values in meta["sources"]]


def _check_shapes(index: SentenceIndex, manifest: dict) -> None:
    """Catch truncated or mismatched files before a search trips over them."""
    n_rows, n_docs, n_terms = manifest["n_sentences"], manifest["n_docs"], manifest["n_terms"]
    checks = {
        "sentence table": all(
            len(a) == n_rows for a in (index.sent_doc, index.sent_pos, index.sent_start)
        )
        and len(index.sent_end) == n_rows
        and len(index.texts) == n_rows,
        "documents": len(index.doc_rows) == n_docs and len(index.doc_len) == n_docs,
        "duplicates": len(index.dup_indptr) == n_docs + 1,
        "vocabulary": len(index.vocab) == n_terms and len(index.idf) == n_terms,
        "postings": len(index.indptr) == n_terms + 1
        and len(index.post_docs) == len(index.post_weights) == int(index.indptr[-1])
        and len(index.post_tf) == len(index.post_docs),
        "keys": index.doc_keys.shape == (n_docs, 2),
        "texts": len(index.texts.ends) == n_rows
        and (not n_rows or (int(index.texts.ends.max()) <= index.texts.bounds[-1])),
        "sources": len(index.sources) == len(index.digests),
    }
    for what, ok in checks.items():
        if not ok:
            raise StaleIndex(f"cached index is inconsistent ({what})")


def _prune(cache: Path, keep: Path) -> None:
    """Drop other cached versions and leftovers of interrupted writes.

    Only one build writes at a time, and a process still reading a dropped
    version keeps its memory-mapped files until it lets go of them.
    """
    for entry in cache.iterdir():
        if entry == keep or not entry.is_dir():
            continue
        if entry.name.startswith(".") or (entry / "manifest.json").exists():
            shutil.rmtree(entry, ignore_errors=True)
