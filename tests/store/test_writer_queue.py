"""SQLite writers queue (store/db.py WriterQueue): a connection holds the queue from its first
write statement to the end of its transaction, however the transaction ends; writers in
threads and in another process all commit; a writer outside the queue still meets SQLite's
own lock and waits for it."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from safegate.store.db import hold_writer_queue, make_engine, session_factory, sqlite_url


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(sqlite_url(tmp_path))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)"))
    yield engine
    engine.dispose()


def queue_free(engine: Engine) -> bool:
    """Could another process take the queue now?"""
    database = Path(str(engine.url.database))
    fd = os.open(database.with_name(database.name + ".write.lock"), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


@pytest.mark.parametrize("end", ["commit", "rollback", "close"])
def test_the_queue_is_held_from_the_first_write_to_the_end(sqlite: Engine, end: str) -> None:
    session = session_factory(sqlite)()
    session.execute(text("SELECT count(*) FROM t"))
    assert queue_free(sqlite)  # reading takes nothing
    session.execute(text("INSERT INTO t (who) VALUES ('a')"))
    assert not queue_free(sqlite)
    session.execute(text("INSERT INTO t (who) VALUES ('b')"))  # still the same hold
    getattr(session, end)()
    assert queue_free(sqlite)
    session.close()
    with sqlite.connect() as conn:
        kept = conn.execute(text("SELECT count(*) FROM t")).scalar()
    assert kept == (2 if end == "commit" else 0)


WRITER = """
import sys
from sqlalchemy import text
from safegate.store.db import make_engine
engine = make_engine(sys.argv[1])
for i in range(60):
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (who) VALUES ('process')"))
"""


def test_writers_in_threads_and_another_process_all_commit(sqlite: Engine) -> None:
    other = subprocess.Popen([sys.executable, "-c", WRITER, str(sqlite.url)],
                             env={**os.environ, "PYTHONPATH": str(Path.cwd() / "src")})
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for _ in range(n):
                with session_factory(sqlite).begin() as session:
                    session.execute(text("INSERT INTO t (who) VALUES ('thread')"))
                    session.execute(text("SELECT count(*) FROM t"))
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(40,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert other.wait(60) == 0
    assert errors == []
    with sqlite.connect() as conn:
        counts = dict(conn.execute(text("SELECT who, count(*) FROM t GROUP BY who")).all())
    assert counts == {"thread": 240, "process": 60}
    assert queue_free(sqlite)


def test_a_writer_outside_the_queue_is_waited_for(sqlite: Engine) -> None:
    outside = sqlite3.connect(str(sqlite.url.database), isolation_level=None)
    outside.execute("BEGIN IMMEDIATE")
    outside.execute("INSERT INTO t (who) VALUES ('shell')")
    done = threading.Event()

    def write() -> None:
        with sqlite.begin() as conn:
            conn.execute(text("INSERT INTO t (who) VALUES ('gate')"))
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert not done.wait(0.5)  # SQLite's lock holds it (the queue was free to take)
    outside.execute("COMMIT")
    outside.close()
    writer.join(10)
    assert done.is_set()
    with sqlite.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2


def test_the_query_log_writer_queues_with_the_others(tmp_path: Path) -> None:
    """It writes through the driver's own cursor (100 rows a statement), past SQLAlchemy's
    events: it takes the queue itself."""
    from safegate.store.db import migrate
    from safegate.store.querylog import insert_query_logs

    engine = make_engine(sqlite_url(tmp_path))
    migrate(engine)
    with engine.begin() as conn:  # what insert_query_logs does before its driver cursor
        hold_writer_queue(conn)
        assert not queue_free(engine)
    assert queue_free(engine)
    errors: list[BaseException] = []

    def log(k: int) -> None:
        try:
            for b in range(10):
                insert_query_logs(engine, [(1.0e9 + i, f"10.0.{k}.1", None, f"n{b}-{i}.example",
                                            1, "allow", None, 1) for i in range(150)])
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=log, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM query_log")).scalar() == 3 * 10 * 150
    assert queue_free(engine)
    engine.dispose()
