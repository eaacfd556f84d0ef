"""The web app in a real browser (Playwright driving Debian's chromium, headless) against a
real `safegate serve`: sign in, pause a child and see the DNS answer change, approve an
unblock request and see the blocked name answered, switch to English; the pages fit a
360-px-wide phone."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from safegate.app.core import App
from safegate.app.family import PolicyChange, set_policy
from safegate.app.requests import create
from safegate.config import load_settings
from tests.helpers import (
    CHROMIUM,
    WebServe,
    addresses,
    cli,
    demo_data_dir,
    fits_the_phone,
    query,
    screenshot,
    wait_until,
    web_served,
)

AN = "127.0.0.2"  # the demo tablet of An
ALLOWED, BLOCKED = ["192.0.2.1"], ["0.0.0.0"]

pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                                reason="needs Debian's chromium (make apt-test)")


@pytest.fixture
def served(tmp_path: Any) -> Iterator[WebServe]:
    data = demo_data_dir(tmp_path / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    set_policy(app, "An", PolicyChange(deny=("roblox.com",)))
    create(app, "An", "roblox.com", message="con muốn chơi với bạn")
    app.close()
    listed = tmp_path / "blocked.txt"  # category custom, for every client
    listed.write_text("tiktok.com\n")
    games = tmp_path / "games.txt"  # a list source of the games category
    games.write_text("game-e2e.example\n")
    added = cli("lists", "add", "games-e2e", str(games), "--category", "games",
                "--data-dir", str(data))
    assert added.returncode == 0, added.stderr
    with web_served("--demo", "--no-default-lists", "--data-dir", str(data), "--blocklist",
                    str(listed)) as serve:
        yield serve


def test_sign_in_pause_approve_and_switch_language(served: WebServe, page: Any) -> None:
    dns = served.dns_port
    page.goto(served.base + "/")
    assert page.locator("html").get_attribute("lang") == "vi"
    screenshot(page, "signin")
    page.get_by_label("E-mail hoặc số điện thoại").fill("phuhuynh@example.vn")
    page.get_by_label("Mật khẩu").fill("demo-safegate")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/household")
    assert fits_the_phone(page)
    screenshot(page, "household")
    waiting = page.locator("a[href*='#request-']")  # the household's waiting requests
    assert waiting.count() == 1 and waiting.inner_text() == "An"
    page.get_by_role("link", name="An", exact=True).first.click()
    page.wait_for_url("**/children/*")
    assert fits_the_phone(page)
    screenshot(page, "child")

    # Pause: An's tablet gets the null answer for everything.
    assert addresses(query(dns, "example.org", AN)) == ALLOWED
    page.get_by_role("button", name="Tạm dừng", exact=True).click()
    page.wait_for_selector("text=Tạm dừng cho đến khi bạn bật lại")
    assert wait_until(lambda: addresses(query(dns, "example.org", AN)) == BLOCKED, 5)
    page.get_by_role("button", name="Bật lại").click()
    page.wait_for_selector("text=Không tạm dừng")
    assert wait_until(lambda: addresses(query(dns, "example.org", AN)) == ALLOWED, 5)

    # The waiting request: roblox.com is denied until the parent approves it.
    assert addresses(query(dns, "roblox.com", AN)) == BLOCKED
    request = page.locator("li[id^=request-]", has_text="roblox.com")
    assert "con muốn chơi với bạn" in request.inner_text()
    request.get_by_label("Cho phép trong").select_option("60")
    request.get_by_role("button", name="Đồng ý").click()
    page.wait_for_selector("text=Đã đồng ý yêu cầu.")
    assert wait_until(lambda: addresses(query(dns, "roblox.com", AN)) == ALLOWED, 5)

    # The policy editor: ticking "games" blocks a name of a games list for An.
    assert addresses(query(dns, "game-e2e.example", AN)) == ALLOWED
    page.get_by_label("Trò chơi trực tuyến").check()
    page.get_by_role("button", name="Lưu").first.click()
    page.wait_for_selector("text=Đã lưu.")
    assert page.get_by_label("Trò chơi trực tuyến").is_checked()
    assert wait_until(lambda: addresses(query(dns, "game-e2e.example", AN)) == BLOCKED, 5)

    # "Would this be blocked now?" says what the gate does.
    page.get_by_label("Trang web").first.fill("roblox.com")
    page.get_by_role("button", name="Kiểm tra").click()
    assert "Được phép" in page.locator("#check-result").inner_text()
    page.get_by_label("Trang web").first.fill("tiktok.com")
    page.get_by_role("button", name="Kiểm tra").click()
    assert "Bị chặn" in page.locator("#check-result").inner_text()
    assert "Danh sách riêng" in page.locator("#check-result").inner_text()  # custom

    # English, for this account from now on; the keyboard reaches the sign-out button.
    page.get_by_label("Ngôn ngữ").select_option("en")
    page.get_by_role("button", name="Đổi ngôn ngữ").click()
    page.wait_for_selector("text=Would this be blocked now?")
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(served.base + "/household")
    assert page.get_by_role("heading", name="Children").is_visible()
    screenshot(page, "household-en")
    page.get_by_role("button", name="Sign out").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/signin")
