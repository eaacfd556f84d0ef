"""DNS over HTTPS upstreams (RFC 8484 framing) against a real local HTTP server."""

from __future__ import annotations

from typing import Any

import dns.rcode

from tests.helpers import FakeDohServer, FakeUpstream, addresses, ask


def test_doh_upstream_answers(make_gate: Any, upstream: FakeUpstream) -> None:
    doh = FakeDohServer(upstream).start()
    try:
        g = make_gate({"custom": ["blocked.example"]}, upstreams=[doh.url])
        assert addresses(ask(g.port, "via-doh.example")) == ["192.0.2.1"]
        assert ("doh", "via-doh.example", "A") in upstream.queries
        assert addresses(ask(g.port, "blocked.example")) == ["0.0.0.0"]
        assert doh.requests == 1, "blocked names never reach the upstream"
    finally:
        doh.stop()


def test_doh_http_error_fails_over_to_plain_dns(make_gate: Any, upstream: FakeUpstream) -> None:
    doh = FakeDohServer(upstream).start()
    doh.status = 503
    try:
        g = make_gate(upstreams=[doh.url, f"127.0.0.1:{upstream.port}"])
        assert addresses(ask(g.port, "failover.example")) == ["192.0.2.1"]
        assert ("udp", "failover.example", "A") in upstream.queries
    finally:
        doh.stop()


def test_doh_only_and_down_gives_servfail(make_gate: Any, upstream: FakeUpstream) -> None:
    doh = FakeDohServer(upstream).start()
    doh.status = 500
    try:
        g = make_gate(upstreams=[doh.url])
        assert ask(g.port, "down.example", timeout=5).rcode() == dns.rcode.SERVFAIL
    finally:
        doh.stop()
