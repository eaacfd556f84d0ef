"""Upstream resolvers: UDP (with TCP on truncation), TCP, and DNS over HTTPS (RFC 8484),
with health checks, failover raced with a short head start, and coalescing of identical
concurrent questions.

Off-path spoofing of UDP answers (RFC 5452) is made hard three ways: every query leaves
from a socket of its own, so from a port the kernel picks at random; it carries a random
ID; and a datagram counts as the answer only if it comes from the upstream's address and
port, carries that ID and echoes the question. With 0x20 (draft-vixie-dnsext-dns0x20)
the letters of the name also go out in random case, and the echo must keep that case.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import logging
import secrets
import socket
import struct
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import httpx

from safegate.config import parse_addr
from safegate.gate import wire
from safegate.histogram import Histogram

log = logging.getLogger(__name__)


class UpstreamError(Exception):
    """No upstream produced a usable answer."""


def _check_answer(data: bytes, question: bytes) -> None:
    """Reject what is not a response to our question (a lying or confused upstream)."""
    if len(data) < 12 + len(question):
        raise UpstreamError("short response")
    flags = struct.unpack_from("!H", data, 2)[0]
    if not flags & wire.FLAG_QR:
        raise UpstreamError("upstream sent a query, not a response")
    end = 12 + len(question)
    if data[12 : end - 4].lower() != question[:-4] or data[end - 4 : end] != question[-4:]:
        raise UpstreamError("response is for another question")


def _is_letter(byte: int) -> bool:
    # Label length bytes are at most 63, below "A" (65): only letters pass.
    return 0x61 <= byte | 0x20 <= 0x7A


def randomise_case(question: bytes) -> bytes:
    """``question`` (wire form) with every letter of its name in a random case (0x20);
    the type and class bytes are left alone."""
    name = bytearray(question[:-4])
    letters = [i for i, byte in enumerate(name) if _is_letter(byte)]
    bits = secrets.randbits(len(letters)) if letters else 0
    for k, i in enumerate(letters):
        if bits >> k & 1:
            name[i] ^= 0x20
    return bytes(name) + question[-4:]


def has_letters(question: bytes) -> bool:
    return any(_is_letter(byte) for byte in question[:-4])


class Verdict(enum.Enum):
    ANSWER = "answer"
    WRONG_CASE = "wrong case"  # all matches but the case of the echoed name
    FOREIGN = "foreign"  # another source, ID or question, or not a response


def judge_datagram(data: bytes, source: tuple[str | int, ...] | None, peer: tuple[str, int],
                   qid: int, sent: bytes, exact_case: bool) -> Verdict:
    """Is ``data``, received from ``source``, the answer to the query ``qid`` for the
    question ``sent`` that went to ``peer``? With ``exact_case`` the echoed name must keep
    the case as sent (0x20); without, a case-insensitive echo is enough."""
    if source is not None and tuple(source[:2]) != peer:
        return Verdict.FOREIGN
    if len(data) < 12 + len(sent) or (data[0] << 8 | data[1]) != qid:
        return Verdict.FOREIGN
    if not data[2] & (wire.FLAG_QR >> 8) or data[4:6] != b"\x00\x01":
        return Verdict.FOREIGN
    echoed = data[12 : 12 + len(sent)]
    if echoed == sent:
        return Verdict.ANSWER
    if echoed[-4:] != sent[-4:] or echoed[:-4].lower() != sent[:-4].lower():
        return Verdict.FOREIGN
    return Verdict.WRONG_CASE if exact_case else Verdict.ANSWER


def restore_question(data: bytes, question: bytes) -> bytes:
    """``data`` (an answer already checked against ``question`` case-insensitively) with
    the question spelt as the gate asked it. An uncompressed copy of the echoed name
    further on gets the same spelling back: only letters change, so no offset moves."""
    end = 12 + len(question)
    echoed = data[12:end]
    if echoed == question:
        return data
    return data[:12] + question + data[end:].replace(echoed[:-4], question[:-4])


class Upstream(Protocol):
    name: str
    healthy: bool
    failures: int

    async def exchange(self, question: bytes, do: bool, cd: bool, timeout: float) -> bytes: ...

    async def close(self) -> None: ...


class _UdpQuery(asyncio.DatagramProtocol):
    """One query on a connected socket of its own; only its answer ends the wait."""

    def __init__(self, owner: UdpUpstream, peer: tuple[str, int], qid: int, sent: bytes,
                 exact_case: bool, on_wrong_case: Callable[[_UdpQuery], None] | None) -> None:
        self.owner = owner
        self.peer = peer
        self.qid = qid
        self.sent = sent
        self.exact_case = exact_case
        self.on_wrong_case = on_wrong_case
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...] | None) -> None:
        verdict = judge_datagram(data, addr, self.peer, self.qid, self.sent, self.exact_case)
        if verdict is Verdict.ANSWER:
            if not self.answer.done():
                self.answer.set_result(data)
            return
        self.owner.unexpected += 1  # dropped; keep waiting for the genuine answer
        if verdict is Verdict.WRONG_CASE:
            self.owner.wrong_case += 1
            if self.on_wrong_case is not None:
                self.on_wrong_case(self)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable etc., for this query's socket only.
        if not self.answer.done():
            self.answer.set_exception(UpstreamError(f"{self.owner.name}: {exc!r}"))

    def settle(self) -> None:
        if not self.answer.done():
            self.answer.cancel()
        elif not self.answer.cancelled():
            self.answer.exception()  # mark retrieved


class UdpUpstream:
    """Plain DNS to HOST:PORT: UDP first, TCP when the answer is truncated."""

    MAX_SOCKETS = 512  # queries in flight at once (one socket each)
    CASE_STRIKES = 3  # answers in a row that lose the 0x20 case before it is switched off

    def __init__(self, spec: str, use_0x20: bool = True) -> None:
        self.host, self.port = parse_addr(spec)
        ip = ipaddress.ip_address(self.host)
        self.family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        self.name = spec
        self.healthy = True
        self.failures = 0
        self.use_0x20 = use_0x20
        self.unexpected = 0  # datagrams dropped: wrong source, ID, question or case
        self.wrong_case = 0
        self.case_strikes = 0
        self.retransmits = 0
        self._slots = asyncio.Semaphore(self.MAX_SOCKETS)

    async def exchange(self, question: bytes, do: bool, cd: bool, timeout: float) -> bytes:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self.use_0x20 and has_letters(question):
            data = await self._exchange_0x20(question, do, cd, deadline)
        else:
            data = await self._udp(question, False, do, cd, deadline)
        if data[2] & (wire.FLAG_TC >> 8):
            remaining = max(0.05, deadline - loop.time())
            return await self.exchange_tcp(question, do, cd, remaining)
        return restore_question(data, question)

    async def _exchange_0x20(self, question: bytes, do: bool, cd: bool,
                             deadline: float) -> bytes:
        """Ask with the name in random case. An answer right but for the case comes from
        an upstream that does not keep case, or from a spoofer: then ask again in plain
        case at once, and take whichever comes first, the plain answer or the answer in
        our case (which proves a spoofer)."""
        sent = randomise_case(question)
        plain: list[asyncio.Task[bytes]] = []

        def ask_plain(query: _UdpQuery) -> None:
            if plain:
                return
            task = asyncio.get_running_loop().create_task(
                self._udp(question, False, do, cd, deadline))
            plain.append(task)

            def feed(done: asyncio.Task[bytes]) -> None:
                if done.cancelled():
                    return
                if done.exception() is None and not query.answer.done():
                    query.answer.set_result(done.result())

            task.add_done_callback(feed)

        try:
            data = await self._udp(sent, True, do, cd, deadline, ask_plain)
        finally:
            for task in plain:
                task.cancel()
        self._note_case(data[12 : 12 + len(sent)] == sent)
        return data

    def _note_case(self, kept: bool) -> None:
        if kept:
            self.case_strikes = 0
            return
        self.case_strikes += 1
        if self.use_0x20 and self.case_strikes >= self.CASE_STRIKES:
            self.use_0x20 = False
            log.warning("upstream %s does not keep the case of names: 0x20 case "
                        "randomisation is off for it", self.name)

    async def _udp(self, sent: bytes, exact_case: bool, do: bool, cd: bool, deadline: float,
                   on_wrong_case: Callable[[_UdpQuery], None] | None = None) -> bytes:
        """One query over UDP from a new socket, retransmitted once (same socket and ID)
        if half the time passes; the answer as received."""
        try:
            async with asyncio.timeout_at(deadline), self._slots:
                return await self._udp_on_new_socket(sent, exact_case, do, cd, deadline,
                                                      on_wrong_case)
        except TimeoutError as exc:
            raise UpstreamError(f"{self.name}: timed out") from exc
        except OSError as exc:  # e.g. sendto on a socket an ICMP error has reset
            raise UpstreamError(f"{self.name}: {exc!r}") from exc

    async def _udp_on_new_socket(self, sent: bytes, exact_case: bool, do: bool, cd: bool,
                                 deadline: float,
                                 on_wrong_case: Callable[[_UdpQuery], None] | None) -> bytes:
        loop = asyncio.get_running_loop()
        sock = socket.socket(self.family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            # Connecting binds to a random ephemeral port and makes the kernel drop
            # datagrams from any other address or port (and report ICMP errors).
            sock.connect((self.host, self.port))
            peer = sock.getpeername()
            query = _UdpQuery(self, (peer[0], peer[1]), secrets.randbits(16), sent,
                              exact_case, on_wrong_case)
            transport, _ = await loop.create_datagram_endpoint(lambda: query, sock=sock)
        except OSError as exc:
            sock.close()
            raise UpstreamError(f"{self.name}: {exc!r}") from exc
        except BaseException:
            sock.close()
            raise
        try:
            message = wire.make_query(query.qid, sent, do=do, cd=cd)
            transport.sendto(message)
            half = (deadline - loop.time()) / 2
            done, _ = await asyncio.wait({query.answer}, timeout=half)
            if not done:
                # UDP loses datagrams: send again once.
                self.retransmits += 1
                transport.sendto(message)
            return await query.answer
        finally:
            transport.close()
            query.settle()

    async def exchange_tcp(self, question: bytes, do: bool, cd: bool, timeout: float) -> bytes:
        qid = secrets.randbits(16)
        message = wire.make_query(qid, question, do=do, cd=cd, udp_size=65535)
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(self.host, self.port)
                try:
                    writer.write(struct.pack("!H", len(message)) + message)
                    await writer.drain()
                    size = struct.unpack("!H", await reader.readexactly(2))[0]
                    data = await reader.readexactly(size)
                finally:
                    writer.close()
                    with contextlib.suppress(Exception):
                        await writer.wait_closed()
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            raise UpstreamError(f"{self.name} (tcp): {exc!r}") from exc
        if data[:2] != message[:2]:
            raise UpstreamError(f"{self.name} (tcp): wrong message id")
        _check_answer(data, question)
        return restore_question(data, question)

    async def close(self) -> None:
        """Nothing to release: every query closes its own socket."""


class DohUpstream:
    """DNS over HTTPS (RFC 8484, POST application/dns-message)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = url
        self.healthy = True
        self.failures = 0
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                headers={"accept": "application/dns-message"},
                limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
            )
        return self._client

    async def exchange(self, question: bytes, do: bool, cd: bool, timeout: float) -> bytes:
        message = wire.make_query(0, question, do=do, cd=cd)  # RFC 8484 §4.1: ID 0
        try:
            response = await self._http().post(
                self.url,
                content=message,
                headers={"content-type": "application/dns-message"},
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise UpstreamError(f"{self.name}: {exc!r}") from exc
        if response.status_code != 200:
            raise UpstreamError(f"{self.name}: HTTP {response.status_code}")
        if not response.headers.get("content-type", "").startswith("application/dns-message"):
            raise UpstreamError(f"{self.name}: unexpected content type")
        data = response.content
        _check_answer(data, question)
        return restore_question(data, question)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def make_upstream(spec: str, use_0x20: bool = True) -> Upstream:
    """DNS over HTTPS for a URL (TLS makes 0x20 pointless there), else UDP/TCP."""
    if spec.startswith(("https://", "http://")):
        return DohUpstream(spec)
    return UdpUpstream(spec, use_0x20)


HEALTH_QUESTION = wire.question("", wire.TYPE_NS)  # ". NS": every resolver can answer it


class UpstreamPool:
    """Asks healthy upstreams first, in configured order, racing them with a head start:
    the next one is asked too when the previous ones have not answered within
    ``head_start`` seconds (or at once when one fails), and the first good answer wins.
    An upstream is marked down after consecutive failures and up again when a health
    check or a query succeeds."""

    FAILURES_BEFORE_DOWN = 3

    def __init__(self, specs: Sequence[str], timeout: float, health_interval: float, *,
                 head_start: float = 0.25, use_0x20: bool = True) -> None:
        self.upstreams: list[Upstream] = [make_upstream(s, use_0x20) for s in specs]
        self.timeout = timeout
        self.health_interval = health_interval
        self.head_start = head_start
        self._inflight: dict[tuple[bytes, bool, bool], asyncio.Future[bytes]] = {}
        self._health_task: asyncio.Task[None] | None = None
        self._probes: dict[int, asyncio.Task[None]] = {}  # by id() of the upstream
        self.queries = 0
        self.failures = 0
        self.latency = Histogram()  # seconds from asking to a good answer (failures: not)

    def start(self) -> None:
        if self._health_task is None and self.upstreams:
            self._health_task = asyncio.get_running_loop().create_task(self._health_loop())

    async def close(self) -> None:
        tasks = list(self._probes.values())
        if self._health_task is not None:
            tasks.append(self._health_task)
            self._health_task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._probes.clear()
        for up in self.upstreams:
            await up.close()

    def _order(self) -> list[Upstream]:
        healthy = [u for u in self.upstreams if u.healthy]
        return healthy + [u for u in self.upstreams if not u.healthy]

    def _mark(self, up: Upstream, ok: bool) -> None:
        if ok:
            if not up.healthy:
                log.info("upstream %s is up again", up.name)
            up.failures = 0
            up.healthy = True
        else:
            up.failures += 1
            if up.healthy and up.failures >= self.FAILURES_BEFORE_DOWN:
                up.healthy = False
                log.warning("upstream %s marked down after %d failures", up.name, up.failures)

    async def resolve(self, question: bytes, do: bool = False, cd: bool = False) -> bytes:
        """One answer for ``question`` (lowercased wire question); identical questions
        in flight share one upstream exchange."""
        key = (question, do, cd)
        shared = self._inflight.get(key)
        if shared is not None:
            return await asyncio.shield(shared)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await self._resolve(question, do, cd)
        except BaseException as exc:
            if not future.done():
                error = exc if isinstance(exc, Exception) else UpstreamError("cancelled")
                future.set_exception(error)
                future.exception()  # mark retrieved: waiters may be gone
            raise
        else:
            future.set_result(result)
            return result
        finally:
            self._inflight.pop(key, None)

    async def _resolve(self, question: bytes, do: bool, cd: bool) -> bytes:
        self.queries += 1
        loop = asyncio.get_running_loop()
        # The latency by the process clock: uvloop's loop.time() is libuv's millisecond
        # clock, so a loopback upstream's answer measured 0.
        started = time.perf_counter()
        order = self._order()
        errors: list[str] = []
        running: dict[asyncio.Task[bytes], Upstream] = {}  # in the order they were asked
        asked = 0
        next_at = loop.time()
        try:
            while asked < len(order) or running:
                if asked < len(order) and (not running or loop.time() >= next_at):
                    up = order[asked]
                    asked += 1
                    running[loop.create_task(self._ask(up, question, do, cd))] = up
                    next_at = loop.time() + self.head_start
                wait = max(0.0, next_at - loop.time()) if asked < len(order) else None
                done, _ = await asyncio.wait(running, timeout=wait,
                                             return_when=asyncio.FIRST_COMPLETED)
                for task in [t for t in running if t in done]:
                    up = running.pop(task)
                    exc = task.exception()
                    if exc is None:
                        self._suspect([u for u in running.values()
                                       if order.index(u) < order.index(up)])
                        self.latency.observe(time.perf_counter() - started)
                        return task.result()
                    errors.append(str(exc))
                    next_at = loop.time()  # a failure hands over at once
        finally:
            for task in running:
                task.cancel()
        self.failures += 1
        raise UpstreamError("; ".join(errors) or "no upstream configured")

    async def _ask(self, up: Upstream, question: bytes, do: bool, cd: bool) -> bytes:
        """One upstream's answer, or UpstreamError; its health is noted either way (but
        not when the race is over before it answers)."""
        try:
            data = await up.exchange(question, do, cd, self.timeout)
        except UpstreamError:
            self._mark(up, False)
            raise
        except Exception as exc:  # a bug must not take the gate down: count a failure
            log.exception("upstream %s failed unexpectedly", up.name)
            self._mark(up, False)
            raise UpstreamError(f"{up.name}: {exc!r}") from exc
        rcode = data[3] & 0xF
        if rcode in (wire.RCODE_SERVFAIL, wire.RCODE_REFUSED):
            self._mark(up, False)
            raise UpstreamError(f"{up.name}: rcode {rcode}")
        self._mark(up, True)
        return data

    def _suspect(self, ups: list[Upstream]) -> None:
        """Upstreams asked earlier than the winner have not answered yet: their queries
        are cancelled, so a health check (one at a time each) finds out whether they
        are down, instead of every query paying the head start until the next round."""
        loop = asyncio.get_running_loop()
        for up in ups:
            key = id(up)
            if key not in self._probes:
                task = loop.create_task(self._probe(up))
                self._probes[key] = task

                def done(_: asyncio.Task[None], key: int = key) -> None:
                    self._probes.pop(key, None)

                task.add_done_callback(done)

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.health_interval)
            await asyncio.gather(*(self._probe(u) for u in self.upstreams))

    async def _probe(self, up: Upstream) -> None:
        try:
            data = await up.exchange(HEALTH_QUESTION, False, False, self.timeout)
            self._mark(up, data[3] & 0xF not in (wire.RCODE_SERVFAIL, wire.RCODE_REFUSED))
        except UpstreamError:
            self._mark(up, False)
        except Exception:  # never let a probe kill the loop
            log.exception("health check of %s failed unexpectedly", up.name)
