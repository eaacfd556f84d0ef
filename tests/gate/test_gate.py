"""The gate as a client sees it: real UDP/TCP sockets, dnspython as the client, a fake
upstream on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import socket
import struct
import threading
import time
from typing import Any

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from safegate.gate.server import start_listeners
from tests.helpers import FakeUpstream, addresses, ask, ede, wait_until

BLOCKED = ["blocked.example", "zone.example", "cloaked-target.example"]


# --- forwarding and blocking ---------------------------------------------------------------


def test_allowed_name_is_forwarded_and_cached(make_gate: Any, upstream: FakeUpstream) -> None:
    g = make_gate({"custom": BLOCKED})
    first = ask(g.port, "www.allowed.example")
    assert first.rcode() == dns.rcode.NOERROR
    assert addresses(first) == ["192.0.2.1"]
    assert first.flags & dns.flags.RA and first.flags & dns.flags.QR
    second = ask(g.port, "www.allowed.example")
    assert addresses(second) == ["192.0.2.1"]
    assert [q for q in upstream.queries if q[1] == "www.allowed.example"] == [
        ("udp", "www.allowed.example", "A")
    ], "the second answer must come from the cache"


def test_blocked_name_gets_null_ip_with_reason(make_gate: Any, upstream: FakeUpstream) -> None:
    g = make_gate({"custom": BLOCKED})
    for name in ("blocked.example", "deep.sub.zone.example"):
        a = ask(g.port, name)
        assert addresses(a) == ["0.0.0.0"], name
        reasons = ede(a)
        assert reasons and reasons[0][0] == 17 and "custom" in reasons[0][1]
        aaaa = ask(g.port, name, "AAAA")
        assert addresses(aaaa) == ["::"]
        mx = ask(g.port, name, "MX")
        assert mx.rcode() == dns.rcode.NOERROR and not mx.answer
    assert not any(q[1].endswith("zone.example") for q in upstream.queries)


def test_answers_reach_each_of_many_client_addresses(make_gate: Any,
                                                     upstream: FakeUpstream) -> None:
    """Answers leave through the listening socket itself (not uvloop's address cache): each
    of many source addresses gets its own answer, on a miss and from the memo."""
    g = make_gate({"custom": BLOCKED})
    sources = [f"127.0.{i // 250}.{i % 250 + 2}" for i in range(300)]
    for _ in range(2):  # the first round fills the memo, the second is answered from it
        for i, source in enumerate(sources):
            name = "blocked.example" if i % 2 else "allowed.example"
            a = ask(g.port, name, source=source)
            assert addresses(a) == (["0.0.0.0"] if i % 2 else ["192.0.2.1"]), source
    assert len(g.gate.clients) == len(sources)


def test_closed_listener_frees_its_udp_port(make_gate: Any) -> None:
    """The descriptor the answers are sent through is closed with the listener."""
    g = make_gate({"custom": BLOCKED})
    closers, port = g.loop.call(start_listeners(g.gate, "127.0.0.1", 0))
    assert addresses(ask(port, "blocked.example")) == ["0.0.0.0"]

    async def close() -> None:
        for closer in closers:
            closer.close()
        await asyncio.sleep(0.05)  # connection_lost runs on the next iterations

    g.loop.call(close())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))  # EADDRINUSE while any descriptor of it is open


def test_nxdomain_and_blockpage_modes(make_gate: Any) -> None:
    nx = make_gate({"custom": BLOCKED}, **{"gate.block_mode": "nxdomain"})
    assert ask(nx.port, "blocked.example").rcode() == dns.rcode.NXDOMAIN
    page = make_gate({"custom": BLOCKED}, **{"gate.block_mode": "blockpage",
                                              "gate.blockpage_ipv4": "10.9.8.7"})
    assert addresses(ask(page.port, "blocked.example")) == ["10.9.8.7"]
    aaaa = ask(page.port, "blocked.example", "AAAA")
    assert aaaa.rcode() == dns.rcode.NOERROR and not aaaa.answer


def test_case_randomised_query_is_answered_with_its_own_case(make_gate: Any) -> None:
    g = make_gate({"custom": BLOCKED})
    ask(g.port, "mixed.example")
    for name in ("MiXeD.ExAmPlE", "mIxEd.eXaMpLe"):
        a = ask(g.port, name)
        assert a.question[0].name.to_text() == name + "."
        assert addresses(a) == ["192.0.2.1"]
    blocked = ask(g.port, "BlOcKeD.example")
    assert blocked.question[0].name.to_text() == "BlOcKeD.example."
    assert addresses(blocked) == ["0.0.0.0"]


def test_cname_to_blocked_name_is_blocked(make_gate: Any, upstream: FakeUpstream) -> None:
    upstream.behaviour.records["innocent.example"] = [
        ("CNAME", "cloaked-target.example."), ("A", "203.0.113.5")]
    upstream.behaviour.records["fine.example"] = [("CNAME", "cdn.example."),
                                                  ("A", "203.0.113.6")]
    g = make_gate({"custom": BLOCKED})
    blocked = ask(g.port, "innocent.example")
    assert addresses(blocked) == ["0.0.0.0"]
    assert "cname cloaked-target.example" in ede(blocked)[0][1]
    fine = ask(g.port, "fine.example")
    assert addresses(fine) == ["203.0.113.6"]


def test_answer_pointing_into_a_blocked_network_is_blocked(make_gate: Any,
                                                          upstream: FakeUpstream) -> None:
    upstream.behaviour.records["rebound.example"] = [("A", "203.0.113.77")]
    upstream.behaviour.records["elsewhere.example"] = [("A", "198.51.100.7")]
    g = make_gate({"custom": ["blocked.example", "203.0.113.0/24"]})
    blocked = ask(g.port, "rebound.example")
    assert addresses(blocked) == ["0.0.0.0"]
    assert "203.0.113.0/24 (answer address)" in ede(blocked)[0][1]
    assert addresses(ask(g.port, "elsewhere.example")) == ["198.51.100.7"]


def test_canary_private_relay_and_local_zone(make_gate: Any, upstream: FakeUpstream) -> None:
    g = make_gate()
    assert ask(g.port, "use-application-dns.net").rcode() == dns.rcode.NXDOMAIN
    assert ask(g.port, "mask.icloud.com", "AAAA").rcode() == dns.rcode.NXDOMAIN
    local = ask(g.port, "_dns.resolver.arpa", "SVCB")
    assert local.rcode() == dns.rcode.NOERROR and local.flags & dns.flags.AA
    assert not any(q[1].endswith("resolver.arpa") or q[1] == "use-application-dns.net"
                   for q in upstream.queries)


def test_all_query_types_pass_through(make_gate: Any, upstream: FakeUpstream) -> None:
    g = make_gate()
    for rdtype in ("TXT", "MX", "HTTPS", "SRV", "PTR", "CAA"):
        a = ask(g.port, "types.example", rdtype)
        assert a.rcode() == dns.rcode.NOERROR
    seen = {q[2] for q in upstream.queries if q[1] == "types.example"}
    assert seen == {"TXT", "MX", "HTTPS", "SRV", "PTR", "CAA"}


def test_negative_answers_are_cached(make_gate: Any, upstream: FakeUpstream) -> None:
    upstream.behaviour.nxdomain.add("nope.example")
    g = make_gate()
    for _ in range(3):
        a = ask(g.port, "nope.example")
        assert a.rcode() == dns.rcode.NXDOMAIN
        assert a.authority and a.authority[0].rdtype == dns.rdatatype.SOA
    assert len([q for q in upstream.queries if q[1] == "nope.example"]) == 1


def test_ttl_counts_down_in_cache(make_gate: Any, upstream: FakeUpstream) -> None:
    upstream.behaviour.ttl = 100
    g = make_gate()
    assert ask(g.port, "ttl.example").answer[0].ttl == 100
    time.sleep(2.1)
    ttl = ask(g.port, "ttl.example").answer[0].ttl
    assert 96 <= ttl <= 98  # 2.1 s and whole seconds; one more if the machine stalls


def test_long_ttls_are_aged_conservatively(make_gate: Any, upstream: FakeUpstream) -> None:
    upstream.behaviour.ttl = 3600
    g = make_gate()
    first = time.monotonic()
    assert ask(g.port, "long.example").answer[0].ttl == 3600
    for _ in range(3):
        time.sleep(0.6)
        served = ask(g.port, "long.example").answer[0].ttl
        elapsed = time.monotonic() - first
        # Whole seconds, as every cache counts them; never more than the cache has left.
        assert served <= 3600 - int(elapsed), "never more time than the cache has left"
        assert served >= 3600 - elapsed - 62, "at most TTL/60 (+1 s) early"


def test_upstream_failures_are_remembered_briefly(make_gate: Any,
                                                  upstream: FakeUpstream) -> None:
    upstream.behaviour.mode = "dead"
    g = make_gate()
    def tries() -> int:
        return len([q for q in upstream.queries if q[1] == "down.example"])

    assert ask(g.port, "down.example", timeout=5).rcode() == dns.rcode.SERVFAIL
    assert tries() == 2, "one exchange: the query and one retransmission"
    for _ in range(2):
        assert ask(g.port, "down.example", timeout=5).rcode() == dns.rcode.SERVFAIL
    assert tries() == 2, "retries within 2 s are answered from memory"
    upstream.behaviour.mode = "normal"
    time.sleep(2.1)
    assert addresses(ask(g.port, "down.example")) == ["192.0.2.1"]


# --- sizes and transports ---------------------------------------------------------------------


def test_large_answer_truncates_over_udp_and_completes_over_tcp(make_gate: Any,
                                                                upstream: FakeUpstream) -> None:
    upstream.behaviour.many.add("big.example")
    g = make_gate()
    small = ask(g.port, "big.example", edns=False)
    assert small.flags & dns.flags.TC and not small.answer
    full = ask(g.port, "big.example", tcp=True)
    assert len(addresses(full)) == 60
    again = ask(g.port, "big.example", edns=False)  # from the memo: still truncated
    assert again.flags & dns.flags.TC


def test_truncated_upstream_answer_is_retried_over_tcp(make_gate: Any,
                                                       upstream: FakeUpstream) -> None:
    upstream.behaviour.many.add("tc.example")
    upstream.behaviour.truncate_udp = True
    g = make_gate()
    full = ask(g.port, "tc.example", tcp=True)
    assert len(addresses(full)) == 60
    assert ("tcp", "tc.example", "A") in upstream.queries


def test_tcp_pipelining(make_gate: Any) -> None:
    g = make_gate({"custom": BLOCKED})
    with socket.create_connection(("127.0.0.1", g.port), timeout=3) as sock:
        names = [f"p{i}.example" for i in range(20)] + ["blocked.example"]
        ids = {}
        for i, name in enumerate(names):
            q = dns.message.make_query(name, "A")
            q.id = 1000 + i
            ids[q.id] = name
            wire_q = q.to_wire()
            sock.sendall(struct.pack("!H", len(wire_q)) + wire_q)
        seen = {}
        buf = b""
        while len(seen) < len(names):
            buf += sock.recv(65535)
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                size = struct.unpack("!H", buf[:2])[0]
                msg = dns.message.from_wire(buf[2 : 2 + size])
                buf = buf[2 + size :]
                seen[msg.id] = msg
    assert set(seen) == set(ids)
    assert addresses(seen[1000 + len(names) - 1]) == ["0.0.0.0"]


# --- failing upstreams ------------------------------------------------------------------------


def test_dead_upstream_gives_servfail_in_bounded_time(make_gate: Any,
                                                      upstream: FakeUpstream) -> None:
    upstream.behaviour.mode = "dead"
    g = make_gate()
    started = time.monotonic()
    a = ask(g.port, "dead.example", timeout=5)
    assert a.rcode() == dns.rcode.SERVFAIL
    assert time.monotonic() - started < 2.0
    assert wait_until(lambda: len(g.gate._tasks) == 0), "no query task may be left behind"


def test_lying_upstream_is_ignored(make_gate: Any, upstream: FakeUpstream) -> None:
    upstream.behaviour.mode = "lie"
    g = make_gate()
    assert ask(g.port, "lie.example", timeout=5).rcode() == dns.rcode.SERVFAIL
    assert g.gate.pool.upstreams[0].unexpected >= 1


def test_failover_to_second_upstream(make_gate: Any, upstream: FakeUpstream) -> None:
    dead = FakeUpstream().start()
    dead.behaviour.mode = "dead"
    try:
        g = make_gate(upstreams=[f"127.0.0.1:{dead.port}", f"127.0.0.1:{upstream.port}"])
        for i in range(5):
            assert addresses(ask(g.port, f"f{i}.example")) == ["192.0.2.1"]
        first = g.gate.pool.upstreams[0]
        assert not first.healthy, "three failures mark the first upstream down"
        started = time.monotonic()
        ask(g.port, "after.example")
        assert time.monotonic() - started < 0.3, "a down upstream is not tried first"
        dead.behaviour.mode = "normal"
        assert wait_until(lambda: first.healthy, 3), "health checks bring it back"
    finally:
        dead.stop()


def test_servfail_upstream_fails_over(make_gate: Any, upstream: FakeUpstream) -> None:
    bad = FakeUpstream().start()
    bad.behaviour.mode = "servfail"
    try:
        g = make_gate(upstreams=[f"127.0.0.1:{bad.port}", f"127.0.0.1:{upstream.port}"])
        assert addresses(ask(g.port, "sf.example")) == ["192.0.2.1"]
    finally:
        bad.stop()


def test_serve_stale_when_every_upstream_is_down(make_gate: Any, upstream: FakeUpstream) -> None:
    upstream.behaviour.ttl = 1
    g = make_gate()
    assert addresses(ask(g.port, "stale.example")) == ["192.0.2.1"]
    upstream.behaviour.mode = "dead"
    time.sleep(1.2)
    a = ask(g.port, "stale.example", timeout=5)
    assert addresses(a) == ["192.0.2.1"]
    assert a.answer[0].ttl == 30
    assert (3, "") in ede(a), "stale answers say so (EDE 3)"
    off = make_gate(**{"gate.serve_stale": False})
    upstream.behaviour.mode = "normal"
    ask(off.port, "stale2.example")
    upstream.behaviour.mode = "dead"
    time.sleep(1.2)
    assert ask(off.port, "stale2.example", timeout=5).rcode() == dns.rcode.SERVFAIL


def test_identical_concurrent_misses_share_one_upstream_query(make_gate: Any,
                                                              upstream: FakeUpstream) -> None:
    upstream.behaviour.delay = 0.3
    g = make_gate(**{"gate.upstream_timeout": 2.0})  # no retransmission within 0.3 s
    results: list[dns.message.Message] = []

    def worker() -> None:
        results.append(ask(g.port, "same.example"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(addresses(r) == ["192.0.2.1"] for r in results)
    assert len([q for q in upstream.queries if q[1] == "same.example"]) == 1


def test_cache_is_bounded(make_gate: Any) -> None:
    g = make_gate(**{"gate.cache_size": 10})
    for i in range(30):
        ask(g.port, f"n{i}.example")
    assert len(g.gate.cache) <= 10
    assert g.gate.cache.evictions >= 20


# --- clients: access, identification, rate limits ------------------------------------------


def test_not_an_open_resolver(make_gate: Any, upstream: FakeUpstream) -> None:
    g = make_gate(**{"gate.allowed_networks": ["10.0.0.0/8"]})
    a = ask(g.port, "open.example")
    assert a.rcode() == dns.rcode.REFUSED
    assert not upstream.queries


def test_refused_client_never_reads_memoised_answers(make_gate: Any) -> None:
    g = make_gate({"custom": BLOCKED}, **{"gate.allowed_networks": ["127.0.0.1/32"]})
    for name in ("shared.example", "blocked.example"):
        assert ask(g.port, name).rcode() == dns.rcode.NOERROR  # memoised for 127.0.0.1
        assert ask(g.port, name, source="127.0.0.9").rcode() == dns.rcode.REFUSED


def test_rate_limit_per_client(make_gate: Any) -> None:
    g = make_gate(**{"gate.rate_limit_qps": 5.0, "gate.rate_limit_burst": 5})
    # Loopback is exempt by default; switch that off to test the limiter on 127.0.0.9.
    g.gate.options = dataclasses.replace(g.gate.options, exempt_loopback=False)
    g.gate.clients.clear()
    answered = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.9", 0))
        sock.settimeout(0.5)
        for i in range(20):
            q = dns.message.make_query(f"rl{i}.example", "A")
            q.id = i
            sock.sendto(q.to_wire(), ("127.0.0.1", g.port))
        try:
            while True:
                answered.add(dns.message.from_wire(sock.recv(4096)).id)
        except OSError:
            pass
    assert 5 <= len(answered) <= 7, answered
    assert g.gate.stats.rate_limited >= 13
    # Other clients are not affected, and the limited one recovers after a second.
    assert addresses(ask(g.port, "other-client.example", source="127.0.0.8")) == ["192.0.2.1"]
    time.sleep(1.0)
    assert addresses(ask(g.port, "later.example", source="127.0.0.9")) == ["192.0.2.1"]


def test_demo_household_profiles_by_ip_and_mac(make_gate: Any, tmp_path: Any) -> None:
    # An (127.0.0.2) blocks social networks; Bình (MAC 02:00:00:00:00:21) does not;
    # unknown clients get the operator default (social allowed by default). The MAC option
    # is believed only from a trusted forwarder (here 127.0.0.1, standing for the router).
    g = make_gate({"social": ["tiktok.example"]}, demo=True,
                  **{"policy.default_categories": ["adult"],
                     "gate.trusted_forwarders": ["127.0.0.1"]})
    from safegate.store.db import session_factory
    from safegate.store.repo import load_profiles, update_policy

    with session_factory(g.runtime.engine).begin() as session:
        profiles = {p.name: p for p in load_profiles(session)}
        update_policy(session, profiles["An"].id, deny=["games.example"])
        update_policy(session, profiles["Bình"].id, deny=["homework-distraction.example"])
    g.reload()
    assert addresses(ask(g.port, "games.example", source="127.0.0.2")) == ["0.0.0.0"]
    assert addresses(ask(g.port, "games.example")) == ["192.0.2.1"]
    mac = dns.edns.GenericOption(65001, bytes.fromhex("020000000021"))
    assert addresses(ask(g.port, "homework-distraction.example", options=[mac])) == ["0.0.0.0"]
    other_mac = dns.edns.GenericOption(65001, bytes.fromhex("020000000099"))
    assert addresses(ask(g.port, "homework-distraction.example", options=[other_mac])) == [
        "192.0.2.1"]


# --- reloads ---------------------------------------------------------------------------------


def test_reload_swaps_policy_without_dropping_queries(make_gate: Any, tmp_path: Any) -> None:
    g = make_gate({"custom": ["first.example"]})
    assert addresses(ask(g.port, "first.example")) == ["0.0.0.0"]
    stop = threading.Event()
    failures: list[str] = []
    answered = [0]

    def hammer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                ask(g.port, f"h{i % 50}.example", timeout=2)
                answered[0] += 1
            except Exception as exc:  # any timeout is a dropped query
                failures.append(repr(exc))

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    list_file = tmp_path / "custom.txt"
    for round_ in range(3):
        time.sleep(0.2)
        list_file.write_text(f"second{round_}.example\n")
        assert "lists rebuilt" in g.reload()
    stop.set()
    for t in threads:
        t.join()
    assert not failures, failures[:3]
    assert answered[0] > 50
    assert addresses(ask(g.port, "second2.example")) == ["0.0.0.0"]
    assert addresses(ask(g.port, "first.example")) == ["192.0.2.1"]


def test_reload_keeps_last_good_lists_when_a_file_breaks(make_gate: Any, tmp_path: Any) -> None:
    g = make_gate({"custom": ["kept.example"]})
    (tmp_path / "custom.txt").unlink()
    g.reload()
    assert addresses(ask(g.port, "kept.example")) == ["0.0.0.0"]


# --- logging ------------------------------------------------------------------------------


def test_queries_are_logged_in_windows(make_gate: Any) -> None:
    g = make_gate({"custom": BLOCKED}, **{"querylog.flush_interval": 0.1})
    g.gate.querylog.window = 0.2
    for _ in range(3):
        ask(g.port, "blocked.example")
    ask(g.port, "logged.example")
    from sqlalchemy import text

    def rows() -> list[Any]:
        with g.runtime.engine.connect() as conn:
            return list(conn.execute(text(
                "select client_ip, qname, action, reason, hits from query_log order by qname")))

    assert wait_until(lambda: sum(r[4] for r in rows()) == 4, 5)
    by_name = {r[1]: r for r in rows()}
    assert by_name["blocked.example"][2] == "block"
    assert by_name["blocked.example"][3].startswith("custom:file/custom:")
    assert by_name["blocked.example"][4] == 3
    assert by_name["logged.example"][0] == "127.0.0.1"


def test_broken_store_never_stops_the_gate(make_gate: Any) -> None:
    g = make_gate({"custom": BLOCKED}, **{"querylog.flush_interval": 0.05})
    g.gate.querylog.window = 0.05

    def broken(rows: Any) -> int:
        raise OSError("disk full")

    g.gate.querylog.sink = broken
    for i in range(20):
        assert ask(g.port, f"s{i}.example").rcode() == dns.rcode.NOERROR
    assert wait_until(lambda: g.gate.querylog.dropped >= 20, 3)
    assert addresses(ask(g.port, "blocked.example")) == ["0.0.0.0"]


# --- hostile input ---------------------------------------------------------------------------


def test_garbage_packets_never_kill_the_server(make_gate: Any) -> None:
    g = make_gate({"custom": BLOCKED})
    rng = random.Random(7)
    valid = dns.message.make_query("fuzz.example", "A").to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.01)
        for i in range(3000):
            kind = i % 4
            if kind == 0:
                data = rng.randbytes(rng.randrange(0, 600))
            elif kind == 1:
                data = valid[: rng.randrange(0, len(valid))]
            elif kind == 2:
                raw = bytearray(valid)
                for _ in range(rng.randrange(1, 6)):
                    raw[rng.randrange(len(raw))] = rng.randrange(256)
                data = bytes(raw)
            else:
                data = valid[:12] + b"\xc0\x0c" * 50  # compression loop
            sock.sendto(data, ("127.0.0.1", g.port))
            if i % 200 == 0:
                try:
                    while True:
                        sock.recv(4096)
                except OSError:
                    pass
    assert addresses(ask(g.port, "blocked.example")) == ["0.0.0.0"]
    assert g.gate.stats.handler_errors == 0
    assert g.gate.stats.formerr > 0


def test_formerr_for_malformed_query(make_gate: Any) -> None:
    g = make_gate()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        header = struct.pack("!HHHHHH", 0xBEEF, 0x0100, 0, 0, 0, 0)  # zero questions
        sock.sendto(header, ("127.0.0.1", g.port))
        reply = dns.message.from_wire(sock.recv(512))
    assert reply.id == 0xBEEF and reply.rcode() == dns.rcode.FORMERR


@pytest.mark.parametrize("payload", [512, 4096])
def test_answers_fit_the_client_buffer(make_gate: Any, upstream: FakeUpstream,
                                       payload: int) -> None:
    upstream.behaviour.many.add("fit.example")
    g = make_gate()
    a = ask(g.port, "fit.example", payload=payload)
    if payload == 512:
        assert a.flags & dns.flags.TC
    else:
        assert len(addresses(a)) == 60  # 60 A records need ~1000 bytes: fits 1232
