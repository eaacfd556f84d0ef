"""Last week's report by e-mail through a real SMTP server: due from Monday 07:00 in the
household's time zone, one message per parent covering the children with the reports
consents (counts and category names, never a site), sent once, a parent's "off" respected,
a dead SMTP server retried with back-off, each sent report audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from safegate.app.accounts import add_user
from safegate.app.budgets import set_budget
from safegate.app.consent import give_consent
from safegate.app.core import App
from safegate.app.family import add_child, add_org
from safegate.app.notify import set_prefs
from safegate.app.report_mail import due_week, send_weekly_reports
from safegate.privacy import audit
from safegate.store.budgets import DatabaseCounter
from safegate.store.models import AuditLog, ReportDelivery
from safegate.store.querylog import insert_query_logs
from tests.app.test_notify import caller, make_app
from tests.helpers import SmtpSink, free_tcp_port

# Monday 7 December 2026, 08:00 in Hà Nội (UTC+7): the week of 30 Nov – 6 Dec is due.
MONDAY_8 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
SET_UP = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # when the family was set up


def test_the_due_week_turns_at_monday_seven_local() -> None:
    def at(text: str) -> date:
        return due_week(datetime.fromisoformat(text))

    assert at("2026-12-07T06:59") == date(2026, 11, 23)  # Monday before 07:00: the week before
    assert at("2026-12-07T07:00") == date(2026, 11, 30)
    assert at("2026-12-13T23:59") == date(2026, 11, 30)  # Sunday: still last week's
    assert at("2026-12-14T07:30") == date(2026, 12, 7)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    yield server
    server.stop()


def family(app: App) -> tuple[int, int]:
    """Nhà Lan: Minh (reports consents given, a games budget) and Hoa (none); two parents,
    Lan (Vietnamese) and Tuấn (English)."""
    add_org(app, "Nhà Lan")
    minh = add_child(app, "Minh", 2014, now=SET_UP).id
    hoa = add_child(app, "Hoa", 2016, now=SET_UP).id
    for by in ("parent", "child"):
        give_consent(app, "Minh", "reports", by=by, actor="parent:Lan", now=SET_UP)
    set_budget(app, "Minh", "group:games", 60)
    add_user(app, "lan@example.vn", "mật khẩu của Lan 2026", org="Nhà Lan", locale="vi")
    add_user(app, "tuan@example.vn", "mật khẩu của Tuấn 2026", org="Nhà Lan", locale="en")
    sunday = datetime(2026, 12, 6, 5, tzinfo=UTC).timestamp()  # noon on Sunday, local
    insert_query_logs(app.engine, [
        (sunday, "10.0.0.2", minh, "game.example", 1, "block", "games:l/game.example", 5),
        (sunday - 86400, "10.0.0.2", minh, "bet.example", 1, "block",
         "gambling:l/bet.example", 2),
        (sunday - 7 * 86400, "10.0.0.2", minh, "old.example", 1, "block",
         "adult:l/old.example", 9),  # the week before: not in this report
        (sunday, "10.0.0.3", hoa, "hoa.example", 1, "block", "social:l/hoa.example", 3)])
    DatabaseCounter(app.engine).add([(minh, "group:games", "2026-12-05", m)
                                     for m in range(61)])
    return minh, hoa


def test_each_parent_gets_last_weeks_report_once_in_their_language(
        engine: Engine, tmp_path: Path, sink: SmtpSink) -> None:
    app = make_app(engine, tmp_path / "data", sink.port)
    minh, hoa = family(app)
    early = send_weekly_reports(app, now=MONDAY_8 - timedelta(hours=2))  # 06:00 local
    assert early.sent == 2  # the week before is the most recent one due then
    sink.messages.clear()
    with app.sessions().begin() as session:
        session.query(ReportDelivery).delete()

    report = send_weekly_reports(app, now=MONDAY_8)
    assert (report.sent, report.failed, report.no_consent) == (2, 0, 0)
    by_to = {m["To"]: m for m in sink.messages}
    assert set(by_to) == {"lan@example.vn", "tuan@example.vn"}
    vi, en = by_to["lan@example.vn"], by_to["tuan@example.vn"]
    assert vi["Subject"] == "[SafeGate] Báo cáo tuần 30/11 – 06/12: Minh"
    assert en["Subject"] == "[SafeGate] Weekly report 30 Nov – 6 Dec: Minh"
    body = vi.get_content()
    assert "Minh: 7 lần truy cập bị chặn" in body and "Trò chơi trực tuyến 5" in body
    assert "vượt giới hạn thời gian cho trò chơi 1 ngày" in body
    assert (f"http://safegate.home:8080/children/{minh}/report/print?period=week"
            "&day=2026-12-06") in body
    assert "111" in body
    english = en.get_content()
    assert "Minh: 7 blocked attempts" in english and "Gambling 2" in english
    assert "over the time budget for games on 1 day." in english
    for text in (body, english):  # no site, and nothing of the child without consent
        assert "example" not in text.replace("safegate.home", "")
        assert "Hoa" not in text

    again = send_weekly_reports(app, now=MONDAY_8 + timedelta(hours=3))
    assert again.sent == 0 and len(sink.messages) == 2  # never twice
    with app.sessions()() as session:
        sent = session.scalars(select(AuditLog).where(AuditLog.action == "report.send")).all()
        # one entry per child reported and e-mail sent: the early run's week and this one's
        assert sorted(e.detail["week"] for e in sent) == ["2026-11-23", "2026-11-23",
                                                          "2026-11-30", "2026-11-30"]
        assert audit.verify(session).ok
    assert hoa != minh


def test_a_parent_who_turned_it_off_gets_nothing(engine: Engine, tmp_path: Path,
                                                  sink: SmtpSink) -> None:
    app = make_app(engine, tmp_path / "data", sink.port)
    family(app)
    prefs = set_prefs(app, caller(app, "tuan@example.vn"), weekly_report=False)
    assert prefs.weekly_report is False and prefs.to_dict()["weekly_report"] is False
    report = send_weekly_reports(app, now=MONDAY_8)
    assert report.sent == 1 and [m["To"] for m in sink.messages] == ["lan@example.vn"]


def test_no_consent_no_report(engine: Engine, tmp_path: Path, sink: SmtpSink) -> None:
    app = make_app(engine, tmp_path / "data", sink.port)
    add_org(app, "Nhà Lan")
    add_child(app, "Hoa", 2016, now=SET_UP)
    add_user(app, "lan@example.vn", "mật khẩu của Lan 2026", org="Nhà Lan")
    report = send_weekly_reports(app, now=MONDAY_8)
    assert (report.sent, report.no_consent) == (0, 1) and sink.messages == []


def test_a_dead_smtp_server_is_tried_again_after_a_wait(engine: Engine, tmp_path: Path,
                                                        sink: SmtpSink) -> None:
    dead = make_app(engine, tmp_path / "data", free_tcp_port(), **{"notify.max_tries": 3})
    family(dead)
    set_prefs(dead, caller(dead, "tuan@example.vn"), weekly_report=False)
    first = send_weekly_reports(dead, now=MONDAY_8)
    assert (first.sent, first.failed) == (0, 1) and "account" in first.errors[0]
    with dead.sessions()() as session:
        [row] = session.scalars(select(ReportDelivery)).all()
        assert (row.status, row.tries, row.week) == ("failed", 1, "2026-11-30")
        assert row.next_try_at is not None
    assert send_weekly_reports(dead, now=MONDAY_8 + timedelta(seconds=30)).failed == 0
    live = make_app(engine, tmp_path / "data", sink.port)  # the server is back
    later = send_weekly_reports(live, now=MONDAY_8 + timedelta(minutes=5))
    assert later.sent == 1 and [m["To"] for m in sink.messages] == ["lan@example.vn"]
    with live.sessions()() as session:
        [row] = session.scalars(select(ReportDelivery)).all()
        assert (row.status, row.tries) == ("sent", 2)
