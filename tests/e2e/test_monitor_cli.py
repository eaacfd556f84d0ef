"""`safegate monitor` end to end: JSONL in, alert lines out, a summary on stderr; SQLite and
PostgreSQL (when SAFEGATE_TEST_DATABASE_URL is set), one run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from safegate.cli import main
from safegate.config import DATABASE_URL_ENV
from safegate.privacy.crypto import KEY_FILE, load_keyring
from safegate.protect.monitor import find_profile, list_alerts, set_feedback
from safegate.store import make_engine, migrate, session_factory, sqlite_url
from safegate.store.models import AuditLog
from safegate.store.repo import create_demo_household
from tests.helpers import demo_data_dir, postgresql_schema

LINES = [
    {"sender": "stranger99", "time": "2026-12-01T20:00:00", "text": "em xinh quá, dễ thương ghê",
     "conversation": "roblox-dm"},
    {"sender": "An", "time": "2026-12-01T20:01:00", "text": "hihi", "conversation": "roblox-dm"},
    {"sender": "stranger99", "time": "2026-12-01T20:02:00",
     "text": "add zalo anh nhé, mình nói chuyện riêng", "conversation": "roblox-dm"},
    {"sender": "stranger99", "time": "2026-12-01T20:03:00",
     "text": "gửi anh ảnh của em đi, đừng nói với bố mẹ nhé", "conversation": "roblox-dm"},
    "this line is broken {",
    {"sender": "An", "time": 1796130000, "text": "sđt của em là 0912 345 678",
     "conversation": "zalo-new-friend"},
    {"sender": "An", "time": 1796130060, "text": "tao muốn chết, không muốn sống nữa",
     "conversation": "diary"},
    [1, 2, 3],
    {"sender": "hs7a2", "time": 1796130120, "text": "mày ngu như con chó, cả lớp ghét mày",
     "conversation": "lop-7a2"},
    {"sender": "An", "text": "hôm nay trời đẹp", "conversation": "lop-7a2"},
]


def _jsonl(items: list[Any]) -> str:
    return "".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n"
                   for x in items)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A data directory with the demo household, and the environment that points at it."""
    data = tmp_path / "data"
    with ExitStack() as stack:
        if request.param == "sqlite":
            url, env = sqlite_url(data), {}
        else:
            url = stack.enter_context(postgresql_schema("PostgreSQL CLI test"))
            env = {DATABASE_URL_ENV: url}
        engine = make_engine(url)
        migrate(engine)
        with session_factory(engine).begin() as session:
            create_demo_household(session)
        engine.dispose()
        yield {"data": str(data), "url": url, **env}


def _invoke(store: dict[str, str], args: list[str], stdin: str) -> Any:
    env = {k: v for k, v in store.items() if k == DATABASE_URL_ENV}
    return CliRunner(env=env).invoke(main, ["monitor", "--data-dir", store["data"], *args],
                                     input=stdin)


def test_monitor_reads_jsonl_and_reports_alerts_and_bad_lines(store: dict[str, str]) -> None:
    result = _invoke(store, ["--profile", "An"], _jsonl(LINES))
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    errors = [o for o in out if "error" in o]
    assert [e["line"] for e in errors] == [5, 8]
    assert "not JSON" in errors[0]["error"] and "object" in errors[1]["error"]
    alerts = [o for o in out if "error" not in o]
    grooming = [a for a in alerts if a["category"] == "grooming"]
    assert grooming[-1]["severity"] == "urgent" and grooming[-1]["deduplicated"] is True
    assert len({a["id"] for a in grooming}) == 1
    by_cat = {a["category"]: a for a in alerts}
    assert set(by_cat) == {"grooming", "pii_disclosure", "self_harm", "bullying"}
    assert by_cat["self_harm"]["severity"] == "urgent"
    assert by_cat["bullying"]["severity"] == "warning"
    assert by_cat["pii_disclosure"]["snippet"] == "sđt của em là [PHONE]"
    for a in alerts:
        assert set(a) >= {"id", "category", "severity", "snippet", "guidance", "deduplicated"}
    assert "Traceback" not in result.output
    assert "8 messages (4 from the child), 4 alerts created, 1 updated" in result.stderr
    assert "2 bad lines" in result.stderr

    # the same input again: everything is deduplicated into the stored alerts
    again = _invoke(store, ["--profile", "An"], _jsonl(LINES))
    rows = [json.loads(line) for line in again.stdout.splitlines()]
    assert all(r["deduplicated"] for r in rows if "error" not in r)
    engine = make_engine(store["url"])
    with session_factory(engine)() as session:
        profile = find_profile(session, "An")
        stored = list_alerts(session, profile.id, load_keyring(store["data"], env={}))
    engine.dispose()
    assert len(stored) == 4 and all(a.count >= 2 for a in stored)


def test_unknown_profile_is_a_clear_error(store: dict[str, str]) -> None:
    result = _invoke(store, ["--profile", "Nobody"], _jsonl(LINES[:1]))
    assert result.exit_code == 1
    assert "no profile named 'Nobody'; profiles: An (id:1), Bình (id:2)" in result.output
    assert "Traceback" not in result.output


def test_child_sender_option_and_the_note_when_no_message_is_the_childs(
        store: dict[str, str]) -> None:
    lines = [{"sender": "an.nguyen", "text": "sđt của em là 0912 345 678",
              "conversation": "c"}]
    plain = _invoke(store, ["--profile", "An"], _jsonl(lines))
    assert plain.stdout == ""  # not the child's message: no personal-data alert
    assert "no message was from the child" in plain.stderr
    named = _invoke(store, ["--profile", "An", "--child-sender", "an.nguyen"], _jsonl(lines))
    assert json.loads(named.stdout)["category"] == "pii_disclosure"


def test_monitor_as_a_process_never_shows_a_traceback(tmp_path: Path) -> None:
    data = demo_data_dir(tmp_path / "data")
    payload = (_jsonl([LINES[6], "{", {"text": 5, "conversation": "c", "sender": "x"}]).encode()
               + b'{"sender": "An", "text": "\xff\xfe broken utf-8", "conversation": "c"}\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGATE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "safegate.cli", "monitor", "-p", "An", "--data-dir", str(data)],
        input=payload, capture_output=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert out[0]["category"] == "self_harm"
    assert [o.get("line") for o in out[1:]] == [2, 3]
    assert b"Traceback" not in proc.stderr and b"1 alerts created" in proc.stderr
    assert (data / KEY_FILE).stat().st_mode & 0o077 == 0


def _stored_alerts(store: dict[str, str]) -> list[Any]:
    engine = make_engine(store["url"])
    with session_factory(engine)() as session:
        profile = find_profile(session, "An")
        stored = list_alerts(session, profile.id, load_keyring(store["data"], env={}))
    engine.dispose()
    return stored


def test_alerts_purge_deletes_alerts_past_retention(store: dict[str, str]) -> None:
    now = time.time()
    lines = [{"sender": "hs7a2", "time": now - 100 * 86400, "conversation": "lop-7a2",
              "text": "mày ngu như con chó, cả lớp ghét mày"},
             {"sender": "An", "time": now - 10 * 86400, "conversation": "diary",
              "text": "tao muốn chết, không muốn sống nữa"}]
    assert _invoke(store, ["--profile", "An"], _jsonl(lines)).exit_code == 0
    env = {k: v for k, v in store.items() if k == DATABASE_URL_ENV}

    def purge(*args: str, **extra: str) -> Any:
        return CliRunner(env={**env, **extra}).invoke(
            main, ["alerts", "purge", "--data-dir", store["data"], *args])

    forever = purge(SAFEGATE_ALERTS__RETENTION_DAYS="0")
    assert forever.exit_code == 0 and "kept forever" in forever.output
    default = purge()  # alerts.retention_days: 90
    assert default.exit_code == 0, default.output
    assert default.output.startswith("purged 1 alert whose latest message is older than 90 days")
    assert [a.category for a in _stored_alerts(store)] == ["self_harm"]
    assert purge("--days", "7").output.startswith("purged 1 alert ")
    assert _stored_alerts(store) == []
    bad = purge("--days", "0")
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_alerts_report_counts_feedback_per_category_and_layer(store: dict[str, str]) -> None:
    result = _invoke(store, ["--profile", "An", "--no-deep"], _jsonl(LINES))
    assert result.exit_code == 0, result.output
    alerts = [json.loads(x) for x in result.stdout.splitlines() if '"error"' not in x]
    by_cat = {a["category"]: a for a in alerts}
    assert {c: a["found_by"] for c, a in by_cat.items()} == {
        "grooming": "conversation", "pii_disclosure": "rules", "self_harm": "rules",
        "bullying": "rules"}
    engine = make_engine(store["url"])
    with session_factory(engine).begin() as session:
        set_feedback(session, by_cat["self_harm"]["id"], "helpful", actor="parent:An")
        set_feedback(session, by_cat["bullying"]["id"], "wrong", actor="parent:An")
    env = {k: v for k, v in store.items() if k == DATABASE_URL_ENV}

    def report(*args: str) -> Any:
        return CliRunner(env=env).invoke(main, ["alerts", "report", "--data-dir", store["data"],
                                                *args])

    as_json = report("--json", "--profile", "An")
    assert as_json.exit_code == 0, as_json.output
    rows = {(r["category"], r["found_by"]): r for r in map(json.loads,
                                                           as_json.output.splitlines())}
    assert set(rows) == {("grooming", "conversation"), ("pii_disclosure", "rules"),
                         ("self_harm", "rules"), ("bullying", "rules")}
    assert (rows["self_harm", "rules"]["helpful"], rows["self_harm", "rules"]["wrong"],
            rows["self_harm", "rules"]["helpful_share"]) == (1, 0, 1.0)
    assert (rows["bullying", "rules"]["wrong"], rows["bullying", "rules"]["helpful_share"]) \
        == (1, 0.0)
    assert rows["grooming", "conversation"] == {
        "category": "grooming", "found_by": "conversation", "alerts": 1, "helpful": 0,
        "wrong": 0, "unanswered": 1, "helpful_share": None}
    text = report()
    assert text.exit_code == 0 and text.output.splitlines()[0].startswith("category")
    assert any(line.split()[:2] == ["self_harm", "rules"] and line.endswith("1.00")
               for line in text.output.splitlines())
    nobody = report("--profile", "Nobody")
    assert nobody.exit_code == 1 and "no profile named 'Nobody'" in nobody.output
    with session_factory(engine)() as session:
        actions = session.scalars(select(AuditLog.action)).all()
    engine.dispose()
    assert actions.count("alert.report") == 2


def test_a_lone_surrogate_does_not_lose_the_alert(store: dict[str, str]) -> None:
    line = ('{"sender": "An", "text": "tao muốn chết \\ud800 thật", "conversation": "d\\udfff", '
            '"time": "2026-12-01T20:00:00"}\n')
    result = _invoke(store, ["--profile", "An", "--no-deep"], line)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    [alert] = [json.loads(x) for x in result.stdout.splitlines()]
    assert (alert["category"], alert["conversation"]) == ("self_harm", "d\ufffd")
    assert "\ufffd" in alert["snippet"]
    assert [a.category for a in _stored_alerts(store)] == ["self_harm"]
