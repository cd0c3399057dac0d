"""The bundled seed metadata and gold questions stay consistent with the seed articles.

sources.yaml supplies the citation shown under each answer; seeds_qa.jsonl is the gold set
the evaluation scores retrieval against. Both are hand-written, so these checks catch typos,
renamed files and answer spans that no longer occur verbatim in the text.
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parent.parent
SEEDS = ROOT / "seeds"
SOURCES = SEEDS / "sources.yaml"
QA = Path(__file__).parent / "data" / "seeds_qa.jsonl"

ALLOWED_KEYS = {"title", "outlet", "url", "date"}
ARABIC_LETTER = re.compile(r"[\u0621-\u064A]")


def seed_texts() -> dict[str, str]:
    """Seed article texts by file name."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}


def load_sources() -> dict[str, dict[str, Any]]:
    """sources.yaml as parsed by PyYAML."""
    return yaml.safe_load(SOURCES.read_text(encoding="utf-8"))


def load_qa() -> list[dict[str, Any]]:
    """One dict per non-empty line of seeds_qa.jsonl."""
    lines = QA.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_there_are_five_seed_articles() -> None:
    assert len(seed_texts()) == 5


def test_sources_names_exactly_the_seed_files() -> None:
    sources = load_sources()
    assert isinstance(sources, dict)
    assert set(sources) == set(seed_texts())


@pytest.mark.parametrize("name", sorted(seed_texts()))
def test_every_source_has_an_arabic_title_and_only_known_keys(name: str) -> None:
    entry = load_sources()[name]
    assert isinstance(entry, dict), name
    assert set(entry) <= ALLOWED_KEYS, f"{name}: unknown keys {set(entry) - ALLOWED_KEYS}"
    title = entry.get("title")
    assert isinstance(title, str) and title.strip(), f"{name}: empty title"
    assert ARABIC_LETTER.search(title), f"{name}: title is not Arabic: {title!r}"
    for key in ("outlet", "url", "date"):
        if key in entry:
            assert isinstance(entry[key], str) and entry[key].strip(), f"{name}: empty {key}"


def test_titles_tell_the_articles_apart() -> None:
    titles = [entry["title"].strip() for entry in load_sources().values()]
    assert len(titles) == len(set(titles))


def test_stated_date_is_an_iso_date() -> None:
    # 003 dates the event itself: Kim's visitors' book entry reads "كيم جونغ أون 2023.9.13".
    entry = load_sources()["003_60ec432cf999c6a6.txt"]
    assert entry["date"] == "2023-09-13"
    assert "2023.9.13" in seed_texts()["003_60ec432cf999c6a6.txt"]


def test_question_ids_are_unique() -> None:
    ids = [row["id"] for row in load_qa()]
    assert len(ids) == len(set(ids))


def test_gold_set_is_large_enough() -> None:
    rows = load_qa()
    answerable = [r for r in rows if r["answers"]]
    unanswerable = [r for r in rows if not r["answers"]]
    assert len(answerable) >= 30
    assert len(unanswerable) >= 15


def test_canonical_questions_are_included() -> None:
    questions = {row["question"] for row in load_qa()}
    assert "ماذا قال كيم عن الإمبريالية؟" in questions
    assert "أين عقدت القمة بين كيم وبوتين؟" in questions


def test_every_row_is_well_formed() -> None:
    texts = seed_texts()
    for row in load_qa():
        assert isinstance(row["question"], str) and row["question"].strip(), row["id"]
        assert ARABIC_LETTER.search(row["question"]), row["id"]
        assert isinstance(row["answers"], list), row["id"]
        if row["answers"]:
            assert row.get("doc") in texts, f"{row['id']}: unknown doc {row.get('doc')!r}"
        else:
            assert "doc" not in row, f"{row['id']}: an unanswerable question names a doc"


def test_answer_spans_occur_verbatim_in_the_articles() -> None:
    # The first span must come from `doc`; the others may quote the same fact as another
    # seed article reports it (e.g. "فوستوشني" vs "فوستوتشني"), so they must occur in
    # `doc` or in one of the other seed articles.
    texts = seed_texts()
    corpus = "\n".join(texts.values())
    for row in load_qa():
        answers = row["answers"]
        if not answers:
            continue
        doc_text = texts[row["doc"]]
        assert answers[0] in doc_text, f"{row['id']}: {answers[0]!r} not in {row['doc']}"
        for span in answers:
            assert span.strip() == span and span, f"{row['id']}: blank or padded span {span!r}"
            assert span in corpus, f"{row['id']}: {span!r} occurs in no seed article"


# What each unanswerable question asks about, in its own words: none of it is in the seeds.
ABSENT = {
    "seed-u01": "كأس العالم",
    "seed-u02": "الرياض",
    "seed-u03": "الجنيه",
    "seed-u04": "التضخم",
    "seed-u05": "ريال مدريد",
    "seed-u06": "امتحانات",
    "seed-u07": "الكبسة",
    "seed-u08": "البرازيل",
    "seed-u09": "برنت",
    "seed-u10": "قذائف",
    "seed-u11": "اسم المترجم",
    "seed-u12": "تكلفة",
    "seed-u13": "بدأ اجتماع",
    "seed-u14": "أعضاء الوفد",
    "seed-u15": "الأطباق",
    "seed-u16": "كيلومتر",
    "seed-u17": "الصين",
    "seed-u18": "اليابان",
    "seed-u19": "سفير",
    "seed-u20": "المحادثات المغلقة",
}


def test_unanswerable_questions_ask_about_something_the_seeds_never_say() -> None:
    # Every unanswerable row of the gold set is read: it names, in its question, a fact
    # (or the detail asked for) that occurs in no seed article, so "no answer" is right.
    # A new unanswerable question must be added here with what it asks about.
    corpus = "\n".join(seed_texts().values())
    unanswerable = {row["id"]: row["question"] for row in load_qa() if not row["answers"]}
    assert set(unanswerable) == set(ABSENT)
    for row_id, question in unanswerable.items():
        assert ABSENT[row_id] in question, row_id
        assert ABSENT[row_id] not in corpus, f"{row_id}: the seeds mention {ABSENT[row_id]!r}"
