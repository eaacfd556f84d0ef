"""Time budgets through real running gates and real DNS queries, with 2-second "minutes"
(``budgets.minute_seconds``, a setting for tests) so that a budget runs out in seconds:
the block comes at the start of the minute after the last one the budget allows, and a
second gate (another node on the same store) closes it at most flush + refresh seconds late.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, select

from safegate.policy.budgets import local_minute
from safegate.store.db import session_factory
from safegate.store.models import BudgetUsage, Device, Profile, TimeBudget
from tests.helpers import answered, ask, ede

AN, AN_PHONE, BINH = "127.0.0.2", "127.0.0.4", "127.0.0.3"
MINUTE = 2  # seconds in a test "minute"
FLUSH = REFRESH = 0.25
FAST = {"budgets.minute_seconds": MINUTE, "budgets.flush_interval": FLUSH,
        "budgets.refresh_interval": REFRESH}


def _an(session: Any) -> int:
    return next(p.id for p in session.query(Profile).all() if p.name == "An")


def _give_an_a_budget(engine: Any, target: str, minutes: int) -> int:
    with session_factory(engine).begin() as session:
        an = _an(session)
        session.add(Device(profile_id=an, name="Điện thoại của An", kind="phone",
                           ip_cidr=AN_PHONE))
        # only this budget: the demo's own (60 minutes of games) goes
        session.execute(delete(TimeBudget).where(TimeBudget.profile_id == an))
        session.add(TimeBudget(profile_id=an, target=target, minutes_per_day=minutes))
        return an


def _next_minute_start(margin: float) -> float:
    """Sleep to just after the start of a test minute with ``margin`` seconds left in it."""
    while True:
        clock = local_minute(time.time(), "Asia/Ho_Chi_Minh", MINUTE)
        if clock.end - time.time() >= margin:
            return clock.end
        time.sleep(max(0.0, clock.end - time.time()) + 0.01)


def _first_block(port: int, name: str, source: str, until: float,
                 allowed_at: list[float] | None = None) -> float | None:
    """When the first blocked answer arrived (the gate decided at or before that time);
    ``allowed_at`` collects when each allowed answer before it arrived."""
    while time.time() < until:
        if answered(port, name, source) == ["0.0.0.0"]:
            return time.time()
        if allowed_at is not None:
            allowed_at.append(time.time())
        time.sleep(0.01)
    return None


def test_a_one_minute_budget_blocks_at_the_next_minute_and_counts_each_minute_once(
        make_gate: Any) -> None:
    g = make_gate(demo=True, **FAST)
    an = _give_an_a_budget(g.runtime.engine, "roblox", 1)
    g.reload()
    snapshot = g.gate.snapshot
    end = _next_minute_start(margin=1.0)
    # One minute of Roblox, from the tablet and the phone, many queries: one minute counted.
    for _ in range(5):
        assert answered(g.port, "www.roblox.com", AN) == ["192.0.2.1"]
        assert answered(g.port, "api.roblox.com", AN_PHONE) == ["192.0.2.1"]
    assert time.time() < end, "the machine is too slow for 2-second minutes"
    allowed_at: list[float] = []
    blocked = _first_block(g.port, "www.roblox.com", AN, end + 3, allowed_at)
    assert blocked is not None, "the budget never closed"
    late = blocked - end
    print(f"the budget closed {late:+.3f} s after the minute it ran out in ended")
    assert 0 <= late < 0.2  # counted here: exactly at the minute's end (never before it)
    assert answered(g.port, "api.roblox.com", AN_PHONE) == ["0.0.0.0"]  # every device
    assert answered(g.port, "www.minecraft.net", AN) == ["192.0.2.1"]  # another game
    assert answered(g.port, "www.roblox.com", BINH) == ["192.0.2.1"]  # another child
    assert ede(ask(g.port, "www.roblox.com", source=AN)) == [(17, "budget:budget:roblox")]
    assert g.gate.snapshot is snapshot  # no reload: the live state changed
    time.sleep(FLUSH * 3)
    with session_factory(g.runtime.engine)() as session:
        rows = session.execute(select(BudgetUsage.target, BudgetUsage.minute).where(
            BudgetUsage.profile_id == an).order_by(BudgetUsage.minute)).all()
    # One minute, however many queries and devices (Bình's Decree 147 minutes are hers). A
    # probe answered in the first moments of the next minute, before the gate closed the
    # budget, was a minute of play too: then that minute is counted, once.
    assert [t for t, _ in rows] in (["roblox"], ["roblox", "roblox"])
    if len(rows) == 2:
        assert rows[1][1] == rows[0][1] + 1
        assert any(at >= end for at in allowed_at), "a second minute without a query in it"


def test_a_second_node_closes_the_budget_at_most_flush_plus_refresh_late(
        make_gate: Any) -> None:
    a = make_gate(demo=True, **FAST)
    _give_an_a_budget(a.runtime.engine, "group:games", 1)
    a.reload()
    b = make_gate(data_dir=a.runtime.app.data_dir, **FAST)  # another node, the same store
    assert answered(b.port, "example.org", AN) == ["192.0.2.1"]  # B has An's state now
    # Node A counts the one minute at the very end of a minute: the budget runs out when that
    # minute ends, before B can have heard of it.
    end = _next_minute_start(margin=0.3)
    time.sleep(max(0.0, end - time.time() - 0.1))
    assert answered(a.port, "www.roblox.com", AN) == ["192.0.2.1"]
    assert time.time() < end
    # Ask B only once the minute is over (an allowed game query on B would count there and
    # tell B itself): each probe in the new minute is a minute of play too, counted by B.
    time.sleep(max(0.0, end - time.time()))
    blocked = _first_block(b.port, "www.minecraft.net", AN, end + 3)
    assert blocked is not None, "node B never closed the budget"
    late = blocked - end
    print(f"node B closed the budget {late:+.3f} s after it ran out "
          f"(flush {FLUSH} s + refresh {REFRESH} s)")
    assert 0 <= late <= FLUSH + REFRESH + 0.25
    assert answered(a.port, "www.roblox.com", AN) == ["0.0.0.0"]  # node A: at the minute


def test_a_name_that_aliases_a_budgeted_one_counts_towards_its_budget(
        make_gate: Any, upstream: Any) -> None:
    """A minute counts when the child's device asked for the budgeted service's domains,
    also through a name of its own whose answer is a CNAME to one of them; a CNAME to a
    name outside every budget counts nothing."""
    upstream.behaviour.records["play.an-games.example"] = [
        ("CNAME", "www.roblox.com."), ("A", "192.0.2.1")]
    upstream.behaviour.records["news.example"] = [("CNAME", "cdn.example."), ("A", "192.0.2.1")]
    g = make_gate(demo=True, **FAST)
    an = _give_an_a_budget(g.runtime.engine, "roblox", 30)
    g.reload()
    assert answered(g.port, "news.example", AN) == ["192.0.2.1"]
    time.sleep(FLUSH * 3)

    def used() -> list[str]:
        with session_factory(g.runtime.engine)() as session:
            return list(session.scalars(select(BudgetUsage.target).where(
                BudgetUsage.profile_id == an)))

    assert used() == []
    assert answered(g.port, "play.an-games.example", AN) == ["192.0.2.1"]
    deadline = time.time() + 3
    while not used() and time.time() < deadline:
        time.sleep(FLUSH)
    assert set(used()) == {"roblox"}
