"""The search service the CLI and the bot share: one current index, swapped whole on reload.

`Engine.open` loads the corpus and takes the cached index when it matches the
corpus content, else builds and caches one. `Engine.reload` builds the new index
while the old one keeps answering, then swaps it in with one assignment; a
failed reload leaves the old index in service and raises `ReloadFailed` with
the reason. Reloads never overlap. With an index folder, a reload that finds a
few changed files (at most IN_PROCESS_MAX_FILES) edits the serving index in this
process (retrieval/delta.py: about a second of numpy work at a million
sentences), swaps it in, then saves it; a larger one builds and saves the new
index in a child process (retrieval/rebuild.py) and this process only maps it, so
questions answered meanwhile do not wait for the build's Python work. Both are
incremental: only changed files are read and analyzed (retrieval/reread.py,
retrieval/segments.py), and the result equals a full rebuild's.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from retrieval import corpus as reading
from retrieval.arabic_roots import roots_of
from retrieval.context import context_of
from retrieval.corpus import SUFFIXES, Corpus, CorpusError
from retrieval.index import AnalyzedRun, BM25Params, SentenceIndex, build_index
from retrieval.listing import Listing, cached_key_for, save_listing
from retrieval.models import Problem
from retrieval.ngrams import ngrams_of
from retrieval.qtype import evidence_flags
from retrieval.rebuild import ProgressFactory, RebuildFailed, Rebuilt, rebuild, save_elsewhere
from retrieval.reread import TooManyChanges, read_corpus, save_record
from retrieval.roots import Roots
from retrieval.search import DEFAULT_MIN_COVERAGE, DEFAULT_RANKING, Ranking, SearchResult, search
from retrieval.segments import (
    NotAnalyzed,
    incremental_index,
    nothing_stored,
    save_titles,
    segments_dir,
)
from retrieval.store import (
    StaleIndex,
    corpus_key,
    load_index,
    mapped_like,
    previous_index,
    save_index,
)

log = logging.getLogger(__name__)

# A reload that finds at most this many files changed edits the serving index in
# this process (Engine._small_change); more, and a child process rebuilds it.
IN_PROCESS_MAX_FILES = 64

# BM25 parameters for sentences, measured on ARCD dev (benchmarks/quality.md): a
# lower b than rank-bm25's 0.75 because a sentence's length says little about how
# much it is "about" a term; a lower k1 because a term rarely repeats in one.
SENTENCE_PARAMS = BM25Params(k1=0.8, b=0.3)
# What `Engine.warm` asks: common words, so every stage of a search runs.
WARM_QUESTION = "ماذا قال الرئيس عن الاتفاق في المؤتمر؟"


class ReloadFailed(Exception):
    """The corpus could not be (re)loaded; the previous index, if any, stays in service."""


class ReloadInProgress(Exception):
    """Another reload is running."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One loaded corpus version: what a question is answered from."""

    index: SentenceIndex
    problems: list[Problem]
    loaded_at: float
    seconds: float  # wall time of this load (build or cache read)
    from_cache: bool
    cache_error: str | None = None  # why the index could not be cached, if it could not

    @property
    def generation(self) -> str:
        return self.index.corpus_key


@dataclass(frozen=True, slots=True)
class ReloadReport:
    before: Snapshot | None
    after: Snapshot
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


class Engine:
    def __init__(
        self,
        corpus_dir: str | os.PathLike[str],
        index_dir: str | os.PathLike[str] | None = None,
        params: BM25Params | None = None,
        top_k: int = 5,
        min_coverage: float = DEFAULT_MIN_COVERAGE,
        ranking: Ranking = DEFAULT_RANKING,
        uploads_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.corpus_dir = Path(corpus_dir)
        # Documents added from the bot, named uploads/NAME (retrieval/roots.py).
        self.uploads_dir = Path(uploads_dir) if uploads_dir is not None else None
        self.roots = Roots(self.corpus_dir, self.uploads_dir)
        self.index_dir = Path(index_dir) if index_dir is not None else None
        self.params = params or SENTENCE_PARAMS
        self.ranking = ranking
        self.top_k = top_k
        self.min_coverage = min_coverage
        self._snapshot: Snapshot | None = None
        self._reload_lock = threading.Lock()

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            raise RuntimeError("Engine.open() has not loaded an index yet")
        return self._snapshot

    @property
    def is_open(self) -> bool:
        return self._snapshot is not None

    @property
    def reloading(self) -> bool:
        return self._reload_lock.locked()

    def open(
        self, progress: ProgressFactory | None = None, verify: bool = False, serve: bool = True
    ) -> Snapshot:
        """Load the corpus (first time); raises ReloadFailed when nothing can be served.

        A cached index whose corpus listing (file sizes and mtimes, retrieval/listing.py)
        is unchanged opens without reading the files; `verify` reads and hashes
        every file as a reload does. `serve=False` (`coverage-bot index`, which only
        builds and saves) skips deriving what the saved index does not already hold
        (the look-alike roots and answer-kind flags are stored with it; a stored index
        opens with nothing to derive).
        """
        return self._swap(
            progress, trust_listing=not verify, isolate=False, verify=verify, derive=serve
        ).after

    def reload(self, progress: ProgressFactory | None = None) -> ReloadReport:
        """Re-read the corpus and swap in its index; see the module docstring.

        A reload is how an admin says the corpus changed, so it does not trust the
        start-up listing (sizes and mtimes); it reads every file whose size, mtime
        or ctime changed (retrieval/reread.py: a write always sets the ctime) and
        analyzes only documents no stored segment holds (retrieval/segments.py).
        With an index folder the update runs in a child process; without one
        (tests, `index_dir: null`) everything is read and built in this one.
        """
        return self._swap(progress, trust_listing=False, isolate=self.index_dir is not None)

    def _swap(
        self,
        progress: ProgressFactory | None,
        trust_listing: bool,
        isolate: bool,
        verify: bool = False,
        derive: bool = True,
    ) -> ReloadReport:
        if not self._reload_lock.acquire(blocking=False):
            raise ReloadInProgress("a reload is already running")
        try:
            before = self._snapshot
            small = self._small_change(progress) if isolate and before is not None else None
            if small is not None:
                after, save = small
                self._snapshot = after  # answerable now; the files are written next
                mapped = save()
                if mapped is not None:  # the same arrays, from the files: memory is shared
                    after = self._snapshot = replace(after, index=mapped)
                return _compare(before, after)
            if isolate:
                after = self._load_in_child(progress)
            else:
                after = self._load(progress, trust_listing, derive=derive, verify=verify)
            self._snapshot = after
            return _compare(before, after)
        finally:
            self._reload_lock.release()

    def search(
        self,
        question: str,
        k: int | None = None,
        offset: int = 0,
        allowed: np.ndarray | None = None,
    ) -> SearchResult:
        """`allowed`: bool per source document of the current index (retrieval/filters.py)."""
        return search(
            self.snapshot.index,
            question,
            k=k or self.top_k,
            offset=offset,
            min_coverage=self.min_coverage,
            ranking=self.ranking,
            allowed=allowed,
        )

    def warm(self) -> float:
        """Answer one question and throw the answer away; returns the seconds it took.

        A server calls this before its first real question: the first search of a
        process loads what every later one shares (the stemmer's word lists, 0.1 s;
        look-up tables derived from the index), so no user waits for it.
        """
        started = time.perf_counter()
        self.search(WARM_QUESTION, k=1)
        return time.perf_counter() - started

    def _small_change(
        self, progress: ProgressFactory | None
    ) -> tuple[Snapshot, Callable[[], SentenceIndex | None]] | None:
        """(the new snapshot, its saving) when few files changed, else None.

        A few changed files are read and the serving index is edited in this
        process (retrieval/delta.py): about a second of numpy work at a million
        sentences, where a child process would spend seconds starting, importing
        and re-opening the index. Questions meanwhile are answered from the old
        snapshot. The caller swaps the snapshot in, then saves it.
        """
        assert self.index_dir is not None and self._snapshot is not None
        started = time.perf_counter()
        try:
            listing = self.roots.list()
            state = segments_dir(self.index_dir)
            corpus, _ = read_corpus(
                self.roots, listing, state, self._snapshot.index, limit=IN_PROCESS_MAX_FILES
            )
        except (OSError, CorpusError, TooManyChanges) as exc:
            log.info("reload in a child process: %s", exc)
            return None
        if not corpus.documents:
            return None  # the child names the problem
        key = corpus_key(corpus.documents, self.params)
        tick = progress(len(corpus.documents)) if progress else None
        try:
            index, _ = incremental_index(
                corpus.documents,
                key,
                self.params,
                self.index_dir,
                tick,
                workers=1,
                previous=self._snapshot.index,
            )
        except NotAnalyzed as exc:
            log.info("reload in a child process: %s", exc)
            return None
        index.build_seconds = time.perf_counter() - started
        _derive(index)
        log.info("reload: the serving index edited in this process in %.2f s", index.build_seconds)
        snapshot = Snapshot(
            index, corpus.problems, time.time(), time.perf_counter() - started, False, None
        )
        index_dir = self.index_dir

        def save() -> SentenceIndex | None:
            """Write the index and its records; the saved index, mapped, or None."""
            try:
                save_index(index, index_dir)
                save_titles(state, index)
                save_listing(index_dir / key, listing, corpus.problems)
                save_record(state, listing, corpus)
                return mapped_like(index, index_dir)
            except (OSError, ValueError, StaleIndex) as exc:  # served from memory
                log.warning("index not cached in %s: %s", index_dir, exc)
                return None

        return snapshot, save

    def _load_in_child(self, progress: ProgressFactory | None) -> Snapshot:
        """`_load` run by a child process that saves the index; this process maps it."""
        assert self.index_dir is not None
        started = time.perf_counter()
        try:
            index, rebuilt = rebuild(
                _build_and_save,
                (
                    str(self.corpus_dir),
                    str(self.index_dir),
                    self.params,
                    str(self.uploads_dir) if self.uploads_dir is not None else None,
                ),
                self.params,
                progress,
            )
        except RebuildFailed as exc:
            raise ReloadFailed(str(exc)) from exc
        _derive(index)
        seconds = time.perf_counter() - started
        return Snapshot(
            index,
            rebuilt.problems,
            time.time(),
            seconds,
            rebuilt.from_cache,
            rebuilt.cache_error,
        )

    def _load(
        self,
        progress: ProgressFactory | None,
        trust_listing: bool,
        derive: bool = True,
        verify: bool = False,
    ) -> Snapshot:
        """Read the corpus (or trust its listing) and load or build its index, in-process.

        With an index folder, only files whose listing entry changed are read
        (retrieval/reread.py) unless `verify`, and only documents no stored segment
        holds are analyzed (retrieval/segments.py). `derive` builds the ranking
        structures that are not stored with the index; a child process that only
        saves the index skips them.
        """
        started = time.perf_counter()
        listing = None
        if self.index_dir is not None:
            try:
                listing = self.roots.list()  # before reading: an edit after shows
            except OSError:
                listing = None  # load_corpus names the problem
        if trust_listing and listing is not None and self.index_dir is not None:
            quick = self._cached_by_listing(listing, started, derive)
            if quick is not None:
                return quick
        # The index last saved: an update edits it, and unchanged files take their
        # citations from it instead of being read (retrieval/reread.py).
        previous = previous_index(self.index_dir, self.params) if self.index_dir else None
        try:
            if self.index_dir is not None and not verify:
                state = segments_dir(self.index_dir)
                fresh = nothing_stored(self.index_dir)
                tick = _reading_bar(progress, listing) if fresh else None
                corpus, _ = read_corpus(
                    self.roots, listing, state, previous, analyze=fresh, progress=tick
                )
            else:
                fresh = self.index_dir is not None and nothing_stored(self.index_dir)
                tick = _reading_bar(progress, listing) if fresh else None
                corpus = self.roots.load(fresh, tick)
        except CorpusError as exc:
            raise ReloadFailed(str(exc)) from exc
        if not corpus.documents:
            reasons = "; ".join(str(p) for p in corpus.problems[:5]) or "no .txt or .md files"
            raise ReloadFailed(f"no usable document in {self.corpus_dir} ({reasons})")
        key = corpus_key(corpus.documents, self.params)
        # Chunks analyzed where they were read: held by this list alone, which
        # `_cached_or_built` empties once they are merged (before the index is saved).
        analyzed = list(corpus.analyzed)
        corpus = replace(corpus, analyzed=())
        try:
            index, from_cache, cache_error = self._cached_or_built(
                corpus, key, progress, previous, analyzed
            )
        except NotAnalyzed as exc:  # a segment went missing: read every file after all
            log.info("reading every file: %s", exc)
            try:
                corpus = self.roots.load(analyze=nothing_stored(self.index_dir))
            except CorpusError as exc2:
                raise ReloadFailed(str(exc2)) from exc2
            key = corpus_key(corpus.documents, self.params)
            analyzed = list(corpus.analyzed)
            corpus = replace(corpus, analyzed=())
            index, from_cache, cache_error = self._cached_or_built(
                corpus, key, progress, previous, analyzed
            )
        if listing is not None and self.index_dir is not None and cache_error is None:
            try:
                save_listing(self.index_dir / key, listing, corpus.problems)
                save_record(segments_dir(self.index_dir), listing, corpus)
            except OSError as exc:  # only the next start-up is slower
                log.warning("corpus listing not cached: %s", exc)
        if derive:
            _derive(index)
        seconds = time.perf_counter() - started
        return Snapshot(index, corpus.problems, time.time(), seconds, from_cache, cache_error)

    def _cached_by_listing(
        self, listing: Listing, started: float, derive: bool = True
    ) -> Snapshot | None:
        """The cached index, if the corpus files look exactly as when it was read."""
        assert self.index_dir is not None
        found = cached_key_for(self.index_dir, listing)
        if found is None:
            return None
        key, problems = found
        try:
            index = load_index(self.index_dir, key, self.params)
        except StaleIndex as exc:
            log.info("reading the corpus: %s", exc)
            return None
        if derive:
            _derive(index)
        seconds = time.perf_counter() - started
        return Snapshot(index, problems, time.time(), seconds, True, None)

    def _cached_or_built(
        self,
        corpus: Corpus,
        key: str,
        progress: ProgressFactory | None,
        previous: SentenceIndex | None = None,
        analyzed: list[AnalyzedRun] | None = None,
    ) -> tuple[SentenceIndex, bool, str | None]:
        """The index of `corpus`: the one in use or stored if it has the same key, else
        built and saved. `analyzed` (documents analyzed where read) is emptied once
        merged, so that the chunks are freed before the index is saved."""
        analyzed = [] if analyzed is None else analyzed
        if previous is not None and previous.corpus_key == key:
            return previous, True, None
        if self.index_dir is not None:
            try:
                return load_index(self.index_dir, key, self.params), True, None
            except StaleIndex as exc:
                log.info("building the index: %s", exc)
        started = time.perf_counter()
        # Documents analyzed where they were read had their progress shown then.
        tick = progress(len(corpus.documents)) if progress and not analyzed else None
        if self.index_dir is None:
            index = build_index(corpus.documents, key, self.params, progress=tick)
        else:
            index, _ = incremental_index(
                corpus.documents,
                key,
                self.params,
                self.index_dir,
                tick,
                previous=previous,
                analyzed=analyzed,
            )
            analyzed.clear()
        index.build_seconds = time.perf_counter() - started
        cache_error = None
        if self.index_dir is not None:
            try:
                save_index(index, self.index_dir)
            except OSError as exc:
                cache_error = f"index not cached in {self.index_dir}: {exc.strerror or exc}"
                log.warning("%s", cache_error)
            try:
                save_titles(segments_dir(self.index_dir), index)
            except OSError as exc:  # only the next update analyzes titles again
                log.warning("analyzed titles not kept: %s", exc.strerror or exc)
        return index, False, cache_error


def _build_and_save(
    corpus_dir: str,
    index_dir: str,
    params: BM25Params,
    uploads_dir: str | None,
    progress: ProgressFactory,
) -> Rebuilt:
    """A reload's work in the child process (retrieval/rebuild.py): load, build, save."""
    try:
        engine = Engine(corpus_dir, index_dir, params, uploads_dir=uploads_dir)
        snapshot = engine._load(progress, trust_listing=False, derive=False)
    except ReloadFailed as exc:
        raise RebuildFailed(str(exc)) from exc
    folder, temporary = index_dir, False
    if snapshot.cache_error is not None:
        folder, temporary = save_elsewhere(snapshot.index), True
    return Rebuilt(
        folder,
        snapshot.index.corpus_key,
        snapshot.problems,
        snapshot.from_cache,
        snapshot.cache_error,
        temporary,
    )


def _reading_bar(
    progress: ProgressFactory | None, listing: Listing | None
) -> Callable[[int], None] | None:
    """A progress bar counting the files a first build reads and analyzes at once (in
    workers, so only for as many files as `load_corpus` reads in workers)."""
    if progress is None or listing is None:
        return None
    files = sum(1 for rel, *_ in listing.files if rel.endswith(SUFFIXES))
    return progress(files) if files >= reading.PARALLEL_MIN_FILES else None


def _derive(index: SentenceIndex) -> None:
    """Derived ranking structures, built now so the first question is not slow.

    A loaded index holds all four already (retrieval/store.py); an edited one got
    its n-gram and roots maps updated from the previous index (retrieval/segments.py).
    """
    context_of(index)
    evidence_flags(index)
    ngrams_of(index)
    roots_of(index)


def _compare(before: Snapshot | None, after: Snapshot) -> ReloadReport:
    if before is None:
        return ReloadReport(None, after)
    old = dict(zip((s.doc for s in before.index.sources), before.index.digests, strict=True))
    new = dict(zip((s.doc for s in after.index.sources), after.index.digests, strict=True))
    return ReloadReport(
        before,
        after,
        added=sorted(new.keys() - old.keys()),
        removed=sorted(old.keys() - new.keys()),
        changed=sorted(d for d in new.keys() & old.keys() if new[d] != old[d]),
    )
