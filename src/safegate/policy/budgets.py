"""Daily time budgets over DNS: which minutes count, when a budget is used up, and the
in-memory board the gate counts on (see docs/budgets.md).

- A **target** is a service id (``youtube``) or a group of the services catalogue
  (``group:games``). A name counts towards the targets of its most specific domain that
  belongs to a budgeted target (``lienquan.garena.vn`` counts for ``lien_quan`` and
  ``group:games``, not for ``garena``).
- A **minute** is a minute of the household's local day (``local_minute``): it counts as used
  when any device of the child was allowed a name of the target in it, once however many
  queries and devices.
- A budget of N minutes is **used up** from the start of the minute after the N-th used one
  until local midnight: ``exhausted`` counts the used minutes strictly before the current one,
  so the minute that reaches the budget is played to its end. A budget of 0 blocks all day.
- **Decree 147** (the policy flag): every service of the ``games`` group gets its own
  60-minute budget, and ``group:games`` at most 180 minutes, compiled here while the flag is
  on (never stored per game).

Pure functions of the budgets, the used minutes and ``now``; ``UsageBoard`` is the one
mutable object: the gate's view of the used minutes (the store's, refreshed every few seconds,
plus what this process counted since).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from safegate.policy.schedule import local_instant, zone

GROUP_PREFIX = "group:"
CATEGORY = "budget"  # the category of a block by a used-up budget
MINUTE_SECONDS = 60


class BudgetError(ValueError):
    """A target that is no service or group, or minutes out of range (the message says)."""


@dataclass(frozen=True, slots=True)
class Used:
    """The used minutes of one target on one local day: how many, and the latest."""

    count: int = 0
    last: int = -1


NOTHING_USED = Used()


@dataclass(frozen=True)
class Budgets:
    """A profile's compiled budgets: minutes a day per target, and domain → targets."""

    limits: Mapping[str, int] = field(default_factory=dict)  # target → minutes a day
    domains: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    by_target: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # target → domains
    timezone: str = "Asia/Ho_Chi_Minh"
    decree147: frozenset[str] = frozenset()  # targets whose limit comes from the decree

    @property
    def empty(self) -> bool:
        return not self.limits

    def targets_for(self, name: str) -> tuple[str, ...]:
        """The targets a query name counts towards (its most specific budgeted domain)."""
        if not self.domains:
            return ()
        labels = name.split(".")
        for i in range(len(labels) - 1):
            hit = self.domains.get(".".join(labels[i:]))
            if hit is not None:
                return hit
        return ()

    def targets_for_all(self, names: Iterable[str]) -> tuple[str, ...]:
        """The targets any of ``names`` counts towards (a name asked and the names its
        answer aliases through CNAMEs), each once, in the order found."""
        found: dict[str, None] = {}
        for name in names:
            found.update(dict.fromkeys(self.targets_for(name)))
        return tuple(found)


NO_BUDGETS = Budgets()


def check_target(target: str) -> str:
    """A service id or ``group:<group>`` (lowercased); BudgetError otherwise."""
    from safegate.lists.services import GROUPS, service

    text = target.strip().lower()
    if text.startswith(GROUP_PREFIX):
        if text[len(GROUP_PREFIX):] not in GROUPS:
            raise BudgetError(f"unknown group {target!r} (groups: "
                              f"{', '.join(GROUP_PREFIX + g for g in GROUPS)})")
        return text
    try:
        return service(text).id
    except ValueError as exc:
        raise BudgetError(str(exc).split(" Valid ids")[0] +
                          " (a service id, or group:<group>; see `safegate services`)") from None


def check_minutes(minutes: int) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= 1440:
        raise BudgetError(f"minutes must be 0 to 1440 a day, not {minutes!r}")
    return minutes


def target_services(target: str) -> tuple[str, ...]:
    """The service ids a target covers (none for an unknown one)."""
    from safegate.lists.services import services

    if target.startswith(GROUP_PREFIX):
        group = target[len(GROUP_PREFIX):]
        return tuple(s.id for s in services() if s.group == group)
    return tuple(s.id for s in services() if s.id == target)


def compile_budgets(rows: Iterable[tuple[str, int]], *, decree147: bool = False,
                    timezone: str = "Asia/Ho_Chi_Minh") -> Budgets:
    """A profile's budgets from its ``time_budget`` rows (unknown targets are ignored) and,
    with the Decree 147 flag, the decree's figures (the stricter limit wins)."""
    from safegate.lists.services import service
    from safegate.policy.presets import decree147 as decree

    limits: dict[str, int] = {}
    for target, minutes in rows:
        if target_services(target):
            limits[target] = min(minutes, limits.get(target, minutes))
    from_decree: set[str] = set()
    if decree147:
        rule = decree()
        per_game = [(sid, rule.minutes_per_game) for sid in target_services("group:games")]
        for target, minutes in [*per_game, (rule.target, rule.minutes_per_day)]:
            if minutes < limits.get(target, math.inf):
                limits[target] = minutes
                from_decree.add(target)
            elif limits[target] == minutes:
                from_decree.add(target)
    domains: dict[str, list[str]] = {}
    by_target: dict[str, tuple[str, ...]] = {}
    # A name's targets: its service before its group (a block names the most specific).
    for target in sorted(limits, key=lambda t: (t.startswith(GROUP_PREFIX), t)):
        names: list[str] = []
        for sid in target_services(target):
            for domain in service(sid).domains:
                if domain not in names:
                    names.append(domain)
                targets = domains.setdefault(domain, [])
                if target not in targets:
                    targets.append(target)
        by_target[target] = tuple(names)
    return Budgets(limits, {d: tuple(t) for d, t in domains.items()}, by_target, timezone,
                   frozenset(from_decree))


# -- local minutes -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LocalMinute:
    """A minute of the household's local day: the date, its index, and its instants."""

    day: str  # YYYY-MM-DD, local
    minute: int  # minutes (of ``minute_seconds``) since local midnight
    start: float  # unix time
    end: float
    day_end: float  # the next local midnight


def local_minute(now: float, timezone: str,
                 minute_seconds: int = MINUTE_SECONDS) -> LocalMinute:
    """The local minute that ``now`` (unix time) falls in. ``minute_seconds`` is 60 but for
    tests."""
    tz = zone(timezone)
    local = datetime.fromtimestamp(now, tz)
    seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    minute = int(seconds // minute_seconds)
    start = now - (seconds - minute * minute_seconds)
    day_end = local_instant(local.date() + timedelta(days=1), 0, tz).timestamp()
    return LocalMinute(local.date().isoformat(), minute, start,
                       min(start + minute_seconds, day_end), day_end)


# -- the decision ----------------------------------------------------------------------------

def used_before(used: Used, minute: int) -> int:
    """Used minutes strictly before ``minute`` (the minutes of a day are never in the future:
    only the latest can be the current one)."""
    return used.count - (1 if used.last >= minute else 0)


def exhausted(limits: Mapping[str, int], used: Mapping[str, Used], minute: int) -> frozenset[str]:
    """The targets whose budget is used up during ``minute``."""
    return frozenset(t for t, limit in limits.items()
                     if used_before(used.get(t, NOTHING_USED), minute) >= limit)


@dataclass(frozen=True)
class BudgetState:
    """The budgets in force: the targets used up, and until when that holds."""

    exhausted: frozenset[str] = frozenset()
    valid_until: float = math.inf
    day: str = ""


NO_BUDGET_STATE = BudgetState()


def budget_state(budgets: Budgets, used: Mapping[str, Used], now: float,
                 minute_seconds: int = MINUTE_SECONDS,
                 clock: LocalMinute | None = None) -> BudgetState:
    """Which targets are used up at ``now`` and until when that holds without new counts: the
    next local midnight, or the end of this minute when a budget is reached in it. ``clock``:
    the local minute of ``now``, if known."""
    if budgets.empty:
        return NO_BUDGET_STATE
    if clock is None:
        clock = local_minute(now, budgets.timezone, minute_seconds)
    done = exhausted(budgets.limits, used, clock.minute)
    reached = any(t not in done and used.get(t, NOTHING_USED).count >= limit
                  for t, limit in budgets.limits.items())
    return BudgetState(done, clock.end if reached else clock.day_end, clock.day)


# -- the board ---------------------------------------------------------------------------

Key = tuple[int, str]  # (profile id, local day)
Mark = tuple[int, str, str, int]  # (profile id, target, local day, minute)


class UsageBoard:
    """What the gate knows of the used minutes: the store's counts as last read (``replace``)
    plus the minutes this process counted since (``record``), and the minutes not yet handed
    to the store (``take``)."""

    def __init__(self, minute_seconds: int = MINUTE_SECONDS) -> None:
        self.minute_seconds = minute_seconds
        self.used: dict[Key, dict[str, Used]] = {}
        self.pending: set[Mark] = set()
        self._clocks: dict[str, LocalMinute] = {}

    def clock(self, timezone: str, now: float) -> LocalMinute:
        """The local minute of ``now`` in a zone (recomputed once a minute per zone)."""
        known = self._clocks.get(timezone)
        if known is not None and known.start <= now < known.end:
            return known
        known = self._clocks[timezone] = local_minute(now, timezone, self.minute_seconds)
        return known

    def used_on(self, profile_id: int | None, day: str) -> Mapping[str, Used]:
        return self.used.get((profile_id or 0, day), {})

    def record(self, profile_id: int, day: str, minute: int,
               targets: Iterable[str]) -> list[str]:
        """Count ``minute`` for the targets; the targets it is a new minute for."""
        table = self.used.setdefault((profile_id, day), {})
        new = []
        for target in targets:
            if _merge(table, target, minute):
                self.pending.add((profile_id, target, day, minute))
                new.append(target)
        return new

    def take(self) -> list[Mark]:
        """The minutes counted since the last ``take`` (for the store)."""
        out, self.pending = sorted(self.pending), set()
        return out

    def replace(self, counts: Mapping[tuple[int, str, str], tuple[int, int]],
                unsaved: Iterable[Mark] = ()) -> None:
        """The store's counts (profile, target, day) → (count, latest minute), plus the minutes
        counted here that the store did not have yet when it was read."""
        used: dict[Key, dict[str, Used]] = {}
        for (pid, target, day), (count, last) in counts.items():
            used.setdefault((pid, day), {})[target] = Used(count, last)
        for pid, target, day, minute in [*unsaved, *self.pending]:
            _merge(used.setdefault((pid, day), {}), target, minute)
        self.used = used


def _merge(table: dict[str, Used], target: str, minute: int) -> bool:
    u = table.get(target, NOTHING_USED)
    if minute <= u.last:
        return False  # this minute (or a later one, from a clock ahead of ours) is counted
    table[target] = Used(u.count + 1, minute)
    return True


def summary(budgets: Budgets, used: Mapping[str, Used], now: float,
            minute_seconds: int = MINUTE_SECONDS) -> list[dict[str, object]]:
    """Per target: the limit, minutes used today, minutes left and whether it is used up."""
    clock = local_minute(now, budgets.timezone, minute_seconds)
    done = exhausted(budgets.limits, used, clock.minute)
    out: list[dict[str, object]] = []
    for target, limit in sorted(budgets.limits.items()):
        count = used.get(target, NOTHING_USED).count
        out.append({"target": target, "minutes": limit, "used": count,
                    "left": max(0, limit - count), "used_up": target in done,
                    "decree147": target in budgets.decree147})
    return out
