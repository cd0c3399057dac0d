"""The context field: a sentence's document title and its previous and next sentence.

It is stored as neighbour arrays and title postings, not as postings of its own;
these tests hold it to the plain definition, computed sentence by sentence from
the texts, for every term and every sentence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from retrieval.context import build_context, context_of
from retrieval.corpus import load_corpus
from retrieval.index import SentenceIndex, build_index
from retrieval.models import Document, Source
from retrieval.normalize import analyze
from retrieval.store import load_index, save_index


def context_by_definition(index: SentenceIndex) -> list[set[int]]:
    """Per bm25 doc: term ids of its document's title and of the sentences either side of
    its first occurrence, within the same document."""
    field = []
    for doc in range(index.n_docs):
        row = int(index.doc_rows[doc])
        source = int(index.sent_doc[row])
        terms = set(analyze(index.sources[source].title))
        for other in (row - 1, row + 1):
            if 0 <= other < index.n_sentences and int(index.sent_doc[other]) == source:
                terms |= set(analyze(index.texts[other]))
        field.append(set(index.term_ids(terms)))
    return field


def assert_field_is_the_definition(index: SentenceIndex) -> None:
    expected = context_by_definition(index)
    context = context_of(index)
    docs = np.arange(index.n_docs, dtype=np.int32)
    for term_id in range(len(index.vocab)):
        got = np.flatnonzero(context.contains(index, term_id, docs)).tolist()
        assert got == [d for d in range(index.n_docs) if term_id in expected[d]], term_id


def test_seed_context_is_title_and_neighbours(seed_index: SentenceIndex) -> None:
    assert_field_is_the_definition(seed_index)


def test_edges_duplicates_and_sentences_without_terms() -> None:
    """A repeated sentence takes the context of its first occurrence; a sentence of
    stop words only adds nothing; neighbours never cross into another document."""
    documents = [
        Document(Source("a.txt", "قمة فلاديفوستوك"), "زار كيم روسيا. قال بوتين إن القمة مهمة. في."),
        Document(Source("b.txt", "محطة القطار"), "قال بوتين إن القمة مهمة. وصل القطار صباحا."),
        Document(Source("c.txt", "c"), "في. اجتمع الزعيمان في الجامعة."),
    ]
    index = build_index(documents, workers=1)
    assert index.n_docs < index.n_sentences
    assert_field_is_the_definition(index)
    context = context_of(index)
    quote = index.doc_rows.tolist().index(1)  # "قال بوتين …" first seen in a.txt
    ids = np.array([quote], dtype=np.int32)
    assert context.contains(index, index.vocab[analyze("كيم")[0]], ids).all()
    assert not context.contains(index, index.vocab[analyze("القطار")[0]], ids).any()


def test_the_stored_field_is_the_built_one(seed_index: SentenceIndex, tmp_path: Path) -> None:
    documents = load_corpus(Path(__file__).resolve().parent.parent / "seeds").documents
    built = build_index(documents, corpus_key="k")
    save_index(built, tmp_path)
    loaded = load_index(tmp_path, "k", built.params)
    assert_field_is_the_definition(loaded)
    fresh = build_context(built)
    for name in ("prev_doc", "next_doc", "doc_source", "title_indptr", "title_sources"):
        assert np.array_equal(getattr(context_of(loaded), name), getattr(fresh, name)), name
