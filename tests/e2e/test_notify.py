"""Many nodes: a policy change announced over Redis reaches every gate (real Redis)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import addresses, ask, wait_until

REDIS = os.environ.get("SAFEGATE_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(
    not REDIS, reason="SAFEGATE_TEST_REDIS_URL not set: Redis notification tests skipped")


def test_policy_change_reaches_every_node(make_gate: Any, tmp_path: Path) -> None:
    from safegate.app.bus import ChangeBus
    from safegate.store.db import make_engine, migrate, session_factory, sqlite_url
    from safegate.store.repo import create_demo_household, load_profiles, update_policy

    assert REDIS is not None
    channel = f"safegate:test:{uuid.uuid4().hex}"
    shared_db = sqlite_url(tmp_path / "shared")
    engine = make_engine(shared_db)
    migrate(engine)
    with session_factory(engine).begin() as s:
        create_demo_household(s, schedules=False)
    nodes = [make_gate(**{"server.database_url": shared_db, "server.notify_url": REDIS,
                          "server.notify_channel": channel}) for _ in range(2)]
    for node in nodes:
        assert node.runtime.watcher is not None
        assert wait_until(node.runtime.watcher.subscribed.is_set, 5)
    for node in nodes:
        assert addresses(ask(node.port, "new-rule.example", source="127.0.0.2")) == ["192.0.2.1"]
    bus = ChangeBus(REDIS, channel)
    with session_factory(engine).begin() as s:
        an = next(p for p in load_profiles(s) if p.name == "An")
        update_policy(s, an.id, deny=["new-rule.example"])
        bus.record(s, "policy", "policy of An changed")
    for node in nodes:
        assert wait_until(
            lambda node=node: addresses(ask(node.port, "new-rule.example",
                                            source="127.0.0.2")) == ["0.0.0.0"], 3)


def test_reload_all_command(tmp_path: Path) -> None:
    assert REDIS is not None
    env = {**os.environ, "SAFEGATE_SERVER__NOTIFY_URL": REDIS,
           "SAFEGATE_SERVER__NOTIFY_CHANNEL": f"safegate:test:{uuid.uuid4().hex}"}

    def safegate(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "safegate.cli", *args, "--data-dir",
                               str(tmp_path)], capture_output=True, text=True,
                              env={**env, **extra}, timeout=60)

    assert safegate("migrate").returncode == 0
    result = safegate("reload", "--all")
    assert result.returncode == 0, result.stderr
    assert "reload announced (change 1)" in result.stdout
    # Redis down: the change is still recorded (gates poll the version) and nothing fails.
    down = safegate("reload", SAFEGATE_SERVER__NOTIFY_URL="redis://127.0.0.1:1/0")
    assert down.returncode == 0 and "reload announced (change 2)" in down.stdout, down.stderr
    assert "Traceback" not in down.stderr


def test_gate_survives_redis_outage(make_gate: Any) -> None:
    g = make_gate(**{"server.notify_url": "redis://127.0.0.1:1/0"})
    time.sleep(0.5)
    assert addresses(ask(g.port, "still-serving.example")) == ["192.0.2.1"]
