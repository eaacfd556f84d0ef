"""The shared counter of budget minutes: which minutes of a local day a child used a target in.

Two kinds, one interface (``MinuteCounter``), so that every gate worker and node counts into
the same place:

- ``DatabaseCounter``: the ``budget_usage`` table (one row per profile, target, day and
  minute; insert-or-ignore, so a minute counted by two nodes is one row).
- ``RedisCounter``: one sorted set per (profile, target, day) whose members are the minutes
  (``ZADD``; a minute added twice is one member), expiring two days after its last write.

A minute is ``(profile id, target, local day YYYY-MM-DD, minute of the day)``; ``read`` gives
``(count, latest minute)`` per ``(profile id, target, day)``, which is all the decision needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import Engine, delete, func, select, tuple_

from safegate.store.models import BudgetUsage

Minute = tuple[int, str, str, int]  # (profile id, target, day, minute)
Key = tuple[int, str, str]  # (profile id, target, day)
REDIS_PREFIX = "safegate:budget"
REDIS_EXPIRE_SECONDS = 2 * 86_400
CHUNK = 500


class MinuteCounter(Protocol):
    kind: str

    def add(self, minutes: Sequence[Minute]) -> None: ...

    def read(self, keys: Iterable[Key]) -> dict[Key, tuple[int, int]]: ...

    def close(self) -> None: ...


class DatabaseCounter:
    """Minutes in ``budget_usage`` (SQLite or PostgreSQL)."""

    kind = "database"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, minutes: Sequence[Minute]) -> None:
        if not minutes:
            return
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(BudgetUsage).on_conflict_do_nothing()
        rows = [{"profile_id": p, "target": t, "day": d, "minute": m} for p, t, d, m in minutes]
        with self.engine.begin() as conn:
            for i in range(0, len(rows), CHUNK):
                conn.execute(stmt, rows[i:i + CHUNK])

    def read(self, keys: Iterable[Key]) -> dict[Key, tuple[int, int]]:
        wanted = sorted(set(keys))
        out: dict[Key, tuple[int, int]] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), CHUNK):
                chunk = wanted[i:i + CHUNK]
                stmt = (select(BudgetUsage.profile_id, BudgetUsage.target, BudgetUsage.day,
                               func.count(), func.max(BudgetUsage.minute))
                        .where(tuple_(BudgetUsage.profile_id, BudgetUsage.target,
                                      BudgetUsage.day).in_(chunk))
                        .group_by(BudgetUsage.profile_id, BudgetUsage.target, BudgetUsage.day))
                for pid, target, day, count, last in conn.execute(stmt):
                    out[(pid, target, day)] = (int(count), int(last))
        return out

    def purge(self, before_day: str) -> int:
        """Delete the minutes of local days before ``before_day`` (YYYY-MM-DD)."""
        with self.engine.begin() as conn:
            result = conn.execute(delete(BudgetUsage).where(BudgetUsage.day < before_day))
            return int(result.rowcount or 0)

    def close(self) -> None:
        pass  # the engine belongs to the caller


def purge_minutes(engine: Engine, before_day: str) -> int:
    """Delete the database's minutes of local days before ``before_day`` (YYYY-MM-DD)."""
    return DatabaseCounter(engine).purge(before_day)


class RedisCounter:
    """Minutes in Redis sorted sets (member and score: the minute)."""

    kind = "redis"

    def __init__(self, url: str, prefix: str = REDIS_PREFIX) -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = prefix

    def key(self, pid: int, target: str, day: str) -> str:
        return f"{self.prefix}:{pid}:{target}:{day}"

    def add(self, minutes: Sequence[Minute]) -> None:
        if not minutes:
            return
        by_key: dict[str, dict[str, int]] = {}
        for pid, target, day, minute in minutes:
            by_key.setdefault(self.key(pid, target, day), {})[str(minute)] = minute
        pipe = self.client.pipeline(transaction=False)
        for key, members in by_key.items():
            pipe.zadd(key, members)
            pipe.expire(key, REDIS_EXPIRE_SECONDS)
        pipe.execute()

    def read(self, keys: Iterable[Key]) -> dict[Key, tuple[int, int]]:
        wanted = sorted(set(keys))
        pipe = self.client.pipeline(transaction=False)
        for pid, target, day in wanted:
            name = self.key(pid, target, day)
            pipe.zcard(name)
            pipe.zrange(name, -1, -1, withscores=True)
        replies = pipe.execute()
        out: dict[Key, tuple[int, int]] = {}
        for n, key in enumerate(wanted):
            count, last = replies[2 * n], replies[2 * n + 1]
            if count:
                out[key] = (int(count), int(last[0][1]))
        return out

    def close(self) -> None:
        self.client.close()
