"""`safegate dsr` and `safegate audit` as processes on the demo household (SQLite): open,
list with time left, fulfil access (a ZIP) and erasure, then `audit verify`; bad input is a
one-line error."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.helpers import demo_data_dir


def run(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "safegate.cli", *args, "--data-dir",
                           str(data)], capture_output=True, text=True, timeout=120,
                          check=False)


def test_dsr_and_audit_commands(tmp_path: Path) -> None:
    data = demo_data_dir(tmp_path / "data")
    opened = run(data, "dsr", "open", "--child", "Bình", "--kind", "access", "--by", "child",
                 "--language", "en", "--json")
    assert opened.returncode == 0, opened.stderr
    request = json.loads(opened.stdout)
    assert request["seconds_left"] > 71 * 3600 and not request["overdue"]
    listed = run(data, "dsr", "list")
    assert "access\tBình\tby child\topen" in listed.stdout and "h " in listed.stdout
    done = run(data, "dsr", "fulfil", str(request["id"]), "--json")
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(json.loads(done.stdout)["zip"]) as archive:
        assert sorted(archive.namelist()) == ["data.json", "report.html"]
    erase = json.loads(run(data, "dsr", "open", "--child", "Bình", "--kind", "erase", "--by",
                           "parent", "--json").stdout)
    erased = run(data, "dsr", "fulfil", str(erase["id"]))
    assert erased.returncode == 0 and "fulfilled" in erased.stdout, erased.stderr
    children = run(data, "child", "list", "--json")
    assert [c["name"] for c in json.loads(children.stdout)] == ["An"]
    verified = run(data, "audit", "verify", "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"], verified.stdout
    again = run(data, "dsr", "fulfil", str(erase["id"]))
    assert again.returncode == 1 and "no data request" in again.stderr
    assert "Traceback" not in again.stderr
    bad = run(data, "dsr", "open", "--child", "An", "--kind", "erase", "--by", "child",
              "--json")
    assert bad.returncode == 0  # An is 8: a child of 7+ may ask
