"""Benchmark questions: content words lifted from corpus sentences, plus real question forms.

- word queries: 3–6 consecutive content words (words the analyzer keeps) of a
  random sentence, as a user types a remembered phrase;
- templated questions: a question frame ("ماذا قال … عن …؟") around 2–4 content
  words of a random sentence, so the question words and stop words are real;
- the seed gold questions (tests/data/seeds_qa.jsonl), asked as the newsroom asks.

All are drawn with a fixed seed from the smallest benchmark corpus, which every
larger one contains, so each query has matches at every size.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from retrieval.corpus import load_corpus
from retrieval.normalize import analyze, iter_word_spans
from retrieval.segment import split_sentences

SEED_QUESTIONS = Path(__file__).resolve().parents[1] / "tests" / "data" / "seeds_qa.jsonl"
FRAMES = (
    "ماذا قال {} عن {}؟",
    "ما موقف {} من {}؟",
    "هل {} {}؟",
    "متى {} {}؟",
    "لماذا {} {}؟",
    "كيف {} {}؟",
    "أين {} {}؟",
    "ما الذي قيل عن {} {}؟",
)


def content_words(sentence: str) -> list[str]:
    """Surface words of a sentence that the analyzer keeps as terms."""
    return [word for _, _, word in iter_word_spans(sentence) if analyze(word)]


def make_queries(corpus_folder: Path, n: int, seed: int = 7) -> list[str]:
    """`n` questions: about 20 % seed questions, 20 % templated, the rest word queries."""
    rng = random.Random(seed)
    documents = load_corpus(corpus_folder).documents
    sentences = [d.text[a:b] for d in documents for a, b in split_sentences(d.text)]
    lines = SEED_QUESTIONS.read_text("utf-8").splitlines()
    seeds = [json.loads(line)["question"] for line in lines]
    queries = rng.sample(seeds, min(len(seeds), n // 5))
    templated_until = len(queries) + n // 5
    while len(queries) < n:
        words = content_words(rng.choice(sentences))
        if len(queries) < templated_until:
            if len(words) < 4:
                continue
            size = rng.randint(2, 4)
            at = rng.randrange(len(words) - size + 1)
            picked = words[at : at + size]
            frame = rng.choice(FRAMES)
            queries.append(frame.format(picked[0], " ".join(picked[1:])))
        else:
            size = rng.randint(3, 6)
            if len(words) < size:
                continue
            at = rng.randrange(len(words) - size + 1)
            queries.append(" ".join(words[at : at + size]))
    return queries
