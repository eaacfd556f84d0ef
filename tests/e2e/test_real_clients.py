"""dig and kdig, the tools operators use, as real clients of the gate."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from tests.helpers import FakeUpstream


def run(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=True).stdout


@pytest.mark.skipif(shutil.which("dig") is None,
                    reason="dig not installed (make test installs bind9-dnsutils)")
def test_dig_udp_tcp_and_block_reason(make_gate: Any, upstream: FakeUpstream) -> None:
    g = make_gate({"custom": ["blocked.example"]})
    port = str(g.port)
    assert run(["dig", "@127.0.0.1", "-p", port, "+short", "ok.example"]).split() == ["192.0.2.1"]
    assert run(["dig", "@127.0.0.1", "-p", port, "+tcp", "+short", "ok.example"]).split() == [
        "192.0.2.1"]
    full = run(["dig", "@127.0.0.1", "-p", port, "blocked.example"])
    assert "status: NOERROR" in full and "0.0.0.0" in full
    assert "EDE: 17 (Filtered)" in full and "custom:file/custom:blocked.example" in full
    canary = run(["dig", "@127.0.0.1", "-p", port, "use-application-dns.net"])
    assert "status: NXDOMAIN" in canary
    idn = run(["dig", "@127.0.0.1", "-p", port, "+short", "xn--bcher-kva.example"])
    assert idn.split() == ["192.0.2.1"]


@pytest.mark.skipif(shutil.which("kdig") is None,
                    reason="kdig not installed (make test installs knot-dnsutils)")
def test_kdig_edns_and_case(make_gate: Any, upstream: FakeUpstream) -> None:
    g = make_gate({"custom": ["blocked.example"]})
    out = run(["kdig", "@127.0.0.1", "-p", str(g.port), "+edns", "+nsid", "BlOcKeD.ExAmPlE", "A"])
    assert "status: NOERROR" in out and "0.0.0.0" in out
    assert "blocked.example." in out.lower()  # kdig prints names in lowercase
    assert "EDE: 17 (Filtered)" in out, out
    out = run(["kdig", "@127.0.0.1", "-p", str(g.port), "+tcp", "+short", "fine.example", "AAAA"])
    assert out.split() == ["2001:db8::1"]
