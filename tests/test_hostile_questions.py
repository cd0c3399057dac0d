"""Odd and hostile questions: always a sensible reply or a short clear message.

Named cases go end to end through the fake Bot API, which checks HTML the way
Telegram does, so a reply that Telegram would refuse with "can't parse entities"
or "message is too long" fails here too. Properties (hypothesis) drive the real
search and rendering with arbitrary questions and arbitrary corpus text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from bot_runner import MEMBER, TOKEN, RunningBot, copy_seeds, visible, write_config
from fake_bot_api import FakeBotAPI, parse_html, utf16_len
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import render, texts
from bot.settings import load_settings
from retrieval.index import SentenceIndex
from retrieval.models import Hit, Sentence, Source
from retrieval.search import search

HEADER = "أقرب الجمل إلى سؤالك:"
NO_HITS = texts.NO_HITS.split("\n")[0]
EMPTY = texts.EMPTY_QUESTION

# A search may or may not find something for markup pasted into a question (its
# words count too); either way the reply must be a proper one.
ANY_REPLY = (HEADER, NO_HITS)
# name -> (question, what the first reply must hold: one of these)
NAMED = {
    "punctuation only": ("؟!… ،؛ ...", (EMPTY,)),
    "emoji only": ("😀🔥🇸🇾👍🏽", (EMPTY,)),
    "zero-width and direction marks only": ("\u200f\u200b\u202e\u200d", (EMPTY,)),
    "diacritics only": ("َُِّْ", (EMPTY,)),
    "10,000 characters": (("ماذا قال كيم عن الإمبريالية وعن بوتين؟ " * 300)[:10_000], (HEADER,)),
    "mixed Arabic, Latin and digits": ("ماذا قال Kim كيم عن الإمبريالية في 2023؟", (HEADER,)),
    "Arabic-Indic digits": ("قمة ٢٠٢٣ بين كيم وبوتين", (HEADER,)),
    "RLM, ZWSP and RLO inside words": ("\u200fماذا قال\u200b كيم عن \u202eالإمبريالية؟", (HEADER,)),
    "a bold tag": ("<b>كيم</b> والإمبريالية", (HEADER,)),
    "a closing link tag": ("</a> بوتين <a href='x'>", ANY_REPLY),
    "an HTML entity": ("&amp; &lt;b&gt; كيم والإمبريالية", ANY_REPLY),
    "null bytes": ("\x00كيم\x00 والإمبريالية\x00", (HEADER,)),
    "a question about nothing in the corpus": ("أسعار القهوة في البرازيل", (NO_HITS,)),
}


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    folder = tmp_path_factory.mktemp("hostile")
    with FakeBotAPI(token=TOKEN) as api:
        config = write_config(
            folder, copy_seeds(folder / "corpus"), api, access={"questions_per_minute": 600}
        )
        with RunningBot(api, load_settings(config)) as running:
            yield running


@pytest.mark.parametrize("case", NAMED, ids=list(NAMED))
def test_an_odd_question_gets_a_sensible_reply_not_an_error(
    bot: RunningBot, caplog: pytest.LogCaptureFixture, case: str
):
    question, expected = NAMED[case]
    with caplog.at_level(logging.WARNING):
        since = bot.send(bot.api.private_message(MEMBER, question))
        first = bot.reply(MEMBER, since)
    shown = visible(first.params)
    assert any(opening in shown for opening in expected), shown
    refused = [c for c in bot.api.calls[since:] if c.method == "sendMessage" and not c.ok]
    assert not refused, [c.error for c in refused]  # e.g. "can't parse entities"
    assert "error while handling" not in caplog.text and "Traceback" not in caplog.text


def test_telegram_entities_in_the_question_do_not_leak_into_the_search(bot: RunningBot):
    question = "ماذا قال #كيم عن الإمبريالية؟ https://example.org @someone"
    entities = [
        {"type": "hashtag", "offset": 9, "length": 4},
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "url", "offset": 30, "length": 19},
        {"type": "mention", "offset": 50, "length": 8},
    ]
    update = bot.api.private_message(MEMBER, question, entities=entities)
    since = bot.send(update)
    reply = bot.reply(MEMBER, since)
    assert any(opening in visible(reply.params) for opening in ANY_REPLY)


def test_an_ask_command_with_only_spaces_explains_the_usage(bot: RunningBot):
    since = bot.send(bot.api.private_message(MEMBER, "/ask    "))
    assert "اكتب سؤالك بعد الأمر" in visible(bot.reply(MEMBER, since).params)


# --- properties over the real search and rendering ---------------------------------------

HOSTILE = [
    *"كيمبوتنقمةالإمبريالية فوستوشني٠١٢٣٤٥٦٧٨٩0123456789abcXYZ",
    *"<>&\"'/;#@=?!؟…،؛:«»()[]{}\\\n\t ",
    "\u200f", "\u200e", "\u200b", "\u200d", "\u202e", "\u202b", "\u2067", "\u2069",
    "\x00", "\x1b", "\ufeff", "\ud800", "\udfff", "ﻻ", "😀", "🇸🇾", "\u0651", "\u064b",
    "<b>", "</b>", "</a>", "<a href=\"x\">", "&amp;", "&lt;", "&#x41;", "&", "<tg-spoiler>",
]  # fmt: skip
QUESTIONS = st.lists(st.sampled_from(HOSTILE), max_size=120).map("".join) | st.text(max_size=300)
TEXTS = (
    st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=400)
    .map("".join)
    .filter(
        lambda t: "\ud800" not in t and "\udfff" not in t  # corpus text is decoded UTF-8
    )
)


def assert_valid_messages(messages: list[str]) -> None:
    for message in messages:
        text, _ = parse_html(message)  # raises like Telegram's "can't parse entities"
        assert text.strip(), "Telegram refuses an empty message"
        assert utf16_len(message) <= 4096


@given(QUESTIONS)
@settings(max_examples=200, deadline=None)
def test_any_question_renders_to_valid_telegram_html(seed_index: SentenceIndex, question: str):
    # Around a name the seeds hold, with the relevance cut-off off, so there are always
    # hits: the answer itself (not only the "nothing found" text) meets the noise.
    result = search(seed_index, f"{question} بوتين {question}", min_coverage=0.0)
    assert result.hits
    assert any("بوتين" in hit.text for hit in result.hits)
    assert_valid_messages(render.render_answer(result.hits))


@st.composite
def hostile_hits(draw: st.DrawFn) -> list[Hit]:
    hits = []
    for rank in range(1, draw(st.integers(1, 6)) + 1):
        text = draw(TEXTS | st.text(min_size=1, max_size=5000).filter(str.strip))
        cuts = sorted(draw(st.lists(st.integers(-5, len(text) + 5), max_size=8)))
        spans = tuple(zip(cuts[::2], cuts[1::2], strict=False))
        source = Source(
            doc=draw(TEXTS),
            title=draw(TEXTS),
            outlet=draw(st.none() | TEXTS),
            url=draw(st.none() | st.sampled_from(["https://x.org/a?b=1&c=<2>", "javascript:x"])),
            date=draw(st.none() | TEXTS),
        )
        sentence = Sentence(doc=source.doc, position=rank, start=0, end=len(text), text=text)
        hits.append(Hit(rank, 1.0, sentence, (source,), spans))
    return hits


@given(hostile_hits())
@settings(max_examples=150, deadline=None)
def test_any_corpus_sentence_renders_to_valid_telegram_html(hits: list[Hit]):
    assert_valid_messages(render.render_answer(hits))
    source = hits[0].sources[0]
    assert_valid_messages(
        render.render_context(
            1, source, [h.sentence for h in hits], focus=hits[0].sentence.position
        )
    )
    page = render.render_sources([h.sources[0] for h in hits], [1] * len(hits), page=1)
    assert_valid_messages([page.text])
