"""The demo household that `make run` creates shows the parental-control features: asked
with `safegate check --at`, which needs no clock of its own."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import dns.rdatatype
import pytest

from tests.helpers import FakeUpstream, cli, query, start_server, wait_until


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("demo")
    made = cli("migrate", "--demo", "--data-dir", str(data))
    assert made.returncode == 0, made.stderr
    return data


def at(demo: Path, domain: str, child: str, when: str) -> dict[str, Any]:
    result = cli("check", domain, "--profile", child, "--at", when, "--json",
                 "--data-dir", str(demo))
    assert result.returncode == 0, result.stderr
    verdict: dict[str, Any] = json.loads(result.stdout)
    return verdict


# 2026-12-07 is a Monday, 2026-12-12 a Saturday (Asia/Ho_Chi_Minh, the demo's zone).
@pytest.mark.parametrize(("domain", "child", "when", "action", "rule"), [
    ("example.org", "An", "2026-12-07T21:00", "block", "schedule:bedtime"),
    ("example.org", "An", "2026-12-08T06:29", "block", "schedule:bedtime"),
    ("example.org", "An", "2026-12-08T06:30", "allow", None),
    ("www.hoc10.vn", "An", "2026-12-07T21:00", "allow", None),  # on bedtime's allow list
    ("www.google.com", "An", "2026-12-07T12:00", "rewrite", "google"),
    ("www.youtube.com", "An", "2026-12-07T12:00", "rewrite", "youtube:strict"),
    ("www.youtube.com", "Bình", "2026-12-07T12:00", "rewrite", "youtube:moderate"),
    ("www.facebook.com", "Bình", "2026-12-07T08:00", "block", "schedule:school-morning"),
    ("www.facebook.com", "Bình", "2026-12-07T12:00", "allow", None),
    ("www.facebook.com", "Bình", "2026-12-07T14:00", "block", "schedule:school-afternoon"),
    ("www.facebook.com", "Bình", "2026-12-12T08:00", "allow", None),  # Saturday
])
def test_the_demo_at_a_moment(demo: Path, domain: str, child: str, when: str, action: str,
                              rule: str | None) -> None:
    verdict = at(demo, domain, child, when)
    assert verdict["action"] == action, verdict
    if rule is not None:
        assert verdict["rule"].startswith(rule), verdict


def test_the_demo_children_have_their_budgets_and_decree_147(demo: Path) -> None:
    shown = cli("policy", "show", "Bình", "--json", "--data-dir", str(demo))
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["decree147"] is True
    exported = cli("policy", "export", "--format", "json", "--data-dir", str(demo))
    assert exported.returncode == 0, exported.stderr
    children = {c["name"]: c for c in json.loads(exported.stdout)["children"]}
    assert {b["target"]: b["minutes_per_day"] for b in children["An"]["budgets"]} == {
        "group:games": 60}
    assert {b["target"]: b["minutes_per_day"] for b in children["Bình"]["budgets"]} == {
        "group:games": 180}
    assert [s["name"] for s in children["An"]["schedules"]] == ["bedtime"]


def test_migrate_demo_reaches_a_running_gate(tmp_path: Path) -> None:
    """`safegate migrate --demo` next to a running gate: the demo is a change like any other,
    and the gate applies it (Bình's phone gets safe search) without a reload. Bình's, not
    An's tablet: the demo's bedtime blocks all of An's names from 20:30 to 06:30 in Hanoi,
    and the test failed there (13:30-23:30 UTC)."""
    upstream = FakeUpstream().start()
    data = str(tmp_path / "data")
    proc, port = start_server("--no-web", "--no-default-lists", "--data-dir", data,
                              "--upstream", f"127.0.0.1:{upstream.port}")
    try:
        def cnames() -> list[str]:
            response = query(port, "www.google.com", source="127.0.0.3")
            return [str(rd) for r in response.answer if r.rdtype == dns.rdatatype.CNAME
                    for rd in r]

        assert cnames() == []  # nobody's phone yet: the operator default
        made = cli("migrate", "--demo", "--data-dir", data)
        assert made.returncode == 0, made.stderr
        assert wait_until(lambda: cnames() == ["forcesafesearch.google.com."], 5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        upstream.stop()
