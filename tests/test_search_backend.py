"""The seam of retrieval/backend.py: the engine the bot holds is a SearchBackend."""

from __future__ import annotations

from pathlib import Path

from retrieval.backend import SearchBackend
from retrieval.engine import Engine


def test_the_engine_is_a_search_backend(corpus: Path, tmp_path: Path) -> None:
    engine = Engine(corpus, tmp_path / "index")
    engine.open()  # isinstance reads every member, `snapshot` included
    assert isinstance(engine, SearchBackend)
    hits = engine.search("ماذا قال كيم عن الإمبريالية؟").hits
    assert hits and "الإمبريالية" in hits[0].sentence.text


def test_a_backend_without_reload_is_not_one() -> None:
    class SearchOnly:
        corpus_dir = Path("corpus")
        uploads_dir = None
        top_k = 5
        min_coverage = 0.3
        snapshot = None
        is_open = True
        reloading = False

        def open(self, progress=None, verify=False): ...

        def search(self, question, k=None, offset=0): ...

    assert not isinstance(SearchOnly(), SearchBackend)
