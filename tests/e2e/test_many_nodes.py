"""Many nodes: two `safegate serve` processes on one PostgreSQL database and one Redis. A
parent's command run elsewhere reaches both gates' real DNS answers within a second, through
the change bus (Redis here: the gates' own polling is set to half a minute)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import (
    FakeUpstream,
    addresses,
    cli,
    postgresql_schema,
    query,
    start_server,
)

REDIS = os.environ.get("SAFEGATE_TEST_REDIS_URL")
DEVICE = "127.0.0.7"


@pytest.fixture
def shared() -> Iterator[dict[str, str]]:
    """Settings (as environment variables) of a deployment: one database, one Redis."""
    if not REDIS:
        pytest.skip("SAFEGATE_TEST_REDIS_URL not set: the many-node test skipped")
    with postgresql_schema("the many-node test") as url:
        yield {"SAFEGATE_SERVER__DATABASE_URL": url,
               "SAFEGATE_SERVER__NOTIFY_URL": REDIS,
               "SAFEGATE_SERVER__NOTIFY_CHANNEL": f"safegate:test:{uuid.uuid4().hex}",
               "SAFEGATE_SERVER__CHANGE_POLL_INTERVAL": "30"}


def _node(env: dict[str, str], data_dir: Path, upstream: int) -> tuple[subprocess.Popen[str], int]:
    return start_server("--no-default-lists", "--data-dir", str(data_dir), "--upstream",
                        f"127.0.0.1:{upstream}", env=env)


def _seconds_until(ports: list[int], name: str, expected: list[str]) -> float:
    start = time.monotonic()
    while time.monotonic() - start < 10:
        if all(addresses(query(p, name, source=DEVICE)) == expected for p in ports):
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"{name} did not become {expected} on every node")


def _logged_at(output: str, text: str) -> str:
    """The timestamp of the first log line holding ``text`` ("~" sorts after any time)."""
    return next((line[:23] for line in output.splitlines() if text in line), "~")


def test_a_command_reaches_two_gates_through_postgresql_and_redis(
        shared: dict[str, str], tmp_path: Path) -> None:
    def run(*args: str) -> str:
        result = cli(*args, "--data-dir", str(tmp_path / "admin"), env=shared)
        assert result.returncode == 0, result.stderr
        return result.stdout

    run("migrate")
    run("org", "add", "Nhà Trần", "--kind", "household")
    run("child", "add", "Minh", "--birth-year", "2013")
    run("device", "add", "Minh", "Điện thoại", "--ip", DEVICE)
    upstream = FakeUpstream().start()
    nodes = [_node(shared, tmp_path / f"node{i}", upstream.port) for i in range(2)]
    ports = [port for _, port in nodes]
    try:
        assert [addresses(query(p, "tin-tuc.example", source=DEVICE)) for p in ports] == [
            ["192.0.2.1"]] * 2
        timings = []
        for deny, expected in (("--deny", ["0.0.0.0"]), ("--remove-deny", ["192.0.2.1"])):
            started = time.monotonic()
            run("policy", "set", "Minh", deny, "tin-tuc.example")
            after_command = _seconds_until(ports, "tin-tuc.example", expected)
            timings.append(after_command)
            print(f"{deny}: both nodes answered {expected} {after_command:.3f} s after the "
                  f"command returned ({time.monotonic() - started:.3f} s with it)")
        assert max(timings) < 1.0, timings
    finally:
        for proc, _ in nodes:  # all at once: a node stopped first hands over its leadership
            proc.send_signal(signal.SIGTERM)
        outputs = [proc.communicate(timeout=30)[0] for proc, _ in nodes]
        upstream.stop()
    for (proc, _), out in zip(nodes, outputs, strict=True):
        assert proc.returncode == 0, out
        assert "Traceback" not in out, out
    # while both ran, one node led the cluster-wide jobs (once one stops, the other may take
    # over: that is the failover); each node led its own list downloads
    first_stop = min(_logged_at(out, "gate_process: stopping") for out in outputs)
    assert sum(_logged_at(out, "leading safegate-jobs") < first_stop for out in outputs) == 1, \
        outputs
    assert all("leading safegate-lists" in out for out in outputs), outputs
