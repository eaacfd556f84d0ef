"""Weekly schedule windows: which are in force at an instant, and when that can next change.

Pure functions of the windows, an IANA time zone and ``now`` (see docs/schedules.md).

- A window starts on the days in ``days`` (bit 0 Monday … bit 6 Sunday) at ``start_minute``
  local time and ends at ``end_minute``; when ``end_minute <= start_minute`` it ends the next
  day (it crosses midnight; equal minutes make a 24-hour window). The start minute is in the
  window, the end minute is not.
- Local times are turned into instants in the zone with ``fold=0``: a time that a spring-forward
  skips (02:30 in Europe/Berlin on the last Sunday of March) is the instant it would have been
  with the offset before the change (03:30 summer time); a time that a fall-back repeats is its
  first occurrence.
- Overlaps: every ``block_all`` window in force blocks everything except its own ``allow``
  domains (so two bedtimes in force let through only what both allow); categories and services
  named by ``block`` windows in force are blocked; an ``allow`` window lifts the categories and
  services it names that the profile blocks, except the categories in ``NEVER_LIFTED``, and never
  lifts what a ``block`` window in force names, a ``block_all`` window, a pause or a deny rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from safegate.policy.harm import NEVER_LIFTED

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = 0b1111111
MINUTES_A_DAY = 1440
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


class ScheduleError(ValueError):
    """A day list, a time of day or a time zone that cannot be read (the message says why)."""


@dataclass(frozen=True, slots=True)
class Window:
    """One weekly window, as stored (``store.models.Schedule``)."""

    name: str
    days: int
    start_minute: int
    end_minute: int
    action: str = "block"  # block | allow
    block_all: bool = False
    categories: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    allow: frozenset[str] = frozenset()  # domains a block_all window lets through
    enabled: bool = True


@dataclass(frozen=True)
class ScheduleState:
    """What the windows in force do. Each mapping names the window responsible."""

    active: tuple[str, ...] = ()  # names of every window in force, sorted
    block_all: tuple[tuple[str, frozenset[str]], ...] = ()  # (window, its allow domains)
    blocked_categories: Mapping[str, str] = field(default_factory=dict)  # category → window
    blocked_services: Mapping[str, str] = field(default_factory=dict)  # service id → window
    lifted_categories: Mapping[str, str] = field(default_factory=dict)  # category → window
    lifted_services: Mapping[str, str] = field(default_factory=dict)  # service id → window


NO_WINDOWS = ScheduleState()


# -- reading what people type ------------------------------------------------------------

def parse_days(text: str) -> int:
    """``mon-fri``, ``sat,sun``, ``fri-mon`` (wraps), ``daily``, ``weekdays``, ``weekends``
    → the day mask (bit 0 Monday)."""
    words = {"daily": EVERY_DAY, "everyday": EVERY_DAY, "weekdays": 0b0011111,
             "weekends": 0b1100000, "weekend": 0b1100000}
    mask = 0
    for part in (p.strip().lower() for p in text.split(",")):
        if part in words:
            mask |= words[part]
            continue
        first, _, last = part.partition("-")
        try:
            a = DAY_NAMES.index(first[:3]) if len(first) >= 3 else -1
            b = DAY_NAMES.index(last[:3]) if last else a
        except ValueError:
            a = b = -1
        if a < 0 or b < 0:
            raise ScheduleError(f"not a day or day range: {part!r} (use e.g. mon-fri, sat,sun "
                                "or daily)")
        day = a
        while True:
            mask |= 1 << day
            if day == b:
                break
            day = (day + 1) % 7
    if not mask:
        raise ScheduleError("no days given")
    return mask


def days_text(mask: int) -> str:
    """The mask in words: ``daily``, ``mon-fri``, ``sat,sun``, ``mon,wed,fri``."""
    if mask & EVERY_DAY == EVERY_DAY:
        return "daily"
    runs: list[str] = []
    day = 0
    while day < 7:
        if mask >> day & 1:
            end = day
            while end + 1 < 7 and mask >> (end + 1) & 1:
                end += 1
            runs.append(DAY_NAMES[day] if end == day else
                        f"{DAY_NAMES[day]},{DAY_NAMES[end]}" if end == day + 1 else
                        f"{DAY_NAMES[day]}-{DAY_NAMES[end]}")
            day = end + 1
        else:
            day += 1
    return ",".join(runs)


def parse_minute(text: str) -> int:
    """``20:30`` → 1230 (minutes after local midnight)."""
    m = _HHMM.match(text.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ScheduleError(f"not a time of day: {text!r} (use HH:MM, 00:00 to 23:59)")
    return int(m.group(1)) * 60 + int(m.group(2))


def minute_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown time zone {name!r}") from exc


# -- instants ----------------------------------------------------------------------------

def local_instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of ``minute`` local time on ``day`` (fold=0: see the module doc)."""
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz)
    return local.astimezone(UTC)


def occurrences(window: Window, tz: ZoneInfo, first: date,
                last: date) -> Iterator[tuple[datetime, datetime]]:
    """(start, end) instants of the window's occurrences starting on ``first`` … ``last``."""
    crosses = window.end_minute <= window.start_minute
    day = first
    while day <= last:
        if window.days >> day.weekday() & 1:
            end_day = day + timedelta(days=1) if crosses else day
            yield (local_instant(day, window.start_minute, tz),
                   local_instant(end_day, window.end_minute, tz))
        day += timedelta(days=1)


def in_force(window: Window, tz: ZoneInfo, now: datetime) -> bool:
    """The window is enabled and ``now`` lies in an occurrence (start inclusive, end not)."""
    if not window.enabled:
        return False
    today = now.astimezone(tz).date()
    return any(start <= now < end for start, end in
               occurrences(window, tz, today - timedelta(days=2), today))


def next_boundary(windows: Iterable[Window], tz: ZoneInfo, now: datetime) -> datetime | None:
    """The first instant after ``now`` at which an enabled window starts or ends (None: no
    enabled window)."""
    today = now.astimezone(tz).date()
    best: datetime | None = None
    for window in windows:
        if not window.enabled:
            continue
        for start, end in occurrences(window, tz, today - timedelta(days=2),
                                      today + timedelta(days=8)):
            for instant in (start, end):
                if instant > now and (best is None or instant < best):
                    best = instant
    return best


def combine(windows: Iterable[Window]) -> ScheduleState:
    """What the windows in force do together (the overlap rules in the module doc)."""
    ordered = sorted(windows, key=lambda w: w.name)
    if not ordered:
        return NO_WINDOWS
    block_all: list[tuple[str, frozenset[str]]] = []
    blocked_c: dict[str, str] = {}
    blocked_s: dict[str, str] = {}
    lifted_c: dict[str, str] = {}
    lifted_s: dict[str, str] = {}
    for w in ordered:
        if w.action == "block":
            if w.block_all:
                block_all.append((w.name, w.allow))
            for c in w.categories:
                blocked_c.setdefault(c, w.name)
            for s in w.services:
                blocked_s.setdefault(s, w.name)
        else:
            for c in w.categories:
                if c not in NEVER_LIFTED:
                    lifted_c.setdefault(c, w.name)
            for s in w.services:
                lifted_s.setdefault(s, w.name)
    # A block window in force beats an allow window for the same category or service.
    for c in blocked_c:
        lifted_c.pop(c, None)
    for s in blocked_s:
        lifted_s.pop(s, None)
    return ScheduleState(tuple(w.name for w in ordered), tuple(block_all), blocked_c,
                         blocked_s, lifted_c, lifted_s)


def state_at(windows: Iterable[Window], tz: ZoneInfo | str,
             now: datetime) -> tuple[ScheduleState, datetime | None]:
    """The windows' combined state at ``now`` (an aware datetime) and the next instant it can
    change (None: never)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tzinfo = zone(tz) if isinstance(tz, str) else tz
    windows = tuple(windows)
    state = combine(w for w in windows if in_force(w, tzinfo, now))
    return state, next_boundary(windows, tzinfo, now)
