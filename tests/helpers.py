"""Test helpers, in one module: fake DNS and DoH upstreams, a loop thread, PostgreSQL
schemas, real servers for lists and pages, DNS queries and the command line."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import http.server
import importlib.util
import os
import secrets
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from safegate.lists.index import DomainIndex
from safegate.store.db import MIGRATIONS_DIR, make_engine, migrate, session_factory, sqlite_url
from safegate.store.repo import (
    create_demo_household,
)

# ---- scripts and data directories

REPO = Path(__file__).resolve().parent.parent


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` (the doc generators) as a module."""
    path = REPO / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def demo_data_dir(data: Path) -> Path:
    """A SQLite data directory ``data`` with the demo household in it, without its weekly
    windows (answers that do not depend on the hour; `safegate serve --demo` on it keeps it
    so)."""
    from safegate.store import make_engine

    engine = make_engine(sqlite_url(data))
    migrate(engine)
    with session_factory(engine).begin() as session:
        create_demo_household(session, schedules=False)
    engine.dispose()
    return data


def index_hit(index: DomainIndex, name: str, enabled: Iterable[int] | None = None,
              ) -> tuple[str, str, bool] | None:
    """(list key, entry, allow) of the deciding hit with ``enabled`` lists (default all)."""
    verdicts = index.verdicts(range(len(index.lists)) if enabled is None else enabled)
    found = index.lookup(name, verdicts)
    if found is None:
        return None
    return index.lists[found.list_id].spec.key, found.entry, found.allow


# ---- fake upstreams (UDP, TCP, DoH) and a loop in a thread

@dataclass
class Behaviour:
    """What the fake upstream does; tests change it while servers run."""

    mode: str = "normal"  # normal | dead | slow | servfail | lie | refuse
    delay: float = 0.0
    ttl: int = 300
    address: str = "192.0.2.1"
    # name → list of (type, value) in answer order, e.g. [("CNAME", "x.example."), ...]
    records: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    nxdomain: set[str] = field(default_factory=set)
    many: set[str] = field(default_factory=set)  # names answered with 60 A records
    truncate_udp: bool = False  # answer UDP with TC=1 for names in ``many``
    smash_case: bool = False  # echo the question name in lower case (breaks 0x20)


class FakeUpstream:
    """A DNS server that answers like a recursive resolver, following ``behaviour``."""

    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.queries: list[tuple[str, str, str]] = []  # (transport, name, type)
        self.names_as_sent: list[str] = []  # question names with the case they came in
        self.udp_sources: list[tuple[str, int]] = []  # (address, port) of each UDP query
        self.ids: list[int] = []  # message ID of each query
        self.port = 0
        self._runner = LoopThread()

    def start(self) -> FakeUpstream:
        self._runner.start()
        self.port = self._runner.call(self._listen())
        return self

    def stop(self) -> None:
        self._runner.stop()

    async def _listen(self) -> int:
        loop = asyncio.get_running_loop()
        owner = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: Any) -> None:
                owner.udp_sources.append((addr[0], addr[1]))
                loop.create_task(self.reply(data, addr))

            async def reply(self, data: bytes, addr: Any) -> None:
                out = await owner.respond(data, "udp")
                if out is not None:
                    self.transport.sendto(out, addr)  # type: ignore[attr-defined]

        async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while True:
                    size = struct.unpack("!H", await reader.readexactly(2))[0]
                    data = await reader.readexactly(size)
                    out = await self.respond(data, "tcp")
                    if out is None:
                        continue
                    writer.write(struct.pack("!H", len(out)) + out)
                    await writer.drain()
            writer.close()

        # UDP and TCP on one port: the UDP port is free, but its TCP twin may be the local end
        # of some connection already, so a few ports are tried.
        for attempt in range(20):
            transport, _ = await loop.create_datagram_endpoint(Udp, local_addr=("127.0.0.1", 0))
            port = transport.get_extra_info("sockname")[1]
            try:
                await asyncio.start_server(tcp, "127.0.0.1", port)
            except OSError:
                transport.close()
                if attempt == 19:
                    raise
                continue
            return int(port)
        raise AssertionError("unreachable")

    async def respond(self, data: bytes, transport: str) -> bytes | None:
        b = self.behaviour
        try:
            query = dns.message.from_wire(data)
        except Exception:
            return None
        q = query.question[0]
        name = q.name.to_text().rstrip(".").lower()
        self.queries.append((transport, name, dns.rdatatype.to_text(q.rdtype)))
        self.names_as_sent.append(q.name.to_text().rstrip("."))
        self.ids.append(query.id)
        out = await self._respond(query, name, transport)
        if out is not None and b.smash_case:
            out = lowercase_question(out)
        return out

    async def _respond(self, query: dns.message.Message, name: str,
                       transport: str) -> bytes | None:
        b = self.behaviour
        q = query.question[0]
        if b.mode == "dead":
            return None
        if b.mode == "slow" or b.delay:
            await asyncio.sleep(b.delay or 5)
        response = dns.message.make_response(query)
        if b.mode == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        if b.mode == "refuse":
            response.set_rcode(dns.rcode.REFUSED)
            return response.to_wire()
        if b.mode == "lie":
            response.id = (query.id + 1) % 65536  # wrong id: must be ignored
            return response.to_wire()
        if name in b.nxdomain:
            response.set_rcode(dns.rcode.NXDOMAIN)
            soa = dns.rrset.from_text("example.", 3600, "IN", "SOA",
                                      "ns.example. host.example. 1 3600 600 86400 30")
            response.authority.append(soa)
            return response.to_wire()
        if name in b.many and q.rdtype == dns.rdatatype.A:
            if transport == "udp" and b.truncate_udp:
                response.flags |= dns.flags.TC
                return response.to_wire()
            addrs = [f"198.51.100.{i}" for i in range(1, 61)]
            response.answer.append(dns.rrset.from_text(q.name, b.ttl, "IN", "A", *addrs))
            return response.to_wire(max_size=65535)
        if name in b.records:
            owner_name = q.name
            for rtype, value in b.records[name]:
                rrset = dns.rrset.from_text(owner_name, b.ttl, "IN", rtype, value)
                response.answer.append(rrset)
                if rtype == "CNAME":
                    owner_name = dns.name.from_text(value)
            return response.to_wire()
        if q.rdtype == dns.rdatatype.A:
            response.answer.append(dns.rrset.from_text(q.name, b.ttl, "IN", "A", b.address))
        elif q.rdtype == dns.rdatatype.AAAA:
            response.answer.append(dns.rrset.from_text(q.name, b.ttl, "IN", "AAAA", "2001:db8::1"))
        return response.to_wire()


def lowercase_question(message: bytes) -> bytes:
    """``message`` with the name of its (first) question in lower case, as a resolver
    that does not keep case sends it."""
    end = 12
    while message[end]:
        end += message[end] + 1
    return message[:12] + message[12:end].lower() + message[end:]


class LoopThread:
    """An event loop (uvloop when available) in a daemon thread."""

    def __init__(self) -> None:
        try:
            import uvloop

            self.loop = uvloop.new_event_loop()
        except ImportError:  # pragma: no cover
            self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run(self, fn: Callable[[], Any]) -> Any:
        async def wrapper() -> Any:
            return fn()

        return self.call(wrapper())

    def stop(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            self.call(cancel_all(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


class FakeDohServer:
    """A plain-HTTP RFC 8484 endpoint (POST /dns-query) in front of a FakeUpstream's
    answering logic; TLS is left out because only the DoH framing is under test."""

    def __init__(self, upstream: FakeUpstream) -> None:
        self.upstream = upstream
        self.port = 0
        self.status = 200
        self.requests = 0
        self._runner = LoopThread()

    def start(self) -> FakeDohServer:
        self._runner.start()
        self.port = self._runner.call(self._listen())
        return self

    def stop(self) -> None:
        self._runner.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dns-query"

    async def _listen(self) -> int:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while True:
                request_line = await reader.readline()
                if not request_line:
                    break
                headers = {}
                while True:
                    line = (await reader.readline()).decode("latin-1").strip()
                    if not line:
                        break
                    key, _, value = line.partition(":")
                    headers[key.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests += 1
                answer = await self.upstream.respond(body, "doh") if self.status == 200 else b""
                answer = answer or b""
                head = (f"HTTP/1.1 {self.status} X\r\ncontent-type: application/dns-message\r\n"
                        f"content-length: {len(answer)}\r\n\r\n").encode()
                writer.write(head + answer)
                await writer.drain()
        writer.close()


# ---- databases

PG_ENV = "SAFEGATE_TEST_DATABASE_URL"
BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def postgresql_schema(what: str = "PostgreSQL tests") -> Iterator[str]:
    """A new schema (dropped on exit); yields a URL whose search_path is it. Skips the
    test, naming ``what``, when no PostgreSQL is configured."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set: {what} skipped")
    schema = f"sg_test_{secrets.token_hex(6)}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


# ---- shared by several test modules

def ask(port: int, name: str, rdtype: str = "A", *, tcp: bool = False, source: str = "127.0.0.1",
        edns: bool = True, options: list[Any] | None = None, timeout: float = 3.0,
        payload: int = 1232) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype, use_edns=0 if edns else False, payload=payload,
                               options=options or [])
    if tcp:
        return dns.query.tcp(q, "127.0.0.1", port=port, timeout=timeout, source=source)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout, source=source)


def addresses(msg: dns.message.Message) -> list[str]:
    return sorted(r.to_text() for rrset in msg.answer for r in rrset
                  if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA))


def answered(port: int, name: str, source: str) -> list[str]:
    """The A addresses the gate on ``port`` answers ``name`` with for the client ``source``."""
    return addresses(ask(port, name, source=source))


def ede(msg: dns.message.Message) -> list[tuple[int, str]]:
    return [(o.code, o.text or "") for o in msg.options if isinstance(o, dns.edns.EDEOption)]


SAFEGATE = [sys.executable, "-m", "safegate.cli"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, env: dict[str, str] | None = None,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SAFEGATE, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, input=stdin)


def query(port: int, name: str, source: str = "127.0.0.1") -> dns.message.Message:
    q = dns.message.make_query(name, "A")
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=3, source=source)


def ready_query(port: int) -> dns.message.Message:
    """``query(port, "ready.example")`` from a connected socket: while nothing listens on the
    port, the kernel's "port unreachable" fails it at once (a query from an unconnected
    socket waits out its whole timeout, 3 s, however soon the server starts)."""
    q = dns.message.make_query("ready.example", "A")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)  # as dnspython wants it (its timeout does not apply otherwise)
        sock.connect(("127.0.0.1", port))
        return dns.query.udp(q, "127.0.0.1", port=port, timeout=3, sock=sock)


def _file_size_limit(limit: int | None) -> Callable[[], None] | None:
    """For Popen's ``preexec_fn``: no file the process writes may grow past ``limit`` bytes
    (RLIMIT_FSIZE: a write past it fails with EFBIG, as on a full disk; Python ignores the
    SIGXFSZ that comes with it)."""
    if limit is None:
        return None

    def limited() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limited


def start_server(*args: str, env: Mapping[str, str] | None = None,
                 file_size_limit: int | None = None) -> tuple[subprocess.Popen[str], int]:
    """`safegate serve ARGS --dns 127.0.0.1:<free port>` (``env`` added to the environment;
    ``file_size_limit``: no file it writes grows past that many bytes), once it answers
    queries. A free UDP port's TCP twin may be taken (CI saw it): then it starts again on
    another port."""
    for _attempt in range(5):
        port = free_port()
        proc = subprocess.Popen([*SAFEGATE, "serve", *args, "--dns", f"127.0.0.1:{port}"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, **(env or {})},
                                preexec_fn=_file_size_limit(file_size_limit))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                ready_query(port)
                return proc, port
            except Exception:
                if proc.poll() is not None:
                    out = proc.stdout.read() if proc.stdout else "exited"
                    if "address already in use" in out:
                        break  # another port
                    raise AssertionError(out) from None
                time.sleep(0.05)
        else:
            proc.kill()
            raise AssertionError("safegate serve did not answer within 90 s")
    raise AssertionError("no free port for safegate serve in 5 tries")


@dataclass
class WebServe:
    """A real `safegate serve` with the web app: its DNS port, its base URL and process."""

    proc: subprocess.Popen[str]
    dns_port: int
    base: str

    def stop(self) -> int:
        """SIGTERM; its exit status (killed after 20 s: -9)."""
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def start_web_serve(*args: str, scheme: str = "http", verify: Any = True,
                    file_size_limit: int | None = None) -> WebServe:
    """`safegate serve ARGS --http 127.0.0.1:<free port>`, once its DNS answers and /healthz
    says ok (``scheme`` https with web.tls; ``verify``: the CA file; ``file_size_limit``: as
    for ``start_server``)."""
    import httpx

    for _attempt in range(5):
        http_port = free_tcp_port()
        try:
            proc, port = start_server(*args, "--http", f"127.0.0.1:{http_port}",
                                      file_size_limit=file_size_limit)
        except AssertionError as exc:
            if "address already in use" in str(exc).lower():
                continue
            raise
        base = f"{scheme}://127.0.0.1:{http_port}"

        def healthy(base: str = base) -> bool:
            try:
                return httpx.get(base + "/healthz", timeout=2, verify=verify).status_code == 200
            except httpx.HTTPError:
                return False

        # The DNS answers before the web app has bound its ports: a port taken meanwhile
        # (this one, or a block page port the caller chose) ends the serve only now.
        deadline = time.monotonic() + 30
        while not healthy():
            if proc.poll() is not None:
                out = proc.stdout.read() if proc.stdout else ""
                if "address already in use" in out.lower():
                    break  # again, on other ports
                raise AssertionError("safegate serve exited before its web app answered:\n"
                                     + out)
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("the web app did not answer /healthz")
            time.sleep(0.05)
        else:
            return WebServe(proc, port, base)
    raise AssertionError("no free port for the web app in 5 tries")


@contextmanager
def web_served(*args: str, scheme: str = "http", verify: Any = True) -> Iterator[WebServe]:
    """``start_web_serve(ARGS)`` answering through a fake upstream (``--upstream``); both
    stopped when the block ends."""
    upstream = FakeUpstream().start()
    try:
        served = start_web_serve(*args, "--upstream", f"127.0.0.1:{upstream.port}",
                                 scheme=scheme, verify=verify)
        try:
            yield served
        finally:
            served.stop()
    finally:
        upstream.stop()


# The demo parent that `safegate serve --demo` signs in (a public, demo-only password).
DEMO_LOGIN, DEMO_PASSWORD = "phuhuynh@example.vn", "demo-safegate"


def sign_in_page(page: Any, base: str) -> None:
    """Sign the demo parent in through the Vietnamese sign-in page of a real browser."""
    page.goto(base + "/signin")
    page.get_by_label("E-mail hoặc số điện thoại").fill(DEMO_LOGIN)
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/household")


def signed_in_client(base: str, login: str, password: str, verify: Any = True) -> Any:
    """An httpx client signed in through the real sign-in form (its CSRF token read from the
    page); ``client.csrf`` is the session's token for later forms."""
    import re

    import httpx

    client = httpx.Client(base_url=base, timeout=30, verify=verify)
    page = client.get("/signin")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None, page.text
    answer = client.post("/signin", data={"csrf": token.group(1), "login": login,
                                          "password": password})
    assert answer.status_code == 303, answer.text
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    client.csrf = me.json()["csrf"]  # type: ignore[attr-defined]
    return client


GAMBLING_PAGE = """<!doctype html><html><head><title>Nhà cái uy tín số 1 - Casino trực tuyến</title>
<style>body { color: red } .x { content: "cá cược" }</style>
<script>var tracking = "tài xỉu nổ hũ";</script></head>
<body><h1>Nhà cái uy tín số 1 Việt Nam</h1>
<p>Đăng ký nhận ngay 100k, nạp tiền cá cược bóng đá, casino trực tuyến, tài xỉu, nổ hũ.</p>
<p>Rút tiền nhanh trong 5 phút. Tỷ lệ cược cao nhất, khuyến mãi nạp đầu 200%.</p>
<div>Chơi baccarat, xóc đĩa, bắn cá đổi thưởng. Cá độ bóng đá mọi giải đấu.</div>
</body></html>"""

PHISHING_PAGE = """<html><head><meta charset="utf-8"><title>Xác minh tài khoản</title></head>
<body><form><h2>Tài khoản của bạn đã bị khóa</h2>
<p>Vui lòng xác minh thông tin, nhập số thẻ, mật khẩu và mã OTP để mở khóa và nhận quà
tặng 5 triệu đồng. Your account has been suspended: verify your identity, enter your card
number and password now.</p><button>Xác nhận</button></form></body></html>"""

NEWS_PAGE = """<html><head><title>Tin tức hôm nay</title></head><body>
<h1>Thời tiết Hà Nội hôm nay nắng đẹp</h1><p>Nhiệt độ cao nhất 32 độ, chiều tối có mưa rào.</p>
<p>Học sinh Hà Nội chuẩn bị cho kỳ thi vào lớp 10 năm nay.</p></body></html>"""


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, body: bytes, ctype: str = "text/html; charset=utf-8", status: int = 200,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.hits.append((self.headers.get("Host", ""), self.path))
        path = self.path.split("?")[0]
        stop = self.server.stopping
        if path in ("/", "/gambling"):
            self._send(GAMBLING_PAGE.encode())
        elif path == "/phish":
            self._send(PHISHING_PAGE.encode())
        elif path == "/news":
            self._send(NEWS_PAGE.encode())
        elif path == "/plain":
            self._send("Nhà cái casino, nạp tiền cá cược, tài xỉu online.".encode(),
                       "text/plain; charset=utf-8")
        elif path == "/gzip":
            self._send(gzip.compress(GAMBLING_PAGE.encode()), extra={"Content-Encoding": "gzip"})
        elif path == "/latin":  # the charset only in a <meta> tag
            self._send('<meta charset="windows-1252"><p>Crème brûlée à Hà Nội</p>'
                       .replace("ộ", "o").encode("cp1252"), "text/html")
        elif path == "/binary":
            self._send(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "image/png")
        elif path == "/octet":
            self._send(b"\x00\x01" * 100, "application/octet-stream")
        elif path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            chunk = ("<p>" + "Tin tức thời sự hôm nay. " * 40 + "</p>\n").encode()
            sent = 0
            try:
                while sent < 4 * 1024 * 1024 and not stop.is_set():
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except OSError:
                pass
        elif path == "/slow":  # no answer at all for 10 s
            stop.wait(10)
        elif path == "/trickle":  # headers, then one byte every 0.2 s
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            try:
                for _ in range(100):
                    if stop.wait(0.2):
                        break
                    self.wfile.write(b"a")
                    self.wfile.flush()
            except OSError:
                pass
        elif path == "/redirect":
            self._send(b"", status=302, extra={"Location": "/gambling"})
        elif path == "/loop":
            self._send(b"", status=301, extra={"Location": "/loop"})
        elif path == "/to-private":
            self._send(b"", status=302, extra={"Location": "http://10.1.2.3/"})
        elif path == "/to-file":
            self._send(b"", status=302, extra={"Location": "file:///etc/passwd"})
        else:
            self._send(b"not found", "text/plain", status=404)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    hits: list[tuple[str, str]]
    stopping: threading.Event


class PageServer:
    """A real HTTP server on 127.0.0.1:<free port> serving the pages above."""

    def __init__(self) -> None:
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.hits = []
        self.httpd.stopping = threading.Event()
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def hits(self) -> list[tuple[str, str]]:
        return self.httpd.hits

    def stop(self) -> None:
        self.httpd.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class ListServer:
    """A real HTTP server whose body, ETag and status the test changes."""

    def __init__(self) -> None:
        self.body = b"bad.example\nworse.example\n"
        self.etag = '"v1"'
        self.status = 200
        self.extra_headers: dict[str, str] = {}  # e.g. Content-Encoding
        self.requests: list[dict[str, str]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner.requests.append(dict(self.headers))
                if owner.status != 200:
                    self.send_response(owner.status)
                    self.end_headers()
                    return
                if self.headers.get("If-None-Match") == owner.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", owner.etag)
                self.send_header("Content-Length", str(len(owner.body)))
                for key, value in owner.extra_headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/list.txt"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _alembic(engine: Engine, action: str, target: str) -> None:
    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, target)


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


# ---- a test certificate authority (DoH/DoT)


@dataclass(frozen=True)
class Pki:
    """A CA and a server certificate signed by it, as PEM files."""

    ca: Path
    cert: Path
    key: Path


def make_pki(directory: Path, names: Iterable[str] = ("dns.test", "*.dns.test")) -> Pki:
    """A fresh test CA and a server certificate for ``names`` (and 127.0.0.1)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SafeGate test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names = list(names)
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    out = Pki(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    out.ca.write_bytes(ca.public_bytes(pem))
    out.cert.write_bytes(cert.public_bytes(pem))
    out.key.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    out.key.chmod(0o600)
    return out


def device_tokens(engine: Engine) -> dict[str, str]:
    """Device name → token, for every device in the store."""
    from safegate.store.models import Device

    with session_factory(engine)() as session:
        return {d.name: d.token for d in session.query(Device).all()}


# ---- notification sinks (a real SMTP server and a real Web Push endpoint)


class SmtpSink:
    """A local SMTP server (aiosmtpd, no TLS) that keeps every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        sink = self
        self.messages: list[Any] = []  # email.message.EmailMessage

        class _Handler:
            async def handle_DATA(self, server: Any, session: Any,  # noqa: N802 (aiosmtpd)
                                  envelope: Any) -> str:
                import email
                import email.policy

                sink.messages.append(email.message_from_bytes(
                    envelope.original_content, policy=email.policy.default))
                return "250 OK"

        self.port = free_tcp_port()
        self._controller = Controller(_Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


class PushEndpoint:
    """A local (plain HTTP) Web Push service: keeps each POST's headers (lower-cased) and
    body, answers 201, or ``status`` when set (410: the subscription is gone)."""

    def __init__(self) -> None:
        endpoint = self
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 201

        class _Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                endpoint.received.append(
                    (self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(endpoint.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class BrowserKeys:
    """What a browser's PushManager holds: its P-256 key pair and 16-byte auth secret."""

    private: Any
    p256dh: str
    auth: str
    secret: bytes

    @classmethod
    def make(cls) -> BrowserKeys:
        import base64

        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        point = key.public_key().public_bytes(serialization.Encoding.X962,
                                              serialization.PublicFormat.UncompressedPoint)
        secret = secrets.token_bytes(16)

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        return cls(key, b64(point), b64(secret), secret)

    def decrypt(self, body: bytes) -> bytes:
        """A Web Push body (aes128gcm) opened as the browser would."""
        import http_ece

        return bytes(http_ece.decrypt(body, private_key=self.private, auth_secret=self.secret,
                                      version="aes128gcm"))


CHROMIUM = "/usr/bin/chromium"  # Debian's (make apt-test); the browser tests skip without it
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def screenshot(page: Any, name: str) -> None:
    """The page at phone (360 px) and desktop (1280 px) width into ``WEB_SCREENSHOTS=DIR``
    (docs/screenshots when the docs are refreshed); a normal run, CI's included, writes
    nothing. (A ``SAFEGATE_*`` name would be refused: those are the server's settings.)"""
    where = os.environ.get("WEB_SCREENSHOTS")
    if not where:
        return
    size = page.viewport_size or {"width": 360, "height": 740}
    Path(where).mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(Path(where) / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(Path(where) / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(size)


def fits_the_phone(page: Any) -> bool:
    """Nothing on the page is wider than a 360-px phone screen."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= 360"))
