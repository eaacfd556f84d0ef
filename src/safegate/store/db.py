"""Engines, sessions and schema migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import re
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from safegate.files import create_private_file, locked
from safegate.store.errors import StoreError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

SQLITE_DRIVER = "sqlite+pysqlite"
POSTGRES_DRIVER = "postgresql+psycopg"
# Accepted spellings of the driver part of a URL and what they become.
_DRIVERS = {
    "sqlite": SQLITE_DRIVER,
    "sqlite+pysqlite": SQLITE_DRIVER,
    "postgresql": POSTGRES_DRIVER,
    "postgres": POSTGRES_DRIVER,
    "postgresql+psycopg": POSTGRES_DRIVER,
}
ALLOWED_URLS = (
    "sqlite+pysqlite:///<path>/safegate.db (or sqlite:///<path>), "
    "postgresql+psycopg://user:password@host:port/dbname (or postgresql://...)"
)
SQLITE_WAIT_MS = 5000  # how long a statement waits for another writer's lock
MIGRATION_WAIT_MS = 120_000  # how long a migration waits for another one to finish
# Key for pg_advisory_xact_lock so that nodes starting together migrate one at a time.
_MIGRATION_LOCK_KEY = 0x5AFE6A7E


def sqlite_url(data_dir: Path) -> str:
    """The URL of the embedded database inside ``data_dir``."""
    return f"{SQLITE_DRIVER}:///{Path(data_dir) / 'safegate.db'}"


def make_engine(url: str) -> Engine:
    """Create an engine for a SQLite file or a PostgreSQL server; raise StoreError for other URLs.

    SQLite connections get WAL journalling, enforced foreign keys, a 5 s busy timeout and
    ``synchronous=NORMAL``; the database's directory (0700) and file (0600) are created if
    missing, before SQLite opens it: its -wal and -shm files then take the file's mode.
    """
    parsed = _parse(url)
    if parsed.drivername == SQLITE_DRIVER:
        return _sqlite_engine(parsed)
    return create_engine(parsed, pool_pre_ping=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def reading(sessions: sessionmaker[Session]) -> contextlib.AbstractContextManager[Session]:
    """A session for a read that runs often, ending with a COMMIT rather than a ROLLBACK.
    psycopg forgets every prepared statement of a connection at a ROLLBACK (and sends
    DEALLOCATE ALL), so a read that rolled back made the next requests on that pooled
    connection, the pages' too, prepare their statements again. Only for reads: whatever
    the session wrote would be committed."""
    return sessions.begin()


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest schema (Alembic ``upgrade head``); safe to repeat.

    Runs in one transaction that also serialises concurrent callers: ``BEGIN IMMEDIATE`` on
    SQLite, an advisory lock on PostgreSQL.
    """
    with _migration_lock(engine):
        _upgrade(engine)


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """On SQLite, one migration at a time per database file, across processes and threads:
    an exclusive flock on ``<database>.migrate.lock``. SQLite's own locks are not enough: a
    connection that opens while another migrates must switch the file to WAL, and that waits
    only the connection's busy timeout (a loaded machine ran past it)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database:
        yield
        return
    path = Path(database).expanduser().with_name(Path(database).name + ".migrate.lock")
    with locked(path):
        yield


def _upgrade(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            # pysqlite does not open a transaction before DDL; open one ourselves so a failed
            # migration leaves nothing half-done and a second process waits for the first
            # (for as long as a whole migration from scratch may take on a busy machine, not
            # the 5 s other statements wait; set back below).
            connection.exec_driver_sql(f"PRAGMA busy_timeout={MIGRATION_WAIT_MS}")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif engine.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, "head")
        finally:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_WAIT_MS}")


_REVISION = re.compile(r'^(down_revision|revision)\b[^=]*=\s*(?:"([^"]*)"|None)', re.M)


@functools.cache
def head_revision() -> str:
    """The newest revision this SafeGate knows, read from the migration files' ``revision``
    and ``down_revision`` lines (the chain is linear; tests check the answer against
    alembic's). Every command checks the schema, and loading alembic's script directory
    for it took longer than the command's own work."""
    down: dict[str, str | None] = {}
    for path in (MIGRATIONS_DIR / "versions").glob("[0-9]*.py"):
        found = dict((k, v or None) for k, v in _REVISION.findall(path.read_text("utf-8")))
        if "revision" in found and found["revision"]:
            down[found["revision"]] = found.get("down_revision")
    heads = set(down) - {d for d in down.values() if d}
    if len(heads) != 1:
        raise StoreError(f"the migrations have {len(heads)} heads, not one: {sorted(heads)}")
    return heads.pop()


def schema_revision(engine: Engine) -> tuple[str | None, str]:
    """The database's schema revision (None for a database never migrated) and the newest
    revision this SafeGate knows."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None, head_revision()
        current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return current, head_revision()


def require_current_schema(engine: Engine) -> None:
    """Raise StoreError, saying what to run, unless the schema is the newest one. Only
    ``safegate migrate`` and ``safegate serve`` change the schema; other commands check."""
    current, head = schema_revision(engine)
    if current == head:
        return
    where = _mask(engine.url.render_as_string(hide_password=True))
    if current is None:
        raise StoreError(f"the database {where} has no SafeGate schema yet: run "
                         "`safegate migrate` (or start `safegate serve` once)")
    raise StoreError(f"the database {where} has schema {current}, this SafeGate needs {head}: "
                     "run `safegate migrate`")


def _parse(url: str) -> URL:
    shown = _mask(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"cannot parse database URL {shown!r}; allowed: {ALLOWED_URLS}") from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise StoreError(
            f"unsupported database URL {shown!r} (driver {parsed.drivername!r}); "
            f"allowed: {ALLOWED_URLS}"
        )
    parsed = parsed.set(drivername=driver)
    if driver == SQLITE_DRIVER and parsed.database in (None, "", ":memory:"):
        raise StoreError(
            f"SQLite URL {shown!r} names no database file (in-memory databases are not "
            f"supported); allowed: {ALLOWED_URLS}"
        )
    return parsed


def _mask(url: str) -> str:
    """``url`` with any password replaced by ``***``, even when the URL does not parse."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _sqlite_engine(url: URL) -> Engine:
    assert url.database is not None
    # SQLite would create the file with 0644 under the usual umask; an empty file is a valid
    # database, and SQLite gives its journal, WAL and shared-memory files the same mode.
    create_private_file(Path(url.database).expanduser())
    engine = create_engine(url)
    event.listen(engine, "connect", _sqlite_pragmas)
    queue = WriterQueue(Path(url.database).expanduser())
    queue.attach(engine)
    _QUEUES[engine] = queue
    return engine


_QUEUES: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()


def hold_writer_queue(conn: Connection) -> None:
    """Take the SQLite writers' queue for ``conn``'s transaction (nothing elsewhere): for a
    writer that goes through the driver's own cursor, past SQLAlchemy's events."""
    queue = _QUEUES.get(conn.engine)
    if queue is not None:
        queue.hold(conn)


class WriterQueue:
    """One writing transaction at a time on a SQLite file, in a queue rather than in
    SQLite's busy handler.

    SQLite lets one connection write; another that wants to sleeps and retries, up to
    100 ms a sleep, so a few writers at once (the web app's threads, each page view an
    audit entry; the gate's query-log writer; other worker processes) wait far longer than
    the writes take. A connection takes this queue at its first write statement and leaves
    it when its transaction ends: threads of a process wait on a lock, processes on an
    flock of ``<database>.write.lock`` (tried every millisecond). A wait longer than
    SQLite's own busy timeout goes on without the queue, so a writer outside it (the
    ``sqlite3`` shell, an older SafeGate) meets SQLite's lock and timeout as before."""

    _HELD = "safegate_writer_queue"  # in a pooled connection's info while it holds the queue
    _READS = ("SELECT", "PRAGMA")

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".write.lock")
        self.threads = threading.Lock()

    def attach(self, engine: Engine) -> None:
        create_private_file(self.path)
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "commit", lambda conn: self._leave(conn.info))
        event.listen(engine, "rollback", lambda conn: self._leave(conn.info))
        # A connection given back to the pool (or closed) in the middle of a transaction.
        event.listen(engine, "reset", lambda _dbapi, record, _state: self._leave(record.info))
        event.listen(engine, "close", lambda _dbapi, record: self._leave(record.info))

    def _before(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip()[:6].upper().startswith(self._READS):
            self.hold(conn)

    def hold(self, conn: Any) -> None:
        """Take the queue for ``conn``'s transaction now (once; see ``hold_writer_queue``)."""
        if self._HELD not in conn.info:
            conn.info[self._HELD] = self._enter()

    def _enter(self) -> tuple[bool, int | None]:
        """(thread lock taken, flocked descriptor): what ``_leave`` gives back."""
        deadline = time.monotonic() + SQLITE_WAIT_MS / 1000
        if not self.threads.acquire(timeout=SQLITE_WAIT_MS / 1000):
            return False, None
        fd = os.open(self.path, os.O_RDWR)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True, fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return True, None
                time.sleep(0.001)

    def _leave(self, info: dict[str, Any]) -> None:
        held = info.pop(self._HELD, None)
        if held is None:
            return
        locked, fd = held
        if fd is not None:
            os.close(fd)  # closing releases the flock
        if locked:
            self.threads.release()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_WAIT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
