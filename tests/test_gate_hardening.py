"""A gate that cannot be poisoned or fooled: who may name a device by its MAC, stale answers
checked like fresh ones, and TCP that hostile or broken clients cannot wear down. Real
sockets, dnspython and dig as clients, a fake upstream on loopback."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from safegate.config import ConfigError, load_settings
from tests.test_gate import addresses, ask

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
