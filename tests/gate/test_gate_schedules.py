"""Time-dependent rules through a real running gate and real DNS queries: a window that
starts at the next minute, a pause that ends and a temporary allow that expires change the
answer at the boundary without a reload (same snapshot, same generation)."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from safegate.app import gate_process
from safegate.gate import server
from safegate.store.db import session_factory
from safegate.store.models import Profile, Schedule, TemporaryAllow
from safegate.store.repo import update_policy
from tests.helpers import FakeUpstream, answered

VN = ZoneInfo("Asia/Ho_Chi_Minh")  # the demo household's zone
AN, BINH = "127.0.0.2", "127.0.0.3"  # the demo children's tablet and phone


def _profile_id(session: Any, name: str) -> int:
    return next(p.id for p in session.query(Profile).all() if p.name == name)


class ShiftedClock:
    """The ``time`` module with its wall clock ``offset`` seconds ahead (or behind): the
    monotonic clock and everything else are the real module's."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def test_window_starting_at_the_next_minute_switches_without_a_reload(
        make_gate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The wall clock the gate reads (and this test) is set to 3.5 s before a minute boundary
    # before the window is loaded, so the test does not wait up to a minute for the real next
    # one; the gate decides by the clock it reads and answers real queries on its socket.
    clock = ShiftedClock()
    for module in (server, gate_process):
        monkeypatch.setattr(module, "time", clock)
    g = make_gate(demo=True)
    real = time.time()
    clock.offset = (math.floor(real / 60) + 1) * 60 - 3.5 - real
    now = clock.time()
    start = (math.floor(now / 60) + 1) * 60
    if start - now < 3:
        start += 60  # leave time to load the window before its boundary
    local = datetime.fromtimestamp(start, VN)
    minute = local.hour * 60 + local.minute
    with session_factory(g.runtime.engine).begin() as session:
        session.add(Schedule(profile_id=_profile_id(session, "An"), name="bedtime",
                             days=1 << local.weekday(), start_minute=minute,
                             end_minute=(minute + 30) % 1440, action="block", block_all=True,
                             allow=["school.example"]))
    g.reload()  # loads the window (the test wrote the row without the change bus)
    snapshot, generation = g.gate.snapshot, g.gate.snapshot.generation
    assert answered(g.port, "example.org", AN) == ["192.0.2.1"]  # memoised from here on
    assert clock.time() < start
    while clock.time() < start - 0.3:
        assert answered(g.port, "example.org", AN) == ["192.0.2.1"]
        time.sleep(0.1)
    switched = None
    while clock.time() < start + 5:
        asked = clock.time()
        if answered(g.port, "example.org", AN) == ["0.0.0.0"]:
            switched = clock.time()  # the gate decided between asked and now
            break
        assert asked < start, "still allowed after the boundary"
        time.sleep(0.01)
    assert switched is not None
    print(f"the answer changed {switched - start:+.3f} s after the window's start")
    assert 0 <= switched - start < 0.1
    assert answered(g.port, "www.school.example", AN) == ["192.0.2.1"]  # its allow list
    assert answered(g.port, "example.org", BINH) == ["192.0.2.1"]  # another child
    assert g.gate.snapshot is snapshot and g.gate.snapshot.generation == generation


def test_pause_ends_and_temporary_allow_expires_at_the_second(make_gate: Any) -> None:
    g = make_gate(demo=True)
    now = datetime.now(UTC)
    with session_factory(g.runtime.engine).begin() as session:
        an = _profile_id(session, "An")
        update_policy(session, an, deny=["open.example"])
        session.get(Profile, an).paused_until = now + timedelta(seconds=3)  # type: ignore
        session.add(TemporaryAllow(profile_id=an, domain="open.example",
                                   until=now + timedelta(seconds=1.5)))
    g.reload()
    snapshot = g.gate.snapshot
    # Paused: everything blocked, but the temporary allow beats the pause and the deny rule.
    assert answered(g.port, "example.org", AN) == ["0.0.0.0"]
    assert answered(g.port, "www.open.example", AN) == ["192.0.2.1"]
    assert answered(g.port, "example.org", BINH) == ["192.0.2.1"]
    expiry = (now + timedelta(seconds=1.5)).timestamp()
    time.sleep(max(0.0, expiry - time.time()) + 0.05)
    assert answered(g.port, "www.open.example", AN) == ["0.0.0.0"]  # memo did not outlive it
    assert answered(g.port, "example.org", AN) == ["0.0.0.0"]
    end = (now + timedelta(seconds=3)).timestamp()
    time.sleep(max(0.0, end - time.time()) + 0.05)
    assert answered(g.port, "example.org", AN) == ["192.0.2.1"]  # the pause is over
    assert answered(g.port, "www.open.example", AN) == ["0.0.0.0"]  # the deny rule again
    assert g.gate.snapshot is snapshot


def test_an_answer_decided_before_a_boundary_is_not_memoised_past_it(
        make_gate: Any, upstream: FakeUpstream) -> None:
    """A temporary allow that ends while the upstreams are asked: the answer allowed before the
    end is sent, but not remembered beyond it (the memo used to keep it for its TTL)."""
    g = make_gate(demo=True, **{"gate.upstream_timeout": 2.0})
    now = datetime.now(UTC)
    with session_factory(g.runtime.engine).begin() as session:
        an = _profile_id(session, "An")
        update_policy(session, an, deny=["slow.example"])
        session.add(TemporaryAllow(profile_id=an, domain="slow.example",
                                   until=now + timedelta(seconds=0.5)))
    g.reload()
    upstream.behaviour.mode, upstream.behaviour.delay = "slow", 1.0
    assert answered(g.port, "www.slow.example", AN) == ["192.0.2.1"]  # asked during the allow
    assert time.time() > (now + timedelta(seconds=0.5)).timestamp()
    upstream.behaviour.mode, upstream.behaviour.delay = "normal", 0.0
    assert answered(g.port, "www.slow.example", AN) == ["0.0.0.0"]  # the deny rule again
