"""Shared fixtures: the bundled seed corpus and its index, built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrieval.corpus import load_corpus
from retrieval.index import SentenceIndex, build_index

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def seed_index() -> SentenceIndex:
    return build_index(load_corpus(SEEDS).documents)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the seed corpus."""
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder
