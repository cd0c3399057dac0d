"""Download one web page for `/add URL`: HTML only, bounded in time and size, and never
from an address inside the network the bot runs in (unless allowed).

The bot fetches whatever URL an admin pastes, from inside the newsroom's network. Without
a guard, `/add http://10.0.0.5/admin` or a public page that redirects to
`http://169.254.169.254/` (a cloud metadata service) would make it a probe of internal
services. So every hop's host is resolved here, each address it resolves to is checked
(`blocked_reason`), and the connection goes to the checked address itself with the
original name in the Host header and TLS SNI: a DNS answer that changes between the
check and the connection (DNS rebinding) cannot redirect it. Redirects are followed by
hand for the same reason: each `Location` is checked like the first URL.

httpx is python-telegram-bot's own HTTP client, so it adds no dependency.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import httpx

from retrieval.ingest.models import IngestError

HTML_TYPES = ("text/html", "application/xhtml+xml")
# What feeds are served as (retrieval/ingest/feeds.py); many servers use text/xml.
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/xml",
    "text/xml",
    "application/rdf+xml",
)
USER_AGENT = "coverage-bot/0.1 (newsroom coverage archive)"


@dataclass(frozen=True, slots=True)
class FetchLimits:
    max_bytes: int = 20 * 1024 * 1024
    timeout: float = 20.0  # seconds for the whole download, every hop included
    max_redirects: int = 5
    allow_private: bool = False  # tests and intranet deployments only (see README)


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # after redirects
    data: bytes
    content_type: str


def fetch_html(url: str, limits: FetchLimits) -> Fetched:
    """The HTML page at `url`; raises IngestError naming the URL and the reason."""
    return fetch(url, limits, HTML_TYPES, "an HTML page")


def fetch(url: str, limits: FetchLimits, types: tuple[str, ...], kind: str) -> Fetched:
    """The document at `url` if its Content-Type is one of `types` (else refused as not
    `kind`); raises IngestError naming the URL and the reason."""
    deadline = time.monotonic() + limits.timeout
    current = url.strip()
    # No connection is reused: one made for a checked host (and its TLS name) must not
    # carry a request for another host that resolves to the same address.
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(follow_redirects=False, trust_env=False, limits=no_reuse) as client:
        for _hop in range(limits.max_redirects + 1):
            response_or_next = _one_hop(client, current, limits, deadline, types, kind)
            if isinstance(response_or_next, Fetched):
                return response_or_next
            current = response_or_next
    raise IngestError(url, f"too many redirects (more than {limits.max_redirects})")


def _one_hop(
    client: httpx.Client,
    url: str,
    limits: FetchLimits,
    deadline: float,
    types: tuple[str, ...],
    kind: str,
) -> Fetched | str:
    """Fetch `url` once: the page, or the URL a redirect points to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IngestError(url, "not an http(s) link")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _checked_address(url, host, port, limits.allow_private)
    target = _with_address(parts, address, port)
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": USER_AGENT}
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise IngestError(url, f"timed out after {limits.timeout:g} s")
    try:
        with client.stream(
            "GET",
            target,
            headers=headers,
            extensions=extensions,
            timeout=httpx.Timeout(remaining),
        ) as response:
            if response.is_redirect:
                location = response.headers.get("Location", "")
                if not location:
                    raise IngestError(url, f"answered HTTP {response.status_code} without a target")
                return urljoin(url, location)
            if response.status_code >= 400:
                phrase = response.reason_phrase or ""
                raise IngestError(url, f"answered HTTP {response.status_code} {phrase}".strip())
            content_type = response.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip().lower() not in types:
                shown = content_type or "none given"
                raise IngestError(url, f"not {kind} (Content-Type: {shown})")
            data = _read_capped(response, url, limits, deadline)
    except httpx.TimeoutException as exc:
        raise IngestError(url, f"timed out after {limits.timeout:g} s") from exc
    except httpx.HTTPError as exc:
        raise IngestError(url, f"could not be fetched ({type(exc).__name__}: {exc})") from exc
    return Fetched(url, data, content_type)


def _read_capped(response: httpx.Response, url: str, limits: FetchLimits, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise IngestError(url, f"too large ({int(declared):,} bytes; limit {_mb(limits)})")
    chunks = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limits.max_bytes:
            raise IngestError(url, f"too large (more than {_mb(limits)})")
        if time.monotonic() > deadline:  # a server dripping bytes never hits the read timeout
            raise IngestError(url, f"timed out after {limits.timeout:g} s")
        chunks.append(chunk)
    return b"".join(chunks)


def _checked_address(url: str, host: str, port: int, allow_private: bool) -> str:
    """The first address `host` resolves to, once every address it resolves to is allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise IngestError(url, f"host {host} not found") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise IngestError(url, f"host {host} not found")
    if not allow_private:
        for address in addresses:
            reason = blocked_reason(address)
            if reason is not None:
                raise IngestError(
                    url,
                    f"refused: {host} is {reason} ({address}); the bot fetches public "
                    "pages only (ingest.allow_private_addresses)",
                )
    return addresses[0]


def blocked_reason(address: str) -> str | None:
    """Why the bot must not connect to `address` (an internal address), or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return blocked_reason(str(embedded))
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),  # e.g. carrier-grade NAT 100.64/10
    )
    return next((reason for hit, reason in checks if hit), None)


def _with_address(parts: SplitResult, address: str, port: int) -> str:
    """The URL with its host replaced by the checked address (the path and query kept)."""
    host = f"[{address}]" if ":" in address else address
    return urlunsplit((parts.scheme, f"{host}:{port}", parts.path or "/", parts.query, ""))


def _mb(limits: FetchLimits) -> str:
    return f"{limits.max_bytes / 1024 / 1024:g} MB"
