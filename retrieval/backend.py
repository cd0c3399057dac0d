"""The seam between the bot and the retrieval layer: what a search backend must offer.

`Engine` (retrieval/engine.py: BM25 over memory-mapped arrays on one machine) is the
one backend today. A corpus too large for one machine's memory would sit behind a
second one, on OpenSearch or Elasticsearch (docs/scaling.md has the design): the bot
(bot/state.py, bot/fleet.py) holds a `SearchBackend`, not an Engine.

A snapshot is one served version of the index: everything an answer and its buttons
refer to (sentence rows, document positions, the generation that names it) belongs to
one snapshot, and a reload swaps the whole snapshot at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from retrieval.engine import ProgressFactory, ReloadReport, Snapshot
from retrieval.search import SearchResult


@runtime_checkable
class SearchBackend(Protocol):
    corpus_dir: Path
    uploads_dir: Path | None
    top_k: int
    min_coverage: float

    @property
    def snapshot(self) -> Snapshot:
        """The version in service; raises RuntimeError before `open`."""
        ...

    @property
    def is_open(self) -> bool: ...

    @property
    def reloading(self) -> bool:
        """A reload runs in this process now."""
        ...

    def open(self, progress: ProgressFactory | None = None, verify: bool = False) -> Snapshot:
        """Serve the current corpus version, from what is persisted when it matches;
        raises ReloadFailed when nothing can be served."""
        ...

    def reload(self, progress: ProgressFactory | None = None) -> ReloadReport:
        """Build and swap in the corpus as it is now; ReloadFailed leaves the old version,
        ReloadInProgress when one runs already."""
        ...

    def search(self, question: str, k: int | None = None, offset: int = 0) -> SearchResult:
        """One page of hits from the version in service."""
        ...
