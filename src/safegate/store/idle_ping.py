"""Ping a pooled PostgreSQL connection only when it has sat idle for a while.

SQLAlchemy's ``pool_pre_ping`` sends a round trip before every checkout, so that a
connection the server dropped (a restart, a network cut, an idle timeout) is replaced before
a request uses it. Under load a pooled connection is taken again within milliseconds of its
return, and a child's page checked out two of them: two of its fifteen round trips were
pings. Here a connection is pinged only when it comes out of the pool after at least
``idle_seconds`` unused, which is when a dropped connection is found.

A connection that dies while the pool is busy still fails its next statement. SQLAlchemy
then sees a disconnect, replaces that connection and marks every older one in the pool for
replacement, so one request fails where a ping on every checkout would have saved it.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

IDLE_SECONDS = 1.0  # a connection unused for this long is pinged before it is handed out
_RETURNED = "safegate_returned_at"


def ping_when_idle(engine: Engine, idle_seconds: float = IDLE_SECONDS) -> None:
    """Make ``engine``'s pool ping a connection unused for ``idle_seconds`` or more as it is
    handed out; a dead one is replaced (the pool tries again with a new connection)."""
    dialect = engine.dialect

    def returned(dbapi_conn: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    def checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        since = record.info.get(_RETURNED)
        if since is None or time.monotonic() - since < idle_seconds:
            return  # new, or back in use at once: a ping would only cost a round trip
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_conn, None):
                raise DisconnectionError(f"idle connection was dropped: {exc}") from exc
            raise

    event.listen(engine, "checkin", returned)
    event.listen(engine, "checkout", checkout)
