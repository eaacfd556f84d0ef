"""`safegate check` explains safe search: a rewrite with its target and the setting behind it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import cli, demo_data_dir


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_data_dir(tmp_path_factory.mktemp("demo"))


def check(data_dir: Path, *args: str) -> str:
    result = cli("check", *args, "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_check_says_a_search_engine_is_rewritten(data_dir: Path) -> None:
    out = check(data_dir, "www.google.com", "--profile", "An")
    assert out.splitlines()[0].startswith(
        "www.google.com: REWRITTEN to forcesafesearch.google.com (safe search) "
        "for profile 'An' at ")
    assert "setting:  profile 'An' has safe search on" in out
    # The operator default has safe search off.
    assert "ALLOWED" in check(data_dir, "www.google.com")


def test_check_json_names_the_target_and_the_youtube_mode(data_dir: Path) -> None:
    an = json.loads(check(data_dir, "www.youtube.com", "--profile", "An", "--json"))
    assert (an["action"], an["category"], an["rule"], an["target"]) == (
        "rewrite", "safe_search", "youtube:strict", "restrict.youtube.com")
    assert an["setting"] == "profile 'An' has YouTube Restricted Mode set to strict"
    assert "list" not in an
    binh = json.loads(check(data_dir, "www.youtube.com", "--profile", "Bình", "--json"))
    assert binh["target"] == "restrictmoderate.youtube.com"
    plain = json.loads(check(data_dir, "example.org", "--json"))
    assert plain["target"] is None


def test_check_explains_a_blocked_search_engine(data_dir: Path) -> None:
    out = check(data_dir, "www.startpage.com", "--profile", "An")
    assert out.splitlines()[0].startswith("www.startpage.com: BLOCKED for profile 'An' at ")
    assert "startpage cannot be forced into safe search" in out
