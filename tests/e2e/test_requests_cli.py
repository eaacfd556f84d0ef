"""`safegate request …` against a running `safegate serve`: a child's request approved for a few
minutes opens the domain for that child's device within a second; a device that keeps asking
for the bypass canaries gets an alert in `safegate alerts list`."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from tests.helpers import (
    FakeUpstream,
    addresses,
    cli,
    demo_data_dir,
    query,
    start_server,
    wait_until,
)

AN, BINH = "127.0.0.2", "127.0.0.3"  # the demo devices of An (tablet) and Bình (phone)
TABLET = "Máy tính bảng của An"


def test_request_approval_reaches_the_gate_and_bypass_attempts_raise_an_alert(
        tmp_path: Path) -> None:
    upstream = FakeUpstream().start()
    listed = tmp_path / "blocked.txt"
    listed.write_text("homework-e2e.example\n")
    data = str(demo_data_dir(tmp_path / "data"))  # the demo without its weekly windows
    proc, port = start_server("--demo", "--no-web", "--no-default-lists", "--data-dir", data,
                              "--upstream", f"127.0.0.1:{upstream.port}", "--blocklist",
                              str(listed))
    try:
        assert addresses(query(port, "www.homework-e2e.example", AN)) == ["0.0.0.0"]
        added = cli("request", "add", "An", "homework-e2e.example", "--device", TABLET,
                    "--message", "con cần làm bài tập, số mẹ 0912 345 678", "--json",
                    "--data-dir", data)
        assert added.returncode == 0, added.stderr
        request = json.loads(added.stdout)
        assert request["status"] == "pending" and "345" not in request["message"]
        listed_out = cli("request", "list", "An", "--data-dir", data)
        assert listed_out.returncode == 0 and f"#{request['id']}" in listed_out.stdout
        assert "0912" not in listed_out.stdout

        started = time.monotonic()
        approved = cli("request", "approve", str(request["id"]), "--minutes", "5", "--json",
                       "--data-dir", data)
        decided = time.monotonic()
        assert approved.returncode == 0, approved.stderr
        assert json.loads(approved.stdout)["status"] == "approved"
        assert wait_until(lambda: addresses(
            query(port, "www.homework-e2e.example", AN)) == ["192.0.2.1"], 5, )
        took = time.monotonic() - decided
        print(f"approval reached the gate {took:.2f} s after the command returned "
              f"({time.monotonic() - started:.2f} s including the command)")
        assert took < 1.0
        assert addresses(query(port, "www.homework-e2e.example", BINH)) == ["0.0.0.0"]
        again = cli("request", "approve", str(request["id"]), "--forever", "--data-dir", data)
        assert again.returncode != 0 and "already" in again.stderr
        assert "Traceback" not in again.stderr

        # Bypass: Firefox's canary and Apple's relay names, over and over from An's tablet.
        for _ in range(4):
            for name in ("use-application-dns.net", "mask.icloud.com"):
                assert query(port, name, AN).rcode() == 3  # NXDOMAIN
        found: list[dict[str, object]] = []

        def alerted() -> bool:
            out = cli("alerts", "list", "-p", "An", "--json", "--data-dir", data)
            found[:] = [json.loads(line) for line in out.stdout.splitlines()]
            return any(a["category"] == "bypass_attempt" for a in found)

        assert wait_until(alerted, 30), found
        [alert] = [a for a in found if a["category"] == "bypass_attempt"]
        assert alert["found_by"] == "dns" and alert["conversation"] == f"dns:{TABLET}"
        assert "use-application-dns.net" in str(alert["snippet"])
        assert alert["guidance"] == "bypass_attempt"
        bình = cli("alerts", "list", "-p", "Bình", "--json", "--data-dir", data)
        assert bình.stdout.strip() == ""
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
        upstream.stop()
    assert "Traceback" not in out, out
    assert "0912" not in out and "bài tập" not in out  # the child's words never reach the log
