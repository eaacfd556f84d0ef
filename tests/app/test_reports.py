"""The days a report covers and its day parameter, and a report on SQLite and PostgreSQL
(refused without the reports consent; local days; minutes against a budget)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from safegate.app.budgets import set_budget
from safegate.app.consent import give_consent
from safegate.app.core import App
from safegate.app.family import add_child, add_org, list_children
from safegate.app.reports import child_report, parse_day, report_days
from safegate.config import load_settings
from safegate.privacy.consent import ConsentError
from safegate.store.budgets import DatabaseCounter
from safegate.store.querylog import insert_query_logs


def test_a_week_is_the_seven_days_ending_on_the_day() -> None:
    week = report_days("week", date(2026, 12, 5))
    assert week[0] == date(2026, 11, 29) and week[-1] == date(2026, 12, 5) and len(week) == 7
    assert report_days("day", date(2026, 1, 1)) == [date(2026, 1, 1)]
    month = report_days("month", date(2026, 3, 1))
    assert len(month) == 30 and month[0] == date(2026, 1, 31) and month[-1] == date(2026, 3, 1)
    with pytest.raises(ValueError, match="^period:"):
        report_days("year", date(2026, 1, 1))


def test_a_range_is_every_day_from_the_first_to_the_last() -> None:
    days = report_days("range", date(2026, 3, 1), date(2026, 2, 27))
    assert days == [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1)]
    assert report_days("range", date(2026, 3, 1), date(2026, 3, 1)) == [date(2026, 3, 1)]
    assert len(report_days("range", date(2026, 12, 31), date(2026, 10, 1))) == 92
    for first, says in ((date(2026, 9, 30), "at most 92 days"), (date(2026, 12, 31) +
                        timedelta(days=1), "after the last day"), (None, "its first day")):
        with pytest.raises(ValueError, match=f"^from: .*{says}"):
            report_days("range", date(2026, 12, 31), first)


def test_today_is_the_household_s_today() -> None:
    late = datetime(2026, 12, 4, 18, 30, tzinfo=UTC)  # 01:30 on the 5th in Hà Nội
    assert parse_day(None, "Asia/Ho_Chi_Minh", late) == date(2026, 12, 5)
    assert parse_day("", "Europe/London", late) == date(2026, 12, 4)
    with pytest.raises(ValueError, match="^day:"):
        parse_day("hôm qua", "Asia/Ho_Chi_Minh")


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    add_org(made, "Nhà Trần")
    add_child(made, "An", 2016, org="Nhà Trần")
    yield made
    made.close()


def test_a_report_on_each_store(app: App) -> None:
    an = list_children(app)[0].id
    now = datetime(2026, 12, 5, 5, tzinfo=UTC)  # noon in Hà Nội
    with pytest.raises(ConsentError, match="reports consent"):
        child_report(app, an, actor="test", now=now)
    for by in ("parent", "child"):
        give_consent(app, "An", "reports", by=by, actor="test")
    set_budget(app, "An", "group:games", 30)
    noon = now.timestamp()
    insert_query_logs(app.engine, [
        (noon, "10.0.0.2", an, "a.example", 1, "block", "social:l/a.example", 2),
        (noon - 86400, "10.0.0.2", an, "b.example", 1, "block", "gambling:l/b.example", 1),
        (noon - 8 * 86400, "10.0.0.2", an, "c.example", 1, "block", "social:l/c.example", 7)])
    DatabaseCounter(app.engine).add([(an, "group:games", "2026-12-04", m) for m in range(31)])
    week = child_report(app, an, "week", actor="test", now=now)
    assert week.blocked_total == 3 and week.alerts == 0
    assert week.log_level == "domains"  # a full log set, its consent not given
    assert week.by_category == [("social", 2), ("gambling", 1)]
    assert [n for _, n in week.by_day] == [0, 0, 0, 0, 0, 1, 2]
    [games] = week.budgets
    assert games.minutes == 30 and games.used[-2:] == [(date(2026, 12, 4), 31),
                                                       (date(2026, 12, 5), 0)]
    assert games.over_days == 1
    day = child_report(app, an, "day", "2026-12-04", actor="test", now=now)
    assert day.top_blocked == [("b.example", 1)]
