"""A new family from sign-up to an alert e-mail, in a real browser (Playwright driving
Debian's chromium, headless) against a real `safegate serve` with its block page and a real
SMTP server: sign up, add a child and its phone through the first steps, block a category and
see the gate's DNS answer change, open the block page on the phone (chromium resolves the
blocked name to the block page's address, as the gate answers it) and ask the parent, approve
the request and see the name answered again, receive the e-mail of an alert the gate's DNS
signals raise, and switch to English. With ``WEB_SCREENSHOTS=docs/screenshots`` the main pages are
saved at phone and desktop width there."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SmtpSink,
    WebServe,
    addresses,
    cli,
    fits_the_phone,
    free_tcp_port,
    query,
    screenshot,
    wait_until,
    web_served,
)

PHONE = "127.0.0.1"  # the child's phone: the browser's own address, so the block page knows it
ALLOWED, BLOCK_PAGE = ["192.0.2.1"], ["127.0.0.1"]
LOGIN, PASSWORD = "me.ha@example.vn", "mật khẩu của mẹ Hà 2026"
GAME, VPN = "game-e2e.example", "vpn-e2e.example"

pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                                reason="needs Debian's chromium (make apt-test)")


@dataclass
class World:
    serve: WebServe
    page_port: int
    sink: SmtpSink
    data: Path


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    data = tmp_path / "data"
    migrated = cli("migrate", "--data-dir", str(data))
    assert migrated.returncode == 0, migrated.stderr
    for key, name, category in (("games-e2e", GAME, "games"), ("bypass-e2e", VPN, "bypass")):
        source = tmp_path / f"{key}.txt"
        source.write_text(name + "\n")
        added = cli("lists", "add", key, str(source), "--category", category,
                    "--data-dir", str(data))
        assert added.returncode == 0, added.stderr
    sink = SmtpSink()
    page_port = free_tcp_port()
    config = tmp_path / "safegate.toml"
    config.write_text(
        f'[gate]\nblockpage_ipv4 = "{BLOCK_PAGE[0]}"\n'
        f'[web]\nsignup = true\nblockpage = "127.0.0.1:{page_port}"\n'
        f'[notify]\ndeliver_interval = 1\nsmtp_host = "127.0.0.1"\nsmtp_port = {sink.port}\n'
        'smtp_from = "safegate@example.vn"\nsmtp_starttls = false\n'
        "[signals]\nbypass_attempts = 3\n")
    try:
        with web_served("--config", str(config), "--no-default-lists", "--data-dir",
                        str(data)) as serve:
            yield World(serve, page_port, sink, data)
    finally:
        sink.stop()


@pytest.fixture
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # The phone's browser reaches the blocked name at the block page's address, as the
        # gate's answer (checked with dnspython below) sends it there.
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {GAME} {BLOCK_PAGE[0]}"])
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
        yield context.new_page()
        context.close()
        browser.close()


def test_a_new_family_from_sign_up_to_an_alert_e_mail(world: World, page: Any) -> None:
    base, dns = world.serve.base, world.serve.dns_port

    # Sign up: a new household, signed in on its (empty) household page.
    page.goto(base + "/signup")
    page.locator("#household").fill("Nhà Hà")
    page.locator("#display-name").fill("Mẹ Hà")
    page.locator("#login").fill(LOGIN)
    page.locator("#password").fill(PASSWORD)
    screenshot(page, "signup")
    page.get_by_role("button", name="Tạo gia đình").click()
    page.wait_for_url("**/household")
    assert fits_the_phone(page)
    screenshot(page, "getting-started")

    # First steps: a child of 16 (the 16–17 preset), then her phone by its address.
    page.locator("#start-add-child").click()
    page.wait_for_url("**/children/new")
    page.get_by_label("Tên hoặc tên gọi ở nhà của con").fill("Vy")
    page.get_by_label("Năm sinh").fill(str(datetime.now(UTC).year - 16))
    assert fits_the_phone(page)
    screenshot(page, "child-new")
    page.get_by_role("button", name="Thêm con").click()
    page.wait_for_url("**/devices/new")
    found = re.search(r"/children/(\d+)/devices/new", page.url)
    assert found is not None
    child_id = int(found.group(1))
    page.get_by_label("Tên thiết bị").fill("Điện thoại của Vy")
    page.locator("#kind").select_option("phone")
    page.locator("#address").fill(PHONE)
    assert fits_the_phone(page)
    screenshot(page, "device-new")
    page.get_by_role("button", name="Thêm thiết bị").click()
    page.wait_for_url("**/devices/*/setup")
    assert fits_the_phone(page)
    screenshot(page, "device-setup")

    # Block a category: games, answered with the block page's address from now on.
    assert addresses(query(dns, GAME, PHONE)) == ALLOWED
    page.goto(f"{base}/children/{child_id}")
    page.get_by_label("Trò chơi trực tuyến").check()
    page.locator("#block-mode").select_option("blockpage")
    page.get_by_role("button", name="Lưu").first.click()
    page.wait_for_selector("text=Đã lưu.")
    assert wait_until(lambda: addresses(query(dns, GAME, PHONE)) == BLOCK_PAGE, 5)

    # On the phone: the blocked site shows the block page, and Vy asks her parent.
    page.goto(f"http://{GAME}:{world.page_port}/")
    assert "Trang này đã bị chặn" in page.content()
    assert fits_the_phone(page)
    screenshot(page, "blockpage")
    page.locator("#ask-message").fill("con cần chơi trò này với cả lớp")
    page.get_by_role("button", name="Hỏi bố mẹ").click()
    page.wait_for_selector("text=Đã hỏi bố mẹ")

    # The parent approves it for an hour: the name is answered again.
    page.goto(f"{base}/children/{child_id}")
    request = page.locator("li[id^=request-]", has_text=GAME)
    assert "con cần chơi trò này với cả lớp" in request.inner_text()
    screenshot(page, "child-request")
    request.get_by_label("Cho phép trong").select_option("60")
    request.get_by_role("button", name="Đồng ý").click()
    page.wait_for_selector("text=Đã đồng ý yêu cầu.")
    assert wait_until(lambda: addresses(query(dns, GAME, PHONE)) == ALLOWED, 5)

    # An alert by e-mail: with both consents, blocked lookups of a VPN's name from the phone
    # are a DNS signal; the app layer stores the alert and the delivery job mails it.
    for giver in ("parent", "child"):
        given = cli("consent", "give", f"id:{child_id}", "alerts", "--by", giver,
                    "--data-dir", str(world.data))
        assert given.returncode == 0, given.stderr
    for _ in range(4):
        assert addresses(query(dns, VPN, PHONE)) == BLOCK_PAGE
    assert wait_until(lambda: bool(world.sink.messages), 60), "no alert e-mail"
    mail = world.sink.messages[0]
    assert mail["To"] == LOGIN and "Vy" in mail["Subject"], mail["Subject"]
    page.goto(base + "/alerts")
    assert "Vy" in page.content()
    screenshot(page, "alerts-dns")

    # Two-step sign-in is offered on the account page.
    page.goto(base + "/account/security")
    page.get_by_role("button", name="Thiết lập xác minh hai bước").click()
    page.wait_for_selector("#totp-secret")
    assert fits_the_phone(page)
    screenshot(page, "account-security")

    # English, for this account from now on.
    page.get_by_label("Ngôn ngữ").select_option("en")
    page.get_by_role("button", name="Đổi ngôn ngữ").click()
    page.wait_for_selector("text=Sign-in security")
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(base + "/household")
    assert page.get_by_role("heading", name="Children").is_visible()
    assert page.get_by_role("link", name="Add a device").is_visible()
    screenshot(page, "household-family-en")
