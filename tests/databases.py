"""Real test databases: SQLite in a temporary folder, and PostgreSQL in a schema of its own.

PostgreSQL runs when SAFEGATE_TEST_DATABASE_URL is set (``.ci/run`` sets it to the local
server), e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``. Each user gets a new
schema ``sg_test_<random>`` (Alembic's version table lives there too) that is dropped
afterwards, so reruns and parallel runs never collide. The ``postgresql_engine`` and
``engine`` fixtures built on it live in ``conftest.py``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.engine import make_url

from safegate.store import make_engine

PG_ENV = "SAFEGATE_TEST_DATABASE_URL"
BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def postgresql_schema(what: str = "PostgreSQL tests") -> Iterator[str]:
    """A new schema (dropped on exit); yields a URL whose search_path is it. Skips the
    test, naming ``what``, when no PostgreSQL is configured."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set: {what} skipped")
    schema = f"sg_test_{secrets.token_hex(6)}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
