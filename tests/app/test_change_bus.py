"""The change bus (safegate.app.bus, safegate.store.changes): versions in a real database,
announcements over a real Redis (one shared, and redis-server processes of our own that the
tests kill), watchers in real event loops, writers in other threads and processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect

from safegate.app.bus import (
    ChangeBus,
    ChangeWatcher,
    decode_version,
    encode_message,
    kinds_between,
    profiles_between,
    retry_delay,
    touches,
)
from safegate.store import StoreError, changes, make_engine, migrate, session_factory, sqlite_url
from safegate.store.changes import Change
from safegate.store.models import ChangeVersion
from safegate.store.notify import publish
from safegate.store.values import utcnow
from tests.helpers import BACKENDS, REPO, _alembic, postgresql_schema

REDIS = os.environ.get("SAFEGATE_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS, reason="SAFEGATE_TEST_REDIS_URL not set")
SRC = REPO / "src"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of its own: a SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "data")
        _migrated(url)
        yield url
    else:
        with postgresql_schema("PostgreSQL change-bus tests") as url:
            _migrated(url)
            yield url


def _migrated(url: str) -> None:
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()


@contextmanager
def engines(url: str, n: int) -> Iterator[list[Engine]]:
    """``n`` engines on one database, as ``n`` processes or nodes would have."""
    made = [make_engine(url) for _ in range(n)]
    try:
        yield made
    finally:
        for engine in made:
            engine.dispose()


def bump(engine: Engine, kind: str, reason: str = "") -> int:
    """A change committed without any announcement (as a node without Redis makes it)."""
    with session_factory(engine).begin() as session:
        return changes.bump(session, kind, reason)


@dataclass
class Recorder:
    """An on_change that records its calls; ``gate`` (if set) holds each call until set."""

    calls: list[tuple[int, frozenset[str], float]] = field(default_factory=list)
    scopes: list[frozenset[int] | None] = field(default_factory=list)  # each call's profiles
    gate: asyncio.Event | None = None
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    fail_first: int = 0

    async def __call__(self, version: int, kinds: frozenset[str],
                       profiles: frozenset[int] | None) -> None:
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_first > 0:
            self.fail_first -= 1
            raise RuntimeError("reload failed")
        self.calls.append((version, kinds, time.monotonic()))
        self.scopes.append(profiles)

    def seen(self) -> list[tuple[int, frozenset[str]]]:
        return [(v, k) for v, k, _ in self.calls]


async def until(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.01)
    return bool(check())


@contextmanager
def running(*watchers: ChangeWatcher) -> Iterator[list[asyncio.Task[None]]]:
    tasks = [asyncio.create_task(w.run()) for w in watchers]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()


async def started(*watchers: ChangeWatcher, redis: bool = False) -> None:
    for w in watchers:
        await asyncio.wait_for(w.ready.wait(), 10)
        if redis:
            await asyncio.wait_for(w.subscribed.wait(), 10)


# --- decisions --------------------------------------------------------------------------------


def _change(version: int, kind: str, profiles: tuple[int, ...] | None = None) -> Change:
    return Change(version, kind, "", utcnow(), profiles)


def test_kinds_between_names_what_moved_and_says_all_when_it_cannot_know() -> None:
    log = [_change(3, "policy"), _change(4, "lists"), _change(5, "policy")]
    assert kinds_between(2, 5, log) == {"policy", "lists"}
    assert kinds_between(3, 4, log) == {"lists"}  # rows outside the range do not count
    assert kinds_between(1, 5, log) == {"policy", "lists", "all"}  # version 2 is not logged
    assert kinds_between(5, 5, log) == frozenset()
    assert kinds_between(7, 5, log) == {"all"}  # the database went back (restored backup)


def test_profiles_between_names_the_children_only_when_every_change_did() -> None:
    log = [_change(3, "policy", (7,)), _change(4, "policy", (8, 9)), _change(5, "policy"),
           _change(6, "lists", ()), _change(7, "policy", ())]
    assert profiles_between(2, 4, log) == {7, 8, 9}
    assert profiles_between(3, 4, log) == {8, 9}  # rows outside the range do not count
    assert profiles_between(2, 5, log) is None  # version 5 did not name its children
    assert profiles_between(5, 6, log) is None  # a list change is not a child's
    assert profiles_between(6, 7, log) == frozenset()  # a policy change that touched none
    assert profiles_between(1, 4, log) is None  # version 2 is not logged
    assert profiles_between(4, 4, log) == frozenset()
    assert profiles_between(9, 4, log) is None  # the database went back


def test_retry_delay_doubles_from_the_poll_interval_up_to_a_minute() -> None:
    assert retry_delay(2.0, 0) == 2.0
    assert retry_delay(2.0, 1) == 4.0
    assert retry_delay(2.0, 3) == 16.0
    assert retry_delay(2.0, 30) == 60.0


def test_announcements_carry_the_version_and_other_messages_only_wake() -> None:
    assert decode_version(encode_message(42, "policy", "An's policy, «ngủ»")) == 42
    for other in ("reload", "policy of An changed", "[1]", '{"version": "3"}',
                  '{"version": true}'):
        assert decode_version(other) is None


# --- the store --------------------------------------------------------------------------------


def test_bump_numbers_changes_and_logs_them(db_url: str) -> None:
    with engines(db_url, 1) as (engine,):
        factory = session_factory(engine)
        with factory() as s:
            assert changes.current(s) == 0
        assert bump(engine, "policy", "An's bedtime") == 1
        assert bump(engine, "lists", "hagezi updated") == 2
        with pytest.raises(RuntimeError), factory.begin() as s:
            changes.bump(s, "categories")
            raise RuntimeError("the change failed")  # rolled back: no version spent
        with pytest.raises(StoreError, match="weather"), factory.begin() as s:
            changes.bump(s, "weather")
        assert bump(engine, "categories") == 3
        with factory() as s:
            assert changes.current(s) == 3
            assert [(c.version, c.kind, c.reason) for c in changes.since(s, 1)] == [
                (2, "lists", "hagezi updated"), (3, "categories", "")]
            assert changes.since(s, 3) == []
        with factory.begin() as s:  # the counter row lost (an emptied table): continue
            s.query(ChangeVersion).delete()
        with factory() as s:
            assert changes.current(s) == 3
        assert bump(engine, "all", "operator reload") == 4
        with factory.begin() as s:
            assert changes.prune(s, keep=2) == 2
        with factory() as s:
            assert [c.version for c in changes.since(s, 0)] == [3, 4]


def test_concurrent_bumps_get_distinct_versions_in_commit_order(db_url: str) -> None:
    """Eight threads, each on its own connection, bump five times while holding the
    transaction open a little: every version is given once, and a bump waits for the
    transaction that took the previous version to commit."""
    threads, per_thread = 8, 5
    got: list[int] = []
    spans: dict[int, tuple[float, float]] = {}  # version -> (bump returned, commit began)
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    with engines(db_url, threads) as engs:
        def writer(engine: Engine) -> None:
            try:
                barrier.wait()
                for _ in range(per_thread):
                    with session_factory(engine).begin() as s:
                        version = changes.bump(s, "policy")
                        bumped = time.monotonic()
                        time.sleep(0.005)
                        committing = time.monotonic()
                    with lock:
                        got.append(version)
                        spans[version] = (bumped, committing)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        workers = [threading.Thread(target=writer, args=(e,)) for e in engs]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        assert not errors, errors
        assert sorted(got) == list(range(1, threads * per_thread + 1))
        for version in range(2, threads * per_thread + 1):
            # version N was handed out only when N-1's transaction was over (row lock)
            assert spans[version][0] >= spans[version - 1][1], version
        with session_factory(engs[0])() as s:
            assert changes.current(s) == threads * per_thread
            assert [c.version for c in changes.since(s, 0)] == sorted(got)


def test_the_change_bus_revision_goes_down_and_up(db_url: str) -> None:
    with engines(db_url, 1) as (engine,):
        bump(engine, "policy")
        _alembic(engine, "downgrade", "0004")
        tables = set(inspect(engine).get_table_names())
        assert not {"change_log", "change_version"} & tables and "alert" in tables
        _alembic(engine, "upgrade", "head")
        with session_factory(engine)() as s:
            assert changes.current(s) == 0 and changes.since(s, 0) == []
        assert bump(engine, "lists") == 1


def test_a_change_logs_the_children_it_touches_and_the_watcher_passes_them_on(
        db_url: str) -> None:
    """``touches`` inside the changing transaction: the log row names the children (sorted,
    once each); a change that names none is NULL; a rolled-back change leaves nothing behind
    for the next one in the same session."""

    async def body() -> None:
        with engines(db_url, 2) as (writer, reader):
            rec = Recorder()
            watcher = ChangeWatcher(reader, rec, poll_interval=60)
            bus, factory = ChangeBus(), session_factory(writer)

            def change(*ids: int) -> int:
                with factory.begin() as s:
                    if ids:
                        touches(s, *ids)
                    return bus.record(s, "policy", "test")

            with running(watcher):
                await started(watcher)
                assert await asyncio.to_thread(change, 5, 3, 5) == 1
                assert await until(lambda: len(rec.calls) == 1, 2.0)
                assert await asyncio.to_thread(change) == 2
                assert await until(lambda: len(rec.calls) == 2, 2.0)
            assert rec.scopes == [frozenset({3, 5}), None]
            with factory() as s:
                assert [c.profiles for c in changes.since(s, 0)] == [(3, 5), None]
            with factory() as s:
                with pytest.raises(RuntimeError), s.begin():
                    touches(s, 9)
                    raise RuntimeError("rolled back before it was recorded")
                with s.begin():
                    bus.record(s, "policy")  # names nobody: 9 was the failed change's
            with factory() as s:
                assert changes.since(s, 2)[0].profiles is None

    asyncio.run(body())


# --- watchers ---------------------------------------------------------------------------------


def test_two_watchers_see_a_change_by_polling_alone(db_url: str) -> None:
    """No Redis, no announcement: the database's version is enough, within the poll."""

    async def body() -> None:
        with engines(db_url, 3) as (writer, e1, e2):
            r1, r2 = Recorder(), Recorder()
            w1 = ChangeWatcher(e1, r1, poll_interval=0.2)
            w2 = ChangeWatcher(e2, r2, poll_interval=0.2)
            with running(w1, w2):
                await started(w1, w2)
                assert (w1.version, w2.version) == (0, 0)
                await asyncio.to_thread(bump, writer, "policy", "An's bedtime")
                t0 = time.monotonic()
                assert await until(lambda: r1.calls and r2.calls, 1.0)
                await asyncio.to_thread(bump, writer, "lists")
                await asyncio.to_thread(bump, writer, "categories")
                assert await until(lambda: len(r1.calls) >= 2 and len(r2.calls) >= 2, 1.0)
                await asyncio.sleep(0.5)
            for r in (r1, r2):
                assert r.calls[0][2] - t0 < 1.0
                # the two later bumps arrive together or one by one, never lost or repeated
                assert r.seen() in ([(1, {"policy"}), (3, {"lists", "categories"})],
                                    [(1, {"policy"}), (2, {"lists"}), (3, {"categories"})])

    asyncio.run(body())


def test_a_change_in_this_process_wakes_its_watchers_at_once(db_url: str) -> None:
    """ChangeBus.record announces after commit (not before, not on rollback); watchers in
    the same process are woken directly, long before their (one-minute) poll."""

    async def body() -> None:
        with engines(db_url, 2) as (writer, reader):
            rec = Recorder()
            watcher = ChangeWatcher(reader, rec, poll_interval=60)
            bus = ChangeBus()
            factory = session_factory(writer)

            def change_then_fail() -> None:
                with pytest.raises(RuntimeError), factory.begin() as s:
                    bus.record(s, "policy")
                    raise RuntimeError("rolled back")

            def change(kinds: tuple[str, ...]) -> list[int]:
                with factory.begin() as s:
                    return [bus.record(s, k, "test") for k in kinds]

            with running(watcher):
                await started(watcher)
                await asyncio.to_thread(change_then_fail)
                await asyncio.sleep(0.3)
                assert rec.calls == []
                assert await asyncio.to_thread(change, ("policy", "categories")) == [1, 2]
                assert await until(lambda: rec.calls, 1.0)
            assert rec.seen() == [(2, {"policy", "categories"})]

    asyncio.run(body())


@needs_redis
def test_two_watchers_see_a_change_made_by_another_process_via_redis(db_url: str) -> None:
    """Polling once a minute: only the Redis announcement can bring the change in time."""
    assert REDIS is not None
    channel = f"safegate:test:{uuid.uuid4().hex}"

    async def body() -> None:
        with engines(db_url, 2) as (e1, e2):
            r1, r2 = Recorder(), Recorder()
            w1 = ChangeWatcher(e1, r1, notify_url=REDIS, channel=channel, poll_interval=60)
            w2 = ChangeWatcher(e2, r2, notify_url=REDIS, channel=channel, poll_interval=60)
            with running(w1, w2):
                await started(w1, w2, redis=True)
                code = ("import sys\n"
                        "from safegate.app.bus import ChangeBus\n"
                        "from safegate.store import make_engine, session_factory\n"
                        "url, notify, channel = sys.argv[1:4]\n"
                        "with session_factory(make_engine(url)).begin() as s:\n"
                        "    ChangeBus(notify, channel).record(s, 'policy', 'web app')\n")
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", code, db_url, REDIS, channel,
                    env={**os.environ, "PYTHONPATH": str(SRC)})
                assert await asyncio.wait_for(proc.wait(), 60) == 0
                done = time.monotonic()
                assert await until(lambda: r1.calls and r2.calls, 1.0)
            for r in (r1, r2):
                assert r.seen() == [(1, {"policy"})] and r.calls[0][2] - done < 1.0

    asyncio.run(body())


def test_a_change_made_during_on_change_gets_its_own_run(db_url: str) -> None:
    """The gate's old notify loop dropped an announcement that came during a reload. Here
    two changes commit while the first on_change is held; once it returns, exactly one more
    on_change follows at once (poll once a minute: only the dirty flag can cause it)."""

    async def body() -> None:
        with engines(db_url, 2) as (writer, reader):
            hold = asyncio.Event()
            rec = Recorder(gate=hold)
            watcher = ChangeWatcher(reader, rec, poll_interval=60)
            bus = ChangeBus()
            factory = session_factory(writer)

            def change(kind: str) -> int:
                with factory.begin() as s:
                    return bus.record(s, kind)

            with running(watcher):
                await started(watcher)
                assert await asyncio.to_thread(change, "policy") == 1
                await asyncio.wait_for(rec.entered.wait(), 1.0)
                rec.entered.clear()
                await asyncio.to_thread(change, "lists")
                await asyncio.to_thread(change, "categories")
                await asyncio.sleep(0.2)
                hold.set()
                assert await until(lambda: len(rec.calls) == 2, 1.0)
                await asyncio.sleep(0.5)
            assert rec.seen() == [(1, {"policy"}), (3, {"lists", "categories"})]
            assert watcher.version == 3

    asyncio.run(body())


def test_a_failed_on_change_is_retried_with_the_changes_since(db_url: str) -> None:
    async def body() -> None:
        with engines(db_url, 2) as (writer, reader):
            rec = Recorder(fail_first=1)
            watcher = ChangeWatcher(reader, rec, poll_interval=0.1)
            with running(watcher):
                await started(watcher)
                await asyncio.to_thread(bump, writer, "policy")
                assert await until(lambda: rec.fail_first == 0, 1.0)
                await asyncio.to_thread(bump, writer, "lists")
                # The retry may apply version 1 alone before the second change lands.
                assert await until(lambda: rec.calls and rec.calls[-1][0] == 2, 2.0)
            assert rec.seen()[0] in ((2, {"policy", "lists"}), (1, {"policy"}))

    asyncio.run(body())


# --- a Redis of our own, killed and restarted ---------------------------------------------------


class RedisServer:
    """A redis-server process on a free loopback port, without persistence."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def client_kill_pubsub(self) -> int:
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            return int(client.execute_command("CLIENT", "KILL", "TYPE", "pubsub"))
        finally:
            client.close()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


def test_a_change_missed_while_redis_was_down_is_caught_up_on_reconnect(
        db_url: str, redis_server: RedisServer) -> None:
    """Redis dies; a change is made (its announcement goes nowhere); nothing arrives while
    Redis is away (polling is once a minute), and the change is applied as soon as the
    watcher has subscribed again."""

    async def body() -> None:
        with engines(db_url, 2) as (writer, reader):
            rec = Recorder()
            watcher = ChangeWatcher(reader, rec, notify_url=redis_server.url,
                                    channel="safegate:test", poll_interval=60)
            with running(watcher):
                await started(watcher, redis=True)
                # the first subscription's catch-up read may still be on its way: let it
                # finish, so that only a later read can see the change below
                await asyncio.sleep(1.0)
                redis_server.kill()
                await asyncio.to_thread(bump, writer, "policy", "while Redis was down")
                await asyncio.sleep(1.0)
                assert rec.calls == []
                watcher.subscribed.clear()
                await asyncio.to_thread(redis_server.start)
                await asyncio.wait_for(watcher.subscribed.wait(), 15)
                assert await until(lambda: rec.calls, 1.0)
            assert rec.seen() == [(1, {"policy"})]

    asyncio.run(body())


def test_a_killed_pubsub_connection_loses_no_change(db_url: str,
                                                    redis_server: RedisServer) -> None:
    """CLIENT KILL TYPE pubsub (on our own server), then a change announced at once, before
    the watcher can have subscribed again: it still arrives, without the poll."""

    async def body() -> None:
        with engines(db_url, 2) as (writer, reader):
            rec = Recorder()
            watcher = ChangeWatcher(reader, rec, notify_url=redis_server.url,
                                    channel="safegate:test", poll_interval=60)

            def change() -> int:  # announced on Redis only, as another node would
                with session_factory(writer).begin() as s:
                    version = changes.bump(s, "lists")
                publish(redis_server.url, "safegate:test", encode_message(version, "lists", ""))
                return version

            with running(watcher):
                await started(watcher, redis=True)
                assert await asyncio.to_thread(redis_server.client_kill_pubsub) == 1
                await asyncio.to_thread(change)
                assert await until(lambda: rec.calls, 5.0)
            assert rec.seen() == [(1, {"lists"})]

    asyncio.run(body())


def test_with_redis_down_the_poll_still_brings_changes(db_url: str,
                                                       redis_server: RedisServer) -> None:
    async def body() -> None:
        with engines(db_url, 2) as (writer, reader):
            rec = Recorder()
            redis_server.kill()
            watcher = ChangeWatcher(reader, rec, notify_url=redis_server.url,
                                    channel="safegate:test", poll_interval=0.3)
            bus = ChangeBus(redis_server.url, "safegate:test")
            with running(watcher):
                await started(watcher)
                assert not watcher.subscribed.is_set()
                await asyncio.to_thread(bump, writer, "categories")
                assert await until(lambda: rec.calls, 1.0)
                # announcing to a dead Redis is logged, never raised
                await asyncio.to_thread(bus.announce, 1, "categories")
            assert rec.seen() == [(1, {"categories"})]

    asyncio.run(body())
