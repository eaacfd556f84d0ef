"""Alembic environment for SafeGate.

At run time ``safegate.store.db.migrate`` passes an open connection in
``config.attributes["connection"]``. For ``alembic revision --autogenerate`` during development,
the URL comes from ``SAFEGATE_DATABASE_URL`` or ``sqlalchemy.url`` in ``alembic.ini``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from safegate.store.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER goes via batch
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from safegate.store.db import make_engine

    url = os.environ.get("SAFEGATE_DATABASE_URL") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("set SAFEGATE_DATABASE_URL or sqlalchemy.url in alembic.ini")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
_run_online()
