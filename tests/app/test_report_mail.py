"""Last week's report by e-mail through a real SMTP server: due from Monday 07:00 in the
household's time zone, one message per parent covering the children with the reports
consents (counts and category names, never a site), sent once, a parent's "off" respected,
a dead SMTP server retried with back-off, each sent report audited. A school's admins get
one message per class with counts only (never a child's name, a site or a message), of the
students with the reports consents, said as "2 of 3"."""

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
from safegate.app.report_mail import (
    class_week,
    compose_school_weekly,
    compose_weekly,
    due_week,
    send_weekly_reports,
)
from safegate.app.reports import ChildReport
from safegate.app.school import add_class, move_pupil
from safegate.privacy import audit
from safegate.store.budgets import DatabaseCounter
from safegate.store.models import AuditLog, ReportDelivery
from safegate.store.querylog import insert_query_logs
from tests.app.test_notify import SNIPPET, alert, caller, make_app
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


# ---------------------------------------------------------------- a school's admins

SCHOOL = "Trường THCS Ba Đình"
STUDENTS = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Dũng", "Võ Thị Em")


def school(app: App) -> dict[str, int]:
    """Trường THCS Ba Đình: class 6A (An and Bình with the reports consents, Cường
    without), class 7B (Dũng, without) and Em in no class (with); two admins, Hà
    (Vietnamese) and Sam (English), and a teacher. Blocked queries of last week for An,
    Bình, Cường and Dũng, and alerts for Em and Cường."""
    org = add_org(app, SCHOOL, kind="school").id
    six_a = add_class(app, org, "6A", "2026-2027").id
    seven_b = add_class(app, org, "7B", "2026-2027").id
    ids = {name: add_child(app, name, 2014, org=SCHOOL, now=SET_UP).id for name in STUDENTS}
    an, binh, cuong, dung, em = (ids[n] for n in STUDENTS)
    for child in (an, binh, cuong):
        move_pupil(app, six_a, child)
    move_pupil(app, seven_b, dung)
    for child in (an, binh, em):
        for by in ("parent", "child"):
            give_consent(app, f"id:{child}", "reports", by=by, actor="school:test",
                         now=SET_UP)
    add_user(app, "ha@truong.edu.vn", "mật khẩu của Hà 2026", role="school_admin",
             org=SCHOOL, locale="vi")
    add_user(app, "sam@truong.edu.vn", "mật khẩu của Sam 2026", role="school_admin",
             org=SCHOOL, locale="en")
    add_user(app, "gv@truong.edu.vn", "mật khẩu của cô giáo 2026", role="teacher",
             org=SCHOOL)
    sunday = datetime(2026, 12, 6, 5, tzinfo=UTC).timestamp()  # noon on Sunday, local
    insert_query_logs(app.engine, [
        (sunday, "10.0.6.1", an, "game.example", 1, "block", "games:l/game.example", 5),
        (sunday, "10.0.6.1", an, "bet.example", 1, "block", "gambling:l/bet.example", 2),
        (sunday, "10.0.6.2", binh, "chat.example", 1, "block", "social:l/chat.example", 3),
        (sunday, "10.0.6.2", binh, "adult.example", 1, "block", "adult:l/adult.example", 1),
        (sunday - 7 * 86400, "10.0.6.1", an, "old.example", 1, "block",
         "adult:l/old.example", 9),  # the week before: not in this report
        (sunday, "10.0.6.3", cuong, "cuong.example", 1, "block", "adult:l/cuong.example",
         50),  # no consents: never counted
        (sunday, "10.0.7.1", dung, "dung.example", 1, "block", "games:l/dung.example", 4)])
    friday = datetime(2026, 12, 4, 3, tzinfo=UTC)
    alert(app, em, "warning", friday)
    alert(app, cuong, "urgent", friday, conversation="zalo-dm-7")
    return ids


def test_each_school_admin_gets_counts_per_class_once(engine: Engine, tmp_path: Path,
                                                      sink: SmtpSink) -> None:
    app = make_app(engine, tmp_path / "data", sink.port)
    family(app)  # a household's parents are sent theirs in the same run
    ids = school(app)
    report = send_weekly_reports(app, now=MONDAY_8)
    assert (report.sent, report.failed, report.no_consent) == (4, 0, 0)
    by_to = {m["To"]: m for m in sink.messages}
    assert set(by_to) == {"lan@example.vn", "tuan@example.vn", "ha@truong.edu.vn",
                          "sam@truong.edu.vn"}  # the teacher gets none
    vi, en = by_to["ha@truong.edu.vn"], by_to["sam@truong.edu.vn"]
    # (Python 3.11's e-mail header folding drops the space where it folds a long
    # non-ASCII subject, here after the colon: the exact subject is asserted below, pure.)
    assert vi["Subject"].startswith("[SafeGate] Báo cáo tuần 30/11 – 06/12:")
    assert vi["Subject"].endswith(SCHOOL)
    assert en["Subject"].startswith("[SafeGate] Weekly report 30 Nov – 6 Dec:")
    assert en["Subject"].endswith(SCHOOL)
    body, english = (m.get_content().replace("\r\n", "\n") for m in (vi, en))
    assert "đã tính 3 trong 5 học sinh." in body.split("\n")[0]
    assert ("- Lớp 6A (2026-2027): tính 2 trong 3 học sinh; 11 lần truy cập bị chặn; "
            "nhiều nhất: Trò chơi trực tuyến 5, Mạng xã hội 3, Cờ bạc 2; 0 cảnh báo."
            ) in body
    assert "- Lớp 7B (2026-2027): tính 0 trong 1 học sinh." in body
    assert ("- Chưa xếp lớp: tính 1 trong 1 học sinh; không có truy cập nào bị chặn; "
            "1 cảnh báo.") in body
    assert "3 of 5 students" in english.split("\n")[0]
    assert ("- Class 6A (2026-2027): 2 of 3 students counted; 11 blocked attempts; "
            "most: Online games 5, Social networks 3, Gambling 2; 0 alerts.") in english
    assert "- Class 7B (2026-2027): 0 of 1 students counted." in english
    assert ("- Without a class: 1 of 1 students counted; nothing was blocked; 1 alert."
            ) in english
    for text in (body, english):
        assert "http://safegate.home:8080/school\n" in text and "111" in text
        assert "example" not in text  # no site
        assert SNIPPET not in text and "Adult" not in text and "người lớn" not in text
        for name in STUDENTS:  # no student, not even a part of a name
            assert all(part not in text for part in name.split())
    assert body.index("Lớp 6A") < body.index("Lớp 7B") < body.index("Chưa xếp lớp")

    again = send_weekly_reports(app, now=MONDAY_8 + timedelta(hours=3))
    assert again.sent == 0 and len(sink.messages) == 4  # never twice
    with app.sessions()() as session:
        sent = session.scalars(select(AuditLog).where(
            AuditLog.action == "report.send", AuditLog.object_id.in_(
                [str(i) for i in ids.values()]))).all()
        # one entry per counted student and admin the e-mail went to
        admins = {caller(app, a).account_id for a in ("ha@truong.edu.vn",
                                                      "sam@truong.edu.vn")}
        counted = {str(ids[n]) for n in ("Nguyễn Văn An", "Trần Thị Bình", "Võ Thị Em")}
        assert sorted((e.object_id, e.detail["account_id"]) for e in sent) == sorted(
            (c, a) for c in counted for a in admins)
        assert {e.detail["week"] for e in sent} == {"2026-11-30"}
        assert audit.verify(session).ok


def test_a_school_admin_who_turned_it_off_gets_nothing(engine: Engine, tmp_path: Path,
                                                        sink: SmtpSink) -> None:
    app = make_app(engine, tmp_path / "data", sink.port)
    school(app)
    set_prefs(app, caller(app, "sam@truong.edu.vn"), weekly_report=False)
    report = send_weekly_reports(app, now=MONDAY_8)
    assert report.sent == 1 and [m["To"] for m in sink.messages] == ["ha@truong.edu.vn"]
    with app.sessions()() as session:
        assert [r.account_id for r in session.scalars(select(ReportDelivery))] == [
            caller(app, "ha@truong.edu.vn").account_id]


def test_a_school_with_no_consents_gets_nothing(engine: Engine, tmp_path: Path,
                                                sink: SmtpSink) -> None:
    app = make_app(engine, tmp_path / "data", sink.port)
    add_org(app, SCHOOL, kind="school")
    add_child(app, "Phạm Dũng", 2014, org=SCHOOL, now=SET_UP)
    add_user(app, "ha@truong.edu.vn", "mật khẩu của Hà 2026", role="school_admin",
             org=SCHOOL)
    report = send_weekly_reports(app, now=MONDAY_8)
    assert (report.sent, report.no_consent) == (0, 1) and sink.messages == []


def _child(child_id: int, name: str, blocked: dict[str, int], alerts: int) -> ChildReport:
    days = [date(2026, 11, 30) + timedelta(days=i) for i in range(7)]
    ranked = sorted(blocked.items(), key=lambda item: -item[1])
    return ChildReport(child_id, name, "Asia/Ho_Chi_Minh", "week", days,
                       sum(blocked.values()), ranked, [(d, 0) for d in days],
                       [(f"{name.lower()}.example", 1)], alerts)


def test_compose_school_weekly_sums_each_class_in_both_languages() -> None:
    an = _child(1, "An", {"games": 4, "adult": 1}, 0)
    binh = _child(2, "Binh", {"social": 3, "gambling": 2, "games": 1}, 2)
    six_a = class_week("6A", "2026-2027", 3, [an, binh])
    assert (six_a.students, six_a.counted, six_a.blocked, six_a.alerts) == (3, 2, 11, 2)
    assert six_a.by_category == (("games", 5), ("social", 3), ("gambling", 2))
    rest = class_week(None, None, 2, [])
    first, last = date(2026, 11, 30), date(2026, 12, 6)

    en = compose_school_weekly(SCHOOL, [six_a, rest], first=first, last=last, locale="en",
                               base_url="https://sg.truong.edu.vn/")
    assert en.subject == f"[SafeGate] Weekly report 30 Nov – 6 Dec: {SCHOOL}"
    assert en.url == "https://sg.truong.edu.vn/school"
    assert "counted: 2 of 5 students." in en.body
    assert ("- Class 6A (2026-2027): 2 of 3 students counted; 11 blocked attempts; most: "
            "Online games 5, Social networks 3, Gambling 2; 2 alerts.") in en.body
    assert "- Without a class: 0 of 2 students counted." in en.body
    assert "The school's page: https://sg.truong.edu.vn/school" in en.body
    assert "hotline 111" in en.body and "turn it off" in en.body

    vi = compose_school_weekly(SCHOOL, [six_a, rest], first=first, last=last, locale="vi",
                               base_url="")
    assert vi.subject == f"[SafeGate] Báo cáo tuần 30/11 – 06/12: {SCHOOL}"
    assert vi.url is None and "Mở SafeGate, trang Trường học" in vi.body
    assert "đã tính 2 trong 5 học sinh." in vi.body and "111" in vi.body
    assert ("- Lớp 6A (2026-2027): tính 2 trong 3 học sinh; 11 lần truy cập bị chặn; "
            "nhiều nhất: Trò chơi trực tuyến 5, Mạng xã hội 3, Cờ bạc 2; 2 cảnh báo."
            ) in vi.body
    assert "- Chưa xếp lớp: tính 0 trong 2 học sinh." in vi.body
    for message in (en, vi):
        assert "An" not in message.body.replace("Online", "") and "Binh" not in message.body
        assert "example" not in message.body
    assert compose_school_weekly(SCHOOL, [six_a], first=first, last=last, locale="fr",
                                 base_url="").subject == vi.subject  # vi by default


def test_a_parents_message_says_one_attempt_and_one_alert_in_the_singular() -> None:
    one = _child(1, "An", {"games": 1}, 1)
    many = _child(2, "Binh", {"games": 2, "social": 1}, 3)
    english = compose_weekly([one, many], locale="en", base_url="").body
    assert "An: 1 blocked attempt; most: Online games 1; 1 alert." in english
    assert "Binh: 3 blocked attempts; most: Online games 2, Social networks 1; 3 alerts." \
        in english
    vi = compose_weekly([one], locale="vi", base_url="").body
    assert "An: 1 lần truy cập bị chặn" in vi and "1 cảnh báo" in vi
