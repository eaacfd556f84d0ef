"""`safegate consent` as a process on the demo household (SQLite): give, list, withdraw with
--json, the texts, the age record, and `safegate monitor` refused once the child's consent is
withdrawn (one line, no traceback, nothing read)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import demo_data_dir


def run(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "safegate.cli", *args, "--data-dir",
                           str(data)], input=stdin, capture_output=True, text=True,
                          timeout=120, check=False)


def test_consent_commands_and_monitor_refusal(tmp_path: Path) -> None:
    data = demo_data_dir(tmp_path / "data")
    listed = run(data, "consent", "list", "Bình", "--active", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {(r["purpose"], r["given_by"]) for r in rows} >= {
        ("message_monitoring", "parent"), ("message_monitoring", "child")}

    gone = run(data, "consent", "withdraw", "Bình", "message_monitoring", "--by", "child",
               "--json")
    assert gone.returncode == 0, gone.stderr
    assert [r["given_by"] for r in json.loads(gone.stdout)] == ["child"]

    message = json.dumps({"sender": "x", "time": 1, "text": "hello", "conversation": "c"})
    refused = run(data, "monitor", "-p", "Bình", "--no-deep", stdin=message + "\n")
    assert refused.returncode == 1
    assert "no message_monitoring consent from the child" in refused.stderr
    assert "Traceback" not in refused.stderr and refused.stdout == ""

    given = run(data, "consent", "give", "Bình", "message_monitoring", "--by", "child",
                "--language", "en", "--json")
    assert given.returncode == 0, given.stderr
    assert json.loads(given.stdout)["language"] == "en"
    accepted = run(data, "monitor", "-p", "Bình", "--no-deep", stdin=message + "\n")
    assert accepted.returncode == 0, accepted.stderr

    shown = subprocess.run([sys.executable, "-m", "safegate.cli", "consent", "text",
                            "full_query_log", "--language", "en", "--child"],
                           capture_output=True, text=True, timeout=60, check=False)
    assert "30 days" in shown.stdout
    bad = run(data, "consent", "give", "Nobody", "alerts", "--by", "parent")
    assert bad.returncode == 1 and "no child named 'Nobody'" in bad.stderr
    assert "Traceback" not in bad.stderr
    age = run(data, "consent", "age", "Bình", "--birth-year", "2012", "--attested-by",
              "parent:Mai", "--json")
    assert json.loads(age.stdout)["attested_by"] == "parent:Mai"
