"""Upstream resolvers: UDP (with TCP on truncation), TCP, and DNS over HTTPS (RFC 8484),
with health checks, failover and coalescing of identical concurrent questions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import struct
import time
from collections.abc import Sequence
from typing import Protocol

import httpx

from safegate.config import parse_addr
from safegate.gate import wire

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


class Upstream(Protocol):
    name: str
    healthy: bool
    failures: int

    async def exchange(self, question: bytes, do: bool, cd: bool, timeout: float) -> bytes: ...

    async def close(self) -> None: ...


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: UdpUpstream) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if len(data) < 12:
            return
        qid = (data[0] << 8) | data[1]
        waiter = self.owner.pending.get(qid)
        if waiter is None:
            self.owner.unexpected += 1
            return
        future, question = waiter
        try:
            _check_answer(data, question)
        except UpstreamError:
            self.owner.unexpected += 1  # keep waiting for the genuine answer
            return
        if not future.done():
            future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable etc.: fail everything in flight at once.
        for future, _ in list(self.owner.pending.values()):
            if not future.done():
                future.set_exception(UpstreamError(f"{self.owner.name}: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.transport = None


class UdpUpstream:
    """Plain DNS to HOST:PORT: UDP first, TCP when the answer is truncated."""

    def __init__(self, spec: str) -> None:
        self.host, self.port = parse_addr(spec)
        self.name = spec
        self.healthy = True
        self.failures = 0
        self.unexpected = 0
        self.retransmits = 0
        self.pending: dict[int, tuple[asyncio.Future[bytes], bytes]] = {}
        self.transport: asyncio.DatagramTransport | None = None
        self._lock = asyncio.Lock()

    async def _transport(self) -> asyncio.DatagramTransport:
        if self.transport is None:
            async with self._lock:
                if self.transport is None:
                    loop = asyncio.get_running_loop()
                    transport, _ = await loop.create_datagram_endpoint(
                        lambda: _UdpProtocol(self), remote_addr=(self.host, self.port)
                    )
                    sock = transport.get_extra_info("socket")
                    if sock is not None:
                        # A burst of cache misses brings a burst of answers: with the
                        # default buffer (~200 KB, ~270 datagrams) the kernel drops them.
                        with contextlib.suppress(OSError):
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
                    self.transport = transport
        return self.transport

    def _new_id(self) -> int:
        while True:
            qid = secrets.randbits(16)
            if qid not in self.pending:
                return qid

    async def exchange(self, question: bytes, do: bool, cd: bool, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        transport = await self._transport()
        qid = self._new_id()
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.pending[qid] = (future, question)
        message = wire.make_query(qid, question, do=do, cd=cd)
        try:
            # UDP loses datagrams: send again (same ID) once if half the time passes.
            transport.sendto(message)
            try:
                data = await asyncio.wait_for(asyncio.shield(future), timeout / 2)
            except TimeoutError:
                self.retransmits += 1
                transport.sendto(message)
                data = await asyncio.wait_for(future, timeout / 2)
        except TimeoutError as exc:
            raise UpstreamError(f"{self.name}: timed out") from exc
        finally:
            self.pending.pop(qid, None)
        if data[2] & (wire.FLAG_TC >> 8):
            remaining = max(0.05, deadline - time.monotonic())
            data = await self.exchange_tcp(question, do, cd, remaining)
        return data

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
        return data

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


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
        return data

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def make_upstream(spec: str) -> Upstream:
    if spec.startswith(("https://", "http://")):
        return DohUpstream(spec)
    return UdpUpstream(spec)


HEALTH_QUESTION = wire.question("", wire.TYPE_NS)  # ". NS": every resolver can answer it


class UpstreamPool:
    """Tries healthy upstreams first, in configured order; marks an upstream down after
    consecutive failures and up again when a health check or a query succeeds."""

    FAILURES_BEFORE_DOWN = 3

    def __init__(self, specs: Sequence[str], timeout: float, health_interval: float) -> None:
        self.upstreams: list[Upstream] = [make_upstream(s) for s in specs]
        self.timeout = timeout
        self.health_interval = health_interval
        self._inflight: dict[tuple[bytes, bool, bool], asyncio.Future[bytes]] = {}
        self._health_task: asyncio.Task[None] | None = None
        self.queries = 0
        self.failures = 0

    def start(self) -> None:
        if self._health_task is None and self.upstreams:
            self._health_task = asyncio.get_running_loop().create_task(self._health_loop())

    async def close(self) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health_task
            self._health_task = None
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
        errors = []
        for up in self._order():
            try:
                data = await up.exchange(question, do, cd, self.timeout)
            except UpstreamError as exc:
                self._mark(up, False)
                errors.append(str(exc))
                continue
            rcode = data[3] & 0xF
            if rcode in (wire.RCODE_SERVFAIL, wire.RCODE_REFUSED):
                self._mark(up, False)
                errors.append(f"{up.name}: rcode {rcode}")
                continue
            self._mark(up, True)
            return data
        self.failures += 1
        raise UpstreamError("; ".join(errors) or "no upstream configured")

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
