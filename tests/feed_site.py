"""A news site on 127.0.0.1 for feed tests: RSS 2.0 and Atom feeds with Arabic items, their
article pages, and feeds that misbehave (not XML, HTTP 500, slow, endless redirects, 100 MB).

Standard library only; every route is a real HTTP answer, so the bot's fetcher, parser
and extractor run unchanged.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

RSS_TITLE = "وكالة أنباء الشمال"
ATOM_OUTLET = "قناة الساحل"


@dataclass(frozen=True)
class Article:
    path: str
    title: str
    fact: str  # the one sentence only this article holds
    question: str
    date: str  # the feed's published date, as the corpus should cite it


RSS_ARTICLES = (
    Article(
        "/news/bridge.html",
        "افتتاح جسر الوادي الجديد",
        "وبلغ طول جسر الوادي الجديد أربعمئة وعشرين مترا فوق نهر الزرقاء.",
        "كم بلغ طول جسر الوادي الجديد؟",
        "2024-10-08",
    ),
    Article(
        "/news/harvest.html",
        "موسم قطاف التمور في الواحة",
        "وجمع مزارعو واحة الأزرق تسعة آلاف طن من التمور خلال موسم القطاف.",
        "كم طنا من التمور جمع مزارعو واحة الأزرق؟",
        "2024-10-09",
    ),
)
ATOM_ARTICLES = (
    Article(
        "/coast/port.html",
        "توسعة ميناء العقبة",
        "وأعلنت سلطة الميناء أن رصيف الحاويات الجديد يستقبل ست سفن في وقت واحد.",
        "كم سفينة يستقبل رصيف الحاويات الجديد؟",
        "2024-10-11",
    ),
)
# An item whose page states no date, listed in a feed without dates.
UNDATED = Article(
    "/news/library.html",
    "مكتبة الحي القديم",
    "وضمّت مكتبة الحي القديم ثلاثة آلاف مخطوطة نادرة بعد ترميمها.",
    "كم مخطوطة ضمت مكتبة الحي القديم؟",
    "",
)


def article_page(article: Article) -> bytes:
    """A news page: the article between a menu and a footer (no date in the page)."""
    return f"""<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8">
<title>{article.title}</title></head>
<body><nav><a href="/">الرئيسية</a> <a href="/sport">رياضة</a></nav>
<article><h1>{article.title}</h1>
<p>قال مسؤولون محليون إن المشروع جاء بعد سنوات من التخطيط والمطالبات الشعبية في المنطقة.</p>
<p>{article.fact}</p>
<p>وأضافوا أن الأعمال ستتواصل خلال الأشهر المقبلة وفق الجدول المعلن.</p></article>
<footer>جميع الحقوق محفوظة</footer></body></html>""".encode()


def rss_feed(base: str, articles: tuple[Article, ...] = RSS_ARTICLES) -> bytes:
    items = "".join(
        f"""<item><title>{a.title}</title><link>{base}{a.path}</link>
<guid isPermaLink="false">rss-{a.path}</guid>
<pubDate>{time.strftime("%a, %d %b %Y 09:30:00 +0000", time.strptime(a.date, "%Y-%m-%d"))}</pubDate>
<description>{a.title}</description></item>"""
        for a in articles
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>{RSS_TITLE}</title><link>{base}/</link>
<description>أخبار الشمال</description>{items}</channel></rss>""".encode()


def atom_feed(base: str, articles: tuple[Article, ...] = ATOM_ARTICLES) -> bytes:
    entries = "".join(
        f"""<entry><title>{a.title}</title><link href="{base}{a.path}"/>
<id>tag:coast.example,2024:{a.path}</id>
<published>{a.date}T07:00:00Z</published><updated>{a.date}T08:00:00Z</updated>
<summary>{a.title}</summary></entry>"""
        for a in articles
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>أخبار الساحل</title>
<id>tag:coast.example,2024:feed</id><updated>2024-10-11T08:00:00Z</updated>
{entries}</feed>""".encode()


def undated_feed(base: str) -> bytes:
    """Items without dates, one of them without a link either."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>نشرة بلا تواريخ</title><link>{base}/</link>
<description>-</description>
<item><title>{UNDATED.title}</title><link>{base}{UNDATED.path}</link></item>
<item><title>خبر بلا رابط</title><description>نص قصير</description></item>
</channel></rss>""".encode()


class FeedSite:
    """The site's routes; `serve()` runs it on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.base = ""
        self.hits: dict[str, int] = {}
        self.slow_seconds = 3.0

    def route(self, path: str) -> tuple[int, dict[str, str], bytes] | None:
        pages = {a.path: a for a in (*RSS_ARTICLES, *ATOM_ARTICLES, UNDATED)}
        xml = {"Content-Type": "application/rss+xml; charset=utf-8"}
        if path == "/rss.xml":
            return 200, xml, rss_feed(self.base)
        if path == "/atom.xml":
            return 200, {"Content-Type": "application/atom+xml"}, atom_feed(self.base)
        if path == "/undated.xml":
            return 200, {"Content-Type": "text/xml"}, undated_feed(self.base)
        if path in pages:
            return 200, {"Content-Type": "text/html; charset=utf-8"}, article_page(pages[path])
        if path == "/html-page":  # a web page where a feed was expected
            return 200, {"Content-Type": "text/html"}, b"<html><body>not a feed</body></html>"
        if path == "/xml-not-feed":  # XML, but neither RSS nor Atom
            body = b"<?xml version='1.0'?><inventory><box>1</box></inventory>"
            return 200, {"Content-Type": "application/xml"}, body
        if path == "/broken":
            return 500, {"Content-Type": "text/plain"}, b"server error"
        if path == "/loop":
            return 302, {"Location": "/loop"}, b""
        return None

    def handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        self.hits[path] = self.hits.get(path, 0) + 1
        if path == "/slow.xml":
            time.sleep(self.slow_seconds)
        if path == "/huge.xml":  # 100 MB of XML, without a Content-Length
            handler.send_response(200)
            handler.send_header("Content-Type", "application/rss+xml")
            handler.end_headers()
            chunk = b"<!-- " + b"x" * 65_000 + b" -->"
            with contextlib.suppress(OSError):
                for _ in range(100 * 1024 * 1024 // len(chunk)):
                    handler.wfile.write(chunk)
            return
        answer = self.route(path) if path != "/slow.xml" else (200, {}, b"")
        if answer is None:
            answer = (404, {"Content-Type": "text/plain"}, b"not found")
        status, headers, body = answer
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        with contextlib.suppress(OSError):
            handler.wfile.write(body)

    @contextlib.contextmanager
    def serve(self) -> Iterator[FeedSite]:
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.handle(self)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.base = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
