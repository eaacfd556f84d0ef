"""Leadership for the background jobs (safegate.app.leader) on a real PostgreSQL (advisory
locks) and with real processes on SQLite (flock), killed with SIGKILL.

Run as a program, this module is one candidate: ``python -m tests.app.test_leader URL DATA_DIR
KEY NAME OUT_DIR`` campaigns and, while leading, writes its name to OUT_DIR/leader."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from safegate.app.leader import FileLock, Jobs, Leadership, advisory_key, lock_file_name
from safegate.files import write_private
from safegate.store import make_engine, sqlite_url
from safegate.store.db import session_factory
from tests.helpers import PG_ENV, REPO, wait_until

ROOT = REPO
PG = os.environ.get(PG_ENV)
needs_pg = pytest.mark.skipif(not PG, reason=f"{PG_ENV} not set: PostgreSQL tests skipped")
FAST = {"retry_interval": 0.3, "check_interval": 0.2, "check_timeout": 3.0}


# --- pure parts and files -----------------------------------------------------------------------


def test_advisory_key_is_a_stable_signed_64_bit_number() -> None:
    key = advisory_key("safegate-jobs")
    assert key == advisory_key("safegate-jobs") != advisory_key("safegate-jobs2")
    assert -(2**63) <= key < 2**63
    assert lock_file_name("safegate-jobs") == ".safegate-jobs.lock"
    assert lock_file_name("../etc/x y") == ".___etc_x_y.lock"


def test_a_replaced_lock_file_is_not_held_any_more(tmp_path: Path) -> None:
    """Whoever deletes the lock file would let a second leader lock a new one: the holder
    notices and steps down."""
    path = tmp_path / ".jobs.lock"
    first, second = FileLock(path), FileLock(path)
    assert first.try_acquire() and first.still_held()
    assert not second.try_acquire()
    assert path.read_text().strip() == str(os.getpid())
    path.unlink()
    assert second.try_acquire()
    assert not first.still_held()
    first.release()
    second.release()
    assert FileLock(path).try_acquire()


# --- PostgreSQL, in one process -----------------------------------------------------------------


def _holders(admin: Engine, key: str) -> list[int]:
    """Server pids holding the advisory lock of ``key`` (a store in the schema ``public``)."""
    unsigned = advisory_key(f"{key}@public") & (2**64 - 1)
    with admin.connect() as conn:
        return list(conn.execute(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1"),
            {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF}).scalars())


@pytest.fixture
def pg_engines() -> Iterator[tuple[Engine, Engine, Engine]]:
    if not PG:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL tests skipped")
    engines = (make_engine(PG), make_engine(PG), make_engine(PG))
    yield engines
    for engine in engines:
        engine.dispose()


def test_postgresql_one_leader_and_a_takeover_when_its_connection_dies(
        pg_engines: tuple[Engine, Engine, Engine], tmp_path: Path) -> None:
    admin, e1, e2 = pg_engines
    key = f"test-{uuid.uuid4().hex}"

    async def body() -> None:
        started: dict[str, int] = {"a": 0, "b": 0}
        stopped: dict[str, int] = {"a": 0, "b": 0}

        def jobs(name: str) -> Jobs:
            async def run() -> None:
                started[name] += 1
                try:
                    await asyncio.Event().wait()
                finally:
                    stopped[name] += 1
            return run

        a = Leadership(e1, tmp_path, key, **FAST)
        b = Leadership(e2, tmp_path, key, **FAST)
        ta = asyncio.create_task(a.run(jobs("a")))
        await asyncio.sleep(0.3)
        tb = asyncio.create_task(b.run(jobs("b")))
        try:
            await asyncio.sleep(1.5)
            assert (a.is_leader, b.is_leader) == (True, False)
            assert started == {"a": 1, "b": 0}
            holders = await asyncio.to_thread(_holders, admin, key)
            assert len(holders) == 1
            # the leader's connection dies (as with a network cut or a server restart)
            with admin.connect() as conn:
                assert conn.execute(text("SELECT pg_terminate_backend(:p)"),
                                    {"p": holders[0]}).scalar()
            t0 = time.monotonic()
            while stopped["a"] == 0 and time.monotonic() - t0 < 2:
                await asyncio.sleep(0.02)
            assert stopped["a"] == 1  # its jobs were stopped once the loss was noticed
            while sum(started.values()) < 2 and time.monotonic() - t0 < 5:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # the loser campaigns again, in vain
            assert sum(started.values()) == 2 and [a.is_leader, b.is_leader].count(True) == 1
            new_holders = await asyncio.to_thread(_holders, admin, key)
            assert len(new_holders) == 1 and new_holders != holders
            leader, follower = (ta, tb) if a.is_leader else (tb, ta)
            leader.cancel()  # a leader that stops releases the lock: the other takes over
            await asyncio.gather(leader, return_exceptions=True)
            t0 = time.monotonic()
            while sum(started.values()) < 3 and time.monotonic() - t0 < 5:
                await asyncio.sleep(0.05)
            assert sum(started.values()) == 3 and [a.is_leader, b.is_leader].count(True) == 1
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)
            assert not a.is_leader and not b.is_leader
            assert sum(stopped.values()) == 3
        finally:
            for task in (ta, tb):
                task.cancel()
            await asyncio.gather(ta, tb, return_exceptions=True)
        assert await asyncio.to_thread(_holders, admin, key) == []  # released at stop

    asyncio.run(body())


def test_per_node_leadership_uses_the_data_directory_even_on_postgresql(
        pg_or_sqlite: tuple[Engine, Path]) -> None:
    engine, data_dir = pg_or_sqlite
    cluster = Leadership(engine, data_dir, "k")
    node = Leadership(engine, data_dir, "k", per_node=True)
    assert isinstance(node.lock, FileLock) and node.lock.path == data_dir / ".k.lock"
    assert isinstance(cluster.lock, FileLock) == (engine.dialect.name == "sqlite")


def test_jobs_that_end_give_up_the_leadership(pg_or_sqlite: tuple[Engine, Path]) -> None:
    engine, data_dir = pg_or_sqlite
    key = f"test-{uuid.uuid4().hex}"

    async def body() -> None:
        runs: list[str] = []

        def jobs(name: str) -> Jobs:
            async def run() -> None:
                runs.append(name)
                if len(runs) == 1:
                    raise RuntimeError("the job crashed")
                await asyncio.Event().wait()
            return run

        a = Leadership(engine, data_dir, key, **FAST)
        b = Leadership(engine, data_dir, key, **FAST)
        tasks = [asyncio.create_task(a.run(jobs("a")))]
        await asyncio.sleep(0.05)
        tasks.append(asyncio.create_task(b.run(jobs("b"))))
        try:
            t0 = time.monotonic()
            while len(runs) < 2 and time.monotonic() - t0 < 5:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            assert len(runs) == 2 and [a.is_leader, b.is_leader].count(True) == 1
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(body())


@pytest.fixture(params=["sqlite", "postgresql"])
def pg_or_sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    if request.param == "postgresql" and not PG:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL tests skipped")
    url = PG if request.param == "postgresql" else sqlite_url(tmp_path / "data")
    assert url is not None
    engine = make_engine(url)
    yield engine, tmp_path / "data"
    engine.dispose()


# --- candidates in processes of their own, killed with SIGKILL -----------------------------------


def _candidate(url: str, data_dir: Path, key: str, name: str, out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.Popen([sys.executable, "-m", "tests.app.test_leader", url, str(data_dir), key,
                             name, str(out)], cwd=ROOT, env=env)


def _leader(out: Path) -> str | None:
    try:
        return (out / "leader").read_text()
    except FileNotFoundError:
        return None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processes_elect_one_leader_and_the_next_takes_over_when_it_is_killed(
        backend: str, tmp_path: Path) -> None:
    if backend == "postgresql" and not PG:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL tests skipped")
    url = PG if backend == "postgresql" else sqlite_url(tmp_path / "data")
    assert url is not None
    out = tmp_path / "out"
    out.mkdir()
    key = f"test-{uuid.uuid4().hex}"
    procs = {name: _candidate(url, tmp_path / "data", key, name, out) for name in ("a", "b")}
    try:
        assert wait_until(lambda: _leader(out) is not None, 30)
        first = _leader(out)
        assert first in procs
        other = "b" if first == "a" else "a"
        time.sleep(1.5)  # both are up and campaigning by now
        assert procs[other].poll() is None and procs[first].poll() is None
        assert _leader(out) == first and not (out / f"elected-{other}").exists()
        procs[first].send_signal(signal.SIGKILL)
        procs[first].wait(10)
        assert wait_until(lambda: _leader(out) == other, 5), "no takeover"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)


def _candidate_main(url: str, data_dir: str, key: str, name: str, out_dir: str) -> None:
    out = Path(out_dir)
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":  # fail early on a bad URL
        with session_factory(engine)() as session:
            session.execute(text("SELECT 1"))

    async def jobs() -> None:
        write_private(out / f"elected-{name}", str(os.getpid()).encode())
        write_private(out / "leader", name.encode())
        await asyncio.Event().wait()

    asyncio.run(Leadership(engine, Path(data_dir), key, **FAST).run(jobs))


if __name__ == "__main__":
    _candidate_main(*sys.argv[1:6])


def test_stores_in_two_schemas_of_one_database_each_have_a_leader() -> None:
    """Advisory locks belong to the whole database: keyed by name only, a second SafeGate in
    another schema (or a test running beside another) could never lead."""
    from safegate.app.leader import PostgresLock
    from tests.helpers import postgresql_schema

    with postgresql_schema("the leader lock") as first_url, \
            postgresql_schema("the leader lock") as second_url:
        first, second = make_engine(first_url), make_engine(second_url)
        locks = [PostgresLock(first, "safegate-jobs"), PostgresLock(second, "safegate-jobs"),
                 PostgresLock(first, "safegate-jobs")]
        try:
            assert locks[0].try_acquire() and locks[1].try_acquire()
            assert not locks[2].try_acquire()  # the same store: one leader
        finally:
            for lock in locks:
                lock.release()
            first.dispose()
            second.dispose()
