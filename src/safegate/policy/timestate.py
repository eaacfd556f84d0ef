"""A profile's time-dependent state: schedule windows, a pause, temporary allows.

``TimeRules`` (frozen, compiled with the profile) say what can happen; ``time_state(rules,
now)`` says what is in force at ``now`` and until when (``valid_until``: the next window
boundary, the end of the pause or of a temporary allow, whichever comes first). ``Live`` is
the one mutable slot per compiled profile that the gate refreshes when ``valid_until`` has
passed: the state plus the list verdicts and service domains that state implies. Refreshing
clears the profile's memo, and the gate never memoises an answer past ``valid_until``, so the
answer changes at the boundary without a reload.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from safegate.lists.index import DomainIndex, Verdicts
from safegate.policy.budgets import NO_BUDGET_STATE, BudgetState, UsageBoard, budget_state
from safegate.policy.schedule import NO_WINDOWS, ScheduleState, Window, state_at, zone

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True, slots=True)
class TimeRules:
    timezone: str = DEFAULT_TIMEZONE
    windows: tuple[Window, ...] = ()
    paused_until: float | None = None  # unix time; None: not paused
    temporary: tuple[tuple[str, float], ...] = ()  # (domain, until unix time)

    @property
    def empty(self) -> bool:
        return not self.windows and self.paused_until is None and not self.temporary


NO_RULES = TimeRules()


@dataclass(frozen=True)
class TimeState:
    schedule: ScheduleState = NO_WINDOWS
    paused_until: float | None = None  # set only while the pause is in force
    temporary: Mapping[str, float] = field(default_factory=dict)  # domain → until, in force
    valid_until: float = math.inf

    @property
    def active(self) -> bool:
        return bool(self.schedule.active or self.paused_until is not None or self.temporary)


def time_state(rules: TimeRules, now: float) -> TimeState:
    """What is in force at ``now`` (unix time) and until when."""
    if rules.empty:
        return TimeState()
    until = math.inf
    schedule = NO_WINDOWS
    if rules.windows:
        instant = datetime.fromtimestamp(now, UTC)
        schedule, boundary = state_at(rules.windows, rules.timezone, instant)
        if boundary is not None:
            until = boundary.timestamp()
    paused = None
    if rules.paused_until is not None and now < rules.paused_until:
        paused = rules.paused_until
        until = min(until, paused)
    temporary: dict[str, float] = {}
    for domain, ends in rules.temporary:
        if now < ends:
            temporary[domain] = max(ends, temporary.get(domain, ends))
            until = min(until, ends)
    return TimeState(schedule, paused, temporary, until)


class Live:
    """The state in force for one compiled profile, refreshed by ``refresh``."""

    __slots__ = ("state", "active", "valid_from", "valid_until", "verdicts", "services",
                 "category_windows", "service_windows", "budget")

    def __init__(self) -> None:
        self.state = TimeState()
        self.active = False  # ``state.active``, read on every query
        self.valid_from = math.inf  # never computed yet: the first use computes
        self.valid_until = -math.inf
        self.verdicts: Verdicts | None = None
        self.services: dict[str, str] = {}  # domain → service id, blocked now
        self.category_windows: Mapping[str, str] = {}  # category a window added → window
        self.service_windows: Mapping[str, str] = {}  # service id a window added → window
        self.budget: BudgetState = NO_BUDGET_STATE  # the time budgets used up now

    def invalidate(self) -> None:
        """Make the next ``current`` recompute (a count read from the store changed it)."""
        self.valid_from = math.inf
        self.valid_until = -math.inf


def effective_categories(base: Iterable[str], schedule: ScheduleState) -> frozenset[str]:
    """The profile's categories, less what allow windows lift, plus what block windows add."""
    return frozenset((set(base) - set(schedule.lifted_categories))
                     | set(schedule.blocked_categories))


def effective_services(base: Iterable[str], schedule: ScheduleState) -> tuple[str, ...]:
    return tuple(sorted((set(base) - set(schedule.lifted_services))
                        | set(schedule.blocked_services)))


def fill(live: Live, profile: Any, index: DomainIndex, now: float,
         board: UsageBoard | None = None) -> Live:
    """Compute the state of ``profile`` (a CompiledProfile) at ``now`` into ``live``; with
    ``board`` (the used minutes) also the time budgets used up (policy/budgets.py)."""
    from safegate.policy.compiled import enabled_lists, service_domains

    state = time_state(profile.time, now)
    sched = state.schedule
    verdicts = profile.verdicts
    services = profile.services
    cats = effective_categories(profile.blocked_categories, sched)
    if cats != profile.blocked_categories:
        cache = profile.verdict_cache
        verdicts = cache.get(cats)
        if verdicts is None:
            verdicts = cache[cats] = index.verdicts(enabled_lists(index, cats))
    if sched.blocked_services or sched.lifted_services:
        services = service_domains(effective_services(profile.blocked_service_ids, sched))
    live.state = state
    live.active = state.active
    live.valid_from = now
    live.valid_until = state.valid_until
    live.budget = NO_BUDGET_STATE
    budgets = profile.budgets
    if not budgets.empty:
        if board is None:
            live.budget = budget_state(budgets, {}, now)
        else:
            clock = board.clock(budgets.timezone, now)
            live.budget = budget_state(budgets, board.used_on(profile.id, clock.day), now,
                                       board.minute_seconds, clock)
        live.valid_until = min(live.valid_until, live.budget.valid_until)
    live.verdicts = verdicts
    live.services = services
    live.category_windows = {c: w for c, w in sched.blocked_categories.items()
                             if c not in profile.blocked_categories}
    live.service_windows = {s: w for s, w in sched.blocked_services.items()
                            if s not in profile.blocked_service_ids}
    return live


def current(profile: Any, index: DomainIndex, now: float,
            board: UsageBoard | None = None) -> Live:
    """The profile's live state at ``now``, recomputed (and the profile's memo emptied) when
    ``now`` is outside the interval it was computed for. Two float comparisons otherwise."""
    live: Live = profile.live
    if live.valid_from <= now < live.valid_until:
        return live
    fill(live, profile, index, now, board)
    profile.memo.clear()
    return live


def at(profile: Any, index: DomainIndex, now: float,
       board: UsageBoard | None = None) -> Live:
    """A fresh state for ``now`` that leaves the profile's own untouched (``check --at``)."""
    return fill(Live(), profile, index, now, board)


def zone_ok(name: str) -> str:
    """``name`` if it is a known IANA zone, else the default (a bad stored value must never
    stop the gate)."""
    try:
        zone(name)
    except ValueError:
        return DEFAULT_TIMEZONE
    return name


def _domain(raw: str) -> str:
    return raw.strip().strip(".").lower()


def window_of(row: Any) -> Window:
    """The window of a schedule row (``store.models.Schedule`` or its record)."""
    return Window(row.name, row.days, row.start_minute, row.end_minute, row.action,
                  row.block_all, frozenset(row.categories), frozenset(row.services),
                  frozenset(_domain(d) for d in row.allow if _domain(d)), row.enabled)


def rules_of(record: Any) -> TimeRules:
    """The time rules of a profile record (``store.records.ProfileRecord``; anything without
    the fields has none)."""
    schedules = getattr(record, "schedules", ())
    paused = getattr(record, "paused_until", None)
    temporary = getattr(record, "temporary_allows", ())
    if not schedules and paused is None and not temporary:
        return NO_RULES
    return TimeRules(
        timezone=zone_ok(getattr(record, "timezone", DEFAULT_TIMEZONE)),
        windows=tuple(window_of(s) for s in schedules),
        paused_until=None if paused is None else paused.timestamp(),
        temporary=tuple((_domain(t.domain), t.until.timestamp()) for t in temporary),
    )
