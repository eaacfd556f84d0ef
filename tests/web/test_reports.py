"""Reports over real HTTP against a real `safegate serve`: a child's weekly and daily figures
(blocked by category and by day, top sites, minutes against a budget, alerts) as SVG charts
in Vietnamese and English with the household's dates, the reports consent refused when
missing, another family's child hidden, every report audited; and in a real browser the
activity filters and the printable weekly report."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from safegate.app.accounts import add_user
from safegate.app.consent import give_consent
from safegate.app.core import App
from safegate.app.family import add_child, add_org, list_children
from safegate.config import load_settings
from safegate.privacy.crypto import encrypt_text
from safegate.protect.monitor import snippet_context
from safegate.store.budgets import DatabaseCounter
from safegate.store.models import Alert, AuditLog
from safegate.store.querylog import insert_query_logs
from tests.helpers import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    demo_data_dir,
    signed_in_client,
    web_served,
)

EN_LOGIN, OTHER_PASSWORD = "bo@example.vn", "mật khẩu của bố 2026"
OTHER_LOGIN = "0912345678"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
CHROMIUM = "/usr/bin/chromium"


def at(day: date, hour: int) -> float:
    return datetime.combine(day, time(hour), HANOI).timestamp()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = demo_data_dir(tmp_path_factory.mktemp("reports") / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    kids = {c.name: c.id for c in list_children(app)}
    an = kids["An"]
    for by in ("parent", "child"):  # An is 8: both consent; Bình has none
        give_consent(app, "An", "reports", by=by, actor="test")
    add_user(app, EN_LOGIN, OTHER_PASSWORD, org="Gia đình Nguyễn (demo)", locale="en")
    add_org(app, "Nhà Lê")
    bao = add_child(app, "Bảo", 2015, org="Nhà Lê")
    add_user(app, OTHER_LOGIN, OTHER_PASSWORD, org="Nhà Lê")
    today = datetime.now(HANOI).date()
    insert_query_logs(app.engine, [
        (at(today - timedelta(days=1), 12), "127.0.0.2", an, "tiktok.com", 1, "block",
         "social:test/tiktok.com", 3),
        (at(today - timedelta(days=3), 12), "127.0.0.2", an, "casino.example", 1, "block",
         "gambling:test/casino.example", 2),
        (at(today, 0) + 60, "127.0.0.2", an, "malware.example", 1, "block",
         "malware:test/malware.example", 1),
        (at(today - timedelta(days=1), 13), "127.0.0.2", an, "news.example", 1, "allow",
         None, 9),
        (at(today - timedelta(days=9), 12), "127.0.0.2", an, "old.example", 1, "block",
         "social:test/old.example", 4),  # before the week
    ])
    DatabaseCounter(app.engine).add(
        [(an, "group:games", (today - timedelta(days=1)).isoformat(), m) for m in range(70)]
        + [(an, "group:games", today.isoformat(), m) for m in range(20)])
    when = datetime.fromtimestamp(at(today - timedelta(days=2), 12), UTC)
    key = app.keyring()
    with app.sessions().begin() as session:
        session.add(Alert(profile_id=an, created_at=when, last_seen_at=when,
                          conversation="c1", category="scam", severity="warning", score=0.9,
                          snippet=encrypt_text("…", key, context=snippet_context(an)),
                          guidance="scam"))
    app.close()
    config = data / "web.toml"
    config.write_text("[web]\nlogin_attempts_per_minute = 1000\n")
    with web_served("--config", str(config), "--demo", "--no-default-lists", "--data-dir",
                    str(data)) as served:
        yield {"served": served, "an": an, "binh": kids["Bình"], "bao": bao.id,
               "today": today, "data": data}


def test_the_weekly_and_daily_figures(world: dict[str, Any], parent: httpx.Client) -> None:
    week = parent.get(f"/api/v1/children/{world['an']}/report")
    assert week.status_code == 200, week.text
    body = week.json()
    assert body["blocked_total"] == 6 and body["alerts"] == 1
    assert body["blocked_by_category"] == [{"category": "social", "count": 3},
                                           {"category": "gambling", "count": 2},
                                           {"category": "malware", "count": 1}]
    assert [d["count"] for d in body["blocked_by_day"]] == [0, 0, 0, 2, 0, 3, 1]
    assert body["top_blocked"][0] == {"domain": "tiktok.com", "count": 3}
    [games] = body["budgets"]
    assert games["target"] == "group:games" and games["minutes_per_day"] == 60
    assert [u["minutes"] for u in games["used"]][-2:] == [70, 20]
    yesterday = (world["today"] - timedelta(days=1)).isoformat()
    day = parent.get(f"/api/v1/children/{world['an']}/report",
                     params={"period": "day", "day": yesterday}).json()
    assert day["blocked_total"] == 3 and day["alerts"] == 0 and day["from"] == yesterday
    month = parent.get(f"/api/v1/children/{world['an']}/report",
                       params={"period": "month"}).json()
    assert month["blocked_total"] == 10  # with the 4 blocked nine days ago
    assert len(month["blocked_by_day"]) == 30 and month["blocked_by_day"][-10]["count"] == 4
    page = parent.get(f"/children/{world['an']}/report", params={"period": "month"}).text
    assert "30 ngày qua" in page and page.count('class="column') >= 30


def test_a_report_over_any_range_of_days(world: dict[str, Any], parent: httpx.Client) -> None:
    """``from`` and ``day`` choose the first and last local day (up to 92 days); a range the
    wrong way round, too long or not a date is a clear 400 on the API and a message on the
    page."""
    url = f"/api/v1/children/{world['an']}/report"
    today = world["today"]
    first, last = today - timedelta(days=9), today - timedelta(days=1)
    body = parent.get(url, params={"from": first.isoformat(), "day": last.isoformat()})
    assert body.status_code == 200, body.text
    got = body.json()
    assert got["period"] == "range" and got["from"] == first.isoformat()
    assert got["to"] == last.isoformat() and len(got["blocked_by_day"]) == 9
    assert got["blocked_total"] == 4 + 2 + 3  # nine days ago, three days ago, yesterday
    assert got["blocked_by_day"][0] == {"day": first.isoformat(), "count": 4}
    one = parent.get(url, params={"from": last.isoformat(), "day": last.isoformat()}).json()
    assert one["blocked_total"] == 3 and len(one["blocked_by_day"]) == 1
    for bad, says in (({"from": today.isoformat(), "day": last.isoformat()}, "after"),
                      ({"from": (today - timedelta(days=92)).isoformat()}, "92 days"),
                      ({"from": "hôm qua"}, "not a date")):
        answer = parent.get(url, params=bad)
        assert answer.status_code == 400 and says in answer.text, (bad, answer.text)
    page = parent.get(f"/children/{world['an']}/report",
                      params={"from": first.isoformat(), "day": last.isoformat()})
    assert page.status_code == 200 and 'id="r-from"' in page.text
    assert f'value="{first.isoformat()}"' in page.text
    assert page.text.count('class="column') >= 9
    wrong = parent.get(f"/children/{world['an']}/report",
                       params={"from": today.isoformat(), "day": last.isoformat()})
    assert wrong.status_code == 400 and 'id="report-error"' in wrong.text


def test_the_page_draws_the_charts_in_each_language(world: dict[str, Any],
                                                     parent: httpx.Client) -> None:
    page = parent.get(f"/children/{world['an']}/report")
    assert page.status_code == 200, page.text
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="chart-categories"' \
        in page.text
    assert "Mạng xã hội" in page.text and "Báo cáo tuần" in page.text
    assert page.text.count('class="column over"') == 1  # 70 of 60 minutes, yesterday
    assert "thg" in page.text  # a Vietnamese date: "5 thg 12, 2026"
    english = signed_in_client(world["served"].base, EN_LOGIN, OTHER_PASSWORD)
    en = english.get(f"/children/{world['an']}/report")
    assert "Weekly report" in en.text and "Social" in en.text
    assert world["today"].strftime("%b") in en.text  # "5 Dec 2026"
    english.close()


def test_without_the_consent_no_report(world: dict[str, Any], parent: httpx.Client) -> None:
    page = parent.get(f"/children/{world['binh']}/report")
    assert page.status_code == 200 and 'id="consent-missing"' in page.text
    assert "chart-categories" not in page.text
    api = parent.get(f"/api/v1/children/{world['binh']}/report")
    assert api.status_code == 403 and "reports consent" in api.json()["error"]
    assert parent.get(f"/api/v1/children/{world['bao']}/report").status_code == 404
    assert parent.get(f"/children/{world['an']}/report",
                      params={"day": "hôm qua"}).status_code == 400


def test_reports_are_audited(world: dict[str, Any], parent: httpx.Client) -> None:
    parent.get(f"/api/v1/children/{world['an']}/report", params={"period": "day"})
    app = App(load_settings(env={}, overrides={"server.data_dir": str(world["data"])}))
    with app.sessions()() as session:
        last = session.scalars(select(AuditLog).where(AuditLog.action == "report.view")
                               .order_by(AuditLog.id.desc())).first()
    app.close()
    assert last is not None and last.actor == DEMO_LOGIN and last.detail["period"] == "day"


@pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                    reason="needs Debian's chromium (make apt-test)")
def test_in_a_browser_filter_the_activity_and_print_the_report(world: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    base = world["served"].base
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 360, "height": 740},
                                      locale="vi-VN")
        page = context.new_page()
        page.goto(base + "/signin")
        page.fill("#login", DEMO_LOGIN)
        page.fill("#password", DEMO_PASSWORD)
        page.press("#password", "Enter")
        page.wait_for_url("**/household")
        page.click("#nav-activity")
        page.wait_for_url("**/activity")
        assert page.locator("tr.log-row").count() == 5
        page.select_option("#f-child", str(world["an"]))
        page.check("#f-blocked")
        page.fill("#f-q", "tiktok")
        page.click("#log-filters button[type=submit]")
        page.wait_for_url("**blocked=1**")
        assert page.locator("tr.log-row").count() == 1
        assert "tiktok.com" in page.locator("#log-table").inner_text()
        page.click(f"a.report-link[href='/children/{world['an']}/report']")
        page.click("#print-link")
        page.wait_for_url("**/report/print**")
        page.emulate_media(media="print")
        assert not page.locator("header.bar").is_visible()
        assert page.locator("#chart-categories").is_visible()
        assert page.pdf(format="A4")[:4] == b"%PDF"
        context.close()
        browser.close()
