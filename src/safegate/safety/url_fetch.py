"""Fetching a page to classify its text, under strict limits.

``fetch_page(url, limits)`` reads one http(s) page and returns its visible text. It is
built for pages that may be hostile:

* one deadline for everything (name resolution, connecting, TLS, every redirect, headers
  and body): ``FetchLimits.timeout`` seconds, 3 by default; a watchdog closes the socket
  when it passes, so a server that trickles bytes cannot hold the fetch open;
* at most ``max_bytes`` of body (512 KiB; also after decompression); the text of what was
  read is still returned, marked ``truncated``;
* only ``http`` and ``https``, at most ``max_redirects`` redirects, each one checked again;
* the host's addresses are resolved first and the connection goes to a checked address
  (no second lookup a rebinding name could change): loopback, private, link-local,
  multicast, reserved and unspecified addresses are refused, loopback allowed only with
  ``allow_loopback`` (tests);
* only ``text/html`` and ``text/plain``;
* no cookies, no credentials, ``Accept-Encoding: gzip, identity``.

TLS certificates are *not* verified: the page is only read to classify it, never
trusted, and phishing pages often have broken certificates that must not hide them.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

__all__ = ["FetchError", "FetchLimits", "Page", "fetch_page", "visible_text"]

USER_AGENT = "SafeGate-URL-check/0.1 (content safety; +https://github.com/safegate)"
TEXT_TYPES = ("text/html", "text/plain", "application/xhtml+xml")
REDIRECTS = (301, 302, 303, 307, 308)


class FetchError(Exception):
    """The page could not be read within the limits; the message says why.
    ``retry_other_scheme``: the failure was at connection level (refused, TLS), so the
    same name over the other scheme may still work."""

    def __init__(self, message: str, *, retry_other_scheme: bool = False) -> None:
        super().__init__(message)
        self.retry_other_scheme = retry_other_scheme


@dataclass(frozen=True)
class FetchLimits:
    timeout: float = 3.0  # seconds for the whole fetch, redirects included
    max_bytes: int = 512 * 1024
    max_redirects: int = 3
    allow_loopback: bool = False  # tests only: let 127.0.0.1 / ::1 through
    # Tests only: host name → (address, port) to connect to instead of resolving it
    # (like curl's --connect-to); the address is still checked.
    connect_to: dict[str, tuple[str, int]] = field(default_factory=dict)
    user_agent: str = USER_AGENT


@dataclass(frozen=True)
class Page:
    url: str
    final_url: str
    status: int
    content_type: str
    charset: str
    text: str
    bytes_read: int
    truncated: bool
    redirects: tuple[str, ...]


# ---------------------------------------------------------------- addresses


def _address_problem(ip: str, limits: FetchLimits) -> str | None:
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr.is_loopback:
        return None if limits.allow_loopback else "a loopback address"
    if addr.is_private or addr.is_link_local or addr.is_multicast or addr.is_reserved \
            or addr.is_unspecified or (addr.version == 4 and addr in _CGNAT):
        return "a private or reserved address"
    return None


_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def _resolve(host: str, port: int, deadline: float, limits: FetchLimits) -> str:
    """A checked address to connect to (every address the name has must pass)."""
    if host in limits.connect_to:
        ip, _ = limits.connect_to[host]
        addrs = [ip]
    else:
        try:
            ipaddress.ip_address(host)
            addrs = [host]
        except ValueError:
            addrs = _getaddrinfo(host, port, deadline)
    for ip in addrs:
        problem = _address_problem(ip, limits)
        if problem is not None:
            raise FetchError(f"{host} resolves to {ip}, {problem}: not fetched")
    return addrs[0]


def _getaddrinfo(host: str, port: int, deadline: float) -> list[str]:
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True, name="safegate-url-resolve")
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise FetchError(f"resolving {host} timed out")
    if "error" in box:
        raise FetchError(f"cannot resolve {host}: {box['error']}")
    infos = box["infos"]
    assert isinstance(infos, list)
    addrs = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addrs:
        raise FetchError(f"{host} has no address")
    return addrs


# ---------------------------------------------------------------- connections


class _HTTP(http.client.HTTPConnection):
    """Connects to a given, already checked address; ``Host`` stays the name."""

    def __init__(self, host: str, port: int, ip: str, connect_port: int,
                 timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.ip, self.connect_port = ip, connect_port

    def connect(self) -> None:
        self.sock = socket.create_connection((self.ip, self.connect_port), self.timeout)


class _HTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, ip: str, connect_port: int,
                 timeout: float) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        super().__init__(host, port, timeout=timeout, context=context)
        self.ip, self.connect_port = ip, connect_port
        self.context = context

    def connect(self) -> None:
        raw = socket.create_connection((self.ip, self.connect_port), self.timeout)
        try:
            server_name = None if _is_ip(self.host) else self.host
            self.sock = self.context.wrap_socket(raw, server_hostname=server_name)
        except BaseException:
            raw.close()
            raise


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _abort(conn: http.client.HTTPConnection) -> None:
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


# ---------------------------------------------------------------- fetching


def fetch_page(url: str, limits: FetchLimits | None = None) -> Page:
    """Read ``url`` within ``limits`` (``FetchError`` with the reason if that fails)."""
    limits = limits or FetchLimits()
    deadline = time.monotonic() + limits.timeout
    redirects: list[str] = []
    current = url
    for _ in range(limits.max_redirects + 1):
        outcome = _one(current, limits, deadline)
        if isinstance(outcome, str):
            redirects.append(current)
            current = outcome
            continue
        status, headers, body, truncated = outcome
        return _page(url, current, status, headers, body, truncated, tuple(redirects))
    raise FetchError(f"more than {limits.max_redirects} redirects")


def _one(url: str, limits: FetchLimits, deadline: float) -> (
        str | tuple[int, http.client.HTTPMessage, bytes, bool]):
    """Fetch one URL: the next URL for a redirect, else (status, headers, body, truncated)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"only http and https are fetched, not {scheme or 'no scheme'}:")
    try:
        host = parts.hostname
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise FetchError(f"bad URL {url!r}: {exc}") from exc
    if not host:
        raise FetchError(f"bad URL {url!r}: no host")
    connect_port = limits.connect_to[host][1] if host in limits.connect_to else port
    ip = _resolve(host, connect_port, deadline, limits)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError(f"timed out after {limits.timeout:g} s")
    cls = _HTTPS if scheme == "https" else _HTTP
    conn = cls(host, port, ip, connect_port, remaining)
    watchdog = threading.Timer(remaining, _abort, (conn,))
    watchdog.daemon = True
    watchdog.start()
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.putrequest("GET", target, skip_accept_encoding=True)
        conn.putheader("User-Agent", limits.user_agent)
        conn.putheader("Accept", "text/html,text/plain;q=0.9")
        conn.putheader("Accept-Encoding", "gzip, identity")
        conn.putheader("Connection", "close")
        conn.endheaders()
        response = conn.getresponse()
        if response.status in REDIRECTS:
            location = response.getheader("Location")
            if not location:
                raise FetchError(f"HTTP {response.status} without a Location")
            return urljoin(url, location.strip())
        if response.status >= 400:
            raise FetchError(f"HTTP {response.status} {response.reason}")
        ctype = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if ctype and ctype not in TEXT_TYPES:
            raise FetchError(f"content type {ctype} is not a text page: not read")
        body, truncated = _read_body(response, conn, limits, deadline)
        return response.status, response.msg, body, truncated
    except FetchError:
        raise
    except TimeoutError as exc:
        raise FetchError(f"timed out after {limits.timeout:g} s") from exc
    except (ssl.SSLError, ConnectionRefusedError, ConnectionResetError) as exc:
        if time.monotonic() >= deadline:
            raise FetchError(f"timed out after {limits.timeout:g} s") from exc
        raise FetchError(f"cannot connect to {host}:{port}: {exc}",
                         retry_other_scheme=True) from exc
    except (OSError, http.client.HTTPException) as exc:
        if time.monotonic() >= deadline:
            raise FetchError(f"timed out after {limits.timeout:g} s") from exc
        raise FetchError(f"cannot read {url}: {exc or type(exc).__name__}",
                         retry_other_scheme=isinstance(exc, OSError)) from exc
    finally:
        watchdog.cancel()
        conn.close()


def _read_body(response: http.client.HTTPResponse, conn: http.client.HTTPConnection,
               limits: FetchLimits, deadline: float) -> tuple[bytes, bool]:
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip", "deflate", ""):
        raise FetchError(f"content encoding {encoding} is not supported")
    inflate = None
    if encoding in ("gzip", "x-gzip"):
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflate = zlib.decompressobj()
    out = bytearray()
    cap = limits.max_bytes
    while len(out) < cap:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(f"timed out after {limits.timeout:g} s")
        if conn.sock is not None:
            conn.sock.settimeout(remaining)
        chunk = response.read1(65536)
        if not chunk:
            if time.monotonic() >= deadline:  # the watchdog closed the socket
                raise FetchError(f"timed out after {limits.timeout:g} s")
            return bytes(out), False
        if inflate is not None:
            try:
                chunk = inflate.decompress(chunk, cap + 1 - len(out))
            except zlib.error as exc:
                raise FetchError(f"bad {encoding} body: {exc}") from exc
        out += chunk
    return bytes(out[:cap]), True


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def _page(url: str, final: str, status: int, headers: http.client.HTTPMessage, body: bytes,
          truncated: bool, redirects: tuple[str, ...]) -> Page:
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower() or "text/html"
    charset = headers.get_content_charset()
    if charset is None:
        found = _META_CHARSET.search(body[:4096])
        charset = found.group(1).decode("ascii").lower() if found else "utf-8"
    try:
        decoded = body.decode(charset, errors="replace")
    except LookupError:
        charset = "utf-8"
        decoded = body.decode(charset, errors="replace")
    text = visible_text(decoded) if "html" in ctype else decoded
    return Page(url, final, status, ctype, charset, text, len(body), truncated, redirects)


# ---------------------------------------------------------------- visible text


_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "math", "iframe",
                   "object", "canvas"})
_BLOCK = frozenset({"p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2",
                    "h3", "h4", "h5", "h6", "section", "article", "header", "footer", "nav",
                    "aside", "main", "form", "button", "title", "blockquote", "pre", "dd",
                    "dt", "option", "label", "figcaption", "hr"})


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
            self.parts.append("\n")
        elif tag in _SKIP:
            self.skip += 1
        elif tag == "meta" and not self.skip:
            names = {k: (v or "") for k, v in attrs}
            if names.get("name", "").lower() in ("description", "keywords") or \
                    names.get("property", "").lower() in ("og:title", "og:description"):
                self.parts.append("\n" + names.get("content", "") + "\n")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt and not self.skip:
                self.parts.append(f" {alt} ")
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            return  # <svg/>: nothing to skip
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
            self.parts.append("\n")
        elif tag in _SKIP and self.skip:
            self.skip -= 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip or self.in_title:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The text a reader sees (title, description and body; no scripts or styles), one
    block per line."""
    parser = _TextParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; never let a broken page raise
        pass
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)
