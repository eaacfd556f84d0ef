"""The change bus's storage: one version counter and a log of what each version changed.

``bump`` runs inside the transaction that makes the change: it adds one to the single
``change_version`` row (``UPDATE ... SET version = version + 1 RETURNING version``) and logs
the new version with its kind and, when the writer knows them, the children it touched (a
gate then recompiles only those; NULL: anything may have moved). The UPDATE's row lock makes
a second writer wait until the first commits, so versions are distinct, increase, and become
visible in the order they were given out: a reader that has seen version N has seen every
change up to N.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from safegate.store.choices import CHANGE_KINDS
from safegate.store.errors import StoreError
from safegate.store.models import ChangeLog, ChangeVersion

_VERSION = cast(Table, ChangeVersion.__table__)
_LOG = cast(Table, ChangeLog.__table__)
REASON_LIMIT = 500  # characters of a reason kept in the log
# The statements every change and every watcher's poll runs, built once (building one cost
# more than running it: each change runs four of them and each gate's watcher two).
_INCREMENT = (update(_VERSION).where(_VERSION.c.id == 1)
              .values(version=_VERSION.c.version + 1).returning(_VERSION.c.version))
_CURRENT = select(_VERSION.c.version).where(_VERSION.c.id == 1)
_SINCE = (select(_LOG.c.version, _LOG.c.kind, _LOG.c.reason, _LOG.c.at, _LOG.c.profiles)
          .where(_LOG.c.version > bindparam("after")).order_by(_LOG.c.version)
          .limit(bindparam("limit")))
_ADD = insert(_LOG)


@dataclass(frozen=True, slots=True)
class Change:
    version: int
    kind: str
    reason: str
    at: datetime
    profiles: tuple[int, ...] | None = None  # the children touched; None: maybe anything


def bump(session: Session, kind: str, reason: str = "",
         profiles: Collection[int] | None = None) -> int:
    """Record one change of ``kind`` in the session's transaction; returns its version.
    ``profiles``: the ids of the only children whose policy it touched (None: not known).

    Other writers that bump before this transaction ends wait for it (row lock)."""
    if kind not in CHANGE_KINDS:
        raise StoreError(f"change kind {kind!r} is not one of {', '.join(CHANGE_KINDS)}")
    version = _increment(session)
    if version is None:  # the counter row is missing (emptied table): recreate it, then count
        _create_counter(session)
        version = _increment(session)
        assert version is not None
    session.connection().execute(_ADD, {
        "version": version, "kind": kind, "reason": reason[:REASON_LIMIT],
        "profiles": None if profiles is None else sorted({int(p) for p in profiles})})
    return version


def current(session: Session) -> int:
    """The newest committed version (0 before the first change)."""
    version = session.connection().execute(_CURRENT).scalar_one_or_none()
    if version is None:
        version = session.execute(select(func.max(_LOG.c.version))).scalar_one_or_none()
    return int(version or 0)


def since(session: Session, version: int, limit: int = 10_000) -> list[Change]:
    """The logged changes after ``version``, oldest first (at most ``limit``)."""
    rows = session.connection().execute(_SINCE, {"after": version, "limit": limit})
    return [Change(int(v), k, r, at, None if ps is None else tuple(int(p) for p in ps))
            for v, k, r, at, ps in rows]


def prune(session: Session, keep: int = 1000) -> int:
    """Delete all but the newest ``keep`` log rows; returns how many went. A reader further
    behind than that learns only that "all" changed (see safegate.app.bus.kinds_between)."""
    newest = current(session)
    result = session.execute(delete(_LOG).where(_LOG.c.version <= newest - keep))
    return int(getattr(result, "rowcount", 0) or 0)


def _increment(session: Session) -> int | None:
    version = session.connection().execute(_INCREMENT).scalar_one_or_none()
    return None if version is None else int(version)


def _create_counter(session: Session) -> None:
    """Insert the counter row, continuing from the log; a concurrent creator wins quietly."""
    start = select(func.coalesce(func.max(_LOG.c.version), 0)).scalar_subquery()
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(_VERSION).values(id=1, version=start).on_conflict_do_nothing()
    session.execute(stmt)


__all__ = ["Change", "bump", "current", "prune", "since"]
