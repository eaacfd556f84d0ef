"""The alerts inbox and notifications against a real `safegate serve`: a parent reads their
child's alerts (redacted snippet, severity, guidance with hotline 111) and answers "helpful",
the reading is audited, another family's alert is refused through page and API alike; the
preferences and a browser's push subscription saved through the web app are what a real
`safegate alerts deliver` then follows (an SMTP server and a push endpoint receive them)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from safegate.app.accounts import add_user
from safegate.app.core import App
from safegate.app.family import add_child, add_org
from safegate.config import load_settings
from safegate.protect.alerts import Limits
from safegate.protect.monitor import seal_snippet, store_alert
from safegate.protect.spool import PendingAlert
from safegate.store.models import Alert, AuditLog, Profile
from safegate.store.values import utcnow
from tests.helpers import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    BrowserKeys,
    PushEndpoint,
    SmtpSink,
    cli,
    demo_data_dir,
    signed_in_client,
    web_served,
)

OTHER_LOGIN, OTHER_PASSWORD = "le@example.vn", "mật khẩu của nhà Lê"
SNIPPET = "bạn ấy hẹn gặp ở <ĐỊA_CHỈ> tối nay, đừng nói với bố mẹ"


def _alert(app: App, profile_id: int, severity: str, category: str, text: str) -> int:
    pending = PendingAlert(profile_id, "chat-1", category, severity, 0.9, category, "rules",
                           utcnow() - timedelta(minutes=10),
                           seal_snippet(text, app.keyring(), profile_id))
    with app.sessions().begin() as session:
        outcome = store_alert(session, pending, app.keyring(), limits=Limits(), actor="test")
        assert outcome.alert is not None
        return outcome.alert.id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = demo_data_dir(tmp_path_factory.mktemp("alerts") / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    with app.sessions()() as session:
        an = session.scalars(select(Profile.id).where(Profile.name == "An")).one()
    urgent = _alert(app, an, "urgent", "grooming", SNIPPET)
    add_org(app, "Nhà Lê")
    bao = add_child(app, "Bảo", 2015, org="Nhà Lê")
    other = _alert(app, bao.id, "warning", "bullying", "tin nhắn của nhà Lê")
    add_user(app, OTHER_LOGIN, OTHER_PASSWORD, org="Nhà Lê")
    app.close()
    config = data / "web.toml"  # the test runs the delivery itself, not the gate's leader
    config.write_text("[notify]\ndeliver_interval = 0\n")
    with web_served("--config", str(config), "--demo", "--no-default-lists", "--data-dir",
                    str(data)) as served:
        yield {"base": served.base, "data": data, "urgent": urgent, "other": other}


def _feedback(data: Path, alert_id: int) -> str | None:
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    try:
        with app.sessions()() as session:
            return session.get_one(Alert, alert_id).feedback
    finally:
        app.close()


def test_a_parent_reads_the_alert_with_guidance_and_answers_helpful(
        world: dict[str, Any]) -> None:
    client = signed_in_client(world["base"], DEMO_LOGIN, DEMO_PASSWORD)
    page = client.get("/alerts")
    assert page.status_code == 200
    html = page.text
    urgent = world["urgent"]
    assert f'id="alert-{urgent}"' in html
    assert "ĐỊA_CHỈ" in html and "đừng nói với bố mẹ" in html  # the redacted excerpt
    assert "Khẩn cấp" in html and "111" in html  # severity and the hotline (vi)
    assert "tin nhắn của nhà Lê" not in html
    assert 'href="/alerts"' in client.get("/household").text  # the nav link

    assert client.post(f"/alerts/{urgent}/feedback",
                       data={"value": "helpful"}).status_code == 403  # no CSRF token
    assert _feedback(world["data"], urgent) is None
    done = client.post(f"/alerts/{urgent}/feedback",
                       data={"csrf": client.csrf, "value": "helpful"})
    assert done.status_code == 303
    assert _feedback(world["data"], urgent) == "helpful"
    assert 'value="helpful" aria-pressed="true"' in client.get("/alerts").text

    api = client.get("/api/v1/alerts").json()
    assert [a["id"] for a in api] == [urgent]
    assert api[0]["snippet"] == SNIPPET and api[0]["feedback"] == "helpful"
    seen = datetime.fromisoformat(api[0]["last_seen_at"]).astimezone(
        ZoneInfo("Asia/Ho_Chi_Minh"))  # the demo household's time zone
    assert api[0]["local_time"] == seen.strftime("%Y-%m-%d %H:%M") and api[0]["local_time"] in html
    assert api[0]["guidance_text"]["hotline"] and "111" in api[0]["guidance_text"]["hotline"]
    answer = client.post(f"/api/v1/alerts/{urgent}/feedback", json={"feedback": "wrong"},
                         headers={"X-CSRF-Token": client.csrf})
    assert answer.status_code == 200 and _feedback(world["data"], urgent) == "wrong"

    app = App(load_settings(env={}, overrides={"server.data_dir": str(world["data"])}))
    try:
        with app.sessions()() as session:
            views = session.scalars(select(AuditLog).where(
                AuditLog.action == "alert.view", AuditLog.actor == DEMO_LOGIN)).all()
            feedback = session.scalars(select(AuditLog).where(
                AuditLog.action == "alert.feedback", AuditLog.actor == DEMO_LOGIN)).all()
        assert views and len(feedback) == 2
        assert all(SNIPPET not in json.dumps(v.detail, ensure_ascii=False) for v in views)
    finally:
        app.close()


def test_another_familys_alert_is_not_found_through_page_and_api(
        world: dict[str, Any]) -> None:
    client = signed_in_client(world["base"], DEMO_LOGIN, DEMO_PASSWORD)
    other = world["other"]
    refused = client.post(f"/alerts/{other}/feedback",
                          data={"csrf": client.csrf, "value": "wrong"})
    assert refused.status_code == 404
    api = client.post(f"/api/v1/alerts/{other}/feedback", json={"feedback": "wrong"},
                      headers={"X-CSRF-Token": client.csrf})
    assert api.status_code == 404 and "error" in api.json()
    assert _feedback(world["data"], other) is None
    le = signed_in_client(world["base"], OTHER_LOGIN, OTHER_PASSWORD)
    assert [a["child"] for a in le.get("/api/v1/alerts").json()] == ["Bảo"]
    with httpx.Client(base_url=world["base"]) as anon:
        assert anon.get("/api/v1/alerts").status_code == 401


def test_preferences_and_a_push_subscription_drive_a_real_delivery(
        world: dict[str, Any], tmp_path: Path) -> None:
    client = signed_in_client(world["base"], DEMO_LOGIN, DEMO_PASSWORD)
    bad = client.post("/alerts/preferences", data={"csrf": client.csrf, "email": "on",
                                                   "quiet_start": "25:99",
                                                   "quiet_end": "06:00"})
    assert bad.status_code == 400 and "quiet_start" in bad.text
    saved = client.post("/alerts/preferences", data={"csrf": client.csrf, "email": "on",
                                                     "push": "on", "min_severity": "warning"})
    assert saved.status_code == 303
    assert client.get("/api/v1/notifications/preferences").json() == {
        "email": True, "push": True, "quiet_start": None, "quiet_end": None,
        "min_severity": "warning", "weekly_report": False}  # its box left unticked
    weekly = client.put("/api/v1/notifications/preferences", json={"weekly_report": True},
                        headers={"X-CSRF-Token": client.csrf})
    assert weekly.json()["weekly_report"] is True and weekly.json()["push"] is True
    assert 'id="n-weekly" name="weekly_report" checked' in client.get("/alerts").text

    service = PushEndpoint()
    sink = SmtpSink()
    browser = BrowserKeys.make()
    try:
        key = client.get("/api/v1/push/key").json()["key"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{87}", key)  # 65 bytes, base64url
        body = {"endpoint": service.url("/sub/1"),
                "keys": {"p256dh": browser.p256dh, "auth": browser.auth}}
        assert client.post("/api/v1/push/subscriptions", json=body).status_code == 403
        stored = client.post("/api/v1/push/subscriptions", json=body,
                             headers={"X-CSRF-Token": client.csrf})
        assert stored.status_code == 200, stored.text

        config = tmp_path / "notify.toml"
        config.write_text(
            "[notify]\nsmtp_host = \"127.0.0.1\"\n"
            f"smtp_port = {sink.port}\nsmtp_from = \"safegate@example.vn\"\n"
            "smtp_starttls = false\nbase_url = \"http://safegate.home\"\n")
        run = cli("alerts", "deliver", "--json", "--config", str(config), "--data-dir",
                  str(world["data"]))
        assert run.returncode == 0, run.stderr
        report = json.loads(run.stdout)
        assert report["sent"] == 2 and report["failed"] == 0  # one e-mail, one push
        [mail] = sink.messages
        assert mail["To"] == DEMO_LOGIN and "An" in mail["Subject"]
        assert "ĐỊA_CHỈ" not in mail.get_content() and "111" in mail.get_content()
        [(_, _, payload)] = service.received
        opened = json.loads(browser.decrypt(payload))
        assert opened["url"] == f"http://safegate.home/alerts#alert-{world['urgent']}"
        again = cli("alerts", "deliver", "--json", "--config", str(config), "--data-dir",
                    str(world["data"]))
        assert json.loads(again.stdout)["sent"] == 0
    finally:
        service.stop()
        sink.stop()
