"""The near-duplicate threshold of «من نشر هذا؟» / `/who`, measured on real news.

Seed sentences are drawn from ANT news articles (benchmarks/corpus.py). Each is
rewritten the ways outlets rewrite agency copy: punctuation changed, hamza and
alef written differently, one or two words replaced, a name spelled another way,
the attribution at the head dropped. The negatives are the sentences a search
with the seed itself ranks highest (same story, same names, other words): the
sentences most likely to be mistaken for a copy. For word 1-grams and 2-grams
of the analyzed terms, the table gives the share of each rewrite kind found
(recall) and the share of negatives wrongly matched, at several thresholds.

Then the product's own `find_near_duplicates` runs over an index of the
articles plus every rewrite (each its own document) at the chosen threshold:
recall per kind through the index (prefix-filtered candidates, not a pairwise
scan), negatives matched, and its latency.

    uv run python -m benchmarks.neardup [--articles 3000] [--seeds 200]

With `--size 1m` it measures the cost instead: an in-memory index of that many
sentences (ANT's ~355k real ones, then spliced synthetic ones as in
benchmarks/corpus.py), and `find_near_duplicates` timed on seed sentences and on
their two-words-changed rewrites: latency, candidates verified, copies found.

    uv run python -m benchmarks.neardup --size 1m [--seeds 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np
import regex

from benchmarks.corpus import SEED as CORPUS_SEED
from benchmarks.corpus import _spliced, read_articles
from retrieval.index import SentenceIndex, build_index
from retrieval.models import Document, Source
from retrieval.neardup import SHINGLE_SIZE, THRESHOLD, find_near_duplicates, similarity
from retrieval.normalize import analyze, fingerprint
from retrieval.search import search
from retrieval.segment import split_sentences

SEED = 20261201
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
NEGATIVES = 20  # best search hits of each seed kept as negatives
_ARABIC_WORD = regex.compile(r"^[\u0621-\u064a]{4,}$")
_LONG_VOWEL_INSIDE = regex.compile(r"(?<=[\u0621-\u064a])[اوي](?=[\u0621-\u064a])")


def _content_positions(words: list[str]) -> list[int]:
    """Positions of words that carry an index term (not stop words, not digits)."""
    return [i for i, w in enumerate(words) if _ARABIC_WORD.match(w) and analyze(w)]


def _replace(words: list[str], count: int, pool: list[str], rng: random.Random) -> str | None:
    positions = _content_positions(words)
    if len(positions) < count + 2:
        return None
    out = list(words)
    for i in rng.sample(positions, count):
        out[i] = rng.choice([w for w in pool[:50] if analyze(w) != analyze(words[i])])
        rng.shuffle(pool)
    return " ".join(out)


def _respell(words: list[str], rng: random.Random) -> str | None:
    """One long word spelled another way, as transliterated names are: a long vowel
    inside dropped (بوتين → بوتن), or one added when it has none (ترمب → تريمب)."""
    positions = [i for i in _content_positions(words) if len(words[i]) >= 5]
    if not positions:
        return None
    i = rng.choice(positions)
    word = words[i]
    vowels = list(_LONG_VOWEL_INSIDE.finditer(word))
    if vowels:
        at = rng.choice(vowels).start()
        respelled = word[:at] + word[at + 1 :]
    else:
        at = rng.randrange(2, len(word) - 1)
        respelled = word[:at] + "ي" + word[at:]
    return " ".join([*words[:i], respelled, *words[i + 1 :]])


_HAMZA = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه", "ى": "ي"})


def _hamza(text: str) -> str | None:
    plain = text.translate(_HAMZA)
    if plain == text:
        plain = regex.sub(r"(?<=^|\s)ال", "أل", text, count=1)  # a seat added instead
    return plain if plain != text else None


def _punctuation(text: str) -> str:
    text = text.replace("،", "").replace(",", "")
    words = text.rstrip(".!؟?").split()
    middle = len(words) // 2
    return " ".join(words[:middle]) + "، «" + " ".join(words[middle:]) + "»!"


def _lead_dropped(words: list[str]) -> str | None:
    return " ".join(words[3:]) if len(words) >= 12 else None


KINDS: dict[str, Callable[[str, list[str], list[str], random.Random], str | None]] = {
    "punctuation": lambda t, w, p, r: _punctuation(t),
    "hamza/alef/teh": lambda t, w, p, r: _hamza(t),
    "name respelled": lambda t, w, p, r: _respell(w, r),
    "1 word changed": lambda t, w, p, r: _replace(w, 1, p, r),
    "2 words changed": lambda t, w, p, r: _replace(w, 2, p, r),
    "3 words changed": lambda t, w, p, r: _replace(w, 3, p, r),
    "first 3 words dropped": lambda t, w, p, r: _lead_dropped(w),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--size", help="measure the cost at this many sentences (e.g. 1m)")
    args = parser.parse_args()
    if args.size:
        _cost(_sentences(args.size), args.seeds)
        return
    rng = random.Random(SEED)
    articles = read_articles()[: args.articles]
    documents = [
        Document(Source(f"ant/{n:05d}.txt", a.title, a.outlet, a.url or None, a.date[:10]), a.text)
        for n, a in enumerate(articles)
    ]
    sentences = [
        d.text[s:e] for d in documents for s, e in split_sentences(d.text) if len(d.text[s:e]) < 600
    ]
    pool = [w for s in rng.sample(sentences, 2000) for w in s.split() if _ARABIC_WORD.match(w)]
    candidates = [s for s in sentences if 8 <= len(analyze(s)) <= 40]
    seen: set[str] = set()
    seeds = []
    for text in rng.sample(candidates, len(candidates)):
        if fingerprint(text) not in seen:
            seen.add(fingerprint(text))
            seeds.append(text)
        if len(seeds) == args.seeds:
            break

    rewrites: list[tuple[int, str, str]] = []  # (seed number, kind, text)
    for n, seed in enumerate(seeds):
        words = seed.split()
        for kind, make in KINDS.items():
            rng.shuffle(pool)
            text = make(seed, words, pool, rng)
            if text and fingerprint(text) != "":
                rewrites.append((n, kind, text))
    variant_docs = [
        Document(Source(f"rewrite/{i:05d}.txt", kind, f"rewrite {kind}", None, None), text + "\n")
        for i, (_, kind, text) in enumerate(rewrites)
    ]
    started = time.perf_counter()
    index = build_index(documents + variant_docs)
    print(
        f"{len(documents)} ANT articles ({index.n_sentences} sentences) + {len(rewrites)} "
        f"rewrites of {len(seeds)} seed sentences; index built in "
        f"{time.perf_counter() - started:.0f} s\n"
    )
    related, spliced = _negatives(index, seeds)
    _pairwise_table(seeds, rewrites, related, spliced)
    _through_the_index(index, seeds, rewrites, related)


def _negatives(index: SentenceIndex, seeds: list[str]) -> tuple[list[list[str]], list[list[str]]]:
    """Per seed: (the best search hits of the seed that are not the seed's analyzed text
    nor one of its rewrites; the seed's first half joined to the second half of each of
    the first three: a new statement about the same people and places)."""
    related, spliced = [], []
    for seed in seeds:
        own = fingerprint(seed)
        found = search(index, seed, k=NEGATIVES + 1).hits
        texts = [
            h.text
            for h in found
            if fingerprint(h.text) != own and not h.source.doc.startswith("rewrite/")
        ][:NEGATIVES]
        head = seed.split()[: len(seed.split()) // 2]
        joined = [" ".join(head + t.split()[len(t.split()) // 2 :]) for t in texts[:3]]
        related.append(texts)
        spliced.append([t for t in joined if fingerprint(t) != own])
    return related, spliced


def _pairwise_table(
    seeds: list[str],
    rewrites: list[tuple[int, str, str]],
    related: list[list[str]],
    spliced: list[list[str]],
) -> None:
    seed_terms = [analyze(s) for s in seeds]
    groups = {
        "same-topic sentences": [(n, analyze(t)) for n, texts in enumerate(related) for t in texts],
        "half spliced": [(n, analyze(t)) for n, texts in enumerate(spliced) for t in texts],
    }
    for size in (1, 2):
        by_kind: dict[str, list[float]] = defaultdict(list)
        for n, kind, text in rewrites:
            by_kind[kind].append(similarity(seed_terms[n], analyze(text), size))
        wrong = {
            name: [similarity(seed_terms[n], terms, size) for n, terms in pairs]
            for name, pairs in groups.items()
        }
        kinds = list(KINDS)
        print(f"Word {size}-grams: share of each rewrite kind found; negatives matched")
        print()
        print("| threshold | " + " | ".join(kinds) + " | " + " | ".join(wrong) + " |")
        print("|---|" + "---|" * (len(kinds) + len(wrong)))
        for threshold in THRESHOLDS:
            cells = [_share(by_kind[k], threshold) for k in kinds]
            cells += [f"{sum(s >= threshold for s in v)}/{len(v)}" for v in wrong.values()]
            print(f"| {threshold:.1f} | " + " | ".join(cells) + " |")
        counts = ", ".join(f"{k}: {len(by_kind[k])}" for k in kinds)
        print(f"\nrewrites per kind: {counts}\n")
        if size == SHINGLE_SIZE:
            _print_examples(seeds, related, size)


def _print_examples(seeds: list[str], negatives: list[list[str]], size: int) -> None:
    """Same-topic sentences near THRESHOLD, to read: other statements or real copies
    another outlet ran? Every one at or above it, and a few just under it."""
    above, under = [], []
    for seed, texts in zip(seeds, negatives, strict=True):
        for text in texts:
            score = similarity(analyze(seed), analyze(text), size)
            if score >= THRESHOLD:
                above.append((score, seed, text))
            elif score >= THRESHOLD - 0.1:
                under.append((score, seed, text))
    for title, found in (
        (f"Same-topic sentences at {THRESHOLD} or more", above),
        (f"Same-topic sentences from {THRESHOLD - 0.1:.1f} to {THRESHOLD} (first 6)", under[:6]),
    ):
        print(f"{title}:\n")
        for score, seed, text in found:
            print(f"- {score:.2f}\n  seed:  {seed}\n  other: {text}")
        print()


def _through_the_index(
    index: SentenceIndex,
    seeds: list[str],
    rewrites: list[tuple[int, str, str]],
    negatives: list[list[str]],
) -> None:
    wanted: dict[int, dict[str, str]] = defaultdict(dict)  # seed -> rewrite doc -> kind
    for i, (n, kind, _) in enumerate(rewrites):
        wanted[n][f"rewrite/{i:05d}.txt"] = kind
    found_kind: dict[str, list[bool]] = defaultdict(list)
    wrong = total_negatives = 0
    seconds, candidates = [], []
    for n, seed in enumerate(seeds):
        find_near_duplicates(index, seed)  # warm the analysis caches
        started = time.perf_counter()
        who = find_near_duplicates(index, seed)
        seconds.append(time.perf_counter() - started)
        candidates.append(who.candidates)
        docs = {c.doc for c in who.copies}
        texts = {fingerprint(c.sentence.text) for c in who.copies}
        for doc, kind in wanted[n].items():
            found_kind[kind].append(doc in docs)
        total_negatives += len(negatives[n])
        wrong += sum(fingerprint(t) in texts for t in negatives[n])
    print(
        f"Through the index (`find_near_duplicates`, threshold {THRESHOLD}, "
        f"word {SHINGLE_SIZE}-grams):\n"
    )
    print("| rewrite kind | found |")
    print("|---|---|")
    for kind in KINDS:
        hits = found_kind[kind]
        print(f"| {kind} | {sum(hits)}/{len(hits)} ({sum(hits) / max(len(hits), 1):.0%}) |")
    print(f"| same-topic sentences matched | {wrong}/{total_negatives} |")
    ordered = sorted(seconds)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(
        f"\nlatency per quote: p50 {statistics.median(seconds) * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms; candidates verified: p50 {statistics.median(candidates):.0f}, "
        f"max {max(candidates)}"
    )


def _sentences(size: str) -> int:
    text = size.lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def _documents(n_sentences: int) -> list[Document]:
    """ANT articles, then synthetic ones, cut to exactly `n_sentences` (benchmarks/corpus.py)."""
    articles = read_articles()
    stream, synthetic = iter(articles), None
    documents: list[Document] = []
    count = 0
    while count < n_sentences:
        article = next(stream, None)
        if article is None:
            synthetic = synthetic or _spliced(articles, random.Random(CORPUS_SEED))
            article = next(synthetic)
        spans = split_sentences(article.text)
        if not spans:
            continue
        take = min(n_sentences - count, len(spans))
        source = Source(f"{len(documents):07d}.txt", article.title, article.outlet, None, None)
        documents.append(Document(source, article.text[: spans[take - 1][1]]))
        count += take
    return documents


def _cost(n_sentences: int, n_seeds: int) -> None:
    started = time.perf_counter()
    documents = _documents(n_sentences)
    index = build_index(documents)
    print(
        f"{index.n_sentences} sentences ({index.n_docs} unique) in {len(documents)} documents; "
        f"index built in memory in {time.perf_counter() - started:.0f} s\n"
    )
    rng = random.Random(SEED)
    rows = rng.sample(range(index.n_sentences), n_seeds * 3)
    seeds = [t for t in (index.texts[r] for r in rows) if 8 <= len(analyze(t)) <= 40][:n_seeds]
    pool = [w for s in seeds for w in s.split() if _ARABIC_WORD.match(w)]
    rewrites = [r for r in (_replace(s.split(), 2, list(pool), rng) for s in seeds) if r]
    df = np.diff(index.indptr)
    common = sorted(
        (t for t in (index.texts[r] for r in rows) if 3 <= len(analyze(t)) <= 40),
        key=lambda t: -float(np.mean([df[i] for i in index.term_ids(analyze(t))] or [0])),
    )[:20]  # the sampled sentences made of the commonest words: the most candidates
    runs = (("corpus sentences", seeds), ("2 words changed", rewrites), ("commonest words", common))
    print(
        "| quotes | n | p50 ms | p95 ms | max ms | candidates p50 / max | cut "
        "| copies p50 / max | peer: `search` (an `ask`) p50 / p95 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, quotes in runs:
        seconds, asked, candidates, copies, cut = [], [], [], [], 0
        for quote in quotes:
            find_near_duplicates(index, quote)  # warm: analysis caches, scratch buffers
            began = time.perf_counter()
            who = find_near_duplicates(index, quote)
            seconds.append(time.perf_counter() - began)
            search(index, quote)
            began = time.perf_counter()
            search(index, quote)
            asked.append(time.perf_counter() - began)
            candidates.append(who.candidates)
            copies.append(len(who.copies))
            cut += who.truncated
        print(
            f"| {name} | {len(quotes)} | {_ms(seconds, 0.5)} | {_ms(seconds, 0.95)} | "
            f"{_ms(seconds, 1.0)} | {statistics.median(candidates):.0f} / {max(candidates)} | "
            f"{cut} | {statistics.median(copies):.0f} / {max(copies)} | "
            f"{_ms(asked, 0.5)} / {_ms(asked, 0.95)} |"
        )


def _ms(seconds: list[float], quantile: float) -> str:
    ordered = sorted(seconds)
    return f"{ordered[int(quantile * (len(ordered) - 1))] * 1000:.1f}"


def _share(values: list[float], threshold: float) -> str:
    if not values:
        return "—"
    return f"{sum(v >= threshold for v in values) / len(values):.0%}"


if __name__ == "__main__":
    main()
