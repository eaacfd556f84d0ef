"""The command line as an operator uses it: `safegate serve`, `reload`, `check`."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest

from tests.helpers import (
    FakeUpstream,
    addresses,
    cli,
    demo_data_dir,
    query,
    start_server,
    wait_until,
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, FakeUpstream]]:
    """`safegate serve --demo` with the embedded lists, as `make run` starts it (the demo made
    beforehand without its weekly windows, so that answers do not depend on the hour)."""
    upstream = FakeUpstream().start()
    data_dir = demo_data_dir(tmp_path_factory.mktemp("served"))
    proc, port = start_server("--demo", "--no-web", "--data-dir", str(data_dir),
                              "--upstream", f"127.0.0.1:{upstream.port}")
    yield port, data_dir, upstream
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    upstream.stop()
    assert proc.returncode == 0, out
    assert "Traceback" not in out, out


def test_serve_demo_blocks_real_domains_per_child(served: tuple[int, Path, FakeUpstream]) -> None:
    port, _, _ = served
    # Embedded lists: pornhub.com is in hostsvn/adult, blocked for everyone by default.
    assert addresses(query(port, "pornhub.com")) == ["0.0.0.0"]
    assert addresses(query(port, "www.pornhub.com", source="127.0.0.2")) == ["0.0.0.0"]
    # An (tablet at 127.0.0.2, 9 years old) has social networks blocked; Bình does not.
    assert addresses(query(port, "www.tiktok.com", source="127.0.0.2")) == ["0.0.0.0"]
    assert addresses(query(port, "www.tiktok.com", source="127.0.0.3")) == ["192.0.2.1"]
    assert query(port, "use-application-dns.net").rcode() == dns.rcode.NXDOMAIN


def test_reload_command_reaches_the_server(served: tuple[int, Path, FakeUpstream]) -> None:
    port, data_dir, _ = served
    result = cli("reload", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert "reload announced (change " in result.stdout
    time.sleep(0.5)
    assert addresses(query(port, "after-reload.example")) == ["192.0.2.1"]


def test_a_change_made_with_the_cli_reaches_the_running_gate(
        served: tuple[int, Path, FakeUpstream], tmp_path: Path) -> None:
    """No pid file, no signal: the change bus (here: the database version, polled) carries a
    list subscribed with `safegate lists add` to the serving gate."""
    port, data_dir, _ = served
    assert addresses(query(port, "bus-change.example")) == ["192.0.2.1"]
    listed = tmp_path / "extra.txt"
    listed.write_text("bus-change.example\n")
    started = time.monotonic()
    added = cli("lists", "add", "bus-extra", str(listed), "--category", "gambling",
                "--data-dir", str(data_dir))
    assert added.returncode == 0, added.stderr
    assert wait_until(lambda: addresses(query(port, "bus-change.example")) == ["0.0.0.0"], 10)
    took = time.monotonic() - started
    print(f"a CLI change reached the gate in {took:.2f} s")
    removed = cli("lists", "remove", "bus-extra", "--data-dir", str(data_dir))
    assert removed.returncode == 0, removed.stderr
    assert wait_until(lambda: addresses(query(port, "bus-change.example")) == ["192.0.2.1"], 10)


def test_check_explains_a_verdict(served: tuple[int, Path, FakeUpstream]) -> None:
    _, data_dir, _ = served
    result = cli("check", "www.pornhub.com", "--profile", "An", "--data-dir", str(data_dir),
                 "--json")
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["action"] == "block"
    assert verdict["category"] == "adult"
    assert verdict["profile"] == "An"
    assert verdict["entry"] in ("pornhub.com", "www.pornhub.com")
    assert "/" in verdict["list"]
    assert verdict["setting"] == "profile 'An' blocks the category 'adult'"
    human = cli("check", "example.org", "--data-dir", str(data_dir))
    assert "ALLOWED" in human.stdout
    missing = cli("check", "example.org", "--profile", "Nobody", "--data-dir", str(data_dir))
    assert missing.returncode != 0 and "no profile named 'Nobody'" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_bad_configuration_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[gate]\ncache_size = -5\n')
    result = cli("serve", "--config", str(config), "--data-dir", str(tmp_path))
    assert result.returncode != 0
    assert "gate.cache_size" in result.stderr and "-5" in result.stderr
    assert "Traceback" not in result.stderr
    env_result = cli("serve", "--data-dir", str(tmp_path),
                     env={"SAFEGATE_GATE__BLOCK_MODE": "maybe"})
    assert "gate.block_mode" in env_result.stderr and "nxdomain" in env_result.stderr
    missing = cli("serve", "--blocklist", str(tmp_path / "nope.txt"), "--data-dir", str(tmp_path))
    assert missing.returncode != 0 and "no such file" in missing.stderr


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        result = cli("serve", "--no-default-lists", "--data-dir", str(tmp_path),
                     "--dns", f"127.0.0.1:{port}", "--upstream", "127.0.0.1:9")
    assert result.returncode != 0
    assert "cannot start" in result.stderr and "Traceback" not in result.stderr


def test_help_everywhere() -> None:
    for args in ([], ["serve"], ["reload"], ["check"]):
        result = cli(*args, "--help")
        assert result.returncode == 0 and "Usage:" in result.stdout


def test_workers_share_the_port_and_reload_and_stop_together(tmp_path: Path) -> None:
    upstream = FakeUpstream().start()
    proc, port = start_server("--workers", "2", "--no-default-lists", "--data-dir",
                              str(tmp_path), "--upstream", f"127.0.0.1:{upstream.port}")
    try:
        answers = [addresses(query(port, f"w{i}.example")) for i in range(50)]
        assert answers == [["192.0.2.1"]] * 50
        assert cli("reload", "--data-dir", str(tmp_path)).returncode == 0
        time.sleep(0.5)
        assert addresses(query(port, "after.example")) == ["192.0.2.1"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
        upstream.stop()
    assert proc.returncode == 0, out
    assert out.count("listening on udp/tcp") == 2, out
    assert "Traceback" not in out
