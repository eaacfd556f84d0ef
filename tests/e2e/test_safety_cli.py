"""`safegate classify` and the trainer's smoke run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from safegate.cli import main
from tests.helpers import REPO

ROOT = REPO
SHARED_TEXT = ROOT.parent / "shared" / "data" / "text"


def test_classify_plain_lines() -> None:
    result = CliRunner().invoke(main, ["classify", "--no-pii"],
                                input="tao sẽ giết mày\nhôm nay trời đẹp\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in result.output.splitlines()]
    assert len(rows) == 2
    # A threat against the reader; the Vietnamese insult model also calls it harassment.
    assert "violence" in rows[0]["labels"] and rows[0]["severity"] == "urgent"
    assert set(rows[0]["labels"]) <= {"violence", "bullying"}
    assert set(rows[0]) == {"labels", "scores", "severity", "spans"}
    span = rows[0]["spans"][0]
    assert {"start", "end", "category", "text"} <= set(span)
    assert "tao sẽ giết mày"[span["start"]:span["end"]] == span["text"]
    assert rows[1]["labels"] == [] and rows[1]["severity"] == "none"


def test_classify_jsonl_with_a_broken_line() -> None:
    data = "\n".join([
        json.dumps({"text": "i want to kill myself", "id": 1}),
        '{"text": "unterminated',
        json.dumps({"no_text": 1}),
        json.dumps({"text": "chúc ngủ ngon"}),
    ]) + "\n"
    result = CliRunner().invoke(main, ["classify", "--jsonl", "--no-pii"], input=data)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    rows = [json.loads(x) for x in result.output.splitlines()]
    assert len(rows) == 4
    assert rows[0]["severity"] == "urgent" and "self_harm" in rows[0]["labels"]
    assert rows[1]["line"] == 2 and "error" in rows[1]
    assert rows[2]["line"] == 3 and "error" in rows[2]
    assert rows[3]["severity"] == "none"


def test_classify_subprocess() -> None:
    proc = subprocess.run([sys.executable, "-m", "safegate.cli", "classify", "--no-pii"],
                          input="mày béo như lợn\n", capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "bullying" in json.loads(proc.stdout)["labels"]


@pytest.mark.skipif(not SHARED_TEXT.is_dir(), reason="needs ../shared/data/text")
def test_trainer_smoke(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")  # a development dependency of the trainer only
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "train_safety.py"), "--limit", "150",
         "--folds", "0", "--bits", "14", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from safegate.safety.model import load

    model = load(tmp_path / "safety_model.json.gz")
    assert model.version.startswith("2.")
    assert (tmp_path / "ambiguous.txt").is_file()
    assert model.predict([("xin chào", "xin chao")]).shape == (1, 9)
    assert model.heads == {"vi": {"bullying": 9}}  # the Vietnamese-only bullying column
    assert model.weights.shape[1] == 10


@pytest.mark.skipif(not SHARED_TEXT.is_dir(), reason="needs ../shared/data/text")
def test_embedding_head_trainer_smoke(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")  # a development dependency of the trainer only
    from safegate.safety.embedding import (
        DEEP_CATEGORIES,
        DeepUnavailable,
        load_deep_layer,
        load_head,
    )

    try:
        load_deep_layer()
    except DeepUnavailable as exc:
        pytest.skip(f"the deep layer cannot run: {exc}")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "train_embedding_head.py"), "--limit", "200",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    head = load_head(tmp_path / "embedding_head.json")
    assert head.categories == DEEP_CATEGORIES and head.weights.shape == (3, 384)
    assert head.version.startswith("1.") and head.version != load_head().version
    assert "out-of-fold" in proc.stderr


def test_undecodable_bytes_and_lone_surrogates_are_classified_not_a_traceback() -> None:
    """Bytes that are not UTF-8 on stdin, and a JSON "\\ud800" escape, become U+FFFD (same
    length, so offsets hold) instead of crashing the command."""
    proc = subprocess.run([sys.executable, "-m", "safegate.cli", "classify", "--no-pii"],
                          input=b"abc \xff\xfe " + "tao muốn chết\n".encode(),
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr[-2000:]
    row = json.loads(proc.stdout)
    assert row["labels"] == ["self_harm"]
    span = row["spans"][0]
    assert "abc \ufffd\ufffd tao muốn chết"[span["start"]:span["end"]] == span["text"]
    data = json.dumps({"text": "tao muốn chết \ud800 thật"}) + "\n"
    result = CliRunner().invoke(main, ["classify", "--jsonl", "--no-pii"], input=data)
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert json.loads(result.output)["labels"] == ["self_harm"]
