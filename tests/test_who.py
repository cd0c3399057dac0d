"""«من نشر هذا؟» and /who: every outlet that ran a sentence, copied or lightly rewritten,
grouped by outlet with the first to run it on top; near-duplicates by exact Jaccard
similarity of analyzed terms over candidates the BM25 postings give."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from bot_runner import MEMBER, RunningBot, buttons, write_config
from fake_bot_api import FakeBotAPI, parse_html, utf16_len

from bot import texts
from bot.cli import main
from bot.render import message_length
from bot.who import check_text, render_who
from retrieval.engine import Engine
from retrieval.index import SentenceIndex
from retrieval.models import Sentence, Source
from retrieval.neardup import (
    MAX_CHARACTERS,
    THRESHOLD,
    Copy,
    WhoRan,
    candidate_sentences,
    find_near_duplicates,
    jaccard,
    shingles,
    similarity,
)
from retrieval.normalize import analyze

PETRA = "وكالة الأنباء الأردنية"
MAMLAKA = "قناة المملكة"
ALGHAD = "جريدة الغد"
ALRAI = "صحيفة الرأي"

# The agency's sentence and how three outlets ran it: MAMLAKA with other hamza, case
# marks and punctuation (the same analyzed text), ALGHAD with one word changed and a
# colon, ALRAI with the minister's name written as one word and «بالمائة».
QUOTE = (
    "وقال وزير المياه والري رائد أبو السعود إن مخزون السدود بلغ ثلاثين بالمئة "
    "من سعتها التخزينية بعد موسم مطري ضعيف."
)
AS_MAMLAKA = (
    "وقال وزيرُ المياه والري رائد ابو السعود إنّ مخزون السدود بلغ ثلاثين بالمئة "
    "من سعتها التخزينية، بعد موسم مطري ضعيف"
)
AS_ALGHAD = (
    "وقال وزير المياه والري رائد أبو السعود: إن مخزون السدود وصل إلى ثلاثين بالمئة "
    "من سعتها التخزينية بعد موسم مطري ضعيف."
)
AS_ALRAI = (
    "وقال وزير المياه والري رائد أبوالسعود إن مخزون السدود بلغ ثلاثين بالمائة "
    "من سعتها التخزينية بعد موسم مطري ضعيف."
)
# Same minister, same dams, other statements: not copies.
SAME_MINISTER = (
    "وقال وزير المياه والري رائد أبو السعود إن الوزارة ستطلق حملة لترشيد استهلاك المياه في الصيف."
)
SAME_DAMS = (
    "انخفض مخزون السدود في الشمال إلى ثلاثين بالمئة بعد موسم مطري ضعيف وارتفاع درجات الحرارة."
)

# (file stem, outlet, date, url, sentences); files are named so that their order is
# not the order of their dates.
DOCUMENTS = (
    ("a-alrai", ALRAI, "2024-08-05", "https://alrai.example/dams", ("تقرير عن المياه.", AS_ALRAI)),
    ("b-alghad", ALGHAD, "2024-08-03", "https://alghad.example/s?id=1&x=2", (AS_ALGHAD,)),
    ("c-petra", PETRA, "2024-08-01", "https://petra.example/ar/1", (QUOTE,)),
    ("d-mamlaka", MAMLAKA, "2024-08-02", None, ("موجز الأخبار.", AS_MAMLAKA)),
    ("e-petra", PETRA, "2024-08-06", "https://petra.example/ar/2", (SAME_MINISTER,)),
    ("f-alghad", ALGHAD, "2024-07-20", None, (SAME_DAMS,)),
    ("g-weather", MAMLAKA, "2024-08-04", None, ("ارتفعت درجات الحرارة في عمان أمس.",)),
)
FOUR = [
    (PETRA, "2024-08-01", "c-petra.md"),
    (MAMLAKA, "2024-08-02", "d-mamlaka.md"),
    (ALGHAD, "2024-08-03", "b-alghad.md"),
    (ALRAI, "2024-08-05", "a-alrai.md"),
]


def write_corpus(
    folder: Path,
    documents: tuple[tuple[str, str, str, str | None, tuple[str, ...]], ...] = DOCUMENTS,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, outlet, date, url, sentences in documents:
        fields = {"title": f"{outlet}: مخزون السدود", "outlet": outlet, "date": date}
        if url:
            fields["url"] = url
        front = yaml.safe_dump(fields, allow_unicode=True, sort_keys=False)
        text = f"---\n{front}---\n" + "\n".join(sentences) + "\n"
        (folder / f"{stem}.md").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SentenceIndex:
    engine = Engine(write_corpus(tmp_path_factory.mktemp("who") / "corpus"))
    return engine.open().index


def plain(markup: str) -> str:
    """What a reader sees: tags and entities decoded, direction marks and isolates removed."""
    return re.sub("[\u200f\u2066-\u2069]", "", parse_html(markup)[0])


# --- shingles and Jaccard ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "size", "expected"),
    [
        (["مخز", "سدود", "بلغ"], 1, {("مخز",), ("سدود",), ("بلغ",)}),
        (["مخز", "سدود", "بلغ"], 2, {("مخز", "سدود"), ("سدود", "بلغ")}),
        (["مخز", "سدود", "مخز", "سدود"], 2, {("مخز", "سدود"), ("سدود", "مخز")}),
        (["مخز"], 2, {("مخز",)}),  # shorter than a shingle: itself
        ([], 1, set()),
    ],
)
def test_shingles_are_runs_of_consecutive_terms(
    terms: list[str], size: int, expected: set[tuple[str, ...]]
) -> None:
    assert shingles(terms, size) == expected


def test_a_shingle_has_at_least_one_term() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        shingles(["مخز"], 0)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ({"a", "b", "c"}, {"b", "c", "d"}, 0.5),
        ({"a"}, {"a"}, 1.0),
        ({"a"}, {"b"}, 0.0),
        (set(), set(), 0.0),  # nothing to compare is no match
    ],
)
def test_jaccard_is_shared_over_all(a: set[str], b: set[str], expected: float) -> None:
    assert jaccard(a, b) == expected


def test_hamza_case_marks_and_punctuation_do_not_change_a_sentence() -> None:
    assert similarity(analyze(QUOTE), analyze(AS_MAMLAKA)) == 1.0


def test_a_changed_word_costs_one_term_of_each_side() -> None:
    # 17 terms each, 16 shared: وصل for بلغ (إلى is a stop word).
    assert similarity(analyze(QUOTE), analyze(AS_ALGHAD)) == pytest.approx(16 / 18)
    assert similarity(analyze(QUOTE), analyze(AS_ALGHAD), size=2) == pytest.approx(14 / 18)


def test_the_rewrites_reach_the_threshold_and_other_statements_do_not() -> None:
    quote = analyze(QUOTE)
    assert THRESHOLD <= similarity(quote, analyze(AS_ALRAI)) < 1.0
    assert THRESHOLD <= similarity(quote, analyze(AS_ALGHAD)) < 1.0
    assert similarity(quote, analyze(SAME_MINISTER)) < THRESHOLD
    assert similarity(quote, analyze(SAME_DAMS)) < THRESHOLD


# --- finding the copies ----------------------------------------------------------------------


def test_the_quote_is_found_in_exactly_the_four_outlets_earliest_first(
    index: SentenceIndex,
) -> None:
    who = find_near_duplicates(index, QUOTE)
    assert [(c.outlet, c.date, c.doc) for c in who.copies] == FOUR
    assert [g.outlet for g in who.by_outlet()] == [PETRA, MAMLAKA, ALGHAD, ALRAI]
    by_doc = {c.doc: c for c in who.copies}
    assert by_doc["c-petra.md"].similarity == by_doc["d-mamlaka.md"].similarity == 1.0
    assert by_doc["c-petra.md"].url == "https://petra.example/ar/1"
    assert by_doc["a-alrai.md"].sentence.text == AS_ALRAI  # the outlet's own wording
    assert THRESHOLD <= by_doc["a-alrai.md"].similarity < 1.0
    assert not who.truncated


def test_outlets_that_ran_it_the_same_day_list_the_closest_copy_first(tmp_path: Path) -> None:
    """Dates are days: three outlets ran the agency's sentence on 2024-08-02, so the
    exact copy comes before the rewrites, the closer rewrite before the looser one,
    whatever the outlets' names or file names."""
    same_day = (
        ("a-alghad", ALGHAD, "2024-08-02", None, (AS_ALGHAD,)),  # 88%
        ("b-alrai", ALRAI, "2024-08-02", None, (AS_ALRAI,)),  # 73%
        ("c-mamlaka", MAMLAKA, "2024-08-02T16:40:00", None, (AS_MAMLAKA,)),  # the same text
        ("d-petra", PETRA, "2024-08-01", None, (QUOTE,)),
    )
    engine = Engine(write_corpus(tmp_path / "corpus", same_day))
    who = find_near_duplicates(engine.open().index, QUOTE)
    assert [c.doc for c in who.copies] == [
        "d-petra.md",
        "a-alghad.md",
        "b-alrai.md",
        "c-mamlaka.md",
    ]
    assert [g.outlet for g in who.by_outlet()] == [PETRA, MAMLAKA, ALGHAD, ALRAI]


@pytest.mark.parametrize("rewrite", [AS_MAMLAKA, AS_ALGHAD, AS_ALRAI])
def test_any_copy_finds_the_other_three(index: SentenceIndex, rewrite: str) -> None:
    found = find_near_duplicates(index, rewrite)
    assert [(c.outlet, c.date, c.doc) for c in found.copies] == FOUR


def test_identical_sentences_are_one_candidate_citing_every_document(
    index: SentenceIndex,
) -> None:
    # PETRA's and MAMLAKA's sentences have the same analyzed text: one indexed sentence.
    docs, _ = candidate_sentences(index, analyze(QUOTE), 1.0)
    assert len(docs) == 1
    assert {c.doc for c in find_near_duplicates(index, QUOTE, threshold=1.0).copies} == {
        "c-petra.md",
        "d-mamlaka.md",
    }


def test_nothing_like_the_text_finds_nothing(index: SentenceIndex) -> None:
    who = find_near_duplicates(index, "افتتح مهرجان جرش للثقافة والفنون دورته الجديدة")
    assert who.copies == () and who.candidates == 0


def test_the_candidate_cap_bounds_the_work_and_says_so(index: SentenceIndex) -> None:
    who = find_near_duplicates(index, QUOTE, threshold=0.2, max_candidates=2)
    assert who.candidates == 2 and who.truncated
    # The two kept are those sharing most terms with the quote: the exact copy first.
    assert "c-petra.md" in {c.doc for c in who.copies}


def test_prefix_filtered_candidates_miss_nothing_a_full_scan_finds(
    seed_index: SentenceIndex,
) -> None:
    """Every seed sentence as a quote, at several thresholds: the same sentences as
    comparing the quote with every indexed sentence."""
    texts_ = [seed_index.texts[int(r)] for r in seed_index.doc_rows]
    terms = [analyze(t) for t in texts_]
    for threshold in (0.3, 0.5, 0.6, 0.8):
        for n in range(0, len(texts_), 7):
            expected = {
                d for d, other in enumerate(terms) if similarity(terms[n], other) >= threshold
            }
            docs, cut = candidate_sentences(seed_index, terms[n], threshold)
            kept = {int(d) for d in docs if similarity(terms[n], terms[int(d)]) >= threshold}
            assert not cut
            assert kept == expected, (threshold, texts_[n])


# The four copies in the order /who lists them: first outlet to run it on top.
EXPECTED_LINES = [
    f"• {PETRA}",
    f"   2024-08-01 «{PETRA}: مخزون السدود» — مطابقة",
    f"• {MAMLAKA}",
    f"   2024-08-02 «{MAMLAKA}: مخزون السدود» — مطابقة",
    f"• {ALGHAD}",
    f"   2024-08-03 «{ALGHAD}: مخزون السدود» — صياغة قريبة 88%",
    f"• {ALRAI}",
    f"   2024-08-05 «{ALRAI}: مخزون السدود» — صياغة قريبة 73%",
]


# --- the reply ---------------------------------------------------------------------------


def test_the_reply_groups_by_outlet_with_dates_links_and_closeness(
    index: SentenceIndex,
) -> None:
    markup = render_who(find_near_duplicates(index, QUOTE))
    lines = plain(markup).splitlines()
    assert lines[0] == "من نشر هذا؟ 4 وسيلة، 4 وثيقة، الأولى في 2024-08-01:"
    assert lines[1] == f"«{QUOTE}»"
    assert lines[2:] == EXPECTED_LINES
    assert '<a href="https://alghad.example/s?id=1&amp;x=2">' in markup
    assert all(line.startswith("\u200f") for line in markup.splitlines())


def copy(n: int, outlet: str, title: str, url: str | None = None) -> Copy:
    source = Source(f"{n:04d}.md", title, outlet, url, f"2024-{n % 12 + 1:02d}-01")
    return Copy(source, Sentence(source.doc, 0, 0, 10, QUOTE), 1.0)


def test_corpus_text_in_the_reply_is_escaped() -> None:
    who = WhoRan(
        QUOTE + " <b>&",
        (),
        (copy(1, "<i>وكالة</i> & شركاه", "<b>عنوان</b>", 'https://x.example/"a'),),
        1,
        False,
    )
    markup = render_who(who)
    assert plain(markup).splitlines()[2:] == [
        "• <i>وكالة</i> & شركاه",
        "   2024-02-01 «<b>عنوان</b>» — مطابقة",
    ]
    assert plain(markup).splitlines()[1].endswith("<b>&»")
    assert 'href="https://x.example/&quot;a"' in markup


def test_a_reply_too_long_for_one_message_counts_what_it_leaves_out() -> None:
    copies = tuple(
        copy(n, f"وسيلة {n % 40:02d}", "عنوان طويل جداً " * 10, f"https://e.example/{n}")
        for n in range(600)
    )
    markup = render_who(WhoRan(QUOTE, (), copies, 600, True))
    assert message_length(markup) <= 4096 and utf16_len(parse_html(markup)[0]) <= 4096
    lines = plain(markup).splitlines()
    shown = sum(1 for line in lines if line.startswith("   "))
    outlets_shown = sum(1 for line in lines if line.startswith("• "))
    assert 10 < shown < 600
    more = re.fullmatch(r"… و(\d+) وثيقة أخرى في (\d+) وسيلة لم تتسع لها الرسالة\.", lines[-2])
    assert more is not None, lines[-2]
    assert int(more.group(1)) == 600 - shown
    assert int(more.group(2)) >= 40 - outlets_shown
    assert lines[-1] == texts.WHO_TRUNCATED.format(limit=2000)


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("", texts.WHO_USAGE.split("\n")[0]),
        ("؟؟ !!", texts.WHO_USAGE.split("\n")[0]),
        ("مخزون السدود", texts.WHO_TOO_SHORT.format(words=2, minimum=3)),
        ("مخزون، السدود!", texts.WHO_TOO_SHORT.format(words=2, minimum=3)),
        ("ق" * (MAX_CHARACTERS + 1), texts.WHO_TOO_LONG.format(length=1001, limit=1000)),
    ],
)
def test_unusable_text_gets_one_reply_saying_why(text: str, reply: str) -> None:
    problem = check_text(text)
    assert problem is not None and plain(problem).startswith(reply)


def test_three_words_are_enough() -> None:
    assert check_text("مخزون السدود بلغ") is None


# --- through the bot ---------------------------------------------------------------------------


def outlet_lines(markup: str) -> list[str]:
    return [line for line in plain(markup).splitlines() if line.startswith(("• ", "   "))]


def test_who_lists_the_four_outlets_and_refuses_bad_text(api: FakeBotAPI, tmp_path: Path) -> None:
    config = write_config(tmp_path, write_corpus(tmp_path / "corpus"), api)
    with RunningBot.from_config(api, config) as bot:
        reply = bot.ask(MEMBER, f"/who {QUOTE}").params["text"]
        short = bot.ask(MEMBER, "/who مخزون السدود").params["text"]
        none = bot.ask(MEMBER, "/who افتتح مهرجان جرش للثقافة والفنون دورته الجديدة")
        long = bot.ask(MEMBER, "/who " + "مخزون السدود بلغ ثلاثين. " * 60).params["text"]
        usage = bot.ask(MEMBER, "/who").params["text"]
        # /who in reply to a message takes that message's text.
        pasted = api.private_message(MEMBER, AS_ALGHAD)["message"]
        command = api.private_message(MEMBER, "/who")
        command["message"]["reply_to_message"] = pasted
        replied = bot.reply(MEMBER, bot.send(command), "من نشر هذا؟").params["text"]
        assert bot.alive
    assert outlet_lines(reply) == EXPECTED_LINES
    assert plain(short) == texts.WHO_TOO_SHORT.format(words=2, minimum=3)
    assert plain(none.params["text"]) == texts.WHO_NONE
    assert plain(long).startswith("النص طويل (1499 حرفاً)")
    assert plain(usage).startswith("الصق بعد الأمر جملة")
    assert plain(replied).splitlines()[1] == f"«{AS_ALGHAD}»"
    assert [line.split(" — ")[0] for line in outlet_lines(replied)] == [
        line.split(" — ")[0] for line in EXPECTED_LINES
    ]


def test_the_button_under_a_cited_sentence_lists_who_ran_it(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    config = write_config(tmp_path, write_corpus(tmp_path / "corpus"), api)
    with RunningBot.from_config(api, config) as bot:
        answer = bot.ask(MEMBER, "كم بلغ مخزون السدود من سعتها التخزينية؟").result
        labels = buttons(answer)
        assert texts.WHO_BUTTON.format(rank=1) in labels
        assert all(len(data.encode()) <= 64 for data in labels.values())
        mark = bot.send(
            api.callback_query(
                MEMBER, MEMBER, answer["message_id"], labels[texts.WHO_BUTTON.format(rank=1)]
            )
        )
        reply = bot.reply(MEMBER, mark, "من نشر هذا؟").params["text"]
        assert not api.wait_for("answerCallbackQuery", since=mark).params.get("text")
        forged = bot.send(api.callback_query(MEMBER, MEMBER, answer["message_id"], "w:nokey:1"))
        expired = api.wait_for("answerCallbackQuery", since=forged)
    # The cited sentence is one of the copies: closeness is measured from it, so it
    # is compared apart; outlets, dates and titles are the four of the quote.
    assert [line.split(" — ")[0] for line in outlet_lines(reply)] == [
        line.split(" — ")[0] for line in EXPECTED_LINES
    ]
    cited = next(line for line in plain(answer["text"]).splitlines() if line.startswith("1. "))
    cited = cited.removeprefix("1. ")
    assert plain(reply).splitlines()[1] == f"«{cited}»"
    ran_it = next(outlet for _, outlet, _, _, sentences in DOCUMENTS if cited in sentences)
    lines = outlet_lines(reply)
    assert lines[lines.index(f"• {ran_it}") + 1].endswith("— مطابقة")
    assert expired.params["text"] == texts.EXPIRED


# --- the command line ---------------------------------------------------------------------------


def test_the_cli_prints_the_same_grouping(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"corpus": {"path": str(corpus), "index_dir": None}}))
    assert main(["who", QUOTE, "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "من نشر هذا؟ 4 وسيلة، 4 وثيقة، الأولى في 2024-08-01:"
    assert [line for line in lines if line.startswith("• ")] == [
        f"• {o}" for o in (PETRA, MAMLAKA, ALGHAD, ALRAI)
    ]
    assert lines[2] == (
        f"   2024-08-01  «{PETRA}: مخزون السدود»  https://petra.example/ar/1  [c-petra.md]  مطابقة"
    )
    assert f"     {AS_ALRAI}" in lines  # a rewrite shows the outlet's own wording

    assert main(["who", QUOTE, "--json", "--config", str(config)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(g["outlet"], [c["date"] for c in g["copies"]]) for g in out["outlets"]] == [
        (outlet, [date]) for outlet, date, _ in FOUR
    ]
    assert out["threshold"] == THRESHOLD and out["truncated"] is False

    assert main(["who", "مخزون السدود", "--config", str(config)]) == 2
    assert "the text has 2 word(s); give at least 3" in capsys.readouterr().err
    assert main(["who", "ق " * 600, "--config", str(config)]) == 2
    assert "give one sentence or claim (at most 1000)" in capsys.readouterr().err
    assert main(["who", "افتتح مهرجان جرش للثقافة والفنون", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == texts.WHO_NONE


def test_every_indexed_sentence_finds_every_document_holding_it(
    seed_index: SentenceIndex,
) -> None:
    for doc_id in range(seed_index.n_docs):
        holders = {
            seed_index.sources[int(seed_index.sent_doc[r])].doc
            for r in seed_index.rows_of(doc_id).tolist()
        }
        text = seed_index.texts[int(seed_index.doc_rows[doc_id])]
        assert holders <= {c.doc for c in find_near_duplicates(seed_index, text).copies}
