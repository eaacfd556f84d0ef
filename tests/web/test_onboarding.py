"""Device set-up pages over real HTTP against a real `safegate serve`: the material for the
family's parent only and never cached, the Apple profile, and "this device is protected"
turning true after a real DNS query from the device's address and after a DoH query with
the device's token (never before)."""

from __future__ import annotations

import plistlib
import re
import shutil
import time
from collections.abc import Iterator
from typing import Any

import dns.message
import dns.query
import httpx
import pytest

from safegate.app.accounts import add_user
from safegate.app.core import App
from safegate.app.family import add_child, add_device, add_org, find_device
from safegate.config import load_settings
from tests.helpers import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    demo_data_dir,
    free_tcp_port,
    query,
    signed_in_client,
    wait_until,
    web_served,
)

OTHER_LOGIN, OTHER_PASSWORD = "0912345678", "mật khẩu của nhà Lê"
TEACHER_LOGIN, OPERATOR_LOGIN = "codao@example.vn", "vanhanh@example.vn"
TABLET = "127.0.0.2"  # the demo tablet of An
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = demo_data_dir(tmp_path_factory.mktemp("onboarding") / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    tablet = find_device(app, "An", "Máy tính bảng của An")
    binh_phone = find_device(app, "Bình", "Điện thoại của Bình")
    phone = add_device(app, "An", "Điện thoại của An", kind="phone")  # token only
    add_org(app, "Nhà Lê")
    bao = add_child(app, "Bảo", 2015, org="Nhà Lê")
    add_device(app, f"id:{bao.id}", "Máy của Bảo", ip="127.0.0.9")
    add_user(app, OTHER_LOGIN, OTHER_PASSWORD, org="Nhà Lê")
    add_user(app, TEACHER_LOGIN, OTHER_PASSWORD, role="teacher", org="Gia đình Nguyễn (demo)")
    add_org(app, "SafeGate vận hành", kind="operator")
    add_user(app, OPERATOR_LOGIN, OTHER_PASSWORD, role="operator", org="SafeGate vận hành")
    app.close()
    doh_port = free_tcp_port()
    config = data / "web.toml"
    config.write_text("[web]\nlogin_attempts_per_minute = 1000\n"
                      f'[gate]\ndot_hostname = "dns.test"\ndoh = "127.0.0.1:{doh_port}"\n'
                      "doh_plain = true\n")
    with web_served("--config", str(config), "--demo", "--no-default-lists", "--data-dir",
                    str(data)) as served:
        yield {"served": served, "tablet": tablet, "phone": phone, "doh_port": doh_port,
               "binh_phone": binh_phone}


def test_the_parent_gets_the_material_never_cached(world: dict[str, Any],
                                                   parent: httpx.Client) -> None:
    phone = world["phone"]
    page = parent.get(f"/devices/{phone.id}/setup")
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    assert f"/dns-query/{phone.token}" in page.text
    assert re.search(r"[a-z2-7]{26}\.dns\.test", page.text)  # Android's Private DNS name
    assert "<svg" in page.text and "Chrome" in page.text
    profile = parent.get(f"/devices/{phone.id}/setup.mobileconfig")
    assert profile.status_code == 200
    assert profile.headers["cache-control"] == "no-store"
    payload = plistlib.loads(profile.content)["PayloadContent"][0]
    assert payload["DNSSettings"]["ServerURL"].endswith(f"/dns-query/{phone.token}")
    api = parent.get(f"/api/v1/devices/{phone.id}/setup")
    assert api.headers["cache-control"] == "no-store"
    assert set(api.json()["instructions"]) == {"vi", "en"}


def test_another_family_sees_nothing(world: dict[str, Any]) -> None:
    other = signed_in_client(world["served"].base, OTHER_LOGIN, OTHER_PASSWORD)
    phone = world["phone"]
    for path in (f"/devices/{phone.id}/setup", f"/devices/{phone.id}/setup.mobileconfig",
                 f"/api/v1/devices/{phone.id}/setup",
                 f"/api/v1/devices/{phone.id}/protected?since=0"):
        answer = other.get(path)
        assert answer.status_code == 404, path
        assert phone.token not in answer.text
    assert other.post(f"/api/v1/devices/{phone.id}/protected",
                      headers={"X-CSRF-Token": other.csrf}).status_code == 404
    other.close()


def test_neither_a_teacher_nor_the_operator_gets_the_secret(world: dict[str, Any]) -> None:
    phone = world["phone"]
    # A teacher reads only the children of their own classes (this one teaches none): 404.
    for login, status in ((TEACHER_LOGIN, 404), (OPERATOR_LOGIN, 404)):
        client = signed_in_client(world["served"].base, login, OTHER_PASSWORD)
        for path in (f"/devices/{phone.id}/setup", f"/api/v1/devices/{phone.id}/setup"):
            answer = client.get(path)
            assert answer.status_code == status, (login, path)
            assert phone.token not in answer.text
        client.close()


def _protected(client: httpx.Client, device_id: int, since: str) -> bool:
    answer = client.get(f"/api/v1/devices/{device_id}/protected", params={"since": since})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return bool(answer.json()["protected"])


def test_a_dns_query_from_the_device_turns_it_protected(world: dict[str, Any],
                                                        parent: httpx.Client) -> None:
    served, tablet = world["served"], world["tablet"]
    query(served.dns_port, "before.example", source=TABLET)  # known to the gate already
    page = parent.get(f"/devices/{tablet.id}/setup")
    since = re.search(r'protected\?since=([0-9.]+)', page.text)
    assert since is not None and "protected-wait" in page.text
    assert not _protected(parent, tablet.id, since.group(1))
    query(served.dns_port, "ask.example", source="127.0.0.3")  # another child's device
    assert not _protected(parent, tablet.id, since.group(1))
    query(served.dns_port, "after.example", source=TABLET)
    assert wait_until(lambda: _protected(parent, tablet.id, since.group(1)))
    again = parent.get(f"/devices/{tablet.id}/setup", params={"since": since.group(1)})
    assert "protected-yes" in again.text  # the link that works without script


def test_an_earlier_query_never_answers_for_a_later_moment(world: dict[str, Any],
                                                          parent: httpx.Client) -> None:
    """Without POST …/protected first, the gate's table cannot say *when* it saw the device:
    the query log answers, and a query before ``since`` does not count."""
    served, device = world["served"], world["binh_phone"]
    query(served.dns_port, "earlier.example", source="127.0.0.3")
    since = repr(time.time() + 1)
    assert not _protected(parent, device.id, since)


def test_a_doh_query_with_the_token_turns_it_protected(world: dict[str, Any],
                                                       parent: httpx.Client) -> None:
    phone, port = world["phone"], world["doh_port"]
    armed = parent.post(f"/api/v1/devices/{phone.id}/protected",
                        headers={"X-CSRF-Token": parent.csrf})
    assert armed.status_code == 200, armed.text
    since = str(armed.json()["since"])
    query(world["served"].dns_port, "plain.example")  # loopback, not the phone
    assert not _protected(parent, phone.id, since)
    q = dns.message.make_query("phone.example", "A")
    answer = dns.query.https(q, f"http://127.0.0.1:{port}/dns-query/{phone.token}",
                             timeout=5)
    assert answer.rcode() == 0
    assert wait_until(lambda: _protected(parent, phone.id, since))


@pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                    reason="needs Debian's chromium (make apt-test)")
def test_in_a_browser_the_page_turns_green_by_itself(world: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    served, tablet = world["served"], world["tablet"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 360, "height": 740})
        page = context.new_page()
        page.goto(served.base + "/signin")
        page.fill("#login", DEMO_LOGIN)
        page.fill("#password", DEMO_PASSWORD)
        page.press("#password", "Enter")
        page.wait_for_url("**/household")
        page.goto(f"{served.base}/devices/{tablet.id}/setup")
        assert page.locator("#protected.protected-wait").is_visible()
        query(served.dns_port, "first.example", source=TABLET)
        page.wait_for_selector("#protected.protected-yes", timeout=15_000)
        assert "SafeGate" in page.locator("#protected").inner_text()
        context.close()
        browser.close()
