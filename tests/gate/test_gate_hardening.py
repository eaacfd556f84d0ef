"""A gate that cannot be poisoned or fooled: who may name a device by its MAC, stale answers
checked like fresh ones, and TCP that hostile or broken clients cannot wear down. Real
sockets, dnspython and dig as clients, a fake upstream on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import shutil
import socket
import struct
import subprocess
import time
from typing import Any

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from safegate.config import ConfigError, load_settings
from safegate.gate.answers import BlockStyle
from safegate.gate.server import GateOptions, tcp_refusal
from tests.helpers import FakeUpstream, addresses, ask, ede, wait_until

BINH_MAC = "020000000021"  # Bình's phone in the demo household
UNKNOWN_MAC = "020000000099"


def mac_option(hexmac: str) -> dns.edns.GenericOption:
    return dns.edns.GenericOption(65001, bytes.fromhex(hexmac))


def demo_gate(make_gate: Any, **overrides: Any) -> Any:
    """The demo household: An (127.0.0.2) denies games.example, Bình (127.0.0.3, MAC
    02:00:00:00:00:21) denies homework-distraction.example; the operator default blocks
    adult only."""
    g = make_gate(demo=True,
                  **{"policy.default_categories": ["adult"], **overrides})
    from safegate.store.db import session_factory
    from safegate.store.repo import load_profiles, update_policy

    with session_factory(g.runtime.engine).begin() as session:
        profiles = {p.name: p for p in load_profiles(session)}
        update_policy(session, profiles["An"].id, deny=["games.example"])
        update_policy(session, profiles["Bình"].id, deny=["homework-distraction.example"])
    g.reload()
    return g


# --- 1. the MAC option is believed from trusted forwarders only ---------------------------------


def test_mac_option_from_an_untrusted_client_is_ignored(make_gate: Any) -> None:
    g = demo_gate(make_gate)  # gate.trusted_forwarders defaults to nobody
    # 127.0.0.1 is nobody's device: the operator default, whatever MAC it claims.
    claimed = ask(g.port, "homework-distraction.example", options=[mac_option(BINH_MAC)])
    assert addresses(claimed) == ["192.0.2.1"], "a MAC from a client is not an identity"
    # A child's device cannot leave its own profile by claiming another device's MAC.
    for opts in ([], [mac_option(BINH_MAC)]):
        a = ask(g.port, "games.example", source="127.0.0.2", options=opts)
        assert addresses(a) == ["0.0.0.0"], opts
    assert addresses(ask(g.port, "homework-distraction.example", source="127.0.0.2",
                         options=[mac_option(BINH_MAC)])) == ["192.0.2.1"]


def test_mac_option_from_a_trusted_forwarder_picks_the_device(make_gate: Any) -> None:
    g = demo_gate(make_gate, **{"gate.trusted_forwarders": ["127.0.0.1"]})
    name = "homework-distraction.example"
    assert addresses(ask(g.port, name, options=[mac_option(BINH_MAC)])) == ["0.0.0.0"]
    assert addresses(ask(g.port, name, tcp=True, options=[mac_option(BINH_MAC)])) == [
        "0.0.0.0"]
    # No MAC, or one no device has: the forwarder's own identity (here the default).
    assert addresses(ask(g.port, name)) == ["192.0.2.1"]
    assert addresses(ask(g.port, name, options=[mac_option(UNKNOWN_MAC)])) == ["192.0.2.1"]
    # The same MAC from an address that is not the forwarder is still ignored.
    assert addresses(ask(g.port, name, source="127.0.0.5",
                         options=[mac_option(BINH_MAC)])) == ["192.0.2.1"]


def test_trusted_forwarder_cidr_and_a_known_mac_beats_its_address(make_gate: Any) -> None:
    # The forwarder at 127.0.0.2 is also An's tablet: without a MAC it is An, with Bình's
    # MAC the query is Bình's (games allowed, homework-distraction denied).
    g = demo_gate(make_gate, **{"gate.trusted_forwarders": ["127.0.0.0/30"]})
    assert addresses(ask(g.port, "games.example", source="127.0.0.2")) == ["0.0.0.0"]
    binh = [mac_option(BINH_MAC)]
    assert addresses(ask(g.port, "games.example", source="127.0.0.2", options=binh)) == [
        "192.0.2.1"]
    assert addresses(ask(g.port, "homework-distraction.example", source="127.0.0.2",
                         options=binh)) == ["0.0.0.0"]


@pytest.mark.skipif(shutil.which("dig") is None, reason="dig not installed")
def test_dig_add_mac_option_trusted_and_not(make_gate: Any) -> None:
    def dig(port: int, source: str) -> list[str]:
        out = subprocess.run(
            ["dig", "@127.0.0.1", "-p", str(port), "-b", source, "+tries=1", "+time=3",
             "+short", f"+ednsopt=65001:{BINH_MAC}", "homework-distraction.example"],
            capture_output=True, text=True, timeout=20, check=True).stdout
        return out.split()

    trusting = demo_gate(make_gate, **{"gate.trusted_forwarders": ["127.0.0.4"]})
    assert dig(trusting.port, "127.0.0.4") == ["0.0.0.0"]
    assert dig(trusting.port, "127.0.0.1") == ["192.0.2.1"]


def test_client_subnet_option_never_identifies_a_client(make_gate: Any) -> None:
    # EDNS Client Subnet naming An's address (option 8) does not make 127.0.0.1 An, even
    # from a trusted forwarder.
    g = demo_gate(make_gate, **{"gate.trusted_forwarders": ["127.0.0.1"]})
    ecs = dns.edns.ECSOption("127.0.0.2", 32)
    assert addresses(ask(g.port, "games.example", options=[ecs])) == ["192.0.2.1"]
    assert addresses(ask(g.port, "games.example", source="127.0.0.2")) == ["0.0.0.0"]


def test_trusted_forwarders_setting_is_validated() -> None:
    ok = load_settings(env={"SAFEGATE_GATE__TRUSTED_FORWARDERS": "192.168.1.1,10.0.0.0/8"})
    assert ok["gate.trusted_forwarders"] == ["192.168.1.1", "10.0.0.0/8"]
    assert load_settings(env={})["gate.trusted_forwarders"] == []
    with pytest.raises(ConfigError, match="gate.trusted_forwarders"):
        load_settings(env={"SAFEGATE_GATE__TRUSTED_FORWARDERS": "my-router"})
    with pytest.raises(ConfigError, match="gate.max_tcp_per_address"):
        load_settings(env={"SAFEGATE_GATE__MAX_TCP_PER_ADDRESS": "0"})


# --- 2. stale answers pass the same checks as fresh ones -----------------------------------------


def stale_after_swap(make_gate: Any, upstream: FakeUpstream, tmp_path: Any,
                     records: list[tuple[str, str]], later_blocked: str) -> Any:
    """Cache innocent.example (TTL 1 s) while it passes, then block ``later_blocked`` by a
    policy swap, kill the upstream and let the cached answer expire."""
    upstream.behaviour.ttl = 1
    upstream.behaviour.records["innocent.example"] = records
    g = make_gate({"custom": ["blocked.example"]})
    assert addresses(ask(g.port, "innocent.example")) == ["203.0.113.5"]
    assert addresses(ask(g.port, "innocent.example", tcp=True)) == ["203.0.113.5"]
    (tmp_path / "custom.txt").write_text(f"blocked.example\n{later_blocked}\n")
    assert "lists rebuilt" in g.reload()
    upstream.behaviour.mode = "dead"
    time.sleep(1.2)
    return g


@pytest.mark.parametrize("tcp", [False, True])
def test_stale_answer_whose_cname_target_is_now_blocked_is_blocked(
        make_gate: Any, upstream: FakeUpstream, tmp_path: Any, tcp: bool) -> None:
    g = stale_after_swap(make_gate, upstream, tmp_path,
                         [("CNAME", "later-blocked.example."), ("A", "203.0.113.5")],
                         "later-blocked.example")
    a = ask(g.port, "innocent.example", tcp=tcp, timeout=5)
    assert addresses(a) == ["0.0.0.0"], "the stale answer must not be served"
    assert "cname later-blocked.example" in ede(a)[0][1]
    assert g.gate.stats.stale == 0


def test_stale_answer_pointing_into_a_now_blocked_network_is_blocked(
        make_gate: Any, upstream: FakeUpstream, tmp_path: Any) -> None:
    g = stale_after_swap(make_gate, upstream, tmp_path, [("A", "203.0.113.5")],
                         "203.0.113.0/24")
    a = ask(g.port, "innocent.example", timeout=5)
    assert addresses(a) == ["0.0.0.0"]
    assert "203.0.113.0/24 (answer address)" in ede(a)[0][1]


def test_stale_answer_that_passes_is_still_served_whole_over_tcp(
        make_gate: Any, upstream: FakeUpstream) -> None:
    upstream.behaviour.ttl = 1
    upstream.behaviour.many.add("big-stale.example")
    g = make_gate({"custom": ["blocked.example"]})
    assert len(addresses(ask(g.port, "big-stale.example", tcp=True, edns=False))) == 60
    upstream.behaviour.mode = "dead"
    time.sleep(1.2)
    a = ask(g.port, "big-stale.example", tcp=True, edns=False, timeout=5)
    assert not a.flags & dns.flags.TC, "TCP answers are never truncated, stale or not"
    assert len(addresses(a)) == 60 and a.answer[0].ttl == 30
    assert g.gate.stats.stale == 1


# --- 3. TCP ------------------------------------------------------------------------------------


def frame(msg: dns.message.Message) -> bytes:
    data = msg.to_wire()
    return struct.pack("!H", len(data)) + data


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=3,
                                    source_address=(source, 0))
    return sock


def read_answers(sock: socket.socket, count: int) -> list[dns.message.Message]:
    out: list[dns.message.Message] = []
    buf = b""
    while len(out) < count:
        chunk = sock.recv(65535)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            size = struct.unpack("!H", buf[:2])[0]
            out.append(dns.message.from_wire(buf[2 : 2 + size]))
            buf = buf[2 + size :]
    return out


def closed_by_gate(sock: socket.socket, within: float = 3.0) -> bool:
    """True when the gate closes (or resets) the connection within ``within`` seconds."""
    sock.settimeout(within)
    try:
        while True:
            if not sock.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def served(sock: socket.socket, name: str = "ok.example") -> bool:
    """One query on an open connection: True when its answer comes back."""
    q = dns.message.make_query(name, "A")
    try:
        sock.sendall(frame(q))
        answers = read_answers(sock, 1)
    except OSError:
        return False
    return len(answers) == 1 and answers[0].id == q.id and addresses(answers[0]) == [
        "192.0.2.1"]


def still_answers(g: Any, source: str = "127.0.0.1") -> None:
    assert addresses(ask(g.port, "after.example", tcp=True, source=source)) == ["192.0.2.1"]
    assert addresses(ask(g.port, "after.example", source=source)) == ["192.0.2.1"]


def test_length_prefix_split_across_writes(make_gate: Any) -> None:
    g = make_gate()
    with connect(g.port) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        q = dns.message.make_query("split.example", "A")
        data = frame(q)
        for piece in (data[:1], data[1:2], data[2:7], data[7:]):
            sock.sendall(piece)
            time.sleep(0.05)
        (a,) = read_answers(sock, 1)
    assert a.id == q.id and addresses(a) == ["192.0.2.1"]
    still_answers(g)


def test_many_pipelined_queries_in_one_write_are_all_answered(make_gate: Any) -> None:
    g = make_gate({"custom": ["blocked.example"]})
    queries = {}
    for i in range(150):  # more than the gate keeps in flight per connection
        name = "blocked.example" if i % 10 == 0 else f"pipe{i % 40}.example"
        q = dns.message.make_query(name, "A")
        q.id = 20_000 + i
        queries[q.id] = name
    with connect(g.port) as sock:
        sock.sendall(b"".join(frame(m) for m in _with_ids(queries)))
        got = read_answers(sock, len(queries))
    assert sorted(a.id for a in got) == sorted(queries)
    for a in got:
        name = queries[a.id]
        assert a.question[0].name.to_text() == name + "."
        expected = ["0.0.0.0"] if name == "blocked.example" else ["192.0.2.1"]
        assert addresses(a) == expected
    still_answers(g)


def _with_ids(queries: dict[int, str]) -> list[dns.message.Message]:
    out = []
    for qid, name in queries.items():
        q = dns.message.make_query(name, "A")
        q.id = qid
        out.append(q)
    return out


def test_zero_length_message_is_skipped(make_gate: Any) -> None:
    g = make_gate()
    with connect(g.port) as sock:
        sock.sendall(b"\x00\x00")
        assert served(sock), "the connection goes on after an empty message"
    still_answers(g)
    assert g.gate.stats.handler_errors == 0


def test_length_longer_than_the_data_then_half_close(make_gate: Any) -> None:
    g = make_gate(**{"gate.tcp_idle_timeout": 5.0})
    with connect(g.port) as sock:
        sock.sendall(struct.pack("!H", 300) + b"\x12\x34" + b"\x00" * 40)
        sock.shutdown(socket.SHUT_WR)
        started = time.monotonic()
        assert closed_by_gate(sock, 3.0)
        assert time.monotonic() - started < 2.0, "closed at the end of input, not when idle"
    assert wait_until(lambda: g.gate.tcp_connections == 0)
    still_answers(g)


def test_garbage_over_tcp_never_kills_the_gate(make_gate: Any) -> None:
    g = make_gate({"custom": ["blocked.example"]}, **{"gate.tcp_idle_timeout": 0.5})
    rng = random.Random(11)
    valid = frame(dns.message.make_query("fuzz.example", "A"))
    for i in range(60):
        kind = i % 3
        if kind == 0:
            data = rng.randbytes(rng.randrange(1, 3000))
        elif kind == 1:  # a right length around a mutated message
            raw = bytearray(valid)
            for _ in range(rng.randrange(1, 8)):
                raw[rng.randrange(2, len(raw))] = rng.randrange(256)
            data = bytes(raw)
        else:  # a short length: the message's tail is read as the next length prefix
            data = struct.pack("!H", rng.randrange(0, 20)) + valid[2:] * 3
        with connect(g.port) as sock:
            with contextlib.suppress(OSError):
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            assert closed_by_gate(sock, 3.0), i
    assert wait_until(lambda: g.gate.tcp_connections == 0)
    assert g.gate.stats.handler_errors == 0
    assert addresses(ask(g.port, "blocked.example", tcp=True)) == ["0.0.0.0"]
    still_answers(g)


def test_silent_and_slow_connections_are_closed_at_the_idle_timeout(make_gate: Any) -> None:
    g = make_gate(**{"gate.tcp_idle_timeout": 0.5})
    with connect(g.port) as silent, connect(g.port) as slow:
        started = time.monotonic()
        slow.sendall(b"\x00")  # half a length prefix, then one more byte now and then
        for _ in range(3):
            time.sleep(0.2)
            try:
                slow.sendall(b"\x00")
            except OSError:
                break
        assert closed_by_gate(silent, 3.0)
        assert closed_by_gate(slow, 3.0)
        assert 0.4 <= time.monotonic() - started < 2.5
    assert wait_until(lambda: g.gate.tcp_connections == 0 and not g.gate.tcp_per_address)
    still_answers(g)


def test_per_address_cap_refuses_extra_connections_only_from_that_address(
        make_gate: Any) -> None:
    g = make_gate(**{"gate.max_tcp_per_address": 3, "gate.tcp_idle_timeout": 30.0})
    held = [connect(g.port) for _ in range(3)]
    try:
        for sock in held:
            assert served(sock)
        with connect(g.port) as extra:
            assert closed_by_gate(extra), "a fourth connection from 127.0.0.1 is refused"
        with connect(g.port, "127.0.0.2") as other:
            assert served(other), "another address still gets through"
        assert g.gate.stats.tcp_rejected >= 1
        held.pop().close()
        assert wait_until(lambda: g.gate.tcp_per_address.get("127.0.0.1") == 2)
        with connect(g.port) as again:
            assert served(again), "a freed slot can be used again"
    finally:
        for sock in held:
            sock.close()


def test_refused_clients_do_not_lock_out_allowed_ones(make_gate: Any,
                                                      upstream: FakeUpstream) -> None:
    g = make_gate(**{"gate.allowed_networks": ["127.0.0.1/32"],
                     "gate.max_tcp_connections": 4, "gate.tcp_idle_timeout": 30.0})
    refused = [connect(g.port, "127.0.0.2") for _ in range(12)]
    try:
        for sock in refused:
            with contextlib.suppress(OSError):
                sock.sendall(frame(dns.message.make_query("x.example", "A")))
        with connect(g.port) as allowed:
            assert served(allowed), "the allowed client is still served"
        assert all(closed_by_gate(sock) for sock in refused), "refused clients are cut off"
        assert wait_until(lambda: g.gate.tcp_connections == 0), "and never counted"
        assert g.gate.stats.tcp_rejected == len(refused)
        assert not [q for q in upstream.queries if q[1] == "x.example"]
    finally:
        for sock in refused:
            sock.close()


def test_total_cap_still_holds_for_allowed_clients(make_gate: Any) -> None:
    g = make_gate(**{"gate.max_tcp_connections": 2, "gate.tcp_idle_timeout": 30.0})
    held = [connect(g.port, "127.0.0.3"), connect(g.port, "127.0.0.4")]
    try:
        for sock in held:
            assert served(sock)
        with connect(g.port, "127.0.0.5") as third:
            assert closed_by_gate(third)
    finally:
        for sock in held:
            sock.close()
    assert wait_until(lambda: g.gate.tcp_connections == 0)
    still_answers(g, "127.0.0.5")


def test_rate_limited_client_loses_its_connection(make_gate: Any) -> None:
    g = make_gate(**{"gate.rate_limit_qps": 0.5, "gate.rate_limit_burst": 5,
                     "gate.tcp_idle_timeout": 30.0})
    # Loopback is exempt by default; switch that off to test the limiter on 127.0.0.9.
    g.gate.options = dataclasses.replace(g.gate.options, exempt_loopback=False)
    g.gate.clients.clear()
    with connect(g.port, "127.0.0.9") as sock:
        sock.sendall(b"".join(frame(q) for q in _with_ids(
            {i: f"rl{i}.example" for i in range(1, 21)})))
        got = read_answers(sock, 20)
        assert 5 <= len(got) <= 6, len(got)
        assert closed_by_gate(sock), "over the limit the connection is closed"
    assert wait_until(lambda: g.gate.tcp_connections == 0)
    with connect(g.port, "127.0.0.9") as again:
        assert closed_by_gate(again), "and a new one is not accepted while it is over"
    assert addresses(ask(g.port, "other.example", tcp=True, source="127.0.0.8")) == [
        "192.0.2.1"]


OPTS = GateOptions(allowed_networks=(), rate_limit_qps=0, rate_limit_burst=1, max_ttl=1,
                   max_negative_ttl=1, serve_stale=False,
                   style=BlockStyle.from_settings(60, "", ""),
                   max_tcp_connections=10, max_tcp_per_address=2)


@pytest.mark.parametrize(("refused", "limited", "mine", "total", "why"), [
    (False, False, 0, 0, None),
    (False, False, 1, 9, None),
    (True, False, 0, 0, "refused"),
    (False, True, 0, 0, "rate-limited"),
    (False, False, 2, 0, "too many from this address"),
    (False, False, 0, 10, "too many connections"),
    (True, False, 5, 50, "refused"),  # refusals are decided before any count
])
def test_tcp_refusal(refused: bool, limited: bool, mine: int, total: int,
                     why: str | None) -> None:
    assert tcp_refusal(refused, limited, mine, total, OPTS) == why


def test_client_that_never_reads_its_answers_is_cut_off(make_gate: Any,
                                                         upstream: FakeUpstream) -> None:
    upstream.behaviour.many.add("big.example")  # 60 A records: about 1 kB per answer
    g = make_gate(**{"gate.tcp_idle_timeout": 0.5})
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(3)
    with sock:
        sock.connect(("127.0.0.1", g.port))
        count = 4000  # megabytes of answers: more than every buffer on the way holds
        with contextlib.suppress(OSError):  # the gate stops reading: sending may time out
            for batch in range(0, count, 100):
                sock.sendall(b"".join(frame(q) for q in _with_ids(
                    {i: "big.example" for i in range(batch, batch + 100)})))
        time.sleep(0.3)
        # No more than 64 of its queries are in flight (before, every query it sent became
        # a task that waited for the client to read).
        tasks = g.loop.run(lambda: len(asyncio.all_tasks()))
        assert tasks < 100, tasks
        # The gate gives up on the connection (idle while 64 answers wait, then what is
        # left unsent is dropped) and no longer counts it.
        assert wait_until(lambda: g.gate.tcp_connections == 0, 15)
        assert wait_until(lambda: not g.gate.tcp_per_address, 5)
    still_answers(g)
