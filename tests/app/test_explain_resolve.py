"""`safegate check --resolve` (and the API's ``resolve``) ask the upstreams as the gate does,
here a real local DNS server: a name whose CNAME target the child's rules block is explained
as blocked through that target, a name of its own that aliases a game counts towards the
game's budget, a dead upstream is said and the name judged alone; without ``resolve`` the
name alone decides, as before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from safegate.app.core import App
from safegate.app.explain import explain
from safegate.app.family import PolicyChange, set_policy
from safegate.config import load_settings
from tests.helpers import FakeUpstream, cli, demo_data_dir

ALIAS_OF_GAME = "play.alias.example"  # a name of its own, CNAME to www.roblox.com
ALIAS_OF_DENIED = "cdn.alias.example"  # CNAME to a name An's parent denied


@pytest.fixture
def data(tmp_path: Path, upstream: FakeUpstream) -> Iterator[Path]:
    upstream.behaviour.records[ALIAS_OF_GAME] = [("CNAME", "www.roblox.com."),
                                                 ("A", "192.0.2.7")]
    upstream.behaviour.records[ALIAS_OF_DENIED] = [("CNAME", "tracker.denied.example."),
                                                   ("A", "192.0.2.8")]
    made = demo_data_dir(tmp_path / "data")
    (made / "upstream.toml").write_text(
        f'[gate]\nupstreams = ["127.0.0.1:{upstream.port}"]\ndefault_lists = false\n')
    app = _app(made, upstream.port)
    set_policy(app, "An", PolicyChange(deny=("tracker.denied.example",)))
    app.close()
    yield made


def _app(data: Path, port: int) -> App:
    return App(load_settings(env={}, overrides={
        "server.data_dir": str(data), "gate.upstreams": [f"127.0.0.1:{port}"],
        "gate.upstream_timeout": 1.0}))


def test_a_cname_to_a_denied_name_is_explained_as_the_gate_blocks_it(
        data: Path, upstream: FakeUpstream) -> None:
    app = _app(data, upstream.port)
    try:
        alone = explain(app, ALIAS_OF_DENIED, "An")
        assert alone.decision.action == "allow" and alone.resolved is None
        assert "resolved" not in alone.to_dict()
        found = explain(app, ALIAS_OF_DENIED, "An", resolve=True)
        assert found.resolved is True and found.cnames == ("tracker.denied.example",)
        assert (found.decision.action, found.decision.category) == ("block", "custom")
        assert found.decision.rule == ("cname tracker.denied.example → "
                                       "profile:tracker.denied.example")
        # Bình never denied it: the same answer is allowed for him.
        assert explain(app, ALIAS_OF_DENIED, "Bình", resolve=True).decision.action == "allow"
    finally:
        app.close()


def test_an_alias_of_a_game_counts_towards_the_games_budget(data: Path,
                                                             upstream: FakeUpstream) -> None:
    app = _app(data, upstream.port)
    try:
        assert explain(app, ALIAS_OF_GAME, "An").budgets == ()
        found = explain(app, ALIAS_OF_GAME, "An", resolve=True)
        assert found.cnames == ("www.roblox.com",)
        assert [b["target"] for b in found.budgets] == ["group:games"]
        assert found.to_dict()["cnames"] == ["www.roblox.com"]
    finally:
        app.close()


def test_a_dead_upstream_is_said_and_the_name_judged_alone(data: Path) -> None:
    app = _app(data, 9)  # nothing listens on port 9
    try:
        found = explain(app, ALIAS_OF_DENIED, "An", resolve=True)
        assert found.resolved is False and found.resolve_error
        assert found.decision.action == "allow" and found.cnames == ()
    finally:
        app.close()


def test_the_command_line_resolves(data: Path) -> None:
    config = str(data / "upstream.toml")
    text = cli("check", ALIAS_OF_GAME, "--profile", "An", "--resolve", "--config", config,
               "--data-dir", str(data))
    assert text.returncode == 0, text.stderr
    assert f"cnames:   {ALIAS_OF_GAME} → www.roblox.com" in text.stdout
    assert "budget:   group:games" in text.stdout
    blocked = cli("check", ALIAS_OF_DENIED, "--profile", "An", "--resolve", "--json",
                  "--config", config, "--data-dir", str(data))
    body = json.loads(blocked.stdout)
    assert body["action"] == "block" and body["cnames"] == ["tracker.denied.example"]
