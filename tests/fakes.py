"""Real servers on loopback for the gate's tests: a scriptable upstream resolver (UDP and
TCP, plain and DNS over HTTP) and a helper that runs the gate in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


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
