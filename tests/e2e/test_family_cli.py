"""A parent's commands reach a running gate: `safegate child add`, `device add` and `policy
set` change the real DNS answers a device gets, within a second."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.helpers import FakeUpstream, addresses, cli, query, start_server

DEVICE = "127.0.0.5"
UPSTREAM_ANSWER = ["192.0.2.1"]
BLOCKED = ["0.0.0.0"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    upstream = FakeUpstream().start()
    data_dir = tmp_path_factory.mktemp("family")
    proc, port = start_server("--demo", "--no-web", "--data-dir", str(data_dir),
                              "--upstream", f"127.0.0.1:{upstream.port}")
    yield port, data_dir
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    upstream.stop()
    assert proc.returncode == 0, out
    assert "Traceback" not in out, out


def run(data_dir: Path, *args: str) -> str:
    result = cli(*args, "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def seconds_until(port: int, name: str, expected: list[str], timeout: float = 5.0) -> float:
    """Seconds until ``name`` asked from the device gets ``expected`` (asserts it does)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if addresses(query(port, name, source=DEVICE)) == expected:
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"{name} never answered {expected} from {DEVICE}")


def timed_change(port: int, data_dir: Path, name: str, expected: list[str],
                 *options: str) -> float:
    """`safegate policy set Cúc OPTIONS`, then the seconds until the answer changes."""
    started = time.monotonic()
    run(data_dir, "policy", "set", "Cúc", *options)
    waited = seconds_until(port, name, expected)
    print(f"policy set {' '.join(options)}: {name} → {expected} {waited:.3f} s after the "
          f"command returned ({time.monotonic() - started:.3f} s with the command)")
    return waited


def test_policy_set_changes_a_real_dns_answer_within_a_second(
        served: tuple[int, Path]) -> None:
    port, data_dir = served
    birth_year = date.today().year - 12  # 11_13: games and chat not blocked by category
    run(data_dir, "child", "add", "Cúc", "--birth-year", str(birth_year))
    run(data_dir, "device", "add", "Cúc", "Máy tính bảng", "--kind", "tablet", "--ip", DEVICE)
    listed = json.loads(run(data_dir, "device", "list", "Cúc", "--json"))
    assert [d["ip"] for d in listed] == [DEVICE] and "token" not in listed[0]
    # The device is Cúc's now: her preset blocks TikTok, which the default policy does not.
    assert seconds_until(port, "www.tiktok.com", BLOCKED) < 2
    assert addresses(query(port, "www.roblox.com", source=DEVICE)) == UPSTREAM_ANSWER

    assert timed_change(port, data_dir, "www.roblox.com", BLOCKED,
                        "--block-service", "roblox") < 2
    # Monitoring a service lets it through (forwarded to the upstream) again.
    assert timed_change(port, data_dir, "www.roblox.com", UPSTREAM_ANSWER,
                        "--monitor-service", "roblox") < 2
    assert timed_change(port, data_dir, "vnexpress.net", BLOCKED,
                        "--deny", "vnexpress.net") < 2
    assert timed_change(port, data_dir, "vnexpress.net", UPSTREAM_ANSWER,
                        "--remove-deny", "vnexpress.net") < 2


def test_bad_input_is_one_line_naming_the_field(served: tuple[int, Path]) -> None:
    _, data_dir = served
    for args, message in (
        (("device", "add", "An", "X", "--ip", "300.1.1.1"),
         "Error: ip: '300.1.1.1' is not an IP address or CIDR"),
        (("policy", "set", "An", "--block-category", "nope"),
         "Error: block_category[0]: 'nope' is not a category"),
        (("child", "add", "Old", "--birth-year", "1990"), "Error: birth_year: 1990 gives"),
        (("policy", "show", "Nobody"), "Error: no child 'Nobody'"),
    ):
        result = cli(*args, "--data-dir", str(data_dir))
        assert result.returncode == 1, args
        assert result.stderr.startswith(message), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
