"""A gate that cannot be poisoned or fooled: a fresh random source port and ID for every
UDP query to an upstream, answers judged by source address, port, ID and question, 0x20
case randomisation, and upstreams raced with a head start. Real UDP sockets on loopback;
dnspython builds the fake upstreams' answers and is the client of the running gate."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import dns.message
import dns.rdatatype
import dns.rrset
import pytest

from safegate.gate import wire
from safegate.gate.upstream import UdpUpstream, UpstreamError, UpstreamPool
from tests.helpers import FakeDohServer, FakeUpstream, addresses, ask

T = TypeVar("T")


def run(main: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on uvloop, as the gate does (asyncio when uvloop is missing)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(main())  # type: ignore[arg-type]
    return uvloop.run(main())  # type: ignore[arg-type]


def a_records(data: bytes) -> list[str]:
    return addresses(dns.message.from_wire(data))


class SpoofingUpstream:
    """A resolver with an attacker beside it that knows the query's port and ID but not
    the case it went out in (as after a lucky guess): the first query for each name is
    answered first by forgeries — wrong ID, wrong question, from another port, the name
    in swapped case — each with an address of 6.6.6.x, and then by the real answer."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.other.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.sock.settimeout(0.05)  # to notice stop()
        self.stopping = threading.Event()
        self.seen: set[str] = set()
        self.received = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> SpoofingUpstream:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()
        self.other.close()

    @staticmethod
    def _answer(query: dns.message.Message, address: str) -> dns.message.Message:
        response = dns.message.make_response(query)
        q = query.question[0]
        response.answer.append(dns.rrset.from_text(q.name, 300, "IN", "A", address))
        return response

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            with contextlib.suppress(OSError):
                self.received += 1
                query = dns.message.from_wire(data)
                name = query.question[0].name.to_text().lower()
                if name not in self.seen:
                    self.seen.add(name)
                    for packet in self._forgeries(query):
                        self.sock.sendto(packet, addr)
                    self.other.sendto(self._answer(query, "6.6.6.3").to_wire(), addr)
                self.sock.sendto(self._answer(query, "192.0.2.1").to_wire(), addr)

    def _forgeries(self, query: dns.message.Message) -> list[bytes]:
        wrong_id = self._answer(query, "6.6.6.1")
        wrong_id.id = (query.id + 1) % 65536
        other = dns.message.make_query("other.example", "A")
        other.id = query.id
        wrong_question = self._answer(other, "6.6.6.2")
        swapped = self._answer(query, "6.6.6.4").to_wire()
        end = swapped.index(b"\x00", 12)
        swapped = swapped[:12] + swapped[12:end].swapcase() + swapped[end:]
        return [wrong_id.to_wire(), wrong_question.to_wire(), swapped]


class DeadUpstream:
    """A bound UDP socket that never reads nor answers (no ICMP either)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.spec = f"127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def dead() -> Iterator[DeadUpstream]:
    d = DeadUpstream()
    yield d
    d.close()


# --- a fresh port and ID per query ---------------------------------------------------------


def test_every_udp_query_leaves_from_a_fresh_random_port(upstream: FakeUpstream) -> None:
    up = UdpUpstream(f"127.0.0.1:{upstream.port}")
    n = 200

    async def main() -> list[bytes]:
        return [await up.exchange(wire.question(f"p{i}.example", wire.TYPE_A), False, False,
                                  2.0) for i in range(n)]

    answers = run(main)
    assert all(a_records(a) == ["192.0.2.1"] for a in answers)
    ports = [port for _, port in upstream.udp_sources]
    assert len(ports) == n
    distinct = len(set(ports))
    steps = sum(1 for a, b in zip(ports, ports[1:], strict=False) if abs(b - a) <= 1)
    ids = len(set(upstream.ids))
    print(f"\n{distinct} distinct source ports, {ids} distinct IDs in {n} queries; "
          f"{steps} consecutive ports one apart")
    assert distinct >= 150
    assert steps < n // 10, "ports must not be handed out in sequence"
    assert ids >= 180


def test_spoofed_answers_are_dropped_and_the_real_one_returned() -> None:
    spoofer = SpoofingUpstream().start()
    up = UdpUpstream(f"127.0.0.1:{spoofer.port}")
    question = wire.question("spoof-target.example", wire.TYPE_A)
    try:
        data = run(lambda: up.exchange(question, False, False, 2.0))
    finally:
        spoofer.stop()
    assert a_records(data) == ["192.0.2.1"]
    assert data[12 : 12 + len(question)] == question, "the gate's own spelling comes back"
    # Wrong ID, wrong question and wrong case are dropped by the gate; the datagram from
    # the other port never reaches it (the query's socket is connected).
    assert up.unexpected >= 3 and up.wrong_case == 1
    assert up.case_strikes == 0 and up.use_0x20, "the answer in our case proved a spoofer"


def test_spoofed_answers_never_reach_a_client_of_the_gate(make_gate: Any) -> None:
    spoofer = SpoofingUpstream().start()
    try:
        g = make_gate(upstreams=[f"127.0.0.1:{spoofer.port}"],
                      **{"gate.upstream_timeout": 2.0})
        started = time.monotonic()
        answer = ask(g.port, "Spoof-Target.Example")
        elapsed = time.monotonic() - started
    finally:
        spoofer.stop()
    assert addresses(answer) == ["192.0.2.1"]
    assert answer.question[0].name.to_text() == "Spoof-Target.Example."
    assert elapsed < 1.0, "a forgery does not make the gate wait for the timeout"


# --- 0x20 ----------------------------------------------------------------------------------


def test_names_go_upstream_in_random_case_and_come_back_as_asked(
        upstream: FakeUpstream) -> None:
    up = UdpUpstream(f"127.0.0.1:{upstream.port}")
    names = [f"mixed-case-{i}.example" for i in range(40)]

    async def main() -> list[bytes]:
        return [await up.exchange(wire.question(name, wire.TYPE_A), False, False, 2.0)
                for name in names]

    answers = run(main)
    sent = upstream.names_as_sent
    assert [s.lower() for s in sent] == names
    mixed = sum(1 for s in sent if s != s.lower())
    patterns = len(set(sent))
    print(f"\n{mixed} of {len(sent)} names went out in mixed case, e.g. {sent[:3]}")
    assert mixed >= 38 and patterns == len(names)
    for name, data in zip(names, answers, strict=True):
        msg = dns.message.from_wire(data)
        assert msg.question[0].name.to_text() == name + "."
        assert msg.answer[0].name.to_text() == name + "."
    assert up.use_0x20 and up.wrong_case == 0


def test_upstream_that_loses_case_still_answers_and_0x20_goes_off(
        upstream: FakeUpstream, caplog: pytest.LogCaptureFixture) -> None:
    upstream.behaviour.smash_case = True
    up = UdpUpstream(f"127.0.0.1:{upstream.port}")
    names = [f"smashed-{i}.example" for i in range(6)]
    times: list[float] = []

    async def main() -> list[bytes]:
        out = []
        for name in names:
            started = time.monotonic()
            out.append(await up.exchange(wire.question(name, wire.TYPE_A), False, False, 2.0))
            times.append(time.monotonic() - started)
        return out

    with caplog.at_level("WARNING", logger="safegate.gate.upstream"):
        answers = run(main)
    assert all(a_records(a) == ["192.0.2.1"] for a in answers)
    print(f"\nslowest answer from the case-smashing upstream: {max(times):.3f} s")
    assert max(times) < 0.5, "a lost case costs one more round trip, never the timeout"
    assert not up.use_0x20
    assert up.wrong_case == UdpUpstream.CASE_STRIKES
    assert sum("0x20" in r.getMessage() for r in caplog.records) == 1, "logged once"
    per_name = {n: [s for s in upstream.names_as_sent if s.lower() == n] for n in names}
    assert all(len(per_name[n]) == 2 for n in names[:3]), "mixed case, then plain"
    assert all(per_name[n] == [n] for n in names[3:]), "then plain case only, once"


def test_case_is_not_randomised_when_switched_off(make_gate: Any,
                                                  upstream: FakeUpstream) -> None:
    g = make_gate(**{"gate.upstream_0x20": False})
    for i in range(5):
        assert addresses(ask(g.port, f"plain-{i}.example")) == ["192.0.2.1"]
    assert upstream.names_as_sent == [f"plain-{i}.example" for i in range(5)]


# --- racing upstreams ----------------------------------------------------------------------


def pool_time(specs: list[str], name: str, timeout: float = 2.0,
              **kwargs: Any) -> tuple[list[str], float]:
    async def main() -> tuple[list[str], float]:
        pool = UpstreamPool(specs, timeout, 60.0, **kwargs)
        try:
            started = time.monotonic()
            data = await pool.resolve(wire.question(name, wire.TYPE_A))
            return a_records(data), time.monotonic() - started
        finally:
            await pool.close()

    return run(main)


def test_dead_first_upstream_costs_a_head_start_not_a_timeout(
        dead: DeadUpstream, upstream: FakeUpstream) -> None:
    found, elapsed = pool_time([dead.spec, f"127.0.0.1:{upstream.port}"], "race.example")
    print(f"\nanswer with the first upstream dead: {elapsed:.3f} s (timeout 2 s)")
    assert found == ["192.0.2.1"]
    assert elapsed < 1.0


def test_refusing_first_upstream_hands_over_at_once(upstream: FakeUpstream) -> None:
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.bind(("127.0.0.1", 0))
    spec = f"127.0.0.1:{closed.getsockname()[1]}"
    closed.close()  # the port now answers with ICMP port unreachable
    found, elapsed = pool_time([spec, f"127.0.0.1:{upstream.port}"], "refused.example",
                               head_start=1.0)
    assert found == ["192.0.2.1"]
    assert elapsed < 0.5, "a failure does not wait for the head start"


def test_healthy_first_upstream_is_asked_alone(upstream: FakeUpstream) -> None:
    second = FakeUpstream().start()
    try:
        found, _ = pool_time([f"127.0.0.1:{upstream.port}", f"127.0.0.1:{second.port}"],
                             "alone.example")
    finally:
        second.stop()
    assert found == ["192.0.2.1"]
    assert [q[1] for q in upstream.queries] == ["alone.example"]
    assert second.queries == [], "the order is kept: the second is only a fallback"


def test_slow_first_upstream_is_overtaken(upstream: FakeUpstream) -> None:
    slow = FakeUpstream().start()
    slow.behaviour.delay = 1.5
    slow.behaviour.address = "192.0.2.99"
    try:
        found, elapsed = pool_time([f"127.0.0.1:{slow.port}", f"127.0.0.1:{upstream.port}"],
                                   "slow.example", head_start=0.1)
    finally:
        slow.stop()
    assert found == ["192.0.2.1"] and elapsed < 0.6


@pytest.mark.parametrize("second", ["doh", "truncating"])
def test_doh_and_tcp_fallback_take_part_in_the_race(dead: DeadUpstream,
                                                    upstream: FakeUpstream,
                                                    second: str) -> None:
    doh = FakeDohServer(upstream).start()
    upstream.behaviour.many.add("big.example")
    upstream.behaviour.truncate_udp = True
    try:
        spec = doh.url if second == "doh" else f"127.0.0.1:{upstream.port}"
        found, elapsed = pool_time([dead.spec, spec], "big.example")
    finally:
        doh.stop()
    assert len(found) == 60 and elapsed < 1.0
    transport = "doh" if second == "doh" else "tcp"
    assert (transport, "big.example", "A") in upstream.queries


def test_an_upstream_that_keeps_losing_races_is_checked_and_marked_down(
        dead: DeadUpstream, upstream: FakeUpstream) -> None:
    """Its queries are cancelled when another wins, so they say nothing about its health;
    a health check started by the lost race does (health loop not even running here)."""

    async def main() -> tuple[bool, float]:
        pool = UpstreamPool([dead.spec, f"127.0.0.1:{upstream.port}"], 0.3, 3600.0,
                            head_start=0.05)
        first = pool.upstreams[0]
        try:
            for i in range(40):
                await pool.resolve(wire.question(f"lost-{i}.example", wire.TYPE_A))
                if not first.healthy:
                    break
                await asyncio.sleep(0.05)
            # Asked first, the dead upstream would now hold the answer back a whole second.
            pool.head_start = 1.0
            started = time.monotonic()
            await pool.resolve(wire.question("after.example", wire.TYPE_A))
            return first.healthy, time.monotonic() - started
        finally:
            await pool.close()

    healthy, elapsed = run(main)
    assert not healthy
    assert elapsed < 0.5, "a down upstream is no longer asked first"


def test_every_upstream_dead_still_fails_within_the_timeout(dead: DeadUpstream) -> None:
    other = DeadUpstream()
    try:
        started = time.monotonic()
        with pytest.raises(UpstreamError):
            pool_time([dead.spec, other.spec], "nobody.example", timeout=0.5, head_start=0.2)
        elapsed = time.monotonic() - started
    finally:
        other.close()
    assert elapsed < 0.5 + 0.2 + 0.3


def test_gate_answers_quickly_with_its_first_upstream_dead(make_gate: Any, dead: DeadUpstream,
                                                          upstream: FakeUpstream) -> None:
    g = make_gate(upstreams=[dead.spec, f"127.0.0.1:{upstream.port}"],
                  **{"gate.upstream_timeout": 2.0, "gate.health_interval": 60.0})
    started = time.monotonic()
    assert addresses(ask(g.port, "dead-first.example")) == ["192.0.2.1"]
    elapsed = time.monotonic() - started
    print(f"\nthrough the gate, first upstream dead: {elapsed:.3f} s (timeout 2 s)")
    assert elapsed < 1.0
