"""`safegate check-url` and `safegate categorise-new` as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from safegate.cli import main
from safegate.lists.auto import record_seen, set_operator
from safegate.store.db import make_engine, migrate, session_factory, sqlite_url
from safegate.store.models import DomainCategory
from tests.helpers import PageServer


@pytest.fixture(scope="module")
def pages() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.stop()


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Any]:
    """A data directory and a config with one small custom list (no embedded lists)."""
    custom = tmp_path / "custom.txt"
    custom.write_text("listed-bad.example\n")
    config = tmp_path / "safegate.toml"
    config.write_text(f'[gate]\ndefault_lists = false\nblocklists = ["{custom}"]\n')
    data = tmp_path / "data"
    data.mkdir()
    return {"config": str(config), "data": str(data), "path": data}


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_check_url_prints_verdict_and_reasons(setup: dict[str, Any]) -> None:
    common = ["--config", setup["config"], "--data-dir", setup["data"]]
    result = run("check-url", "vietcombank-xacminh.top", *common)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "vietcombank-xacminh.top: BLOCK (scam, score 0.93)"
    assert any("lexical" in line and "xacminh" in line for line in lines)
    assert any(".top" in line for line in lines)

    listed = run("check-url", "https://www.listed-bad.example/x", *common)
    assert "BLOCK (custom" in listed.output
    assert "listed: file/custom:listed-bad.example" in listed.output

    ok = run("check-url", "vietcombank.com.vn", *common)
    assert ok.output.startswith("vietcombank.com.vn: ALLOW")
    assert "official domain of Vietcombank" in ok.output
    plain = run("check-url", "vnexpress.net", *common)
    assert "ALLOW" in plain.output and "use --fetch" in plain.output


def test_check_url_json(setup: dict[str, Any]) -> None:
    result = run("check-url", "momo-nhanqua.xyz/login", "--json", "--config", setup["config"],
                 "--data-dir", setup["data"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert (out["verdict"], out["category"], out["profile"]) == ("block", "scam", "default")
    assert out["record_domain"] == "momo-nhanqua.xyz"
    assert {r["source"] for r in out["reasons"]} == {"lexical"}
    assert {"code", "text", "weight", "category", "scope"} <= set(out["reasons"][0])


def test_check_url_fetches_the_page_when_asked(setup: dict[str, Any], pages: PageServer) -> None:
    common = ["--config", setup["config"], "--data-dir", setup["data"], "--allow-loopback"]
    result = run("check-url", pages.url("/gambling"), "--fetch", "--json", *common)
    out = json.loads(result.output)
    assert (out["verdict"], out["category"]) == ("block", "gambling")
    assert any(r["source"] == "content" for r in out["reasons"])
    down = run("check-url", pages.url("/slow"), "--fetch", *common)
    assert down.exit_code == 0 and "page not fetched" in down.output
    assert "timed out after 3 s" in down.output


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://example.com", "only http and https"), ("not a url", "contains spaces"),
    ("com.vn", "public suffix"),
])
def test_check_url_errors_are_messages(setup: dict[str, Any], url: str, message: str) -> None:
    result = run("check-url", url, "--data-dir", setup["data"])
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output


def test_check_url_unknown_profile(setup: dict[str, Any]) -> None:
    result = run("check-url", "example.com", "--profile", "nobody", "--config", setup["config"],
                 "--data-dir", setup["data"])
    assert result.exit_code != 0 and "no profile named 'nobody'" in result.output


def test_check_url_as_a_process_has_no_traceback(setup: dict[str, Any]) -> None:
    proc = subprocess.run([sys.executable, "-m", "safegate.cli", "check-url", "http://[::1",
                           "--data-dir", setup["data"]], capture_output=True, text=True,
                          timeout=60, env={**os.environ})
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error:") and "Traceback" not in proc.stderr


def test_categorise_new(setup: dict[str, Any], pages: PageServer) -> None:
    engine = make_engine(sqlite_url(setup["path"]))
    migrate(engine)
    record_seen(engine, {"vietcombank-xacminh.top": 5, "vnexpress.net": 40,
                         "casino-local.example": 2, "momo-nhanqua.xyz": 1})
    with session_factory(engine).begin() as s:
        set_operator(s, "momo-nhanqua.xyz", "allow", "checked by hand")
    common = ["--config", setup["config"], "--data-dir", setup["data"]]

    dry = run("categorise-new", "--dry-run", *common)
    assert dry.exit_code == 0, dry.output
    assert "would record" in dry.output and "dry run: nothing changed" in dry.output
    with session_factory(engine)() as s:
        assert s.scalars(select(DomainCategory).where(DomainCategory.source == "auto")).all() \
            == []

    result = run("categorise-new", "--fetch", "--allow-loopback", "--connect-to",
                 f"casino-local.example:127.0.0.1:{pages.port}", "--limit", "10", *common)
    assert result.exit_code == 0, result.output
    lines = {line.split()[1] if not line.startswith("not recorded") else line.split()[2]: line
             for line in result.output.splitlines()[:-1]}
    assert lines["vietcombank-xacminh.top"].startswith("recorded")
    assert lines["casino-local.example"].startswith("recorded")
    assert "gambling" in lines["casino-local.example"]
    assert lines["momo-nhanqua.xyz"].startswith("listed"), "the operator's allow is a list now"
    assert lines["vnexpress.net"].startswith("not recorded")
    assert result.output.splitlines()[-1].startswith("4 domains: ")
    with session_factory(engine)() as s:
        rows = {r.domain: (r.category, r.source) for r in s.scalars(select(DomainCategory))}
    assert rows == {"vietcombank-xacminh.top": ("scam", "auto"),
                    "casino-local.example": ("gambling", "auto"),
                    "momo-nhanqua.xyz": ("allow", "operator")}

    again = run("categorise-new", *common)
    assert again.output.strip() == "0 domains: nothing queued"
    checked = run("check-url", "vietcombank-xacminh.top", *common)
    assert "listed: auto/scam:vietcombank-xacminh.top" in checked.output


def test_categorise_new_rejects_a_bad_limit(setup: dict[str, Any]) -> None:
    result = run("categorise-new", "--limit", "0", "--data-dir", setup["data"])
    assert result.exit_code != 0 and "--limit must be at least 1" in result.output
