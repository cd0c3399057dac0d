"""Filters in a question (outlet:NAME, from:DATE, to:DATE): parsed, selecting documents
inside the search, stated in the reply; bad filters answered with one clear message."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from bot_runner import MEMBER, RunningBot, buttons, visible, write_config
from fake_bot_api import FakeBotAPI
from filter_samples import ALGHAD, AMMAN, PETRA, QUESTION, QUOTE, SAHEL, write_corpus

from bot import texts
from retrieval.corpus import load_corpus
from retrieval.filters import FilterError, Filters, parse_filters, select
from retrieval.index import SentenceIndex, build_index
from retrieval.models import Source
from retrieval.search import search

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SentenceIndex:
    folder = write_corpus(tmp_path_factory.mktemp("filters") / "corpus", crowd=12)
    return build_index(load_corpus(folder).documents)


def outlets_cited(index: SentenceIndex, question: str, k: int = 50) -> set[str | None]:
    text, filters = parse_filters(question)
    allowed = select(index.sources, filters).allowed if filters else None
    result = search(index, text, k=k, allowed=allowed)
    return {s.outlet for hit in result.hits for s in hit.sources}


# --- parsing ------------------------------------------------------------------------


def test_filter_tokens_are_taken_out_of_the_question() -> None:
    text, filters = parse_filters(
        f'{QUESTION} outlet:"قناة الساحل" outlet:Amman from:2024-08-01 to:2024-08-31'
    )
    assert text == QUESTION
    assert filters == Filters(("قناة الساحل", "Amman"), dt.date(2024, 8, 1), dt.date(2024, 8, 31))


def test_curly_quotes_and_guillemets_hold_a_name_with_spaces() -> None:
    assert parse_filters("سؤال outlet:“جريدة الغد”")[1].outlets == ("جريدة الغد",)
    assert parse_filters("سؤال outlet:«جريدة الغد»")[1].outlets == ("جريدة الغد",)


def test_a_question_without_filters_is_left_exactly_as_asked() -> None:
    question = "  من  قال: إن المخزون   بلغ ٣٠٪؟ "
    assert parse_filters(question) == (question, Filters())
    assert not Filters()


@pytest.mark.parametrize(
    ("question", "token", "reason"),
    [
        ("سؤال from:2024-02-30", "from:2024-02-30", "no_such_date"),
        ("سؤال to:أمس", "to:أمس", "format"),
        ("سؤال from:01-08-2024", "from:01-08-2024", "format"),
        ('سؤال outlet:"قناة الساحل', 'outlet:"قناة', "unclosed"),
        ("سؤال outlet:", "outlet:", "empty"),
        ("سؤال from:2024-08-01 from:2024-08-02", "from:2024-08-02", "twice"),
        ("سؤال from:2024-08-09 to:2024-08-01", "from:2024-08-09 to:2024-08-01", "order"),
    ],
)
def test_a_bad_filter_token_is_named(question: str, token: str, reason: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filters(question)
    assert (caught.value.token, caught.value.reason) == (token, reason)


# --- selecting ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        '"وكالة الأنباء الأردنية"',
        '"وكالة الانباء الاردنية"',  # hamza left out
        '"وكالة  الأنباءِ الأردنيّة"',  # diacritics, a double space
    ],
)
def test_an_arabic_outlet_matches_whatever_its_hamza_and_marks(
    index: SentenceIndex, name: str
) -> None:
    assert outlets_cited(index, f"{QUESTION} outlet:{name}") == {PETRA}


@pytest.mark.parametrize("name", ['"amman post"', '"AMMAN POST"', '"Amman Post"'])
def test_a_latin_outlet_matches_in_any_case(index: SentenceIndex, name: str) -> None:
    assert outlets_cited(index, f"{QUESTION} outlet:{name}") == {AMMAN}


def test_outlet_repeats_as_any_of(index: SentenceIndex) -> None:
    question = f'{QUESTION} outlet:"قناه الساحل" outlet:"Amman Post"'
    assert outlets_cited(index, question) == {SAHEL, AMMAN}


def test_dates_select_a_period_and_leave_undated_documents_out(index: SentenceIndex) -> None:
    text, filters = parse_filters(f"{QUESTION} from:2024-08-02 to:2024-08-05")
    selection = select(index.sources, filters)
    dates = {s.date for s, kept in zip(index.sources, selection.allowed, strict=True) if kept}
    assert dates == {"2024-08-02", "2024-08-05"}
    assert selection.undated == 1
    result = search(index, text, k=50, allowed=selection.allowed)
    quote = next(hit for hit in result.hits if hit.text == QUOTE)
    # The quote is held by six documents; only the two in the period are cited.
    assert [(s.outlet, s.date) for s in quote.sources] == [
        (ALGHAD, "2024-08-02"),
        (SAHEL, "2024-08-05"),
    ]


def test_a_date_is_read_as_timelines_and_who_read_it() -> None:
    """A document dated 2024/8/3 is in the period 2024-08-01 … 2024-08-05, as its
    timeline and «من نشر هذا؟» place it; only what no reader takes is undated."""
    dated = {
        "slashes.txt": "2024/8/3",
        "time.txt": "2024-08-04T09:30:00Z",
        "dots.txt": "2024.08.05",
        "after.txt": "2024-08-06",
        "words.txt": "الثالث من آب",
    }
    sources = [Source(name, "عنوان", date=date) for name, date in dated.items()]
    _, filters = parse_filters("سؤال from:2024-08-01 to:2024-08-05")
    selection = select(sources, filters)
    kept = [s.doc for s, k in zip(sources, selection.allowed, strict=True) if k]
    assert kept == ["slashes.txt", "time.txt", "dots.txt"]
    assert selection.undated == 1


def test_only_from_or_only_to(index: SentenceIndex) -> None:
    assert outlets_cited(index, f'{QUESTION} outlet:"Amman Post" to:2024-08-08') == set()
    assert outlets_cited(index, f'{QUESTION} outlet:"Amman Post" from:2024-08-09') == {AMMAN}


def test_the_filter_applies_before_the_top_k(index: SentenceIndex) -> None:
    """Twelve PETRA and ALGHAD documents outrank every copy of the quote: without filters
    the first page holds no SAHEL sentence, yet a SAHEL filter finds SAHEL's copy."""
    unfiltered = search(index, QUESTION, k=5)
    assert {s.outlet for hit in unfiltered.hits for s in hit.sources} <= {PETRA, ALGHAD}
    text, filters = parse_filters(f'{QUESTION} outlet:"قناة الساحل"')
    result = search(index, text, k=5, allowed=select(index.sources, filters).allowed)
    assert [hit.text for hit in result.hits] == [QUOTE]
    assert [s.outlet for s in result.hits[0].sources] == [SAHEL]
    assert result.hits[0].rank == 1 and result.has_more is False


def test_allowing_every_document_changes_nothing(index: SentenceIndex) -> None:
    everything = np.ones(len(index.sources), dtype=bool)
    for offset in (0, 5):
        plain = search(index, QUESTION, k=5, offset=offset)
        allowed = search(index, QUESTION, k=5, offset=offset, allowed=everything)
        assert allowed == plain


def test_unknown_outlets_are_named(index: SentenceIndex) -> None:
    _, filters = parse_filters(f'{QUESTION} outlet:"قناة الساحل" outlet:"قناة الجبل"')
    selection = select(index.sources, filters)
    assert selection.unknown_outlets == ("قناة الجبل",)
    assert not selection.empty
    _, filters = parse_filters(f'{QUESTION} outlet:"قناة الجبل"')
    assert select(index.sources, filters).empty


# --- command line -------------------------------------------------------------------


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    corpus = tmp_path / "corpus"
    if not corpus.exists():
        write_corpus(corpus, crowd=12)
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus:\n  path: {corpus}\n  index_dir: {tmp_path / 'index'}\n")
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "--config", str(config), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_cli_options_and_inline_tokens_filter_alike(tmp_path: Path) -> None:
    by_option = run(
        tmp_path, "--json", "--outlet", "قناة الساحل", "--outlet", "amman post", QUESTION
    )
    inline = run(tmp_path, "--json", f'{QUESTION} outlet:"قناة الساحل" outlet:"amman post"')
    assert by_option.returncode == inline.returncode == 0, by_option.stderr + inline.stderr
    first, second = json.loads(by_option.stdout), json.loads(inline.stdout)
    assert first["hits"] == second["hits"]
    assert [[s["outlet"] for s in h["sources"]] for h in first["hits"]] == [[AMMAN, SAHEL]]
    assert first["question"] == QUESTION
    assert first["filters"] == {
        "outlets": ["قناة الساحل", "amman post"],
        "from": None,
        "to": None,
        "documents": 2,
        "undated_excluded": 0,
        "unknown_outlets": [],
    }


def test_cli_states_the_filters_above_the_answer(tmp_path: Path) -> None:
    result = run(tmp_path, "--from", "2024-08-05", "--to", "2024-08-09", QUESTION)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "المرشّحات: من: 2024-08-05، إلى: 2024-08-09 (استُبعدت 1 وثيقة بلا تاريخ)"
    assert lines[1] == f"1. {QUOTE}"
    # Only the two copies dated in the period are cited, not the other four.
    assert [line.split("]")[0].strip() for line in lines[2:]] == ["[amman.md", "[sahel.md"]


def test_cli_refuses_a_bad_date_naming_it(tmp_path: Path) -> None:
    option = run(tmp_path, "--from", "2024-13-01", QUESTION)
    assert option.returncode == 2
    assert "argument --from: '2024-13-01': no such date" in option.stderr
    inline = run(tmp_path, f"{QUESTION} to:yesterday")
    assert inline.returncode == 2
    assert inline.stderr.strip() == (
        "coverage-bot: filter 'to:yesterday': not a date as YYYY-MM-DD"
    )


def test_cli_says_when_an_outlet_is_unknown_or_nothing_matches(tmp_path: Path) -> None:
    unknown = run(tmp_path, "--outlet", "قناة الجبل", QUESTION)
    assert unknown.returncode == 0, unknown.stderr
    assert unknown.stdout.splitlines() == [
        "المرشّحات: الوسيلة: «قناة الجبل»",
        "لا توجد في المصادر وسيلة باسم «قناة الجبل».",
        f"الوسائل المتاحة: «{ALGHAD}»، «{PETRA}»، «{AMMAN}»، «{SAHEL}»",
    ]
    empty = run(tmp_path, "--json", f'{QUESTION} outlet:"Amman Post" to:2024-08-01')
    answer = json.loads(empty.stdout)
    assert answer["hits"] == [] and answer["filters"]["documents"] == 0
    assert run(tmp_path, f"{QUESTION} from:2030-01-01").stdout.splitlines()[1] == (
        "لا توجد في المصادر وثيقة تطابق هذه المرشّحات."
    )


# --- the bot, through the fake Bot API -----------------------------------------------


def plain(params: dict) -> str:
    """What a reader sees: tags and entities decoded, direction marks and isolates removed."""
    return re.sub("[\u200f\u2066-\u2069]", "", visible(params))


@pytest.fixture
def bot(api: FakeBotAPI, tmp_path: Path) -> Iterator[RunningBot]:
    corpus = write_corpus(tmp_path / "corpus", crowd=12)
    with RunningBot.from_config(api, write_config(tmp_path, corpus, api)) as running:
        yield running


def test_the_bot_answers_inside_the_filters_and_states_them(bot: RunningBot) -> None:
    reply = plain(bot.ask(MEMBER, f'{QUESTION} outlet:"قناه الساحل" outlet:"amman post"').params)
    lines = reply.splitlines()
    assert lines[0] == "المرشّحات: الوسيلة: «قناه الساحل» أو «amman post»"
    assert lines[1] == "أقرب الجمل إلى سؤالك:"
    assert QUOTE in reply
    assert PETRA not in reply and ALGHAD not in reply


def test_more_pages_keep_the_filters(bot: RunningBot) -> None:
    first = bot.ask(MEMBER, f'{QUESTION} outlet:"وكالة الانباء الاردنية"').result
    assert plain(first).startswith("المرشّحات: الوسيلة: «وكالة الانباء الاردنية»\n")
    data = buttons(first)[texts.MORE_BUTTON]
    mark = bot.send(bot.api.callback_query(MEMBER, MEMBER, first["message_id"], data))
    more = plain(bot.reply(MEMBER, mark, "نتائج أخرى").params)
    assert more.startswith("المرشّحات: الوسيلة: «وكالة الانباء الاردنية»\nنتائج أخرى (من 6 إلى ")
    cited = {s for s in (PETRA, ALGHAD, SAHEL, AMMAN) if s in plain(first) + more}
    assert cited == {PETRA}


def test_the_bot_names_a_bad_filter(bot: RunningBot) -> None:
    reply = plain(bot.ask(MEMBER, f"{QUESTION} from:2024-02-30").params)
    assert reply.splitlines() == [
        "لم أفهم المرشّح «from:2024-02-30»: لا يوجد تاريخ كهذا.",
        'مثال: outlet:"قناة الساحل" from:2024-03-01 to:2024-03-31',
    ]


def test_the_bot_says_an_outlet_is_unknown_and_lists_the_known(bot: RunningBot) -> None:
    reply = plain(bot.ask(MEMBER, f"{QUESTION} outlet:<b>الجبل</b>").params)
    assert reply.splitlines() == [
        "المرشّحات: الوسيلة: «<b>الجبل</b>»",
        "لا توجد في المصادر وسيلة باسم «<b>الجبل</b>».",
        f"الوسائل المتاحة: «{ALGHAD}»، «{PETRA}»، «{AMMAN}»، «{SAHEL}»",
    ]


def test_the_bot_says_when_no_document_is_in_the_period(bot: RunningBot) -> None:
    reply = plain(bot.ask(MEMBER, f"{QUESTION} from:2030-01-01").params)
    assert reply.splitlines() == [
        "المرشّحات: من: 2030-01-01 (استُبعدت 1 وثيقة بلا تاريخ)",
        "لا توجد في المصادر وثيقة تطابق هذه المرشّحات.",
    ]
    # and keeps serving
    assert QUOTE in plain(bot.ask(MEMBER, f'{QUESTION} outlet:"Amman Post"').params)
