"""The weekly grid of a child's schedule page: which windows cover each hour of each day.

A pure function of the windows as ``app.schedules.list_schedules`` describes them (local
times of the household's time zone). A window that crosses midnight covers the evening of
each of its days and the morning of the next (Sunday's night runs into Monday)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from safegate.policy.schedule import DAY_NAMES, MINUTES_A_DAY, parse_days, parse_minute

HOURS = 24


@dataclass(frozen=True)
class Cell:
    """One hour of one day: the windows (name, enabled) with at least a minute in it."""

    day: int  # 0 Monday … 6 Sunday
    hour: int
    windows: tuple[tuple[str, bool], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _on in self.windows)

    @property
    def state(self) -> str:
        """``on`` (an enabled window), ``off`` (only disabled ones) or ``free``."""
        if any(on for _name, on in self.windows):
            return "on"
        return "off" if self.windows else "free"


@dataclass(frozen=True)
class Grid:
    rows: tuple[tuple[Cell, ...], ...] = field(default_factory=tuple)  # 7 rows of 24 cells


def spans(days: int, start: int, end: int) -> list[tuple[int, int, int]]:
    """The (day, first minute, end minute) stretches of a window on the 7-day clock; a window
    whose end is not after its start ends the next day."""
    out: list[tuple[int, int, int]] = []
    for day in range(7):
        if not days >> day & 1:
            continue
        if end > start:
            out.append((day, start, end))
        else:
            out.append((day, start, MINUTES_A_DAY))
            if end > 0:
                out.append(((day + 1) % 7, 0, end))
    return out


def grid(windows: Iterable[Mapping[str, Any]]) -> Grid:
    """The grid of described windows (``days`` text, ``from``/``to`` HH:MM, ``enabled``)."""
    cover: dict[tuple[int, int], list[tuple[str, bool]]] = {}
    for w in windows:
        entry = (str(w["name"]), bool(w["enabled"]))
        for day, first, end in spans(parse_days(str(w["days"])), parse_minute(str(w["from"])),
                                     parse_minute(str(w["to"]))):
            for hour in range(first // 60, (end - 1) // 60 + 1):
                names = cover.setdefault((day, hour), [])
                if entry not in names:
                    names.append(entry)
    return Grid(tuple(tuple(Cell(day, hour, tuple(cover.get((day, hour), ())))
                            for hour in range(HOURS)) for day in range(7)))


def day_list(days: str) -> list[str]:
    """The day names (``mon`` … ``sun``) of a day text such as ``mon-fri`` or ``daily``."""
    mask = parse_days(days)
    return [name for i, name in enumerate(DAY_NAMES) if mask >> i & 1]
