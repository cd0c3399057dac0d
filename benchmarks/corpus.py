"""Benchmark corpora: ANT news articles expanded into the product's corpus format.

Articles are shuffled once (fixed seed) so every size mixes the five outlets, and
each size is a prefix of the same order, so a query drawn from the small corpus
also occurs in the large ones. Sentences are counted with the product's own
segmenter, and the last article is cut so a corpus holds exactly the size asked.

Past the real sentences (~355k by the product's segmenter), articles are
synthesized: each line splices the first half of one real sentence to the second
half of another, so word frequencies and sentence lengths stay real but no new
vocabulary appears. Such files carry the outlet "synthetic".
"""

from __future__ import annotations

import json
import lzma
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from retrieval.segment import split_sentences


def _shared_bench() -> Path:
    """shared/bench/ant-news.jsonl.xz in the nearest folder above this clone that has it."""
    here = Path(__file__).resolve()
    for parent in here.parents[1:]:
        candidate = parent / "shared" / "bench" / "ant-news.jsonl.xz"
        if candidate.is_file():
            return candidate
    return here.parents[2] / "shared" / "bench" / "ant-news.jsonl.xz"


ANT_NEWS = _shared_bench()
OUT = Path(__file__).resolve().parent / "out"
SEED = 20180218
SYNTHETIC_LINES = 12  # sentences per synthesized article
_MARKER = ".bench-corpus.json"  # dotfiles are not corpus files


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    outlet: str
    url: str
    date: str
    text: str


def read_articles(path: Path = ANT_NEWS) -> list[Article]:
    """Every article with a body, in a fixed shuffled order."""
    if not path.is_file():
        raise FileNotFoundError(f"benchmark corpus {path} not found (see shared/bench/README.md)")
    articles = []
    with lzma.open(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not a JSON object ({exc})") from exc
            text = (record.get("text") or "").strip()
            if text:
                articles.append(
                    Article(
                        title=(record.get("title") or record.get("id") or "").strip(),
                        outlet=record.get("source") or "unknown",
                        url=record.get("url") or "",
                        date=record.get("time") or "",
                        text=text,
                    )
                )
    random.Random(SEED).shuffle(articles)
    return articles


def _spliced(articles: list[Article], rng: random.Random) -> Iterator[Article]:
    """Endless synthetic articles made of spliced halves of real sentences."""
    pool: list[list[str]] = []
    for article in articles:
        for start, end in split_sentences(article.text):
            words = article.text[start:end].split()
            if len(words) >= 4:
                pool.append(words)
    number = 0
    while True:
        lines = []
        for _ in range(SYNTHETIC_LINES):
            head, tail = rng.choice(pool), rng.choice(pool)
            lines.append(" ".join(head[: len(head) // 2] + tail[len(tail) // 2 :]))
        number += 1
        yield Article(f"synthetic {number}", "synthetic", "", "", "\n".join(lines))


def _front_matter(article: Article) -> str:
    # JSON strings are valid YAML double-quoted scalars: no escaping surprises.
    fields = {"title": article.title, "outlet": article.outlet}
    if article.url:
        fields["url"] = article.url
    if article.date:
        fields["date"] = article.date
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items()]
    return "---\n" + "\n".join(lines) + "\n---\n"


def build_corpus(n_sentences: int, articles: list[Article] | None = None) -> Path:
    """The folder holding exactly `n_sentences` sentences; reused when already written."""
    folder = OUT / f"corpus-{n_sentences}"
    marker = folder / _MARKER
    if marker.is_file():
        return folder
    articles = articles if articles is not None else read_articles()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    rng = random.Random(SEED)
    stream = iter(articles)
    synthetic = None
    counts = {"real": 0, "synthetic": 0, "files": 0}
    while counts["real"] + counts["synthetic"] < n_sentences:
        article = next(stream, None)
        if article is None:
            synthetic = synthetic or _spliced(articles, rng)
            article = next(synthetic)
        spans = split_sentences(article.text)
        room = n_sentences - counts["real"] - counts["synthetic"]
        if not spans:
            continue
        text = article.text[: spans[min(room, len(spans)) - 1][1]]
        kind = "synthetic" if article.outlet == "synthetic" else "real"
        counts[kind] += min(room, len(spans))
        number = counts["files"]
        path = folder / f"{number // 1000:03d}" / f"{number:07d}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(_front_matter(article) + text + "\n", encoding="utf-8")
        counts["files"] += 1
    marker.write_text(json.dumps(counts), encoding="utf-8")
    return folder


def corpus_counts(folder: Path) -> dict[str, int]:
    """How many files and real / synthetic sentences a built corpus holds."""
    return json.loads((folder / _MARKER).read_text(encoding="utf-8"))
