"""The child's own page and API against a real `safegate serve`: what SafeGate keeps about a
child (devices, log level and retention, an alert count without its content, consents,
requests) in Vietnamese and English and in the words of each age band; a standalone page with
no form and no way into the parent's pages; another family's child hidden; anonymous callers
refused; every view audited. The link a child can hold: made and stopped by the child's own
parent (page and API), opening that page alone without a session, and nothing once stopped."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from safegate.app.accounts import add_user
from safegate.app.consent import give_consent
from safegate.app.core import App
from safegate.app.dsr import open_request
from safegate.app.family import add_child, add_org, list_children
from safegate.config import load_settings
from safegate.privacy.crypto import encrypt_text
from safegate.protect.monitor import snippet_context
from safegate.store.models import Alert, AuditLog
from tests.helpers import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    demo_data_dir,
    sign_in_page,
    signed_in_client,
    start_web_serve,
)

OTHER_LOGIN, OTHER_PASSWORD = "0912345678", "mật khẩu của nhà Lê"
OPERATOR_LOGIN = "vanhanh@example.vn"
SECRET = "tin nhắn riêng của An"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = demo_data_dir(tmp_path_factory.mktemp("notice") / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    kids = {c.name: c.id for c in list_children(app)}
    an = kids["An"]
    for by in ("parent", "child"):
        give_consent(app, "An", "alerts", by=by, actor="test")
    open_request(app, "An", "access", by="parent", actor="test")
    now = datetime.now(UTC)
    with app.sessions().begin() as session:
        session.add(Alert(profile_id=an, created_at=now, last_seen_at=now, conversation="c1",
                          category="scam", severity="warning", score=0.9,
                          snippet=encrypt_text(SECRET, app.keyring(),
                                               context=snippet_context(an)),
                          guidance="scam"))
    add_org(app, "Nhà Lê")
    bao = add_child(app, "Bảo", 2015, org="Nhà Lê")
    add_user(app, OTHER_LOGIN, OTHER_PASSWORD, org="Nhà Lê")
    add_org(app, "Nhà mạng", kind="operator")
    add_user(app, OPERATOR_LOGIN, OTHER_PASSWORD, org="Nhà mạng", role="operator")
    app.close()
    config = data / "web.toml"
    config.write_text("[web]\nlogin_attempts_per_minute = 1000\n")
    served = start_web_serve("--config", str(config), "--demo", "--no-default-lists",
                             "--data-dir",
                             str(data), "--upstream", "127.0.0.1:9")
    try:
        yield {"base": served.base, "an": an, "binh": kids["Bình"], "bao": bao.id,
               "data": data}
    finally:
        served.stop()


def test_a_parent_opens_the_childs_page_in_the_childs_words(world: dict[str, Any]) -> None:
    parent = signed_in_client(world["base"], DEMO_LOGIN, DEMO_PASSWORD)
    child_page = parent.get(f"/children/{world['an']}")
    assert f'href="/children/{world["an"]}/about-me"' in child_page.text
    page = parent.get(f"/children/{world['an']}/about-me")
    assert page.status_code == 200, page.text
    text = page.text
    assert 'data-band="7-10"' in text and '<html lang="vi">' in text  # An is 8
    assert "SafeGate giữ gì về em, An?" in text
    assert "Máy tính bảng của An" in text and "Laptop của An" in text
    assert "Có 1 lần SafeGate báo cho bố mẹ" in text and SECRET not in text
    assert "bố mẹ đồng ý" in text and "em đồng ý" in text  # both consents
    assert "xem thông tin (đang làm," in text  # the open access request
    # no way into the parent's pages, nothing to submit, no alert content
    assert "<form" not in text and "/household" not in text and "/alerts" not in text
    assert "Sign out" not in text and "Đăng xuất" not in text
    links = set(re.findall(r'href="([^"]+)"', text))
    assert all(h.startswith("?") or h.startswith("/static/") for h in links), links
    english = parent.get(f"/children/{world['an']}/about-me?lang=en&band=14-17").text
    assert '<html lang="en">' in english and "The data SafeGate keeps about An" in english
    assert "Alerts held: 1" in english and "72 hours" in english
    middle = parent.get(f"/children/{world['an']}/about-me?lang=en&band=11-13").text
    assert "SafeGate has sent your parents 1 alerts" in middle


def test_the_api_gives_the_facts_and_the_words(world: dict[str, Any]) -> None:
    parent = signed_in_client(world["base"], DEMO_LOGIN, DEMO_PASSWORD)
    got = parent.get(f"/api/v1/children/{world['binh']}/about-me", params={"lang": "en"})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["band"] == "14-17" and body["language"] == "en" and body["version"]
    assert body["facts"]["alerts"] == 0
    assert {c["given_by"] for c in body["facts"]["consents"]} <= {"parent", "child"}
    assert body["facts"]["log_level"] in ("full", "domains", "off")
    an = parent.get(f"/api/v1/children/{world['an']}/about-me").json()
    assert an["facts"]["alerts"] == 1
    assert sorted(an["facts"]["devices"]) == ["Laptop của An", "Máy tính bảng của An"]
    assert sorted(c["given_by"] for c in an["facts"]["consents"]
                  if c["purpose"] == "alerts") == ["child", "parent"]
    assert an["facts"]["requests"][0]["kind"] == "access"
    assert SECRET not in got.text and SECRET not in str(an)
    paths = httpx.get(world["base"] + "/api/openapi.json").json()["paths"]
    assert "/api/v1/children/{child_id}/about-me" in paths
    assert "/children/{child_id}/about-me" not in paths
    bad = parent.get(f"/api/v1/children/{world['an']}/about-me", params={"band": "3-5"})
    assert bad.status_code == 400 and "band" in bad.json()["error"]
    assert "Traceback" not in bad.text


def test_another_family_and_anonymous_callers_get_nothing(world: dict[str, Any]) -> None:
    other = signed_in_client(world["base"], OTHER_LOGIN, OTHER_PASSWORD)
    assert other.get(f"/children/{world['an']}/about-me").status_code == 404
    assert other.get(f"/api/v1/children/{world['an']}/about-me").status_code == 404
    assert other.get(f"/children/{world['bao']}/about-me").status_code == 200
    with httpx.Client(base_url=world["base"], timeout=30) as anon:
        page = anon.get(f"/children/{world['an']}/about-me", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/signin"
        assert anon.get(f"/api/v1/children/{world['an']}/about-me").status_code == 401


def test_every_view_is_audited(world: dict[str, Any]) -> None:
    parent = signed_in_client(world["base"], DEMO_LOGIN, DEMO_PASSWORD)
    assert parent.get(f"/children/{world['an']}/about-me?lang=en").status_code == 200
    app = App(load_settings(env={}, overrides={"server.data_dir": str(world["data"])}))
    try:
        with app.sessions()() as session:
            last = session.scalars(select(AuditLog).where(
                AuditLog.action == "child.notice_view").order_by(AuditLog.seq.desc())).first()
    finally:
        app.close()
    assert last is not None and last.actor == DEMO_LOGIN and last.object_id == str(world["an"])
    assert last.detail["language"] == "en" and last.subject and "An" not in str(last.detail)


@pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                    reason="needs Debian's chromium (make apt-test)")
def test_in_a_browser_a_parent_opens_it_and_the_child_picks_the_words(
        world: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 360, "height": 740},
                                      locale="vi-VN")
        page = context.new_page()
        page.goto(world["base"] + "/signin")
        page.fill("#login", DEMO_LOGIN)
        page.fill("#password", DEMO_PASSWORD)
        page.press("#password", "Enter")
        page.wait_for_url("**/household")
        page.goto(world["base"] + f"/children/{world['an']}")
        page.click("#about-me-link")
        page.wait_for_url("**/about-me")
        assert page.locator("#notice-title").inner_text() == "SafeGate giữ gì về em, An?"
        assert page.locator("#notice-alerts").is_visible()
        assert page.locator("form").count() == 0 and page.locator("header.bar").count() == 0
        page.click("a[hreflang=en]")
        page.wait_for_url("**lang=en**")
        assert page.locator("html").get_attribute("lang") == "en"
        assert "What does SafeGate keep about you" in page.locator("#notice-title").inner_text()
        page.click("a.band >> text=14-17")
        page.wait_for_url("**band=14-17**")
        assert "The data SafeGate keeps about An" in page.locator("#notice-title").inner_text()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360  # readable on a phone without sideways scrolling
        context.close()
        browser.close()


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _link_in(page: str) -> str:
    found = re.search(r'id="child-link-url" type="text" readonly value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def test_a_parent_makes_a_link_and_the_child_opens_it_without_a_session(
        world: dict[str, Any]) -> None:
    parent = signed_in_client(world["base"], DEMO_LOGIN, DEMO_PASSWORD)
    binh = world["binh"]
    assert f'href="/children/{binh}/child-link"' in parent.get(f"/children/{binh}").text
    before = parent.get(f"/children/{binh}/child-link")
    assert before.status_code == 200 and 'id="make-link"' in before.text
    assert parent.post(f"/children/{binh}/child-link",
                       data={"language": "en"}).status_code == 403  # no CSRF token
    made = parent.post(f"/children/{binh}/child-link",
                       data={"csrf": _csrf(before.text), "language": "en"})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    url = _link_in(made.text)
    assert url.startswith(world["base"] + "/me/sgc_") and "<svg" in made.text
    with httpx.Client(timeout=30) as child:  # the child's device: no cookie, no session
        page = child.get(url)
        assert page.status_code == 200, page.text
        assert '<html lang="en">' in page.text and 'data-band="14-17"' in page.text
        assert "The data SafeGate keeps about Bình" in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["cache-control"] == "no-store"
        assert "noindex" in page.headers["x-robots-tag"]
        assert "<form" not in page.text and "/household" not in page.text
        assert not child.cookies  # no session was made
        assert 'lang="vi"' in child.get(url, params={"lang": "vi"}).text
        odd = child.get(url, params={"lang": "fr", "band": "3-5"})  # an edited address
        assert odd.status_code == 200 and '<html lang="en">' in odd.text
        token = url.rsplit("/", 1)[1]
        # The token opens that page and nothing else: not the API, not the parent's pages.
        api = child.get(world["base"] + f"/api/v1/children/{binh}/about-me",
                        headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 401
        assert child.get(world["base"] + f"/children/{binh}",
                         follow_redirects=False).status_code == 303
        assert child.get(world["base"] + "/me/" + token[:-2]).status_code == 404
    after = parent.get(f"/children/{binh}/child-link").text
    assert 'id="link-state"' in after and "Mở lần cuối" in after  # the parent reads Vietnamese
    assert token not in after  # shown once only


def test_stopping_the_link_stops_it_and_the_child_is_told_kindly(
        world: dict[str, Any]) -> None:
    parent = signed_in_client(world["base"], DEMO_LOGIN, DEMO_PASSWORD)
    an = world["an"]
    form = parent.get(f"/children/{an}/child-link").text
    url = _link_in(parent.post(f"/children/{an}/child-link",
                               data={"csrf": _csrf(form), "language": "vi"}).text)
    assert httpx.get(url, timeout=30).status_code == 200
    ended = parent.post(f"/children/{an}/child-link/end", data={"csrf": _csrf(form)},
                        follow_redirects=False)
    assert ended.status_code == 303
    gone = httpx.get(url, timeout=30, headers={"Accept-Language": "vi-VN,vi;q=0.9"})
    assert gone.status_code == 404 and '<html lang="vi">' in gone.text
    assert "111" in gone.text and "Traceback" not in gone.text
    english = httpx.get(url, timeout=30, headers={"Accept-Language": "en"})
    assert "This link does not open a page" in english.text
    assert "Hiện không có đường dẫn" in parent.get(f"/children/{an}/child-link").text


def test_only_the_childs_own_family_makes_a_link_page_or_api(world: dict[str, Any]) -> None:
    other = signed_in_client(world["base"], OTHER_LOGIN, OTHER_PASSWORD)
    operator = signed_in_client(world["base"], OPERATOR_LOGIN, OTHER_PASSWORD)
    an = world["an"]
    for caller in (other, operator):
        form = caller.get("/alerts").text
        assert caller.get(f"/children/{an}/child-link").status_code == 404
        assert caller.post(f"/children/{an}/child-link",
                           data={"csrf": _csrf(form)}).status_code == 404
        assert caller.post(f"/api/v1/children/{an}/child-link",
                           headers={"X-CSRF-Token": _csrf(form)}).status_code == 404
    parent = signed_in_client(world["base"], DEMO_LOGIN, DEMO_PASSWORD)
    csrf = {"X-CSRF-Token": _csrf(parent.get(f"/children/{an}/child-link").text)}
    made = parent.post(f"/api/v1/children/{an}/child-link", params={"language": "en"},
                       headers=csrf)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["url"].endswith("/me/" + body["token"]) and body["link"]["language"] == "en"
    shown = parent.get(f"/api/v1/children/{an}/child-link").json()
    assert shown["link"]["id"] == body["link"]["id"] and body["token"] not in str(shown)
    bad = parent.post(f"/api/v1/children/{an}/child-link", params={"language": "fr"},
                      headers=csrf)
    assert bad.status_code == 400 and "language" in bad.json()["error"]
    assert other.get(f"/api/v1/children/{an}/child-link").status_code == 404
    assert httpx.get(world["base"] + f"/api/v1/children/{an}/child-link",
                     timeout=30).status_code == 401
    assert parent.delete(f"/api/v1/children/{an}/child-link",
                         headers=csrf).json() == {"ended": True}
    assert httpx.get(body["url"], timeout=30).status_code == 404
    paths = httpx.get(world["base"] + "/api/openapi.json").json()["paths"]
    assert "/api/v1/children/{child_id}/child-link" in paths and "/me/{token}" not in paths


@pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                    reason="needs Debian's chromium (make apt-test)")
def test_in_a_browser_the_link_opens_on_a_device_with_no_session(
        world: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        parents = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
        page = parents.new_page()
        sign_in_page(page, world["base"])
        page.goto(world["base"] + f"/children/{world['an']}")
        page.click("#child-link-link")
        page.wait_for_url("**/child-link")
        page.select_option("#link-language", "vi")
        page.click("#make-link")
        page.wait_for_selector("#child-link-url")
        url = page.input_value("#child-link-url")
        assert page.locator("#link-made svg").count() == 1  # the QR code
        childs = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
        phone = childs.new_page()
        phone.goto(url)
        assert phone.locator("#notice-title").inner_text() == "SafeGate giữ gì về em, An?"
        assert phone.locator("form").count() == 0 and phone.locator("header.bar").count() == 0
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360
        page.click("#end-link")
        page.wait_for_selector("#make-link")
        phone.reload()
        assert "Đường dẫn này không mở được trang nào" in phone.locator("h1").inner_text()
        childs.close()
        parents.close()
        browser.close()
