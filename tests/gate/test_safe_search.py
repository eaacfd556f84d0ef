"""Safe search through a running gate: real sockets, dnspython and dig as clients, a fake
upstream that answers the engines' enforced endpoints. The demo household: An (127.0.0.2)
has safe search on and YouTube strict, Bình (127.0.0.3) safe search on and YouTube moderate;
other clients get the operator default (safe search off)."""

from __future__ import annotations

import struct
import subprocess
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from tests.helpers import FakeUpstream, addresses, ask, ede, wait_until

AN = "127.0.0.2"
BINH = "127.0.0.3"


def demo_gate(make_gate: Any, **overrides: Any) -> Any:
    return make_gate({"adult": ["bad.example"]}, demo=True, **overrides)


def chain(msg: dns.message.Message) -> list[tuple[str, str, str]]:
    """The answer section as (owner, type, data) in order."""
    return [(rrset.name.to_text().rstrip(".").lower(), dns.rdatatype.to_text(rrset.rdtype),
             r.to_text().rstrip(".").lower()) for rrset in msg.answer for r in rrset]


def upstream_names(upstream: FakeUpstream, name: str, rdtype: str | None = None) -> int:
    return sum(1 for _, n, t in upstream.queries if n == name and rdtype in (None, t))


def set_policy(g: Any, child: str, **changes: Any) -> None:
    from safegate.store.db import session_factory
    from safegate.store.repo import load_profiles, update_policy

    with session_factory(g.runtime.engine).begin() as session:
        profiles = {p.name: p for p in load_profiles(session)}
        update_policy(session, profiles[child].id, **changes)
    g.reload()


def test_google_is_answered_with_a_cname_to_the_enforced_endpoint(
        make_gate: Any, upstream: FakeUpstream) -> None:
    g = demo_gate(make_gate)
    a = ask(g.port, "www.google.com", source=AN)
    assert a.rcode() == dns.rcode.NOERROR
    assert chain(a) == [("www.google.com", "CNAME", "forcesafesearch.google.com"),
                        ("forcesafesearch.google.com", "A", "192.0.2.1")]
    assert a.answer[0].ttl <= 300
    aaaa = ask(g.port, "www.google.com", "AAAA", source=AN, tcp=True)
    assert chain(aaaa) == [("www.google.com", "CNAME", "forcesafesearch.google.com"),
                           ("forcesafesearch.google.com", "AAAA", "2001:db8::1")]
    # The gate asked for the target, never for the engine's own name.
    assert upstream_names(upstream, "forcesafesearch.google.com", "A") == 1
    assert upstream_names(upstream, "forcesafesearch.google.com", "AAAA") == 1
    assert upstream_names(upstream, "www.google.com") == 0
    # A client without safe search (the operator default) gets Google as it is.
    plain = ask(g.port, "www.google.com")
    assert chain(plain) == [("www.google.com", "A", "192.0.2.1")]
    assert upstream_names(upstream, "www.google.com", "A") == 1


def test_second_query_is_answered_from_memo_and_cache(make_gate: Any,
                                                      upstream: FakeUpstream) -> None:
    g = demo_gate(make_gate)
    first = ask(g.port, "www.google.com", source=AN)
    again = ask(g.port, "www.google.com", source=AN)  # An's memo
    binh = ask(g.port, "WWW.Google.COM", source=BINH)  # another profile: the shared cache
    assert chain(first) == chain(again) == chain(binh)
    assert binh.question[0].name.to_text() == "WWW.Google.COM."
    # Another Google country domain of An's: the same target, from the cache.
    vn = ask(g.port, "www.google.com.vn", source=AN)
    assert chain(vn)[0] == ("www.google.com.vn", "CNAME", "forcesafesearch.google.com")
    assert upstream_names(upstream, "forcesafesearch.google.com", "A") == 1
    assert g.gate.cache.hits >= 2


def test_https_records_follow_the_cname(make_gate: Any, upstream: FakeUpstream) -> None:
    upstream.behaviour.records["forcesafesearch.google.com"] = [
        ("HTTPS", '1 . alpn="h2,h3" ipv4hint=216.239.38.120')]
    g = demo_gate(make_gate)
    https = ask(g.port, "www.google.com", "HTTPS", source=AN)
    assert https.rcode() == dns.rcode.NOERROR
    assert chain(https)[0] == ("www.google.com", "CNAME", "forcesafesearch.google.com")
    owner, rtype, data = chain(https)[1]
    assert (owner, rtype) == ("forcesafesearch.google.com", "HTTPS")
    assert 'alpn="h2,h3"' in data and "216.239.38.120" in data
    assert upstream_names(upstream, "forcesafesearch.google.com", "HTTPS") == 1


def test_youtube_follows_each_childs_mode(make_gate: Any, upstream: FakeUpstream) -> None:
    # The target answers with a CNAME chain of its own (compressed by dnspython): the gate
    # re-encodes it behind its own CNAME.
    upstream.behaviour.records["restrict.youtube.com"] = [
        ("CNAME", "edge.strict.example."), ("A", "216.239.38.120")]
    g = demo_gate(make_gate)
    an = ask(g.port, "www.youtube.com", source=AN)
    assert chain(an) == [("www.youtube.com", "CNAME", "restrict.youtube.com"),
                         ("restrict.youtube.com", "CNAME", "edge.strict.example"),
                         ("edge.strict.example", "A", "216.239.38.120")]
    binh = ask(g.port, "m.youtube.com", source=BINH)
    assert chain(binh) == [("m.youtube.com", "CNAME", "restrictmoderate.youtube.com"),
                           ("restrictmoderate.youtube.com", "A", "192.0.2.1")]
    for name in ("youtubei.googleapis.com", "youtube.googleapis.com",
                 "www.youtube-nocookie.com"):
        assert chain(ask(g.port, name, source=AN))[0] == (name, "CNAME",
                                                          "restrict.youtube.com")
    # Not every subdomain: YouTube's video servers are left alone.
    assert chain(ask(g.port, "i.ytimg.youtube.com", source=AN))[0][1] == "A"


def test_other_types_get_the_cname_alone(make_gate: Any, upstream: FakeUpstream) -> None:
    g = demo_gate(make_gate)
    for rdtype in ("TXT", "MX", "CNAME"):
        msg = ask(g.port, "www.bing.com", rdtype, source=AN)
        assert msg.rcode() == dns.rcode.NOERROR
        assert chain(msg) == [("www.bing.com", "CNAME", "strict.bing.com")], rdtype
    assert upstream_names(upstream, "www.bing.com") == 0
    assert upstream_names(upstream, "strict.bing.com") == 0


def test_dig_sees_the_rewrite(make_gate: Any) -> None:
    g = demo_gate(make_gate)
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(g.port), "-b", AN, "+tries=1",
                          "+time=3", "www.google.com", "A"],
                         capture_output=True, text=True, timeout=20, check=True).stdout
    assert "status: NOERROR" in out
    answer = out.split(";; ANSWER SECTION:", 1)[1].split("\n\n", 1)[0]
    rows = [line.split() for line in answer.strip().splitlines()]
    assert [(r[0], r[3], r[4]) for r in rows] == [
        ("www.google.com.", "CNAME", "forcesafesearch.google.com."),
        ("forcesafesearch.google.com.", "A", "192.0.2.1")]


def test_unforceable_engines_are_blocked_while_safe_search_is_on(make_gate: Any) -> None:
    g = demo_gate(make_gate)
    blocked = ask(g.port, "www.startpage.com", source=AN)
    assert addresses(blocked) == ["0.0.0.0"]
    assert ede(blocked)[0] == (17, "safe_search:startpage:startpage.com")
    assert addresses(ask(g.port, "www.startpage.com")) == ["192.0.2.1"]  # the default profile
    set_policy(g, "An", safe_search=False)
    assert addresses(ask(g.port, "www.startpage.com", source=AN)) == ["192.0.2.1"]


def test_policy_changes_take_effect_after_reload(make_gate: Any, upstream: FakeUpstream) -> None:
    g = demo_gate(make_gate)
    assert chain(ask(g.port, "www.google.com", source=AN))[0][1] == "CNAME"
    assert chain(ask(g.port, "www.youtube.com", source=AN))[0][2] == "restrict.youtube.com"
    set_policy(g, "An", safe_search=False, youtube_mode="moderate")
    assert chain(ask(g.port, "www.google.com", source=AN)) == [
        ("www.google.com", "A", "192.0.2.1")]
    assert chain(ask(g.port, "www.youtube.com", source=AN))[0][2] == (
        "restrictmoderate.youtube.com")
    set_policy(g, "An", youtube_mode="off")
    assert chain(ask(g.port, "www.youtube.com", source=AN))[0][1] == "A"
    # Bình was not touched.
    assert chain(ask(g.port, "www.google.com", source=BINH))[0][1] == "CNAME"


def test_a_blocked_youtube_stays_blocked(make_gate: Any, upstream: FakeUpstream) -> None:
    g = demo_gate(make_gate)
    set_policy(g, "An", blocked_services=["youtube"])
    msg = ask(g.port, "www.youtube.com", source=AN)
    assert addresses(msg) == ["0.0.0.0"]
    assert ede(msg)[0][1] == "service:service:youtube:youtube.com"
    assert upstream_names(upstream, "restrict.youtube.com") == 0


def test_the_target_is_not_checked_against_the_lists(make_gate: Any,
                                                     upstream: FakeUpstream) -> None:
    # A list that blocks the endpoint's own name, or a name its answer points to (here through
    # a custom list every profile applies), must not block the rewrite: the target is not the
    # child's choice.
    upstream.behaviour.records["restrict.youtube.com"] = [
        ("CNAME", "edge.listed-cdn.example."), ("A", "192.0.2.7")]
    g = make_gate({"custom": ["restrict.youtube.com", "listed-cdn.example"]}, demo=True)
    msg = ask(g.port, "www.youtube.com", source=AN)
    assert chain(msg) == [("www.youtube.com", "CNAME", "restrict.youtube.com"),
                          ("restrict.youtube.com", "CNAME", "edge.listed-cdn.example"),
                          ("edge.listed-cdn.example", "A", "192.0.2.7")]
    # Asked for directly, the listed name is blocked like any other.
    assert addresses(ask(g.port, "restrict.youtube.com", source=AN)) == ["0.0.0.0"]


def test_upstream_down_gives_servfail_then_stale(make_gate: Any, upstream: FakeUpstream) -> None:
    upstream.behaviour.mode = "dead"
    g = demo_gate(make_gate, **{"gate.serve_stale": True})
    assert ask(g.port, "www.bing.com", source=AN, timeout=5).rcode() == dns.rcode.SERVFAIL
    upstream.behaviour.mode = "normal"
    upstream.behaviour.ttl = 1
    g2 = demo_gate(make_gate, **{"gate.serve_stale": True})
    fresh = ask(g2.port, "www.bing.com", source=AN)
    assert chain(fresh)[0] == ("www.bing.com", "CNAME", "strict.bing.com")
    upstream.behaviour.mode = "dead"
    assert wait_until(lambda: ede(ask(g2.port, "www.bing.com", source=AN, timeout=5)) != [],
                      6)
    stale = ask(g2.port, "www.bing.com", source=AN, timeout=5)
    assert chain(stale) == [("www.bing.com", "CNAME", "strict.bing.com"),
                            ("strict.bing.com", "A", "192.0.2.1")]
    assert ede(stale) == [(3, "")]  # Stale Answer
    assert {rr.ttl for rr in stale.answer} == {30}


def test_rewrites_are_logged_as_rewrite(make_gate: Any) -> None:
    g = demo_gate(make_gate, **{"querylog.flush_interval": 0.1})
    g.gate.querylog.window = 0.2
    ask(g.port, "www.google.com", source=AN)
    ask(g.port, "www.google.com", source=AN)
    ask(g.port, "www.youtube.com", source=BINH)
    from sqlalchemy import text

    def rows() -> list[Any]:
        with g.runtime.engine.connect() as conn:
            return list(conn.execute(text(
                "select client_ip, qname, action, reason, hits from query_log")))

    assert wait_until(lambda: sum(r[4] for r in rows()) == 3, 5)
    got = sorted((r[0], r[1], r[2], r[3], r[4]) for r in rows())
    assert got == [
        (AN, "www.google.com", "rewrite", "safe_search:google", 2),
        (BINH, "www.youtube.com", "rewrite", "safe_search:youtube:moderate", 1),
    ]


@pytest.mark.parametrize("rdtype", ["A", "AAAA", "HTTPS", "TXT", "ANY", "SVCB"])
def test_rewrite_never_kills_the_gate(make_gate: Any, upstream: FakeUpstream,
                                      rdtype: str) -> None:
    # A target whose answer holds an MX and a malformed-looking mix must still be answered.
    upstream.behaviour.records["safe.duckduckgo.com"] = [("MX", "10 mx.example.")]
    g = demo_gate(make_gate)
    msg = ask(g.port, "duckduckgo.com", rdtype, source=AN)
    assert msg.rcode() == dns.rcode.NOERROR
    assert chain(msg)[0] == ("duckduckgo.com", "CNAME", "safe.duckduckgo.com")
    assert g.gate.stats.handler_errors == 0


def test_expand_records_removes_every_compression_pointer() -> None:
    from safegate.gate import wire

    q = dns.message.make_query("www.Example.org", "MX")
    r = dns.message.make_response(q)
    for text in ("www.Example.org. 60 IN CNAME mail.example.org.",
                 "mail.example.org. 60 IN MX 10 mx.example.org.",
                 "mail.example.org. 60 IN TXT \"x.example.org\""):
        r.answer.append(dns.rrset.from_text(*text.split(" ", 4)[:4], text.split(" ", 4)[4]))
    r.authority.append(dns.rrset.from_text("example.org.", 60, "IN", "SOA",
                                           "ns.example.org. host.example.org. 1 2 3 4 5"))
    raw = r.to_wire()
    assert b"\xc0" in raw[40:]  # dnspython compressed the names
    end = len(q.question[0].name.to_wire()) + 4 + 12
    records, stop = wire.expand_records(raw, end, 4)
    assert stop == len(raw)
    # Moved behind a different question, the records still parse to the same data.
    header = struct.pack("!HHHHHH", 7, 0x8180, 1, 3, 1, 0)
    moved = header + wire.question("a.b.c.example.net", 15) + b"".join(records)
    parsed = dns.message.from_wire(moved)
    assert [r.to_text() for r in parsed.answer] == [
        "www.example.org. 60 IN CNAME mail.example.org.",
        "mail.example.org. 60 IN MX 10 mx.example.org.",
        'mail.example.org. 60 IN TXT "x.example.org"']
    assert parsed.authority[0].to_text() == (
        "example.org. 60 IN SOA ns.example.org. host.example.org. 1 2 3 4 5")
    with pytest.raises(wire.WireError):
        wire.expand_records(raw[:-3], end, 4)
