"""A pooled PostgreSQL connection is pinged only after sitting idle, on a real server whose
backend is ended under it (as a restart or a network cut would)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from safegate.store import make_engine
from safegate.store.idle_ping import IDLE_SECONDS, ping_when_idle
from tests.helpers import PG_ENV

PG = os.environ.get(PG_ENV)
pytestmark = pytest.mark.skipif(not PG, reason=f"{PG_ENV} not set: PostgreSQL tests skipped")


@pytest.fixture
def admin() -> Iterator[Engine]:
    assert PG
    engine = create_engine(PG)
    yield engine
    engine.dispose()


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _end(admin: Engine, pid: int) -> None:
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid}).scalar()


def _engine(idle: float) -> Engine:
    assert PG
    engine = create_engine(PG)
    ping_when_idle(engine, idle)
    return engine


def test_an_idle_connection_whose_backend_ended_is_replaced_before_use(admin: Engine) -> None:
    engine = _engine(0.2)
    try:
        first = _backend(engine)
        _end(admin, first)
        time.sleep(0.3)
        second = _backend(engine)  # pinged, found dead, replaced: the statement works
        assert second != first
        assert _backend(engine) == second  # and the new one is kept
    finally:
        engine.dispose()


def test_a_connection_taken_again_at_once_is_not_pinged(admin: Engine) -> None:
    engine = _engine(60)
    try:
        first = _backend(engine)
        _end(admin, first)
        # no ping: the statement itself meets the ended backend ...
        with pytest.raises(DBAPIError) as caught:
            _backend(engine)
        assert caught.value.connection_invalidated
        # ... and the pool replaces it for the next one
        assert _backend(engine) != first
    finally:
        engine.dispose()


def test_make_engine_pings_what_sat_idle(admin: Engine) -> None:
    assert PG
    engine = make_engine(PG)
    try:
        first = _backend(engine)
        _end(admin, first)
        time.sleep(IDLE_SECONDS + 0.1)
        assert _backend(engine) != first
    finally:
        engine.dispose()
