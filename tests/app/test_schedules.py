"""The gate's scheduled work: `categorise-new` as a child process at an interval (real
children, a real `safegate serve`), and the hourly alert purge in a running gate."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from safegate.app.jobs import (
    ChildRun,
    Job,
    describe_run,
    run_child,
    run_schedule,
    scheduled_jobs,
)
from safegate.config import ConfigError, Settings, child_environ, load_settings
from safegate.lists.auto import record_seen
from safegate.privacy.crypto import Keyring
from safegate.protect.monitor import Message, Monitor, find_profile
from safegate.store import make_engine, migrate, session_factory, sqlite_url
from safegate.store.models import Alert, AuditLog, DomainCategory, TemporaryAllow
from safegate.store.repo import create_demo_household
from safegate.store.values import utcnow
from tests.helpers import FakeUpstream, addresses, query, start_server, wait_until

SEEN = {"vietcombank-xacminh.top": 5, "vnexpress.net": 40, "momo-nhanqua.xyz": 2}
SECRET = "hunter2-not-for-logs"


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run on the loop the gate runs on (uvloop where it is installed)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(coro)
    return uvloop.run(coro)


def python_job(code: str, *, interval: float = 0.05, timeout: float = 10.0,
               name: str = "job") -> Job:
    return Job(name, (sys.executable, "-c", code), interval, timeout)


def gate_settings(data_dir: Path, **overrides: Any) -> Settings:
    return load_settings(env={}, overrides={
        "server.data_dir": str(data_dir), "gate.default_lists": False,
        "urls.categorise_interval": 60, **overrides})


# --- pure parts ---------------------------------------------------------------------------


def test_child_environ_carries_the_settings_and_no_keys(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://safegate:{SECRET}@db.example:5432/safegate"
    settings = gate_settings(
        tmp_path, **{"server.database_url": url, "gate.blocklists": ["/a.txt", "/b b.txt"],
                     "gate.dns": "[::1]:5353", "gate.upstream_timeout": 0.25,
                     "gate.serve_stale": False, "policy.default_categories": ["adult", "scam"]})
    base = {"PATH": "/usr/bin", "SAFEGATE_CONFIG": "/etc/other.toml",
            "SAFEGATE_SECRET_KEY": "k" * 43, "SAFEGATE_DATABASE_URL": "sqlite:///x.db",
            "SAFEGATE_GATE__CACHE_SIZE": "7", "SAFEGATE_TEST_DATABASE_URL": "kept"}
    env = child_environ(settings, base)
    assert load_settings(env=env).as_dict() == settings.as_dict()
    assert env["PATH"] == "/usr/bin" and env["SAFEGATE_TEST_DATABASE_URL"] == "kept"
    assert env["SAFEGATE_SERVER__DATABASE_URL"] == url
    for gone in ("SAFEGATE_CONFIG", "SAFEGATE_SECRET_KEY", "SAFEGATE_DATABASE_URL"):
        assert gone not in env
    # defaults (None) come back as defaults too
    plain = gate_settings(tmp_path)
    assert load_settings(env=child_environ(plain, {})).as_dict() == plain.as_dict()
    with pytest.raises(ConfigError, match="gate.blocklists: '/a,b.txt' cannot be passed"):
        child_environ(gate_settings(tmp_path, **{"gate.blocklists": ["/a,b.txt"]}), {})


def test_scheduled_jobs_follow_the_settings(tmp_path: Path) -> None:
    assert scheduled_jobs(gate_settings(tmp_path, **{"urls.categorise_interval": 0})) == []
    [job] = scheduled_jobs(gate_settings(tmp_path, **{"urls.categorise_interval": 900}))
    assert job.argv == (sys.executable, "-m", "safegate.cli", "categorise-new")
    assert (job.name, job.interval, job.timeout) == ("categorise-new", 900, 600)
    [fetching] = scheduled_jobs(gate_settings(tmp_path, **{"urls.categorise_fetch": True}))
    assert fetching.argv[-1] == "--fetch"


def test_describe_run_is_one_line() -> None:
    job = python_job("", name="categorise-new", timeout=600)
    ok = ChildRun(0, "recorded  a.top  block scam 0.93\n3 domains: 1 recorded, 2 kept\n", "",
                  2.04)
    assert describe_run(job, ok) == "categorise-new: 3 domains: 1 recorded, 2 kept (2.0 s)"
    failed = ChildRun(1, "", "Error: cannot open the store: refused\n\tIs the server running?"
                      "\n(Background on this error at: https://sqlalche.me/e/21/e3q8)\n", 1.5)
    assert describe_run(job, failed) == ("categorise-new: failed with exit status 1 after "
                                         "1.5 s: Error: cannot open the store: refused")
    crashed = ChildRun(-9, "", "", 0.1)
    assert describe_run(job, crashed).endswith("exit status -9 after 0.1 s: no output")
    assert describe_run(job, ChildRun(None, "", "", 600.2)) == \
        "categorise-new: stopped after 600.2 s (timeout 600 s)"
    long = ChildRun(2, "", "Error: " + "x" * 1000, 1.0)
    assert len(describe_run(job, long)) < 400


# --- real child processes -----------------------------------------------------------------


def test_scheduled_categorise_new_files_new_domains(engine: Engine, tmp_path: Path) -> None:
    """The job the gate schedules, run for real against the gate's store (SQLite in the
    data directory, or PostgreSQL through the URL handed over in the environment)."""
    record_seen(engine, SEEN)
    url = engine.url.render_as_string(hide_password=False)
    settings = gate_settings(tmp_path / "data", **{"server.database_url": url})
    [job] = scheduled_jobs(settings)
    run = run_async(run_child(job, child_environ(settings, os.environ)))
    assert run.ok, run.stderr
    assert describe_run(job, run).startswith("categorise-new: 3 domains: ")
    assert describe_run(job, run).endswith("1 kept, 2 recorded (" + f"{run.seconds:.1f} s)")
    with session_factory(engine)() as session:
        rows = {r.domain: (r.category, r.source) for r in session.scalars(select(DomainCategory))}
    assert rows == {"vietcombank-xacminh.top": ("scam", "auto"),
                    "momo-nhanqua.xyz": ("scam", "auto")}


def test_a_failing_child_says_why_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://safegate:{SECRET}@127.0.0.1:1/nowhere"  # nothing listens
    settings = gate_settings(tmp_path, **{"server.database_url": url})
    [job] = scheduled_jobs(settings)
    assert not any(SECRET in arg for arg in job.argv)
    run = run_async(run_child(job, child_environ(settings, os.environ)))
    line = describe_run(job, run)
    assert run.returncode == 1 and "failed with exit status 1" in line
    assert "cannot use the store" in line
    assert SECRET not in line and SECRET not in run.stderr + run.stdout


def test_the_schedule_survives_failures_and_timeouts_and_kills_its_child(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="safegate.app.jobs")
    pid_file = tmp_path / "pid"
    failing = python_job("import sys; sys.exit('no store here')", name="failing")
    runs = tmp_path / "runs"
    counting = python_job(f"open({str(runs)!r}, 'a').write('x'); print('counted')",
                          name="counting")
    hanging = python_job(
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
        "time.sleep(60)", name="hanging", timeout=0.5)

    async def scenario() -> list[bool]:
        tasks = [asyncio.create_task(run_schedule(j, os.environ))
                 for j in (failing, counting, hanging)]
        for _ in range(200):  # at most 20 s; normally about 2
            await asyncio.sleep(0.1)
            text = caplog.text
            if text.count("failing: failed") >= 2 and "hanging: stopped" in text \
                    and runs.exists() and len(runs.read_text()) >= 2:
                break
        alive = [not t.done() for t in tasks]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return alive

    assert run_async(scenario()) == [True, True, True]
    assert caplog.text.count("failing: failed with exit status 1 after") >= 2
    assert "no store here" in caplog.text
    assert "hanging: stopped after" in caplog.text and "(timeout 0.5 s)" in caplog.text
    assert "counting: counted (" in caplog.text
    assert len(runs.read_text()) >= 2
    with pytest.raises(ProcessLookupError):  # the last hanging child went with its schedule
        os.kill(int(pid_file.read_text()), 0)


def _children() -> set[int]:
    """This process's child processes, running or exited but not reaped (Linux /proc)."""
    return {int(pid) for task in Path(f"/proc/{os.getpid()}/task").iterdir()
            for pid in (task / "children").read_text().split()}


def _cancel_run_child(job: Job, delay: float) -> None:
    """Start ``run_child(job)``, cancel it after ``delay`` seconds and wait until it ends."""
    async def scenario() -> None:
        task = asyncio.create_task(run_child(job, os.environ))
        await asyncio.sleep(delay)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    run_async(scenario())


NEEDS_PROC = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")


@NEEDS_PROC
def test_a_cancel_at_any_moment_leaves_no_child() -> None:
    """Cancelled as its child starts, while it runs, or around the timeout's own kill,
    run_child leaves no child behind, running or unreaped."""
    before = _children()
    hanging = python_job("import time; time.sleep(60)", name="hanging")
    for delay in (0, 0, 0.001, 0.01, 0.2):  # 0: the spawn has only just begun
        _cancel_run_child(hanging, delay)
        assert _children() <= before, delay
    hanging = python_job("import time; time.sleep(60)", name="hanging", timeout=0.05)
    for delay in (0.05, 0.051, 0.052, 0.055, 0.06):
        _cancel_run_child(hanging, delay)
        assert _children() <= before, delay


@NEEDS_PROC
def test_a_cancel_during_uvloops_spawn_leaves_no_zombie(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvloop kills a child whose start is cancelled but nothing reaps it: the zombie a CI
    run found. uvloop's test-only flag holds the start open after the fork, which widens the
    window the cancels aim at (the code before the fix failed here in 4 of 17 runs)."""
    pytest.importorskip("uvloop")
    spawn = asyncio.create_subprocess_exec

    async def slow_spawn(*args: Any, **kwargs: Any) -> Any:
        return await spawn(*args, __uvloop_sleep_after_fork=True, **kwargs)  # type: ignore[call-arg]

    monkeypatch.setattr(asyncio, "create_subprocess_exec", slow_spawn)
    before = _children()
    hanging = python_job("import time; time.sleep(60)", name="hanging")
    for delay in (0.0005, 0.001, 0.002, 0.004):
        _cancel_run_child(hanging, delay)
        assert _children() <= before, delay


@pytest.mark.timeout(240)
def test_serve_categorises_new_domains_on_schedule_and_blocks_them(tmp_path: Path) -> None:
    """`safegate serve` with urls.categorise_interval: the child files the scam domain the
    gate saw, asks the gate to reload, and the gate blocks it."""
    data = tmp_path / "data"
    engine = make_engine(sqlite_url(data))
    migrate(engine)
    record_seen(engine, SEEN)
    engine.dispose()
    config = tmp_path / "safegate.toml"
    config.write_text("[gate]\ndefault_lists = false\n\n[urls]\ncategorise_interval = 0.5\n")
    upstream = FakeUpstream().start()
    proc, port = start_server("--config", str(config), "--data-dir", str(data),
                              "--upstream", f"127.0.0.1:{upstream.port}")
    lines: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        assert addresses(query(port, "vnexpress.net")) == ["192.0.2.1"]
        # (the child loads the text engine: slow on a busy CI machine)
        assert wait_until(
            lambda: addresses(query(port, "vietcombank-xacminh.top")) == ["0.0.0.0"], 90)
        assert addresses(query(port, "vnexpress.net")) == ["192.0.2.1"]
        # the run ends after its reload request: its one-line outcome follows
        assert wait_until(lambda: "categorise-new: 3 domains:" in "".join(lines), 60)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=10)
        upstream.stop()
    out = "".join(lines)
    assert proc.returncode == 0, out
    assert "categorise-new scheduled every 0.5 s" in out
    assert "categorise-new: 3 domains: 1 kept, 2 recorded (" in out
    assert "(lists rebuilt)" in out
    assert "Traceback" not in out


# --- the hourly purge in a running gate ---------------------------------------------------


def _alert_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Alert)) or 0)


def test_running_gate_purges_alerts_past_retention(engine: Engine, tmp_path: Path,
                                                   make_gate: Any) -> None:
    with session_factory(engine).begin() as session:
        create_demo_household(session)
        profile = find_profile(session, "An")
    monitor = Monitor(engine, profile, Keyring.generate())
    now = utcnow()
    for days, conversation in ((120, "old"), (1, "new")):
        monitor.feed(Message("bully", "mày ngu như con chó, cả lớp ghét mày", conversation,
                             now - timedelta(days=days), False))
    assert _alert_count(engine) == 2
    url = engine.url.render_as_string(hide_password=False)
    make_gate(data_dir=tmp_path / "data", **{"server.database_url": url,
                                             "alerts.retention_days": 30})
    assert wait_until(lambda: _alert_count(engine) == 1, 10)
    with session_factory(engine)() as session:
        assert session.scalars(select(Alert.conversation)).all() == ["new"]
        assert session.scalars(select(AuditLog.actor).where(
            AuditLog.action == "alert.purge")).all() == ["retention"]


def test_a_failing_alert_purge_leaves_the_gate_serving(
        tmp_path: Path, make_gate: Any, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "broken"
    engine = make_engine(sqlite_url(data))
    migrate(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE alert")
    engine.dispose()
    gate = make_gate(data_dir=data)
    assert wait_until(lambda: "alert retention purge failed" in caplog.text, 10)
    assert addresses(query(gate.port, "still-serving.example")) == ["192.0.2.1"]
    leaders = [t for t in gate.runtime.background
               if getattr(t.get_coro(), "__qualname__", "") == "Leadership.run"]
    assert len(leaders) == 2 and not any(t.done() for t in leaders), \
        "the purge failed, the jobs (and their leadership) go on"


def test_the_jobs_leader_keeps_leading_with_retention_off(
        tmp_path: Path, make_gate: Any, caplog: pytest.LogCaptureFixture) -> None:
    """With no retention to enforce (both set to 0) the hourly loop still runs (budget
    minutes, the change log): the jobs do not end, so leadership is not given up and taken
    again every few seconds."""
    caplog.set_level(logging.INFO, logger="safegate.app.leader")
    make_gate(**{"querylog.retention_days": 0, "alerts.retention_days": 0})
    assert wait_until(lambda: "leading safegate-jobs" in caplog.text, 10)
    time.sleep(4)  # Leadership retries every 3 s after giving up
    assert "safegate-jobs ended; leadership given up" not in caplog.text
    assert caplog.text.count("leading safegate-jobs") == 1


def test_the_jobs_leader_deletes_temporary_allows_that_ended(engine: Engine, tmp_path: Path,
                                                              make_gate: Any) -> None:
    """Ended allows used to stay until the parent's next allow-for for that child."""
    now = utcnow()
    with session_factory(engine).begin() as session:
        create_demo_household(session)
        child = find_profile(session, "An").id
        session.add_all([
            TemporaryAllow(profile_id=child, domain="ended.example",
                           until=now - timedelta(minutes=5)),
            TemporaryAllow(profile_id=child, domain="open.example",
                           until=now + timedelta(hours=1))])

    def domains() -> list[str]:
        with session_factory(engine)() as session:
            return sorted(session.scalars(select(TemporaryAllow.domain)).all())

    url = engine.url.render_as_string(hide_password=False)
    make_gate(data_dir=tmp_path / "data", **{"server.database_url": url})
    assert wait_until(lambda: domains() == ["open.example"], 10), domains()
