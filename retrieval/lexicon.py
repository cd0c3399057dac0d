"""Arabic word list: which normalized forms are words of the language.

The light stemmer asks it two questions a rule cannot answer: is a word-initial
و the conjunction ("وقال" = و + قال) or the word's first letter ("وزير",
"وكالة", "وصول"), and is a final ت the construct form of ة ("شقيقته" = شقيقة + ه)
or part of the word ("بيته" = بيت + ه). The list is the Arramooz dictionary
(arramooz-pysqlite on PyPI: ~25 k nouns, ~10 k verbs and ~30 k frequent surface
forms), read once per process from the SQLite files the package ships, without
importing its code. Forms are normalized like our tokens (alef variants → ا,
ى → ي, ة → ه).
"""

from __future__ import annotations

import importlib.util
import sqlite3
from contextlib import closing
from functools import cache
from pathlib import Path

# (file, table) pairs read; each table has an `unvocalized` column. The dictionary
# tables hold lemmas; the frequency table holds surface forms, clitics included
# ("واكد"), so it tells that a form occurs, not that it is one word.
_LEMMAS = (("arabicdictionary.sqlite", "nouns"), ("arabicdictionary.sqlite", "verbs"))
_SURFACE = (("wordfreq.sqlite", "wordfreq"),)
_NORMALIZE = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})


@cache
def lemmas() -> frozenset[str]:
    """Normalized dictionary lemmas (singular nouns, past-tense verbs): words by themselves."""
    return _read(_LEMMAS)


@cache
def words() -> frozenset[str]:
    """Lemmas plus frequent surface forms (names such as "كيم", "روسيا" among them)."""
    return lemmas() | _read(_SURFACE)


def _read(tables: tuple[tuple[str, str], ...]) -> frozenset[str]:
    spec = importlib.util.find_spec("arramooz")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the arramooz-pysqlite package is missing: run `uv sync`")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    found: set[str] = set()
    for file, table in tables:
        uri = f"{(data / file).as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            rows = connection.execute(f"SELECT DISTINCT unvocalized FROM {table}")
            found.update(str(word).translate(_NORMALIZE) for (word,) in rows if word)
    return frozenset(found)
