"""Fetching a page for /add: the address guard, and the request it sends."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest
from ingest_samples import html_page

from retrieval.ingest import IngestError
from retrieval.ingest.fetch import FetchLimits, blocked_reason, fetch_html


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),  # IPv4-mapped IPv6
        ("::ffff:10.1.2.3", "a private address"),
        ("10.0.0.5", "a private address"),
        ("172.16.4.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd00::1", "a private address"),
        ("169.254.169.254", "a link-local address"),  # cloud metadata services
        ("fe80::1", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("240.0.0.1", "a private address"),  # reserved; Python counts it private too
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        ("2002:7f00:1::", "a loopback address"),  # 6to4 wrapping 127.0.0.1
    ],
)
def test_internal_addresses_are_blocked(address: str, reason: str):
    assert blocked_reason(address) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str):
    assert blocked_reason(address) is None


class _Echo(http.server.BaseHTTPRequestHandler):
    hosts: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Echo.hosts.append(self.headers.get("Host", ""))
        body = html_page()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_name_is_resolved_once_and_the_checked_address_is_used_with_its_host(port: int):
    _Echo.hosts.clear()
    fetched = fetch_html(f"http://localhost:{port}/a?b=1", FetchLimits(allow_private=True))
    assert fetched.data == html_page()
    assert fetched.url == f"http://localhost:{port}/a?b=1"
    assert _Echo.hosts == [f"localhost:{port}"]


def test_a_name_that_resolves_to_loopback_is_refused(port: int):
    with pytest.raises(IngestError) as caught:
        fetch_html(f"http://localhost:{port}/", FetchLimits())
    assert "refused: localhost is a loopback address" in str(caught.value)
    assert caught.value.culprit == f"http://localhost:{port}/"


@pytest.mark.parametrize("url", ["ftp://example.org/x", "file:///etc/passwd", "javascript:x"])
def test_only_http_links_are_fetched(url: str):
    with pytest.raises(IngestError, match="not an http"):
        fetch_html(url, FetchLimits(allow_private=True))


def test_a_dns_answer_that_changes_after_the_check_does_not_move_the_connection(
    port: int, monkeypatch: pytest.MonkeyPatch
):
    """DNS rebinding: the name resolves to the checked address once, then elsewhere.
    The connection goes to the address that was checked, never to a second answer."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1"])

    def rebinding(host, *args, **kwargs):
        if host == "news.example":
            address = next(answers, "10.255.255.1")  # a later answer: an internal address
            return real(address, *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    _Echo.hosts.clear()
    fetched = fetch_html(f"http://news.example:{port}/", FetchLimits(allow_private=True))
    assert fetched.data == html_page()
    assert _Echo.hosts == [f"news.example:{port}"]
