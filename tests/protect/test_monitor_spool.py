"""`safegate monitor` never loses an alert: a store that fails for a moment is tried again,
one that stays down gets the alert spooled (encrypted, 0600) and replayed exactly once.

The outages are real: PostgreSQL is reached through a TCP relay the test switches off and on
(to the monitor this is a server that went away and came back), and SQLite is locked by
another connection holding a write transaction. The monitor runs as a real process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlalchemy.engine import make_url

from safegate.config import DATABASE_URL_ENV
from safegate.privacy.crypto import load_keyring
from safegate.protect.monitor import Monitor, Retry, find_profile, list_alerts
from safegate.protect.spool import SPOOL_FILE, PendingAlert, Spool
from safegate.safety.engine import default_engine
from safegate.store import make_engine, migrate, session_factory, sqlite_url
from safegate.store.models import Alert
from safegate.store.repo import create_demo_household
from tests.helpers import demo_data_dir, postgresql_schema

SELF_HARM = {"sender": "An", "time": "2026-12-01T20:00:00",
             "text": "tao muốn chết, không muốn sống nữa", "conversation": "diary"}
BULLYING = {"sender": "hs7a2", "time": "2026-12-01T20:05:00",
            "text": "mày ngu như con chó, cả lớp ghét mày", "conversation": "lop-7a2"}
PII = {"sender": "An", "time": "2026-12-01T20:10:00", "text": "sđt của em là 0912 345 678",
       "conversation": "zalo-new-friend"}


# --- a TCP relay to PostgreSQL that can be switched off -----------------------------------


class Relay:
    """Forwards 127.0.0.1:<port> to ``target``; ``stop`` closes the port and cuts every
    connection (a server gone), ``start`` opens the same port again (the server back)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port: int = probe.getsockname()[1]
        probe.close()
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        server.settimeout(0.1)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while self._server is server:
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


@pytest.fixture
def pg_relay(tmp_path: Path) -> Iterator[tuple[str, str, Relay]]:
    """(direct URL, URL through the relay, relay) of a new schema with the demo household."""
    with postgresql_schema("PostgreSQL outage test") as url:
        engine = make_engine(url)
        migrate(engine)
        with session_factory(engine).begin() as session:
            create_demo_household(session)
        engine.dispose()
        parsed = make_url(url)
        relay = Relay((parsed.host or "127.0.0.1", parsed.port or 5432))
        relay.start()
        try:
            relayed = parsed.set(host="127.0.0.1", port=relay.port)
            yield url, relayed.render_as_string(hide_password=False), relay
        finally:
            relay.stop()


# --- the monitor as a process, fed line by line ---------------------------------------------


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGATE_")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


class Watch:
    """``safegate monitor`` running with a pipe for stdin, read one output line at a time."""

    def __init__(self, data: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "safegate.cli", "monitor", "-p", "An", "--no-deep",
             "--data-dir", str(data)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=_env(env))
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin: IO[bytes] = self.proc.stdin
        self.lines: queue.Queue[bytes] = queue.Queue()
        stdout = self.proc.stdout
        self._reader = threading.Thread(target=lambda: [self.lines.put(x) for x in stdout],
                                        daemon=True)
        self._reader.start()

    def send(self, obj: dict[str, Any]) -> None:
        self.stdin.write((json.dumps(obj, ensure_ascii=False) + "\n").encode())
        self.stdin.flush()

    def read(self, timeout: float = 90) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no output from the monitor") from None
        result: dict[str, Any] = json.loads(line)
        return result

    def finish(self) -> tuple[int, str, list[dict[str, Any]]]:
        """Close stdin; (exit status, stderr, the remaining output lines)."""
        self.stdin.close()
        assert self.proc.stderr is not None
        err = self.proc.stderr.read()
        status = self.proc.wait(timeout=120)
        self._reader.join(timeout=30)  # the reader has the last lines
        rest = []
        while not self.lines.empty():
            rest.append(json.loads(self.lines.get()))
        return status, err.decode(), rest


def _run(data: Path, env: dict[str, str], lines: list[dict[str, Any]] | None = None,
         ) -> tuple[int, str, list[dict[str, Any]]]:
    proc = subprocess.run(
        [sys.executable, "-m", "safegate.cli", "monitor", "-p", "An", "--no-deep",
         "--data-dir", str(data)],
        input="".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines or []).encode(),
        capture_output=True, timeout=120, env=_env(env))
    return (proc.returncode, proc.stderr.decode(),
            [json.loads(line) for line in proc.stdout.decode().splitlines()])


def _counts(url: str) -> dict[str, int]:
    """Per category, the detections stored: a replay stored twice shows as 2, whether as a
    second row or merged into the first (count 2)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sql_select(Alert.category, func.sum(Alert.count))
                            .group_by(Alert.category)).all()
    engine.dispose()
    return {cat: int(total) for cat, total in rows}


FAST = {"SAFEGATE_ALERTS__STORE_TRIES": "2", "SAFEGATE_ALERTS__STORE_RETRY_DELAY": "0.1"}


def test_postgresql_gone_mid_run_spools_then_a_later_run_replays_exactly_once(
        tmp_path: Path, pg_relay: tuple[str, str, Relay]) -> None:
    direct, relayed, relay = pg_relay
    data = tmp_path / "data"
    env = {DATABASE_URL_ENV: relayed, **FAST}

    watch = Watch(data, env)
    watch.send(SELF_HARM)
    first = watch.read()
    assert first["category"] == "self_harm" and isinstance(first["id"], int)

    relay.stop()  # the database goes away mid-run
    watch.send(BULLYING)
    spooled = watch.read()
    assert spooled["spooled"] is True and spooled["id"] is None
    assert spooled["category"] == "bullying" and "ngu" in spooled["snippet"]
    status, err, rest = watch.finish()
    assert status == 1, err
    assert "1 alert could not be stored" in err and SPOOL_FILE in err
    assert "1 spooled (the store failed), 0 replayed from the spool, 1 still waiting" in err
    assert "Traceback" not in err and rest == []

    spool = data / SPOOL_FILE
    assert stat.S_IMODE(spool.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    raw = spool.read_text(encoding="utf-8")
    assert "ngu" not in raw and "con chó" not in raw and "lớp" not in raw
    record = json.loads(raw)
    assert record["snippet"].startswith("sg1.") and record["category"] == "bullying"
    assert _counts(direct) == {"self_harm": 1}

    # still down: the next run keeps it, says so, and fails again
    status, err, out = _run(data, env)
    assert status == 1 and out == [] and "Traceback" not in err
    assert "cannot open the store" in err and "1 alert waits" in err
    assert _counts(direct) == {"self_harm": 1}

    relay.start()  # the database is back: the next run stores it
    status, err, out = _run(data, env)
    assert status == 0, err
    assert [(o["category"], o.get("replayed")) for o in out] == [("bullying", True)]
    assert "ngu" in out[0]["snippet"] and isinstance(out[0]["id"], int)
    assert "1 replayed from the spool, 0 still waiting" in err
    assert not spool.exists()
    assert _counts(direct) == {"self_harm": 1, "bullying": 1}

    status, err, out = _run(data, env)  # and only once
    assert status == 0 and out == [] and "spool" not in err
    assert _counts(direct) == {"self_harm": 1, "bullying": 1}

    engine = make_engine(direct)
    with session_factory(engine)() as session:
        profile = find_profile(session, "An")
        listed = list_alerts(session, profile.id, load_keyring(data, env={}))
    engine.dispose()
    assert {a.category: a.snippet for a in listed}["bullying"] == spooled["snippet"]


def test_a_replay_interrupted_before_the_spool_was_rewritten_stores_nothing_twice(
        tmp_path: Path, pg_relay: tuple[str, str, Relay]) -> None:
    direct, relayed, relay = pg_relay
    data = tmp_path / "data"
    env = {DATABASE_URL_ENV: relayed, **FAST}
    relay.stop()
    status, err, _ = _run(data, {DATABASE_URL_ENV: relayed, **FAST}, [SELF_HARM])
    assert status == 1, err  # the store was never reachable: no key, no profile, nothing read
    relay.start()
    assert _run(data, env)[0] == 0  # creates the key (the store holds no encrypted data)

    watch = Watch(data, env)
    watch.send(SELF_HARM)
    assert isinstance(watch.read()["id"], int)
    relay.stop()
    watch.send(BULLYING)
    assert watch.read()["spooled"] is True
    assert watch.finish()[0] == 1
    saved = (data / SPOOL_FILE).read_bytes()

    relay.start()
    assert _run(data, env)[0] == 0
    # a crash between the commit and the spool's rewrite leaves the old spool behind
    (data / SPOOL_FILE).write_bytes(saved)
    status, err, out = _run(data, env)
    assert status == 0 and out == [], err
    assert not (data / SPOOL_FILE).exists()
    assert _counts(direct) == {"self_harm": 1, "bullying": 1}


def test_a_short_postgresql_outage_is_ridden_out_by_the_retries(
        pg_relay: tuple[str, str, Relay], tmp_path: Path) -> None:
    """A restart shorter than the back-off: the alert is stored, nothing is spooled."""
    direct, relayed, relay = pg_relay
    engine = make_engine(relayed)
    with session_factory(engine)() as session:
        profile = find_profile(session, "An")
    key = load_keyring(tmp_path, env={})
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the server comes back during the second wait
        slept.append(seconds)
        time.sleep(seconds)
        if len(slept) == 2:
            relay.start()

    spool = Spool(tmp_path)
    monitor = Monitor(engine, profile, key, spool=spool, retry=Retry(5, 0.2), sleep=sleep,
                      safety=default_engine())
    relay.stop()
    try:
        out = monitor.feed_line(json.dumps(SELF_HARM))
    finally:
        engine.dispose()
    assert [o["category"] for o in out] == ["self_harm"] and isinstance(out[0]["id"], int)
    assert slept == [0.2, 0.4]  # two tries failed, the third stored it
    assert monitor.stats.spooled == 0 and not spool.path.exists()
    assert _counts(direct) == {"self_harm": 1}


def test_sqlite_locked_by_another_writer_spools_and_the_same_run_replays_when_free(
        tmp_path: Path) -> None:
    data = demo_data_dir(tmp_path / "data")
    env = {"SAFEGATE_ALERTS__STORE_TRIES": "1"}  # each try waits SQLite's 5 s busy timeout
    watch = Watch(data, env)
    watch.send(SELF_HARM)
    assert isinstance(watch.read()["id"], int)

    holder = sqlite3.connect(data / "safegate.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        watch.send(BULLYING)
        spooled = watch.read()
        assert spooled["spooled"] is True and spooled["category"] == "bullying"
        assert (data / SPOOL_FILE).exists()
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    watch.send(PII)  # the store works again: this alert, then the waiting one
    stored = watch.read()
    replayed = watch.read()
    assert stored["category"] == "pii_disclosure" and "replayed" not in stored
    assert replayed["category"] == "bullying" and replayed["replayed"] is True
    status, err, rest = watch.finish()
    assert status == 0, err
    assert rest == [] and not (data / SPOOL_FILE).exists()
    assert "1 spooled (the store failed), 1 replayed from the spool, 0 still waiting" in err
    assert _counts(sqlite_url(data)) == {"self_harm": 1, "bullying": 1, "pii_disclosure": 1}


# --- the spool file ---------------------------------------------------------------------


def _pending(key_dir: Path, text: str = "mày ngu") -> PendingAlert:
    from datetime import UTC, datetime

    from safegate.privacy.crypto import encrypt_text

    key = load_keyring(key_dir, env={})
    return PendingAlert(profile_id=1, conversation="c", category="bullying",
                        severity="warning", score=0.9, guidance="bullying", found_by="rules",
                        at=datetime(2026, 12, 1, tzinfo=UTC),
                        snippet=encrypt_text(text, key, context="alert.snippet:1"))


def test_spool_file_is_private_and_keeps_lines_it_cannot_read(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        spool = Spool(tmp_path / "new" / "data")
        first, second = _pending(tmp_path), _pending(tmp_path, "khác")
        spool.append(first)
        with spool.path.open("a", encoding="utf-8") as f:
            f.write('{"broken": \n')
        spool.append(second)
    finally:
        os.umask(old)
    assert stat.S_IMODE(spool.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(spool.path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    entries = spool.entries()
    assert [e.alert for e in entries] == [first, None, second]
    with spool.locked():
        spool.rewrite([entries[1]])
    assert spool.path.read_text() == '{"broken": \n'
    assert stat.S_IMODE(spool.path.stat().st_mode) == 0o600


def test_a_spool_line_with_a_plaintext_snippet_is_not_replayed(tmp_path: Path) -> None:
    record = json.loads(_pending(tmp_path).to_json())
    record["snippet"] = "mày ngu"
    with pytest.raises(ValueError, match="not encrypted"):
        PendingAlert.from_json(json.dumps(record))


def test_unreadable_spool_lines_keep_the_exit_status_non_zero(tmp_path: Path) -> None:
    data = demo_data_dir(tmp_path / "data")
    (data / SPOOL_FILE).write_text("not json\n")
    status, err, out = _run(data, {})
    assert status == 1 and "1 alert could not be stored" in err and out == []
    assert (data / SPOOL_FILE).read_text() == "not json\n"


def test_a_line_a_crash_cut_short_does_not_swallow_the_next_alert(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(_pending(tmp_path))
    with spool.path.open("ab") as f:  # a crash in the middle of an append
        f.write(b'{"spool_id": "torn", "prof')
    after = _pending(tmp_path, "khác")
    spool.append(after)
    assert [e.alert for e in spool.entries()][1:] == [None, after]


def test_a_spooled_alert_of_a_deleted_child_does_not_block_the_rest(tmp_path: Path) -> None:
    data = demo_data_dir(tmp_path / "data")
    assert _run(data, {})[0] == 0  # makes the key
    spool = Spool(data)
    spool.append(dataclasses.replace(_pending(data), profile_id=999))
    spool.append(_pending(data, "mày ngu như con chó"))
    status, err, out = _run(data, {})
    assert status == 0, err
    assert [o.get("replayed") for o in out] == [True]  # the second one, stored
    assert not spool.entries()  # nothing left waiting
