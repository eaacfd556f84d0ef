"""Background jobs that run once across all workers and nodes: a leader runs them.

On PostgreSQL the leader holds a session-level advisory lock (``pg_try_advisory_lock``) on a
connection of its own for as long as it leads; the server frees the lock when that
connection ends, so a dead leader (process killed, node gone, connection cut) is replaced
by the next candidate that tries. On SQLite, whose nodes all live on one machine, the
leader holds an exclusive ``flock`` on a file in the data directory, which the kernel frees
when the process dies.

``Leadership.run(jobs)`` campaigns forever: while it leads it runs ``jobs()``; when it
learns that the lock is gone (the connection died) it cancels ``jobs()`` at once and
campaigns again. Candidates retry every ``retry_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from safegate.files import PRIVATE_FILE_MODE, private_dir

log = logging.getLogger(__name__)

DEFAULT_KEY = "safegate-jobs"
Jobs = Callable[[], Coroutine[Any, Any, None]]


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` from a readable name."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big",
                          signed=True)


def lock_file_name(name: str) -> str:
    """The lock file's name in the data directory for ``name`` (kept to safe characters)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return f".{safe}.lock"


class PostgresLock:
    """A session-level advisory lock on a dedicated connection. Advisory locks are shared by
    the whole database, so the key names the store's schema too: two SafeGate stores in
    different schemas of one database each have their own leader."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.key: int | None = None
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        conn = self.engine.connect()
        try:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            if self.key is None:
                schema = conn.execute(text("SELECT current_schema()")).scalar()
                self.key = advisory_key(f"{self.name}@{schema}")
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                    {"k": self.key}).scalar())
        except BaseException:
            _discard(conn)
            raise
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def still_held(self) -> bool:
        conn = self._conn
        if conn is None:
            return False
        try:
            conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means the session is gone
            log.warning("the leader's database connection failed: %s", exc)
            return False
        return True

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        _discard(conn)  # never back into the pool: the session (and any lock) ends here


def _discard(conn: Connection) -> None:
    with contextlib.suppress(Exception):
        conn.invalidate()
    with contextlib.suppress(Exception):
        conn.close()


class FileLock:
    """An exclusive, non-blocking ``flock`` on a file; freed by the kernel when the process
    (or the last copy of the descriptor) goes. The descriptor is not inherited by child
    processes (Python opens files non-inheritable)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        with contextlib.suppress(OSError):  # who leads, for an operator reading the file
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        return True

    def still_held(self) -> bool:
        """False if the lock file was deleted or replaced: a newcomer would lock another file."""
        if self._fd is None:
            return False
        try:
            return os.stat(self.path).st_ino == os.fstat(self._fd).st_ino
        except OSError:
            return False

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class Leadership:
    """Campaign for leadership of ``key`` and run the jobs while leading.

    PostgreSQL engines use an advisory lock (one leader among all nodes); any other engine
    (SQLite), or ``per_node=True``, a lock file in ``data_dir`` (one leader among the
    processes sharing that directory: for jobs whose results live there, such as list
    copies). Create it in the process that will run the jobs (after any fork)."""

    def __init__(self, engine: Engine, data_dir: Path, key: str = DEFAULT_KEY, *,
                 per_node: bool = False, retry_interval: float = 3.0,
                 check_interval: float = 2.0, check_timeout: float = 10.0) -> None:
        self.key = key
        self.lock: PostgresLock | FileLock
        if engine.dialect.name == "postgresql" and not per_node:
            self.lock = PostgresLock(engine, key)
        else:
            self.lock = FileLock(Path(data_dir) / lock_file_name(key))
        self.retry_interval = retry_interval
        self.check_interval = check_interval
        self.check_timeout = check_timeout
        self._leading = False

    @property
    def is_leader(self) -> bool:
        return self._leading

    async def run(self, jobs: Jobs) -> None:
        """Lead whenever possible, forever (cancel to stop: the jobs are cancelled and the
        lock released). ``jobs()`` runs while leading and is cancelled when leadership is
        lost; if it ends by itself, leadership is given up and sought again."""
        while True:
            if await self._try_acquire():
                self._leading = True
                log.info("leading %s: background jobs start here (pid %d)", self.key,
                         os.getpid())
                try:
                    await self._lead(jobs)
                finally:
                    self._leading = False
                    await self._release()
            await asyncio.sleep(self.retry_interval)

    async def _try_acquire(self) -> bool:
        attempt = asyncio.ensure_future(asyncio.to_thread(self.lock.try_acquire))
        try:
            return await asyncio.shield(attempt)
        except asyncio.CancelledError:  # stopped mid-attempt: do not leave a lock behind
            with contextlib.suppress(Exception):
                if await attempt:
                    await asyncio.to_thread(self.lock.release)
            raise
        except Exception as exc:  # noqa: BLE001 - the database may be down: try again later
            log.warning("cannot campaign for %s: %s", self.key, exc)
            return False

    async def _lead(self, jobs: Jobs) -> None:
        task = asyncio.create_task(jobs())
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.check_interval)
                if done:
                    _log_end(self.key, task)
                    return
                if not await self._still_held():
                    log.error("lost the leadership of %s: background jobs stop here",
                              self.key)
                    return
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _still_held(self) -> bool:
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.lock.still_held),
                                          self.check_timeout)
        except TimeoutError:
            log.warning("checking the leadership of %s took over %.0f s", self.key,
                        self.check_timeout)
            return False

    async def _release(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.to_thread(self.lock.release), self.check_timeout)


def _log_end(key: str, task: asyncio.Task[None]) -> None:
    if task.cancelled():
        log.warning("the background jobs of %s were cancelled; leadership given up", key)
    elif task.exception() is not None:
        log.error("the background jobs of %s failed; leadership given up", key,
                  exc_info=task.exception())
    else:
        log.warning("the background jobs of %s ended; leadership given up", key)


__all__ = ["DEFAULT_KEY", "FileLock", "Jobs", "Leadership", "PostgresLock", "advisory_key",
           "lock_file_name"]
