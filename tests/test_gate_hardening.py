"""A gate that cannot be poisoned or fooled: who may name a device by its MAC, stale answers
checked like fresh ones, and TCP that hostile or broken clients cannot wear down. Real
sockets, dnspython and dig as clients, a fake upstream on loopback."""

from __future__ import annotations

import shutil
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
from tests.fakes import FakeUpstream
from tests.test_gate import addresses, ask, ede

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
