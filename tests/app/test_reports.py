"""The days a report covers and its day parameter (pure parts of app/reports.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from safegate.app.reports import parse_day, report_days


def test_a_week_is_the_seven_days_ending_on_the_day() -> None:
    week = report_days("week", date(2026, 12, 5))
    assert week[0] == date(2026, 11, 29) and week[-1] == date(2026, 12, 5) and len(week) == 7
    assert report_days("day", date(2026, 1, 1)) == [date(2026, 1, 1)]
    with pytest.raises(ValueError, match="^period:"):
        report_days("month", date(2026, 1, 1))


def test_today_is_the_household_s_today() -> None:
    late = datetime(2026, 12, 4, 18, 30, tzinfo=UTC)  # 01:30 on the 5th in Hà Nội
    assert parse_day(None, "Asia/Ho_Chi_Minh", late) == date(2026, 12, 5)
    assert parse_day("", "Europe/London", late) == date(2026, 12, 4)
    with pytest.raises(ValueError, match="^day:"):
        parse_day("hôm qua", "Asia/Ho_Chi_Minh")
