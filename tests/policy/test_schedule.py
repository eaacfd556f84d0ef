"""Weekly windows (pure): edges, midnight, overlaps, time zones with and without DST, and the
next boundary."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from safegate.policy.schedule import (
    ScheduleError,
    Window,
    days_text,
    parse_days,
    parse_minute,
    state_at,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")
MON, TUE, WED, THU, FRI, SAT, SUN = (1 << d for d in range(7))


def local(tz: ZoneInfo, y: int, mo: int, d: int, h: int, mi: int, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=tz)


# 2026-12-04 is a Friday.
FRI_NIGHT = Window("bedtime", FRI, 22 * 60, 6 * 60, block_all=True)


@pytest.mark.parametrize(("when", "active"), [
    ((2026, 12, 4, 21, 59, 59), False),   # Friday just before the start minute
    ((2026, 12, 4, 22, 0, 0), True),      # start minute inclusive
    ((2026, 12, 4, 23, 59, 59), True),
    ((2026, 12, 5, 0, 0, 0), True),       # crosses midnight: belongs to Friday
    ((2026, 12, 5, 5, 59, 59), True),     # Saturday 05:59
    ((2026, 12, 5, 6, 0, 0), False),      # end minute exclusive
    ((2026, 12, 5, 22, 30, 0), False),    # Saturday 22:30: Saturday is not set
    ((2026, 12, 3, 23, 0, 0), False),     # Thursday
    ((2026, 12, 11, 23, 0, 0), True),     # the next Friday
])
def test_midnight_crossing_window_edges(when: tuple[int, ...], active: bool) -> None:
    state, _ = state_at([FRI_NIGHT], VN, local(VN, *when))
    assert (state.active == ("bedtime",)) is active
    assert bool(state.block_all) is active


def test_saturday_set_too_applies_saturday_night() -> None:
    w = Window("bedtime", FRI | SAT, 22 * 60, 6 * 60, block_all=True)
    assert state_at([w], VN, local(VN, 2026, 12, 5, 22, 30))[0].active == ("bedtime",)
    assert state_at([w], VN, local(VN, 2026, 12, 7, 5, 0))[0].active == ()  # Monday morning


@pytest.mark.parametrize(("tz", "when", "until"), [
    # Friday 21:00 in Hanoi: the next boundary is the start at 22:00 (+07:00, no DST).
    (VN, (2026, 12, 4, 21, 0), (2026, 12, 4, 15, 0)),
    # Inside: the end on Saturday 06:00 local = Friday 23:00 UTC.
    (VN, (2026, 12, 5, 1, 0), (2026, 12, 4, 23, 0)),
    # Saturday after the end: the next Friday 22:00.
    (VN, (2026, 12, 5, 6, 0), (2026, 12, 11, 15, 0)),
])
def test_valid_until_is_the_next_boundary(tz: ZoneInfo, when: tuple[int, ...],
                                          until: tuple[int, ...]) -> None:
    _, boundary = state_at([FRI_NIGHT], tz, local(tz, *when))
    assert boundary == datetime(*until, tzinfo=UTC)


def test_no_enabled_window_never_changes() -> None:
    off = Window("off", 127, 0, 60, enabled=False)
    state, boundary = state_at([off], VN, datetime(2026, 1, 1, tzinfo=UTC))
    assert state.active == () and boundary is None
    assert state_at([], VN, datetime(2026, 1, 1, tzinfo=UTC)) == (state, None)


def test_equal_minutes_make_a_whole_day() -> None:
    w = Window("all-day", MON, 8 * 60, 8 * 60, block_all=True)
    # 2026-12-07 is a Monday.
    assert state_at([w], VN, local(VN, 2026, 12, 8, 7, 59))[0].active == ("all-day",)
    assert state_at([w], VN, local(VN, 2026, 12, 8, 8, 0))[0].active == ()


def test_spring_forward_in_berlin() -> None:
    """2026-03-29: 02:00 → 03:00. A window 02:30–04:00 starts when 02:30 would have been with
    the winter offset (01:30 UTC = 03:30 summer time); its end is 04:00 summer time."""
    w = Window("night", SUN, 2 * 60 + 30, 4 * 60, block_all=True)
    at_0329 = datetime(2026, 3, 29, 1, 29, tzinfo=UTC)  # 03:29 CEST
    state, boundary = state_at([w], BERLIN, at_0329)
    assert state.active == () and boundary == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    state, boundary = state_at([w], BERLIN, datetime(2026, 3, 29, 1, 30, tzinfo=UTC))
    assert state.active == ("night",) and boundary == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)
    # A week later (no change) it lasts 90 minutes again: 00:30–02:00 UTC.
    _, boundary = state_at([w], BERLIN, datetime(2026, 4, 5, 0, 0, tzinfo=UTC))
    assert boundary == datetime(2026, 4, 5, 0, 30, tzinfo=UTC)


def test_daily_window_keeps_its_local_time_across_dst_in_new_york() -> None:
    """Bedtime 21:00–07:00 daily: 02:00 UTC in winter (EST, -5), 01:00 UTC in summer (EDT).
    2026-03-08 is the spring-forward day in the USA."""
    w = Window("bedtime", 127, 21 * 60, 7 * 60, block_all=True)
    before = state_at([w], NY, datetime(2026, 3, 7, 12, 0, tzinfo=UTC))[1]
    assert before == datetime(2026, 3, 8, 2, 0, tzinfo=UTC)  # Saturday 21:00 EST
    end = state_at([w], NY, datetime(2026, 3, 8, 3, 0, tzinfo=UTC))[1]
    assert end == datetime(2026, 3, 8, 11, 0, tzinfo=UTC)  # Sunday 07:00 EDT: a 9-hour night
    after = state_at([w], NY, datetime(2026, 3, 8, 12, 0, tzinfo=UTC))[1]
    assert after == datetime(2026, 3, 9, 1, 0, tzinfo=UTC)  # Sunday 21:00 EDT


def test_fall_back_night_lasts_an_hour_longer() -> None:
    w = Window("bedtime", SAT, 22 * 60, 6 * 60, block_all=True)  # 2026-10-24 Saturday
    start = state_at([w], BERLIN, datetime(2026, 10, 24, 12, 0, tzinfo=UTC))[1]
    end = state_at([w], BERLIN, datetime(2026, 10, 24, 21, 0, tzinfo=UTC))[1]
    assert start is not None and end is not None
    assert (end - start).total_seconds() == 9 * 3600


def test_overlapping_windows_combine() -> None:
    school = Window("school", MON | TUE, 7 * 60, 11 * 60, categories=frozenset({"games",
                                                                              "social"}),
                    services=frozenset({"youtube"}))
    fun = Window("fun", MON, 10 * 60, 12 * 60, action="allow",
                 categories=frozenset({"games", "video", "adult", "bypass"}),
                 services=frozenset({"youtube", "tiktok"}))
    bed = Window("bed", MON, 10 * 60 + 30, 10 * 60 + 45, block_all=True,
                 allow=frozenset({"school.edu.vn"}))
    bed2 = Window("bed2", MON, 10 * 60 + 30, 10 * 60 + 45, block_all=True)
    windows = [school, fun, bed, bed2]
    # 2026-12-07 Monday 10:15: school and fun overlap. The block window wins its own
    # categories and services; fun lifts only the rest, never adult or bypass.
    state, boundary = state_at(windows, VN, local(VN, 2026, 12, 7, 10, 15))
    assert state.active == ("fun", "school")
    assert dict(state.blocked_categories) == {"games": "school", "social": "school"}
    assert dict(state.lifted_categories) == {"video": "fun"}
    assert dict(state.blocked_services) == {"youtube": "school"}
    assert dict(state.lifted_services) == {"tiktok": "fun"}
    assert boundary == local(VN, 2026, 12, 7, 10, 30)
    # 10:30: both bedtimes in force, each with its own allow list.
    state, _ = state_at(windows, VN, local(VN, 2026, 12, 7, 10, 30))
    assert state.block_all == (("bed", frozenset({"school.edu.vn"})), ("bed2", frozenset()))
    # 11:30: fun alone lifts games too.
    state, boundary = state_at(windows, VN, local(VN, 2026, 12, 7, 11, 30))
    assert dict(state.lifted_categories) == {"games": "fun", "video": "fun"}
    assert boundary == local(VN, 2026, 12, 7, 12, 0)


@pytest.mark.parametrize(("text", "mask"), [
    ("mon-fri", MON | TUE | WED | THU | FRI), ("sat,sun", SAT | SUN), ("daily", 127),
    ("fri-mon", FRI | SAT | SUN | MON), ("Monday,wed", MON | WED), ("weekends", SAT | SUN),
])
def test_parse_days(text: str, mask: int) -> None:
    assert parse_days(text) == mask
    assert parse_days(days_text(mask)) == mask


@pytest.mark.parametrize("bad", ["", "mo", "funday", "mon-xyz"])
def test_bad_days_are_refused(bad: str) -> None:
    with pytest.raises(ScheduleError):
        parse_days(bad)


def test_days_text() -> None:
    assert days_text(MON | TUE | WED | THU | FRI) == "mon-fri"
    assert days_text(SAT | SUN) == "sat,sun"
    assert days_text(MON | WED) == "mon,wed"


@pytest.mark.parametrize(("text", "minute"), [("20:30", 1230), ("6:05", 365), ("00:00", 0),
                                              ("23:59", 1439)])
def test_parse_minute(text: str, minute: int) -> None:
    assert parse_minute(text) == minute


@pytest.mark.parametrize("bad", ["24:00", "7", "07:60", "x"])
def test_bad_minutes_are_refused(bad: str) -> None:
    with pytest.raises(ScheduleError):
        parse_minute(bad)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError):
        state_at([FRI_NIGHT], VN, datetime(2026, 1, 1))
