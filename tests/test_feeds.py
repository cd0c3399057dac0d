"""Feeds end to end: RSS 2.0 and Atom served on 127.0.0.1, polled by `feeds --once` and by the
running bot, answered with the right outlet and date, never added twice, and every bad feed
reported in one line while the others carry on."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from bot_runner import ADMIN, MEMBER, RunningBot, StartBot, visible
from fake_bot_api import FakeBotAPI
from feed_site import ATOM_ARTICLES, ATOM_OUTLET, RSS_ARTICLES, RSS_TITLE, UNDATED, FeedSite

from bot.cli import main
from bot.settings import ConfigError, load_settings
from retrieval.ingest.feeds import FeedPoller
from retrieval.ingest.fetch import FetchLimits

MB = 1024 * 1024
INGEST = {"max_bytes": 2 * MB, "allow_private_addresses": True, "fetch_timeout": 1}


@pytest.fixture
def site() -> Iterator[FeedSite]:
    with FeedSite().serve() as running:
        yield running


def config_with_feeds(folder: Path, corpus: Path, api_root: str, feeds: list[dict]) -> Path:
    """A config like an operator's: the corpus, an index folder (uploads beside it), feeds."""
    path = folder / "config.yaml"
    config = {
        "corpus": {"path": str(corpus), "index_dir": str(folder / "index")},
        "access": {"admins": [ADMIN], "allowed_users": [MEMBER]},
        "telegram": {"api_url": api_root},
        "ingest": INGEST,
        "feeds": feeds,
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def ask_json(config: Path, question: str, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert main(["ask", question, "--json", "--config", str(config)]) == 0
    return json.loads(capsys.readouterr().out)


def uploads(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "uploads").glob("*.md"))


# ---- feeds --once, then ask ---------------------------------------------------------------


def test_feeds_once_adds_rss_and_atom_items_answerable_with_outlet_and_date(
    site: FeedSite, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feeds = [
        {"url": f"{site.base}/rss.xml"},  # outlet: the feed's own title
        {"url": f"{site.base}/atom.xml", "outlet": ATOM_OUTLET, "every": 5},
    ]
    config = config_with_feeds(tmp_path, corpus, "https://api.telegram.org", feeds)

    assert main(["feeds", "--once", "--config", str(config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{site.base}/rss.xml ({RSS_TITLE}): 2 added",
        f"{site.base}/atom.xml ({ATOM_OUTLET}): 1 added",
    ]
    assert len(uploads(tmp_path)) == 3

    for article, outlet in [
        (RSS_ARTICLES[0], RSS_TITLE),
        (RSS_ARTICLES[1], RSS_TITLE),
        (ATOM_ARTICLES[0], ATOM_OUTLET),
    ]:
        answer = ask_json(config, article.question, capsys)
        top = answer["hits"][0]
        assert top["text"] == article.fact
        assert top["sources"][0] == {
            "doc": top["doc"],
            "title": article.title,
            "url": f"{site.base}{article.path}",
            "outlet": outlet,
            "date": article.date,
        }
        assert top["doc"].startswith("uploads/")

    # A second run (a new process: only the seen-items file remembers) adds nothing.
    page_hits = site.hits[RSS_ARTICLES[0].path]
    assert main(["feeds", "--once", "--config", str(config)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{site.base}/rss.xml ({RSS_TITLE}): 0 added",
        f"{site.base}/atom.xml ({ATOM_OUTLET}): 0 added",
    ]
    assert len(uploads(tmp_path)) == 3
    assert site.hits[RSS_ARTICLES[0].path] == page_hits  # pages are not fetched again
    seen = json.loads((tmp_path / "feeds-seen.json").read_text(encoding="utf-8"))
    assert set(seen["feeds"]) == {f"{site.base}/rss.xml", f"{site.base}/atom.xml"}


def test_feeds_once_with_a_bad_config_exits_2_and_names_the_key(
    tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_with_feeds(tmp_path, corpus, "https://api.telegram.org", [{"url": "ftp://x"}])
    assert main(["feeds", "--once", "--config", str(config)]) == 2
    assert "key 'feeds[1].url' must be an http(s) URL" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("feeds", "message"),
    [
        ({"url": "https://a.example/rss"}, "key 'feeds' must be a list"),
        (
            [{"url": "https://a.example/rss", "every": 2}],
            "key 'feeds[1].every' must be a number from 5 to 604800, got 2",
        ),
        ([{"url": "https://a.example/rss", "color": "red"}], "unknown key 'feeds[1].color'"),
        ([{"url": "https://a.example/rss", "outlet": 5}], "key 'feeds[1].outlet' must be text"),
        ([{"url": "https://a.example/r"}, {"url": "https://a.example/r"}], "lists https://a"),
    ],
)
def test_bad_feed_settings_name_the_key(
    tmp_path: Path, corpus: Path, feeds: object, message: str
) -> None:
    path = tmp_path / "config.yaml"
    config = {"corpus": {"path": str(corpus), "index_dir": str(tmp_path / "i")}, "feeds": feeds}
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(path)


def test_feeds_need_an_uploads_folder(tmp_path: Path, corpus: Path) -> None:
    path = tmp_path / "config.yaml"
    config = {"corpus": {"path": str(corpus), "index_dir": None}, "feeds": [{"url": "https://a.b"}]}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(ConfigError, match="key 'feeds' needs an uploads folder"):
        load_settings(path)


def test_every_defaults_to_900_seconds_and_accepts_5(tmp_path: Path, corpus: Path) -> None:
    feeds = [{"url": "https://a.example/rss"}, {"url": "https://b.example/atom", "every": 5}]
    settings = load_settings(config_with_feeds(tmp_path, corpus, "https://api.telegram.org", feeds))
    assert [(f.url, f.outlet, f.every) for f in settings.feeds] == [
        ("https://a.example/rss", None, 900.0),
        ("https://b.example/atom", None, 5.0),
    ]


# ---- bad feeds ---------------------------------------------------------------------------


def test_each_bad_feed_gets_one_clear_line_and_the_good_feed_is_still_added(
    site: FeedSite, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from retrieval.ingest.feeds import Feed

    names = ["html-page", "xml-not-feed", "broken", "slow.xml", "loop", "huge.xml", "undated.xml"]
    feeds = [Feed(f"{site.base}/{name}") for name in names] + [Feed(f"{site.base}/atom.xml")]
    limits = FetchLimits(max_bytes=2 * MB, timeout=1, allow_private=True)
    poller = FeedPoller(feeds, tmp_path / "uploads", limits)
    caplog.set_level(logging.INFO, logger="retrieval.ingest.feeds")

    started = time.monotonic()
    results = {r.feed.url.rsplit("/", 1)[1]: r for r in poller.poll_all()}
    assert time.monotonic() - started < 30  # the slow and the huge feed are cut off

    errors = {name: results[name].error for name in names}
    assert errors == {
        "html-page": "not an RSS or Atom feed (XML) (Content-Type: text/html)",
        "xml-not-feed": "not an RSS or Atom feed",
        "broken": "answered HTTP 500 Internal Server Error",
        "slow.xml": "timed out after 1 s",
        "loop": "too many redirects (more than 5)",
        "huge.xml": "too large (more than 2 MB)",
        "undated.xml": None,
    }
    for name in names[:-1]:  # one warning naming the feed and the reason, each
        lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert [line for line in lines if f"/{name}:" in line] == [
            f"feed {site.base}/{name}: {errors[name]}"
        ]
        assert poller.statuses[f"{site.base}/{name}"].last_error == errors[name]

    # Items without dates or links: the undated one is stored without a date, the other
    # is skipped; one line each.
    undated = results["undated.xml"]
    assert len(undated.added) == 1
    assert undated.problems == ["item 'خبر بلا رابط' has no link; skipped"]
    messages = [r.getMessage() for r in caplog.records]
    assert f"feed {site.base}/undated.xml: item 'خبر بلا رابط' has no link; skipped" in messages
    assert (
        f"feed {site.base}/undated.xml: item {site.base}{UNDATED.path} has no date; "
        "stored without one" in messages
    )
    stored = (tmp_path / "uploads" / undated.added[0].removeprefix("uploads/")).read_text("utf-8")
    assert UNDATED.fact in stored
    assert "\ndate:" not in stored.split("\n---\n", 1)[0]
    assert results["atom.xml"].added and results["atom.xml"].error is None


def test_a_page_that_fails_is_retried_then_given_up(site: FeedSite, tmp_path: Path) -> None:
    from retrieval.ingest.feeds import Feed

    feed = Feed(f"{site.base}/rss.xml")
    limits = FetchLimits(max_bytes=2 * MB, timeout=1, allow_private=True)
    poller = FeedPoller([feed], tmp_path / "uploads", limits)
    gone = RSS_ARTICLES[1].path
    original = site.route

    def without_harvest(path: str) -> tuple[int, dict[str, str], bytes] | None:
        return (404, {}, b"") if path == gone else original(path)

    site.route = without_harvest  # type: ignore[method-assign]
    lines = [poller.poll(feed).problems for _ in range(4)]
    assert lines[0] == [f"{site.base}{gone}: answered HTTP 404 Not Found; will retry"]
    assert lines[2] == [f"{site.base}{gone}: answered HTTP 404 Not Found; given up after 3 tries"]
    assert lines[3] == []
    assert site.hits[gone] == 3


# ---- the running bot ------------------------------------------------------------------------


def plain(text: str) -> str:
    """Text without the direction marks and isolates the bot wraps around names."""
    return re.sub("[\u200f\u2066-\u2069]", "", text)


def wait_for_poll(bot: RunningBot, url: str, polls: int = 1, timeout: float = 30) -> None:
    from bot.feed_jobs import POLLER_KEY

    poller = bot.application.bot_data[POLLER_KEY]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = poller.statuses[url]
        if status.last_poll is not None and not bot.engine.reloading:
            return
        time.sleep(0.1)
    raise AssertionError(f"{url} was not polled within {timeout} s")


def test_the_bot_polls_feeds_answers_from_them_and_restarts_without_adding_twice(
    site: FeedSite, api: FakeBotAPI, corpus: Path, tmp_path: Path
) -> None:
    rss, broken = f"{site.base}/rss.xml", f"{site.base}/broken"
    feeds = [{"url": rss, "every": 5}, {"url": broken, "outlet": "موقع معطل", "every": 5}]
    config = config_with_feeds(tmp_path, corpus, api.root, feeds)

    with RunningBot.from_config(api, config) as bot:
        wait_for_poll(bot, rss)
        deadline = time.monotonic() + 20
        while len(bot.engine.snapshot.index.sources) < 7 and time.monotonic() < deadline:
            time.sleep(0.1)
        reply = visible(bot.ask(MEMBER, RSS_ARTICLES[0].question).params)
        assert RSS_ARTICLES[0].fact in reply
        assert f"{RSS_TITLE}، {RSS_ARTICLES[0].date}" in reply

        wait_for_poll(bot, broken)
        listing = plain(visible(bot.ask(ADMIN, "/feeds").params))
        assert "الخلاصات (2):" in listing
        assert f"{rss} — {RSS_TITLE}" in listing
        assert "ومنذ التشغيل 2" in listing  # 2 in the first poll, 0 in any later one
        assert f"{broken} — موقع معطل" in listing
        assert "آخر خطأ: answered HTTP 500 Internal Server Error" in listing
        refusal = visible(bot.ask(MEMBER, "/feeds").params)
        assert "للمشرفين فقط" in refusal
    assert len(uploads(tmp_path)) == 2

    with RunningBot.from_config(api, config) as bot:  # a restart: the seen file remembers
        wait_for_poll(bot, rss)
        from bot.feed_jobs import POLLER_KEY

        status = bot.application.bot_data[POLLER_KEY].statuses[rss]
        assert (status.last_added, status.added_total, status.last_error) == (0, 0, None)
        reply = visible(bot.ask(MEMBER, RSS_ARTICLES[1].question).params)
        assert RSS_ARTICLES[1].fact in reply
    assert len(uploads(tmp_path)) == 2


def test_feeds_without_config_say_so(start_bot: StartBot) -> None:
    bot = start_bot()
    assert "لا توجد خلاصات" in visible(bot.ask(ADMIN, "/feeds").params)


def test_a_stopping_bot_leaves_the_items_for_the_next_poll(site: FeedSite, tmp_path: Path) -> None:
    from retrieval.ingest.feeds import Feed

    feed = Feed(f"{site.base}/rss.xml")
    limits = FetchLimits(max_bytes=2 * MB, timeout=1, allow_private=True)
    poller = FeedPoller([feed], tmp_path / "uploads", limits)
    answers = iter([True, False])  # asked before each item: one item, then stop
    stopped = poller.poll(feed, keep_going=lambda: next(answers))
    assert len(stopped.added) == 1 and stopped.error is None
    later = FeedPoller([feed], tmp_path / "uploads", limits).poll(feed)  # after a restart
    assert len(later.added) == 1
    assert stopped.added != later.added
    assert len(uploads(tmp_path)) == 2
