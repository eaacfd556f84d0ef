"""The shared minute counter of time budgets on SQLite, PostgreSQL and Redis: two counters
(two nodes) on one store see each other's minutes, and a minute counted twice is one."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from safegate.store.budgets import DatabaseCounter, RedisCounter
from safegate.store.models import BudgetUsage, Organisation, Profile

REDIS = os.environ.get("SAFEGATE_TEST_REDIS_URL")
DAY = "2026-12-07"


def _shared_by_two_nodes(a: Any, b: Any, pid: int) -> None:
    a.add([(pid, "roblox", DAY, 600), (pid, "group:games", DAY, 600)])
    # The other node counts the same minute (another device) and the next one.
    b.add([(pid, "roblox", DAY, 600), (pid, "roblox", DAY, 601),
           (pid, "group:games", DAY, 600), (pid, "group:games", DAY, 601)])
    a.add([(pid, "roblox", DAY, 601)])  # again: still one minute
    wanted = [(pid, "roblox", DAY), (pid, "group:games", DAY), (pid, "youtube", DAY),
              (pid, "roblox", "2026-12-08")]
    for node in (a, b):
        assert node.read(wanted) == {(pid, "roblox", DAY): (2, 601),
                                     (pid, "group:games", DAY): (2, 601)}
    a.add([])  # nothing to write is fine


def test_database_counter_is_shared_and_counts_a_minute_once(engine: Engine) -> None:
    with engine.begin() as conn:
        org = conn.execute(Organisation.__table__.insert().values(
            name="Nhà", kind="household", timezone="Asia/Ho_Chi_Minh")).inserted_primary_key[0]
        pid = conn.execute(Profile.__table__.insert().values(
            org_id=org, name="An")).inserted_primary_key[0]
    a, b = DatabaseCounter(engine), DatabaseCounter(engine)
    _shared_by_two_nodes(a, b, pid)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(BudgetUsage)) == 4
    a.add([(pid, "roblox", "2026-12-01", 5)])
    assert a.purge("2026-12-05") == 1
    assert a.read([(pid, "roblox", "2026-12-01")]) == {}


@pytest.mark.skipif(not REDIS, reason="SAFEGATE_TEST_REDIS_URL not set")
def test_redis_counter_is_shared_counts_a_minute_once_and_expires() -> None:
    assert REDIS is not None
    prefix = f"safegate:test:{uuid.uuid4().hex}"
    a, b = RedisCounter(REDIS, prefix), RedisCounter(REDIS, prefix)
    try:
        _shared_by_two_nodes(a, b, 7)
        key = a.key(7, "roblox", DAY)
        assert 0 < a.client.ttl(key) <= 2 * 86_400
        assert sorted(int(m) for m in a.client.zrange(key, 0, -1)) == [600, 601]
    finally:
        a.client.delete(*a.client.keys(prefix + ":*"))
        a.close()
        b.close()
