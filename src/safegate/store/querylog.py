"""Bulk writing and retention purging of the DNS query log.

``insert_query_logs`` runs in the gate's background writer thread, so it skips the ORM
entirely: SQLite gets driver-level ``INSERT`` statements of 100 rows each (``VALUES (…),
(…), …``; the last few rows through one ``executemany``), PostgreSQL (psycopg 3) gets ``COPY
... FROM STDIN (FORMAT BINARY)``.

Why 100 rows a statement on SQLite: ``executemany`` steps and resets its statement once per
row and lets the GIL go and takes it back around each step, so the writer thread and the
gate's event loop traded the GIL for every row of a window (one per distinct name and client:
as many as the queries when every name is new). A statement of 100 rows does that once per
100 rows, and cost about half the CPU per row (``bench/cold_path --querylog``). 100 rows are
800 parameters, under the 999 that SQLite before 3.32 allows.

Measured with ``tests/test_store.py::test_insert_query_logs_throughput`` (100k rows in one
call into a fresh table with both indexes, wall clock, on a shared 2-CPU VM):
SQLite 3.40 (WAL, synchronous=NORMAL) 140k-310k rows/s; local PostgreSQL 15 128k-280k rows/s.
Most of the cost is the two indexes; adding ORM objects manages roughly 10k rows/s."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.exc import DBAPIError

from safegate.store.db import hold_writer_queue
from safegate.store.errors import StoreError
from safegate.store.models import QueryLog

# (ts, client_ip, profile_id, qname, qtype, action, reason, hits): one row per identical
# query in a time window (see safegate.gate.querylog).
QueryLogRow = tuple[float, str, int | None, str, int, str, str | None, int]

_COLUMNS = ("ts", "client_ip", "profile_id", "qname", "qtype", "action", "reason", "hits")
_TABLE = QueryLog.__tablename__
SQLITE_ROWS = 100  # rows per INSERT statement on SQLite (see above)
_SQLITE_VALUES = f"({', '.join('?' * len(_COLUMNS))})"
_SQLITE_INSERT = f"INSERT INTO {_TABLE} ({', '.join(_COLUMNS)}) VALUES {_SQLITE_VALUES}"
_SQLITE_INSERT_ROWS = _SQLITE_INSERT + f", {_SQLITE_VALUES}" * (SQLITE_ROWS - 1)
_PG_COPY = f"COPY {_TABLE} ({', '.join(_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
# Binary COPY: about 5x less client CPU than text COPY, which matters in the gate's process.
_PG_TYPES = ("float8", "varchar", "int4", "text", "int4", "varchar", "text", "int4")


def insert_query_logs(engine: Engine, rows: Sequence[QueryLogRow]) -> int:
    """Append ``rows`` in one transaction and return how many were written.

    Raises StoreError (with the driver's error as its cause) if the batch is refused, e.g. an
    action outside ``choices.QUERY_ACTIONS``; nothing of a refused batch is written.
    """
    if not rows:
        return 0
    batch = rows if isinstance(rows, list) else list(rows)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                _insert_sqlite(conn, batch)
            elif engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
                _copy_psycopg(conn, batch)
            else:
                conn.execute(insert(QueryLog), [dict(zip(_COLUMNS, r, strict=True)) for r in batch])
    except (DBAPIError, StoreError) as exc:
        raise StoreError(f"query log: writing {len(batch)} rows failed: {exc}") from exc
    return len(batch)


def purge_query_logs(engine: Engine, before_ts: float, *, batch_size: int = 50_000,
                     only: str | None = None) -> int:
    """Delete rows with ``ts < before_ts`` and return how many went; ``only="full"``: rows
    with a client address, ``only="aggregates"``: the hourly rows without one.

    Deletes in batches of ``batch_size``, each its own short transaction, so the gate's writer
    is never locked out for long on SQLite.
    """
    total = 0
    wanted = QueryLog.ts < before_ts
    if only == "full":
        wanted = wanted & (QueryLog.client_ip != "")
    elif only == "aggregates":
        wanted = wanted & (QueryLog.client_ip == "")
    elif only is not None:
        raise ValueError(f"only: {only!r} is not full or aggregates")
    while True:
        with engine.begin() as conn:
            ids = select(QueryLog.id).where(wanted).limit(batch_size)
            deleted = conn.execute(delete(QueryLog).where(QueryLog.id.in_(ids))).rowcount
        total += deleted
        if deleted < batch_size:
            return total


def _insert_sqlite(conn: Connection, batch: list[QueryLogRow]) -> None:
    """``batch`` through the connection's own DBAPI cursor, in its transaction:
    ``SQLITE_ROWS`` rows per statement, the rest in one ``executemany``."""
    hold_writer_queue(conn)  # the driver's cursor passes SQLAlchemy's events by
    cursor = conn.connection.cursor()
    try:
        whole = len(batch) - len(batch) % SQLITE_ROWS
        flat = chain.from_iterable
        for start in range(0, whole, SQLITE_ROWS):
            cursor.execute(_SQLITE_INSERT_ROWS, list(flat(batch[start : start + SQLITE_ROWS])))
        if whole < len(batch):
            cursor.executemany(_SQLITE_INSERT, batch[whole:])
    except sqlite3.Error as exc:
        raise StoreError(str(exc).strip()) from exc
    finally:
        cursor.close()


def _copy_psycopg(conn: Connection, batch: list[QueryLogRow]) -> None:
    import psycopg

    driver_conn: Any = conn.connection.driver_connection
    try:
        with driver_conn.cursor() as cursor, cursor.copy(_PG_COPY) as copy:
            copy.set_types(list(_PG_TYPES))
            for row in batch:
                copy.write_row(row)
    except psycopg.Error as exc:
        raise StoreError(str(exc).strip()) from exc
