"""Alert notifications through real servers: an SMTP server receives the e-mail, a Web Push
endpoint receives the push (decrypted here with the browser's keys), quiet hours hold a
warning but not an urgent alert, nothing is sent twice, a dead SMTP server is retried with
back-off and logged without the password, a running gate's jobs leader delivers by itself,
and a long subject (Vietnamese or English) arrives exactly as it was sent."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from safegate.app.accounts import Caller, add_user
from safegate.app.consent import give_consent
from safegate.app.core import App
from safegate.app.family import add_child, add_org
from safegate.app.notify import (
    add_subscription,
    deliver,
    get_prefs,
    push_public_key,
    set_prefs,
)
from safegate.config import load_settings
from safegate.protect.alerts import Limits
from safegate.protect.delivery import Message
from safegate.protect.monitor import seal_snippet, store_alert
from safegate.protect.senders import SmtpSender
from safegate.protect.spool import PendingAlert
from safegate.store.models import Account, AlertDelivery, AuditLog, Profile, PushSubscription
from safegate.store.values import utcnow
from tests.helpers import (
    BrowserKeys,
    FakeUpstream,
    PushEndpoint,
    SmtpSink,
    demo_data_dir,
    free_tcp_port,
    start_server,
    wait_until,
)

# 12:00 UTC is 19:00 in Asia/Ho_Chi_Minh; 16:00 UTC is 23:00 there.
NOON = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
NIGHT = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
PASSWORD = "smtp-secret-Ab12"
SNIPPET = "gửi ảnh cho anh đi, đừng nói với bố mẹ nhé"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    yield server
    server.stop()


def make_app(engine: Engine, data: Path, smtp_port: int, **extra: Any) -> App:
    return App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(data), "notify.smtp_host": "127.0.0.1",
        "notify.smtp_port": smtp_port, "notify.smtp_from": "safegate@example.vn",
        "notify.smtp_user": "", "notify.smtp_starttls": False,
        "notify.base_url": "http://safegate.home:8080", "notify.retry_delay": 60.0,
        **extra}))


def caller(app: App, login: str) -> Caller:
    with app.sessions()() as session:
        account = session.scalars(select(Account).where(Account.email == login)).one()
        return Caller(account.id, account.org_id, account.role, account.display_name, login,
                      account.locale)


def household(app: App, *, locale: str = "vi") -> tuple[int, Caller]:
    add_org(app, "Nhà Lan")
    child = add_child(app, "Minh", 2014, now=NOON)
    for by in ("parent", "child"):
        give_consent(app, "Minh", "alerts", by=by, actor="parent:Lan", now=NOON)
    add_user(app, "lan@example.vn", "mật khẩu của Lan 2026", org="Nhà Lan", locale=locale)
    return child.id, caller(app, "lan@example.vn")


def alert(app: App, profile_id: int, severity: str, at: datetime,
          category: str = "grooming", conversation: str = "roblox-dm-42") -> int:
    pending = PendingAlert(profile_id, conversation, category, severity, 0.9, category,
                           "rules", at, seal_snippet(SNIPPET, app.keyring(), profile_id))
    with app.sessions().begin() as session:
        outcome = store_alert(session, pending, app.keyring(), limits=Limits(),
                              actor="test")
        assert outcome.alert is not None
        return outcome.alert.id


def test_an_email_reaches_the_parent_once_in_their_language(
        engine: Engine, tmp_path: Path, sink: SmtpSink) -> None:
    app = make_app(engine, tmp_path / "data", sink.port)
    child, lan = household(app, locale="en")
    first = alert(app, child, "warning", NOON - timedelta(minutes=5))

    report = deliver(app, now=NOON)
    assert (report.sent, report.failed) == (1, 0)
    [mail] = sink.messages
    assert mail["To"] == "lan@example.vn"
    assert "Minh" in mail["Subject"] and "Warning" in mail["Subject"]
    body = mail.get_content()
    assert f"http://safegate.home:8080/alerts#alert-{first}" in body
    assert "Sign in" in body
    assert SNIPPET not in body and "roblox-dm-42" not in body and "ảnh" not in body

    again = deliver(app, now=NOON + timedelta(minutes=1))
    assert again.sent == 0 and len(sink.messages) == 1  # nothing is sent twice
    with app.sessions()() as session:
        [row] = session.scalars(select(AlertDelivery)).all()
        assert (row.status, row.channel, row.tries) == ("sent", "email", 1)
        notes = session.scalars(select(AuditLog).where(
            AuditLog.action == "alert.notify")).all()
        assert [n.object_id for n in notes] == [str(first)]
    assert get_prefs(app, lan).email is True
    app.close()


def test_quiet_hours_hold_a_warning_but_not_an_urgent_alert(
        engine: Engine, tmp_path: Path, sink: SmtpSink) -> None:
    app = make_app(engine, tmp_path / "data", sink.port)
    child, lan = household(app)
    set_prefs(app, lan, quiet_start="21:30", quiet_end="06:30")
    warning = alert(app, child, "warning", NIGHT - timedelta(minutes=5))
    urgent = alert(app, child, "urgent", NIGHT - timedelta(minutes=4), category="self_harm",
                   conversation="zalo-7")

    report = deliver(app, now=NIGHT)  # 23:00 in Hồ Chí Minh City
    assert (report.sent, report.held) == (1, 1)
    [mail] = sink.messages
    assert "KHẨN" in mail["Subject"] and "111" in mail.get_content()
    assert f"#alert-{urgent}" in mail.get_content()

    morning = NIGHT + timedelta(hours=8)  # 07:00 there
    assert deliver(app, now=morning).sent == 1
    assert f"#alert-{warning}" in sink.messages[1].get_content()
    assert deliver(app, now=morning).sent == 0
    app.close()


def test_an_alert_that_becomes_urgent_is_sent_again_once(
        engine: Engine, tmp_path: Path, sink: SmtpSink) -> None:
    app = make_app(engine, tmp_path / "data", sink.port)
    child, _lan = household(app)
    first = alert(app, child, "warning", NOON - timedelta(minutes=10))
    assert deliver(app, now=NOON).sent == 1
    same = alert(app, child, "urgent", NOON - timedelta(minutes=2))  # merged, escalated
    assert same == first
    assert deliver(app, now=NOON + timedelta(minutes=1)).sent == 1
    assert "KHẨN" in sink.messages[1]["Subject"] and "KHẨN" not in sink.messages[0]["Subject"]
    assert deliver(app, now=NOON + timedelta(minutes=2)).sent == 0
    app.close()


def test_least_severity_and_email_off_are_respected(
        engine: Engine, tmp_path: Path, sink: SmtpSink) -> None:
    app = make_app(engine, tmp_path / "data", sink.port)
    child, lan = household(app)
    set_prefs(app, lan, min_severity="urgent")
    alert(app, child, "warning", NOON)
    assert deliver(app, now=NOON).sent == 0
    set_prefs(app, lan, email=False, min_severity="warning")
    assert deliver(app, now=NOON).sent == 0 and sink.messages == []
    with pytest.raises(ValueError, match="quiet_start"):
        set_prefs(app, lan, quiet_start="25:00", quiet_end="06:00")
    app.close()


def test_no_consent_no_message(engine: Engine, tmp_path: Path, sink: SmtpSink) -> None:
    app = make_app(engine, tmp_path / "data", sink.port)
    add_org(app, "Nhà Hà")
    child = add_child(app, "Bình", 2014, now=NOON)
    add_user(app, "ha@example.vn", "mật khẩu của Hà 2026", org="Nhà Hà")
    alert(app, child.id, "urgent", NOON)
    report = deliver(app, now=NOON)
    assert (report.sent, report.no_consent) == (0, 1) and sink.messages == []
    app.close()


def test_a_dead_smtp_server_is_retried_with_back_off_and_the_password_never_logged(
        engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dead = free_tcp_port()  # nothing listens here
    app = make_app(engine, tmp_path / "data", dead, **{
        "notify.smtp_user": "safegate", "notify.smtp_password": PASSWORD,
        "notify.max_tries": 3})
    child, _lan = household(app)
    alert(app, child, "urgent", NOON)

    with caplog.at_level(logging.DEBUG):
        first = deliver(app, now=NOON)
        assert (first.sent, first.failed) == (0, 1)
        assert "ConnectionRefusedError" in first.errors[0]
        # before the back-off ends nothing is tried; after it, the second try
        assert deliver(app, now=NOON + timedelta(seconds=30)).failed == 0
        assert deliver(app, now=NOON + timedelta(seconds=61)).failed == 1
        # the third try waits twice as long, and is the last
        assert deliver(app, now=NOON + timedelta(seconds=61 + 100)).failed == 0
        assert deliver(app, now=NOON + timedelta(seconds=61 + 121)).gave_up == 1
        assert deliver(app, now=NOON + timedelta(hours=5)).to_dict()["gave_up"] == 0
    assert "will retry" in caplog.text and "given up" in caplog.text
    assert PASSWORD not in caplog.text
    with app.sessions()() as session:
        [row] = session.scalars(select(AlertDelivery)).all()
        assert (row.status, row.tries) == ("gave_up", 3)
        assert row.last_error is not None and PASSWORD not in row.last_error

    # The server comes back: a new alert goes out, the given-up one stays given up.
    server = SmtpSink()
    try:
        app.close()
        app = make_app(engine, tmp_path / "data", server.port)
        alert(app, child, "urgent", NOON + timedelta(hours=5), conversation="other")
        assert deliver(app, now=NOON + timedelta(hours=5)).sent == 1
        assert len(server.messages) == 1
    finally:
        server.stop()
        app.close()


def test_web_push_is_encrypted_to_the_browser_and_signed_with_vapid(
        engine: Engine, tmp_path: Path, sink: SmtpSink) -> None:
    app = make_app(engine, tmp_path / "data", sink.port)
    child, lan = household(app, locale="en")
    set_prefs(app, lan, email=False, push=True)
    service = PushEndpoint()
    browser = BrowserKeys.make()
    try:
        add_subscription(app, lan, service.url("/push/abc"), browser.p256dh, browser.auth)
        public = push_public_key(app)
        key_file = tmp_path / "data" / "vapid_private.pem"
        assert key_file.stat().st_mode & 0o777 == 0o600
        urgent = alert(app, child, "urgent", NOON, category="self_harm")

        assert deliver(app, now=NOON).sent == 1
        [(path, headers, body)] = service.received
        assert path == "/push/abc"
        assert headers["content-encoding"] == "aes128gcm"
        assert f"k={public}" in headers["authorization"]
        payload = json.loads(browser.decrypt(body))
        assert payload["url"] == f"http://safegate.home:8080/alerts#alert-{urgent}"
        assert "Minh" in payload["title"] and "URGENT" in payload["title"]
        assert SNIPPET not in json.dumps(payload, ensure_ascii=False)
        assert sink.messages == []  # e-mail is off
        claims = headers["authorization"].split("t=")[1].split(",")[0].split(".")[1]
        claim = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
        assert claim["aud"] == f"http://127.0.0.1:{service.port}"

        # A subscription the push service says is gone is forgotten.
        service.status = 410
        alert(app, child, "urgent", NOON, category="sexual", conversation="other")
        report = deliver(app, now=NOON)
        assert report.failed == 1 and "gone" in report.errors[0]
        with app.sessions()() as session:
            assert session.scalars(select(PushSubscription)).all() == []
    finally:
        service.stop()
        app.close()


def test_the_gates_jobs_leader_delivers_on_its_own(tmp_path: Path, sink: SmtpSink) -> None:
    data = demo_data_dir(tmp_path / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    with app.sessions()() as session:
        an = session.scalars(select(Profile.id).where(Profile.name == "An")).one()
    urgent = alert(app, an, "urgent", utcnow() - timedelta(minutes=1))
    app.close()
    config = tmp_path / "gate.toml"
    config.write_text(f"[notify]\ndeliver_interval = 0.5\nsmtp_host = \"127.0.0.1\"\n"
                      f"smtp_port = {sink.port}\nsmtp_from = \"safegate@example.vn\"\n"
                      "smtp_starttls = false\nbase_url = \"http://safegate.home\"\n")
    upstream = FakeUpstream().start()
    proc, _port = start_server("--config", str(config), "--data-dir", str(data),
                               "--no-default-lists", "--upstream",
                               f"127.0.0.1:{upstream.port}")
    try:
        assert wait_until(lambda: len(sink.messages) == 1, 30)
        assert f"#alert-{urgent}" in sink.messages[0].get_content()
        time.sleep(1.5)  # three more runs of the job: nothing is sent twice
        assert len(sink.messages) == 1
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        upstream.stop()


def test_starttls_is_required_unless_turned_off(
        engine: Engine, tmp_path: Path, sink: SmtpSink) -> None:
    app = make_app(engine, tmp_path / "data", sink.port, **{"notify.smtp_starttls": True})
    child, _lan = household(app)
    alert(app, child, "urgent", NOON)
    report = deliver(app, now=NOON)
    assert report.failed == 1 and "STARTTLS" in report.errors[0]
    assert sink.messages == []  # nothing went out in the clear
    app.close()


LONG_SUBJECTS = [
    # the subject that arrived as '… 23/11đến …': a fold fell between '23/11' and 'đến'
    "SafeGate: báo cáo tuần của lớp 6A1 trường THCS Nguyễn Trãi, tuần từ 23/11 đến "
    "29/11/2026 — cảnh báo",
    "[SafeGate] KHẨN: Minh – Có dấu hiệu dụ dỗ trẻ em trên mạng, từ 01/12 đến 07/12/2026 — "
    "hãy nói chuyện với con ngay hôm nay và gọi 111 nếu cần",
    "[SafeGate] Weekly report for class 6A1, Nguyen Trai secondary school, week of "
    "23/11 to 29/11/2026 - 3 warnings, 1 urgent alert, 12 blocked sites - read it soon",
    " ".join(["Cảnh báo tuần 23/11 đến 29/11/2026 — lớp 6A1 đã chặn 12 trang web;"] * 6),
    "x" * 300,
]


@pytest.mark.parametrize("subject", LONG_SUBJECTS,
                         ids=["vi-weekly", "vi-urgent", "en-weekly", "vi-very-long", "one-word"])
def test_a_long_subject_arrives_exactly_as_sent(sink: SmtpSink, subject: str) -> None:
    sender = SmtpSender("127.0.0.1", sink.port, "safegate@example.vn", starttls=False)
    sender.send("lan@example.vn", Message(subject=subject, body="Nội dung.", url=None))
    [mail] = sink.messages
    assert mail["Subject"] == subject
    [raw] = [value for name, value in mail.raw_items() if name == "Subject"]
    lines = f"Subject: {raw}".splitlines()
    assert max(len(line) for line in lines) <= 78  # RFC 5322's limit, folded
    if subject.isascii() and " " in subject:
        assert "=?" not in raw  # an English subject stays readable as it is
    assert mail["To"] == "lan@example.vn" and mail.get_content().strip() == "Nội dung."
