"""How replies look: escaped, cited, bold where the question matched, right-to-left, split safely.

Every rendered message is parsed with the fake Bot API's copy of Telegram's HTML parser,
so "valid markup" means what Telegram would accept, and "visible text" what users see.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from bot_runner import paragraph_directions
from fake_bot_api import parse_html, utf16_len
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot import render
from retrieval.engine import Engine, ReloadReport, Snapshot
from retrieval.index import SentenceIndex, build_index
from retrieval.models import Document, Hit, Problem, Sentence, Source
from retrieval.normalize import analyze
from retrieval.search import search


def index_of(*documents: tuple[str, str, str | None]) -> SentenceIndex:
    """An index over in-memory documents: (file name, text, url)."""
    return build_index(
        [
            Document(Source(doc=name, title=f"عنوان {name}", url=url), text)
            for name, text, url in documents
        ]
    )


def visible(markup: str) -> tuple[str, list[dict]]:
    return parse_html(markup)


def telegram_length(markup: str) -> int:
    """What Telegram checks against 4096: UTF-16 units of the parsed text (raises on bad HTML)."""
    return utf16_len(parse_html(markup)[0])


def bold_words(markup: str) -> list[str]:
    """Bold stretches below the first line (the first line is a bold header)."""
    text, entities = parse_html(markup)
    body = text.index("\n")
    return [
        text[e["offset"] : e["offset"] + e["length"]]
        for e in entities
        if e["type"] == "bold" and e["offset"] > body
    ]


# --- citations and highlights -----------------------------------------------------------


def test_answer_numbers_sentences_cites_titles_and_bolds_matched_words(seed_index: SentenceIndex):
    question = "ماذا قال كيم عن الإمبريالية؟"
    result = search(seed_index, question)
    [message] = render.render_answer(result.hits)
    text, _ = visible(message)
    for hit in result.hits:
        assert f"{hit.rank}. " in text
        assert hit.text in text
        assert hit.source.title in text
    assert text.count("المصدر:") == len(result.hits)
    bold = bold_words(message)
    assert bold, "the matched words are in bold"
    asked = set(analyze(question))
    assert all(set(analyze(word)) & asked for word in bold), bold
    assert "الإمبريالية" in bold


def test_related_hits_are_headed_as_no_direct_answer(seed_index: SentenceIndex):
    question = "كم كيلومتراً قطع قطار كيم من بيونغ يانغ إلى القاعدة الفضائية؟"
    result = search(seed_index, question)
    assert result.outcome == "related"
    [message] = render.render_answer(result.hits, outcome=result.outcome)
    text, _ = visible(message)
    assert text.splitlines()[0] == "\u200fلا توجد إجابة مباشرة — جمل ذات صلة:"  # RLM first
    assert "أقرب الجمل إلى سؤالك" not in text
    assert result.hits[0].text in text


HANDSHAKE = (  # seeds/001_76385d4a09d3e801.txt
    "وتبادل كيم وبوتين المصافحة التي استمرت حوالي 40 ثانية بعد وصول الزعيم الكوري الشمالي، "
    "حيث قال الرئيس الروسي إنه “سعيد للغاية لرؤيته”."
)


def test_the_seed_sentence_is_the_one_these_tests_quote(seed_index: SentenceIndex):
    assert HANDSHAKE in [seed_index.texts[row] for row in range(seed_index.n_sentences)]


def test_markup_and_ampersand_in_a_sentence_arrive_as_written():
    sentence = HANDSHAKE.replace("المصافحة", "المصافحة <b>&</b> &amp;")
    index = index_of(("tags.txt", sentence, None))
    result = search(index, "كم استمرت المصافحة؟")
    [message] = render.render_answer(result.hits)
    text, _ = visible(message)
    assert sentence in text
    assert bold_words(message) == ["المصافحة", "استمرت"]


def test_source_with_url_is_a_link_and_odd_addresses_stay_text():
    index = index_of(
        (
            "a.txt",
            "أعلن المتحدث باسم الكرملين موعد القمة المقبلة.",
            "https://example.org/a?x=1&y=2",
        ),
        ("b.txt", "أعلن المتحدث باسم الخارجية موعد القمة الثانية.", "javascript:alert(1)"),
    )
    result = search(index, "موعد القمة")
    message = render.render_answer(result.hits)[0]
    _, entities = visible(message)
    links = [e["url"] for e in entities if e["type"] == "text_link"]
    assert links == ["https://example.org/a?x=1&y=2"]
    assert "javascript" not in "".join(links)


def test_a_sentence_found_in_several_documents_cites_them_all():
    same = "وصل الزعيم الكوري الشمالي إلى محطة خاسان بالقطار المدرع."
    index = index_of(("one.txt", same, None), ("two.txt", "مقدمة أخرى. " + same, None))
    result = search(index, "القطار المدرع")
    [hit] = result.hits
    text, _ = visible(render.render_answer(result.hits)[0])
    assert "المصادر:" in text
    assert "عنوان one.txt" in text and "عنوان two.txt" in text
    assert len(hit.sources) == 2


# --- direction ------------------------------------------------------------------------------


@pytest.mark.parametrize("opening", ["KCNA: ", "40 ", '"Sputnik" '])
def test_sentence_starting_with_latin_or_digit_still_reads_right_to_left(opening: str):
    sentence = opening + HANDSHAKE.removeprefix("وتبادل ")
    index = index_of(("latin.txt", sentence, None))
    result = search(index, "كم استمرت المصافحة؟")
    assert result.hits
    for message in render.render_answer(result.hits):
        text, _ = visible(message)
        assert sentence in text
        lines = [line for line in text.split("\n") if line.strip()]
        for understands_isolates in (True, False):
            directions = paragraph_directions("\n".join(lines), understands_isolates)
            assert set(directions) == {"R"}, (understands_isolates, lines, directions)


def test_every_paragraph_of_a_seed_answer_reads_right_to_left(seed_index: SentenceIndex):
    result = search(seed_index, "بوتين", k=20)
    for message in render.render_answer(result.hits):
        text, _ = visible(message)
        lines = [line for line in text.split("\n") if line.strip()]
        assert set(paragraph_directions("\n".join(lines))) == {"R"}


# --- length ---------------------------------------------------------------------------------


def test_a_long_reply_is_split_between_sentences_into_valid_messages(seed_index: SentenceIndex):
    result = search(seed_index, "بوتين", k=50)
    assert len(result.hits) == 50
    messages = render.render_answer(result.hits)
    assert len(messages) >= 2
    seen = []
    for i, message in enumerate(messages):
        assert telegram_length(message) <= render.MAX_LENGTH
        text, _ = visible(message)  # raises if a tag were cut
        if i:
            assert text.startswith("\u200f(تابع)") or text.startswith("(تابع)")
        seen += [hit.rank for hit in result.hits if f"\u200f{hit.rank}. \u2067" in text]
    assert seen == list(range(1, 51)), "every sentence once, in order, none cut in two"


def test_a_sentence_longer_than_a_message_is_cut_between_words(seed_index: SentenceIndex):
    # The segmenter caps sentences at 1000 characters, but escaping can still blow one up
    # (every "&" becomes "&amp;"); render must cope with any length.
    words = [w for w in seed_index.texts[0].split() if re.fullmatch(r"[\u0621-\u064a]+", w)]
    giant = " ".join(words[i % len(words)] for i in range(2500)) + " & <i>"  # ~14k characters
    spans = tuple((m.start(), m.end()) for m in re.finditer(words[3], giant))
    source = Source(doc="giant.txt", title="عنوان طويل")
    hit = Hit(1, 1.0, Sentence("giant.txt", 0, 0, len(giant), giant), (source,), spans)
    messages = render.render_answer([hit])
    assert len(messages) >= 3
    shown = []
    for message in messages:
        assert telegram_length(message) <= render.MAX_LENGTH
        text, entities = visible(message)
        shown.append(text)
        assert all(text[e["offset"] : e["offset"] + e["length"]] == words[3] for e in entities[1:])
    assert "& <i>" in shown[-1] and "المصدر: " in shown[-1]
    vocabulary = set(giant.split())
    noise = {"(تابع)", "…", "1.", "المصدر:", "عنوان", "طويل", "أقرب", "الجمل", "إلى", "سؤالك:"}
    for text in shown:
        for mark in ("\u2067", "\u2068", "\u2069", "\u200f"):
            text = text.replace(mark, " ")
        for token in text.split():
            assert token in vocabulary or token in noise, f"{token!r} is a broken word"


def test_split_text_keeps_pieces_within_budget_and_covers_everything():
    text = "كلمة " * 300 + "&&&&" * 50
    pieces = render.split_text(text, [(0, 4)], budget=200)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
    for start, end in pieces:
        assert telegram_length(render.emphasize(text[start:end], [(0, 4)], offset=start)) <= 200


def test_pack_never_splits_a_block_and_starts_follow_ups_in_arabic():
    blocks = [f"\u200f{i}. \u2067{'جملة ' * 150}\u2069" for i in range(1, 12)]
    messages = render.pack(blocks, limit=2000)
    assert all(telegram_length(m) <= 2000 for m in messages)
    assert "".join(messages).count("\u2067") == 11
    assert all(m.startswith(render.CONTINUED) for m in messages[1:])


# --- other messages -------------------------------------------------------------------------


def test_context_shows_neighbours_with_the_cited_sentence_in_bold(seed_index: SentenceIndex):
    rows = seed_index.document_rows(0)
    near = [seed_index.sentence(int(r)) for r in rows[:5]]
    [message] = render.render_context(1, seed_index.sources[0], near, focus=2)
    text, _ = visible(message)
    assert all(s.text in text for s in near)
    assert bold_words(message) == [near[2].text]
    assert seed_index.sources[0].title in text


def test_sources_listing_is_paginated_with_titles_and_counts(seed_index: SentenceIndex):
    sources = seed_index.sources * 5  # 25 entries
    counts = [int(c) for c in seed_index.sentence_counts()] * 5
    first = render.render_sources(sources, counts, page=1, per_page=10)
    last = render.render_sources(sources, counts, page=9, per_page=10)
    assert (first.number, first.count) == (1, 3)
    assert (last.number, last.count) == (3, 3), "a page past the end shows the last page"
    text, _ = visible(first.text)
    assert sources[0].title in text and f"{counts[0]} جملة" in text
    assert "21." in visible(last.text)[0] and "11." not in visible(last.text)[0]


def test_reload_report_names_changes_and_skipped_files(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("وصل بوتين إلى بيونغ يانغ فجراً.", encoding="utf-8")
    (corpus / "b.txt").write_text("استقبل كيم ضيفه في المطار.", encoding="utf-8")
    engine = Engine(corpus)
    engine.open()
    (corpus / "a.txt").write_text("وصل بوتين إلى بيونغ يانغ ليلاً.", encoding="utf-8")
    (corpus / "b.txt").unlink()
    (corpus / "c.txt").write_text("وقع الزعيمان اتفاقية الشراكة.", encoding="utf-8")
    (corpus / "bad.txt").write_bytes(b"\xff\xfe\x00broken")
    report = engine.reload()
    [message] = render.render_reload_report(report, 1.5)
    text, _ = visible(message)
    assert "الوثائق: من 2 إلى 2" in text
    assert "أُضيفت (1):" in text and "c.txt" in text
    assert "حُذفت (1):" in text and "b.txt" in text
    assert "تغيّرت (1):" in text and "a.txt" in text
    assert "bad.txt" in text and "ملفات تُجوهلت (1):" in text
    assert "1.50 ث" in text


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 ث"),
        (59, "59 ث"),
        (61, "1 د 1 ث"),
        (3600 * 5 + 120, "5 س 2 د"),
        (86400 * 2 + 7200, "2 ي 2 س"),
    ],
)
def test_durations_read_in_arabic_units(seconds: float, shown: str):
    assert render.format_duration(seconds) == shown


def test_every_bot_text_is_valid_telegram_html():
    from bot import texts

    for name in dir(texts):
        value = getattr(texts, name)
        if isinstance(value, str) and not name.startswith("_"):
            parse_html(value.replace("{", "").replace("}", ""))
    assert parse_html(render.render_help(is_admin=True))[0].count("/reload") == 1
    assert "/reload" not in parse_html(render.render_help(is_admin=False))[0]


def test_hits_from_the_real_search_keep_their_highlight_spans(seed_index: SentenceIndex):
    hit: Hit = search(seed_index, "مصافحة").hits[0]
    assert bold_words(render.render_answer([hit])[0]) == [hit.text[s:e] for s, e in hit.highlights]


# --- limits and hostile names: any input fits in a message and stays in its place ----------

BOILERPLATE = "حقوق النشر محفوظة لوكالة الأنباء ولا يجوز إعادة النشر دون إذن مكتوب."


def boilerplate_hit(sources: tuple[Source, ...]) -> Hit:
    sentence = Sentence(sources[0].doc, 0, 0, len(BOILERPLATE), BOILERPLATE)
    return Hit(1, 3.2, sentence, sources, ((0, 4),))


def test_a_sentence_held_by_120_documents_cites_three_and_counts_the_rest():
    sources = tuple(
        Source(f"{n:03}_wire.txt", f"نشرة وكالة الأنباء رقم {n}", outlet="وكالة الأنباء")
        for n in range(120)
    )
    [message] = render.render_answer([boilerplate_hit(sources)])
    text, _ = visible(message)
    assert telegram_length(message) <= render.MAX_LENGTH
    assert "المصادر: \u2068نشرة وكالة الأنباء رقم 0\u2069 (\u2068وكالة الأنباء\u2069)؛ " in text
    assert "رقم 2\u2069" in text and "رقم 3\u2069" not in text
    assert text.endswith("؛ و117 مصادر أخرى")


def test_a_5400_character_title_is_cut_to_200_with_an_ellipsis():
    title = "تقرير مطول عن القمة " * 270  # 5,400 characters
    source = Source("long_title.txt", title, url="https://example.org/long")
    [message] = render.render_answer([boilerplate_hit((source,))])
    text, entities = visible(message)
    [link] = [e for e in entities if e["type"] == "text_link"]
    assert text[link["offset"] : link["offset"] + link["length"]] == title[:199] + "…"
    context = render.render_context(1, source, [boilerplate_hit((source,)).sentence], focus=0)
    assert title[:199] + "…" in visible(context[0])[0]
    page = render.render_sources([source] * 25, [7] * 25, page=1)
    assert telegram_length(page.text) <= render.MAX_LENGTH
    assert visible(page.text)[0].count(title[:199] + "…") == 10


HOSTILE_TITLE = "بيان\u2069\u202e القمة <b>الرسمي</b> & AT&T\n1. سطر مزيف"
HOSTILE_DOC = "evil\u202egnp.txt\n2. سطر مزيف"


def test_bidi_controls_and_line_breaks_in_names_never_reach_a_reply():
    source = Source(HOSTILE_DOC, HOSTILE_TITLE, outlet="وكالة\u2066 X\u202d", date="2024\n06")
    hit = boilerplate_hit((source,))
    answer = render.render_answer([hit])[0]
    context = render.render_context(1, source, [hit.sentence], focus=0)[0]
    listing = render.render_sources([source], [1], page=1).text
    for message in (answer, context, listing):
        text, _ = visible(message)
        assert "\u202e" not in text and "\u202d" not in text
        for line in text.split("\n"):
            assert_isolates_balanced(line)
        assert "بيان القمة <b>الرسمي</b> & AT&T 1. سطر مزيف" in text, "markup arrives as written"
    answer_text = visible(answer)[0]
    [citation] = [line for line in answer_text.split("\n") if "المصدر:" in line]
    assert "سطر مزيف" in citation, "the newline did not start a line of its own"
    assert "(\u2068وكالة X، 2024 06\u2069)" in citation
    assert "evilgnp.txt 2. سطر مزيف" in visible(listing)[0]


def assert_isolates_balanced(line: str) -> None:
    """Every isolate the line opens is closed by its own PDI, in order."""
    depth = 0
    for char in line:
        if char in "\u2066\u2067\u2068":
            depth += 1
        elif char == "\u2069":
            depth -= 1
            assert depth >= 0, f"a PDI closes an isolate it did not open: {line!r}"
    assert depth == 0, line


def test_reload_report_shows_names_and_reasons_with_markup_as_written(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("وصل بوتين إلى بيونغ يانغ فجراً.", encoding="utf-8")
    engine = Engine(corpus)
    engine.open()
    (corpus / "<b>bold<i> & co.txt").write_bytes(b"\xff\xfe\x00broken")
    (corpus / "AT&T <i>.txt").write_text("وقع الزعيمان اتفاقية الشراكة.", encoding="utf-8")
    report = engine.reload()
    [message] = render.render_reload_report(report, 0.5)
    text, entities = visible(message)
    assert "<b>bold<i> & co.txt" in text and "AT&T <i>.txt" in text
    [problem] = report.after.problems
    problem_line = next(line for line in text.split("\n") if "<b>bold<i> & co.txt" in line)
    assert problem.reason.split("\n")[0][:40] in problem_line
    assert [e["type"] for e in entities].count("bold") == 1, "only the report's own heading"


def test_a_problem_reason_with_markup_is_escaped():
    index = index_of(("a.txt", "وصل بوتين إلى بيونغ يانغ فجراً.", None))
    snapshot = Snapshot(index, [Problem("x.txt", 'bad key "<b>" & more')], 0.0, 0.1, False)
    [message] = render.render_reload_report(ReloadReport(None, snapshot, added=["a.txt"]), 0.1)
    assert 'x.txt: bad key "<b>" & more' in visible(message)[0]


# Characters that break naive rendering: markup, entities, bidi, controls, astral, Arabic.
HOSTILE_CHARS = [
    *"<>&\"'/;=",
    "&amp;",
    "&lt;b&gt;",
    "<b>",
    "</a>",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200f",
    "\n",
    "\r",
    "\x00",
    "\x1b",
    "\x85",
    "😀",
    "𝕏",
    *"كيم بوتين القمة ",
    *"abc 123",
]
PIECE = st.sampled_from(HOSTILE_CHARS)
SHORT = st.lists(PIECE, max_size=40).map("".join)
HUGE = st.builds(lambda piece, n: piece * n, PIECE, st.integers(0, 6000))
NAME = SHORT | HUGE
SOURCE = st.builds(
    Source,
    doc=NAME,
    title=NAME,
    outlet=st.none() | NAME,
    url=st.none() | st.just("https://example.org/a?b=1&c=<2>") | NAME.map("https://x.org/".__add__),
    date=st.none() | NAME,
)
SOURCES = st.lists(SOURCE, min_size=1, max_size=6).map(tuple) | st.builds(
    lambda source, n: (source,) * n, SOURCE, st.integers(1, 400)
)
SENTENCE_TEXT = SHORT | HUGE | st.lists(PIECE, min_size=1, max_size=3000).map("".join)


@st.composite
def hits(draw: st.DrawFn) -> list[Hit]:
    out = []
    for rank in range(1, draw(st.integers(1, 6)) + 1):
        text = draw(SENTENCE_TEXT) or "ا"
        spans = draw(
            st.lists(st.tuples(st.integers(-5, len(text) + 5), st.integers(-5, len(text) + 5)))
        )
        sentence = Sentence("d.txt", rank, 0, len(text), text)
        out.append(Hit(rank, 1.0, sentence, draw(SOURCES), tuple(spans)))
    return out


def assert_fits_and_parses(message: str) -> str:
    text, _ = parse_html(message)  # strict: every "&" and "<" of the input was escaped
    assert utf16_len(text) <= render.MAX_LENGTH
    assert "\u202e" not in text and "\x00" not in text and "\x1b" not in text
    for line in text.split("\n"):
        assert_isolates_balanced(line)
    return text


@given(hits())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_answer_fits_telegrams_limit_as_valid_html(page: list[Hit]) -> None:
    for message in render.render_answer(page):
        assert_fits_and_parses(message)


@given(SOURCE, st.lists(SENTENCE_TEXT, min_size=1, max_size=5))
@example(Source("", ""), [" " * 4086])  # a blank sentence longer than a message
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_context_fits_telegrams_limit_as_valid_html(source: Source, texts: list[str]):
    sentences = [Sentence(source.doc, i, 0, len(t), t or "ا") for i, t in enumerate(texts)]
    for message in render.render_context(1, source, sentences, focus=0):
        assert_fits_and_parses(message)


@given(st.lists(SOURCE, min_size=1, max_size=25), st.integers(1, 3))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_sources_page_fits_in_one_message(sources: list[Source], page: int) -> None:
    shown = render.render_sources(sources, [10**9] * len(sources), page, per_page=10)
    assert_fits_and_parses(shown.text)


REPORT_INDEX = build_index([Document(Source("a.txt", "عنوان"), "وصل بوتين إلى بيونغ يانغ.")])


@given(st.lists(NAME, max_size=30), st.lists(st.tuples(NAME, NAME), max_size=30), NAME)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_reload_report_fits_and_escapes(names: list[str], problems: list, error: str):
    problem_list = [Problem(path, reason) for path, reason in problems]
    after = Snapshot(REPORT_INDEX, problem_list, 0.0, 1.0, False, cache_error=error or None)
    report = ReloadReport(None, after, added=names, removed=names[::-1], changed=names[:3])
    for message in render.render_reload_report(report, 2.0):
        assert_fits_and_parses(message)
    assert_fits_and_parses(render.render_reload_failure(error, 1.0, after))
