"""Deadline notices on SQLite and PostgreSQL: a reminder a day before a data request or a
breach report is due, an overdue alert after, each raised once however often the job runs,
resolved when the request is fulfilled or the breach reported; and a running gate's jobs
leader raises them by itself."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from safegate.app.accounts import add_user, authenticate
from safegate.app.breach import notify_breach, record_breach
from safegate.app.core import App
from safegate.app.dsr import fulfil_request, open_request
from safegate.app.family import add_child, add_org
from safegate.app.notice_mail import mail_notices
from safegate.app.notices import list_notices, mark_seen, raise_notices
from safegate.app.notify import email_sender, set_prefs
from safegate.cli import main
from safegate.config import load_settings
from safegate.store.models import AuditLog
from safegate.store.values import utcnow
from tests.helpers import SmtpSink, wait_until

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    add_org(made, "Nhà Lan")
    add_child(made, "Minh", 2012, now=NOW, actor="cli:lan")
    yield made
    made.close()


def _kinds(app: App, everything: bool = False) -> list[tuple[str, str | None]]:
    return [(n["kind"], n["seen_by"]) for n in list_notices(app, everything=everything)]


def test_reminder_then_overdue_once_each_then_resolved(app: App) -> None:
    req = open_request(app, "Minh", "correct", by="parent", actor="cli:lan", now=NOW)
    assert raise_notices(app, NOW + timedelta(hours=47)) == 0
    assert raise_notices(app, NOW + timedelta(hours=49)) == 1
    assert raise_notices(app, NOW + timedelta(hours=50)) == 0  # once, however often it runs
    assert _kinds(app) == [("dsr.reminder", None)]
    assert raise_notices(app, NOW + timedelta(hours=72, minutes=1)) == 1
    overdue = list_notices(app, now=NOW + timedelta(hours=74))
    assert [n["kind"] for n in overdue] == ["dsr.reminder", "dsr.overdue"]
    assert overdue[1]["time_left"] == "overdue by 2h 00m" and overdue[1]["object_id"] == req.id
    mark_seen(app, overdue[0]["id"], actor="cli:op", now=NOW + timedelta(hours=74))
    assert _kinds(app) == [("dsr.overdue", None)]
    fulfil_request(app, req.id, actor="cli:op", now=NOW + timedelta(hours=75))
    assert raise_notices(app, NOW + timedelta(hours=76)) == 0
    assert _kinds(app) == [] and sorted(_kinds(app, everything=True)) == [
        ("dsr.overdue", "resolved"), ("dsr.reminder", "cli:op")]
    with app.sessions()() as session:
        assert "notice.seen" in session.scalars(select(AuditLog.action)).all()


def test_breach_notices_end_when_the_authority_is_told(app: App) -> None:
    b = record_breach(app, "lost backup disk", detected_at=NOW, data_classes=["query_log"],
                      risk="medium", actor="cli:dpo", now=NOW)
    assert raise_notices(app, NOW + timedelta(hours=60)) == 1
    assert _kinds(app) == [("breach.reminder", None)]
    notify_breach(app, b.id, to="authority", language="vi", actor="cli:dpo", sent=True,
                  now=NOW + timedelta(hours=61))
    assert raise_notices(app, NOW + timedelta(hours=80)) == 0
    assert _kinds(app) == []


def test_the_command_line_shows_and_marks_notices(app: App) -> None:
    open_request(app, "Minh", "access", by="parent", actor="cli:lan",
                 now=utcnow() - timedelta(hours=80))
    url = app.settings.database_url
    runner = CliRunner()
    args = ["--data-dir", str(app.data_dir)]
    env = {"SAFEGATE_SERVER__DATABASE_URL": url}
    out = runner.invoke(main, ["notices", "--check", *args], env=env)
    assert out.exit_code == 0 and "dsr.overdue" in out.output and "overdue by 8h" in out.output
    nid = out.output.split("\t", 1)[0]
    seen = runner.invoke(main, ["notices", "--seen", nid, *args], env=env)
    assert seen.exit_code == 0 and seen.output.strip() == "no notices"
    missing = runner.invoke(main, ["notices", "--seen", "999", *args], env=env)
    assert missing.exit_code == 1 and "no notice 999" in missing.output


PASSWORD = "mật khẩu vận hành 2026"
SMTP = {"notify.smtp_host": "127.0.0.1", "notify.smtp_from": "safegate@example.vn",
        "notify.smtp_starttls": False}


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    yield server
    server.stop()


def _operators(app: App) -> None:
    """Operators who read e-mail in Vietnamese and in English, one who turned e-mail off,
    one with a phone number only; and a parent, who gets no deadline mail."""
    add_org(app, "SafeGate vận hành", kind="operator")
    for login, locale in (("vh@example.vn", "vi"), ("ops@example.com", "en"),
                          ("tat@example.vn", "vi"), ("0912345678", "vi")):
        add_user(app, login, PASSWORD, role="operator", org="SafeGate vận hành", locale=locale)
    set_prefs(app, authenticate(app, "tat@example.vn", PASSWORD), email=False)
    add_user(app, "me.lan@example.vn", PASSWORD, org="Nhà Lan")


def test_operators_get_new_notices_by_email_in_their_language(app: App,
                                                               sink: SmtpSink) -> None:
    _operators(app)
    open_request(app, "Minh", "access", by="parent", actor="cli:lan",
                 now=NOW - timedelta(hours=60))  # due in 12 hours
    send = email_sender(load_settings(env={}, overrides={**SMTP,
                                                         "notify.smtp_port": sink.port}))
    assert raise_notices(app, NOW) == 1
    assert mail_notices(app, NOW, send=send) == 2
    by_address = {str(m["To"]): m for m in sink.messages}
    assert sorted(by_address) == ["ops@example.com", "vh@example.vn"]
    vi, en = by_address["vh@example.vn"], by_address["ops@example.com"]
    assert str(vi["Subject"]) == "SafeGate: 1 hạn xử lý cần anh/chị"
    assert str(en["Subject"]) == "SafeGate: 1 deadline(s) need you"
    vi_text, en_text = vi.get_content(), en.get_content()
    assert "Yêu cầu dữ liệu 1 đến hạn trong vòng một ngày (Nhà Lan)" in vi_text
    assert "Data request 1 is due within a day (Nhà Lan): due 2026-06-02 00:00 UTC, " \
           "12h 00m left." in en_text
    assert "safegate notices" in en_text  # no notify.base_url: the command line
    assert "Minh" not in vi_text + en_text  # the child is never named
    # Nothing new raised, nothing sent again.
    assert raise_notices(app, NOW + timedelta(hours=1)) == 0
    assert mail_notices(app, NOW + timedelta(hours=1), send=send) == 0
    assert len(sink.messages) == 2


def test_a_running_gate_raises_overdue_notices(app: App, engine: Engine, make_gate: Any,
                                               sink: SmtpSink) -> None:
    _operators(app)
    open_request(app, "Minh", "erase", by="parent", actor="cli:lan",
                 now=utcnow() - timedelta(hours=73))
    url = engine.url.render_as_string(hide_password=False)
    make_gate(data_dir=app.data_dir, **{"server.database_url": url, **SMTP,
                                        "notify.smtp_port": sink.port,
                                        "notify.base_url": "https://sg.example.vn"})
    assert wait_until(lambda: _kinds(app) == [("dsr.overdue", None)], 15)
    assert wait_until(lambda: len(sink.messages) == 2, 15)
    assert "Data request 1 is overdue (Nhà Lan)" in next(
        m.get_content() for m in sink.messages if str(m["To"]) == "ops@example.com")
    assert all("https://sg.example.vn/operator/notices" in m.get_content()
               for m in sink.messages)
