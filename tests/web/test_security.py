"""The web app's security over real HTTP against a real `safegate serve`: cookies, CSRF, the
sign-in lock-out and rate limit, API tokens, and another family's child, device and request
refused through pages and API alike (nothing about them changes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from safegate.app.accounts import add_token, add_user
from safegate.app.core import App
from safegate.app.family import PolicyChange, add_child, add_device, add_org, set_policy
from safegate.app.requests import create
from safegate.config import load_settings
from tests.helpers import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    WebServe,
    addresses,
    demo_data_dir,
    query,
    signed_in_client,
    start_web_serve,
    wait_until,
    web_served,
)

OTHER_LOGIN, OTHER_PASSWORD = "0912345678", "mật khẩu của nhà Lê"
AN = "127.0.0.2"  # the demo tablet of An


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo household and a second one (Nhà Lê: Bảo, a tablet, a waiting request)."""
    data = demo_data_dir(tmp_path_factory.mktemp("web") / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    add_org(app, "Nhà Lê")
    bao = add_child(app, "Bảo", 2015, org="Nhà Lê")
    device = add_device(app, f"id:{bao.id}", "Máy tính bảng của Bảo", ip="127.0.0.9")
    set_policy(app, f"id:{bao.id}", PolicyChange(deny=("roblox.com",)))
    request = create(app, f"id:{bao.id}", "roblox.com")
    add_user(app, OTHER_LOGIN, OTHER_PASSWORD, org="Nhà Lê")
    add_user(app, "lock@example.vn", "mật khẩu đúng 2026", org="Nhà Lê")
    _, read_token = add_token(app, OTHER_LOGIN, "dashboard", "read")
    app.close()
    config = data / "web.toml"  # these tests sign in more often than a person would
    config.write_text("[web]\nlogin_attempts_per_minute = 1000\n")
    with web_served("--config", str(config), "--demo", "--no-default-lists", "--data-dir",
                    str(data)) as served:
        yield {"served": served, "bao": bao.id, "device": device.id, "request": request.id,
               "read_token": read_token, "data": data}


def _serve(world: dict[str, Any]) -> WebServe:
    served: WebServe = world["served"]
    return served


def test_the_session_cookie_is_httponly_and_samesite_and_forms_need_csrf(
        world: dict[str, Any]) -> None:
    base = _serve(world).base
    with httpx.Client(base_url=base) as anon:
        page = anon.get("/signin")
        assert page.status_code == 200 and '<html lang="vi">' in page.text
        assert "httponly" in page.headers["set-cookie"].lower()
        refused = anon.post("/signin", data={"login": DEMO_LOGIN, "password": DEMO_PASSWORD})
        assert refused.status_code == 403 and "sg_session" not in refused.headers.get(
            "set-cookie", "")
        assert anon.get("/household").status_code == 303
        assert anon.get("/api/v1/household").status_code == 401
    client = signed_in_client(base, DEMO_LOGIN, DEMO_PASSWORD)
    cookie = next(c for c in client.cookies.jar if c.name == "sg_session")
    assert cookie.has_nonstandard_attr("HttpOnly") and not cookie.secure
    home = client.get("/household")
    assert home.status_code == 200 and "An" in home.text and "Bảo" not in home.text
    an = client.get("/api/v1/household").json()["children"][0]["id"]
    # A form without its token, or with another's, changes nothing.
    for form in ({}, {"csrf": "forged"}):
        assert client.post(f"/children/{an}/pause", data=form).status_code == 403
    assert client.post(f"/api/v1/children/{an}/pause", json={}).status_code == 403
    assert client.get(f"/api/v1/children/{an}").json()["paused"] is False


def test_another_familys_child_device_and_request_are_refused_through_pages_and_api(
        world: dict[str, Any]) -> None:
    client = signed_in_client(_serve(world).base, DEMO_LOGIN, DEMO_PASSWORD)
    bao, device, request = world["bao"], world["device"], world["request"]
    token = {"csrf": client.csrf}
    header = {"X-CSRF-Token": client.csrf}
    attempts = [
        client.get(f"/children/{bao}"),
        client.get(f"/children/{bao}", params={"domain": "roblox.com"}),
        client.post(f"/children/{bao}/pause", data=token),
        client.post(f"/children/{bao}/allow-for",
                    data={**token, "domain": "roblox.com", "minutes": "60"}),
        client.post(f"/children/{bao}/rules",
                    data={**token, "action": "undeny", "domain": "roblox.com"}),
        client.get(f"/devices/{device}"),
        client.post(f"/devices/{device}/rename", data={**token, "name": "của tôi"}),
        client.post(f"/requests/{request}/approve", data={**token, "minutes": "forever"}),
        client.post(f"/requests/{request}/decline", data=token),
        client.get(f"/api/v1/children/{bao}"),
        client.get(f"/api/v1/children/{bao}/check", params={"domain": "roblox.com"}),
        client.get(f"/api/v1/children/{bao}/requests"),
        client.post(f"/api/v1/children/{bao}/pause", json={}, headers=header),
        client.patch(f"/api/v1/children/{bao}/policy", json={"undeny": ["roblox.com"]},
                     headers=header),
        client.get(f"/api/v1/devices/{device}"),
        client.patch(f"/api/v1/devices/{device}", json={"name": "x"}, headers=header),
        client.delete(f"/api/v1/devices/{device}", headers=header),
        client.post(f"/api/v1/requests/{request}/approve", json={"forever": True},
                    headers=header),
        client.post(f"/api/v1/requests/{request}/decline", headers=header),
    ]
    assert [a.status_code for a in attempts] == [404] * len(attempts), [
        (a.request.method, a.request.url.path, a.status_code) for a in attempts]
    assert all("Bảo" not in a.text and "roblox" not in a.text for a in attempts)
    # Nhà Lê's parent sees everything as it was.
    other = signed_in_client(_serve(world).base, OTHER_LOGIN, OTHER_PASSWORD)
    child = other.get(f"/api/v1/children/{bao}").json()
    assert child["paused"] is False and child["policy"]["deny"] == ["roblox.com"]
    assert child["devices"][0]["name"] == "Máy tính bảng của Bảo"
    waiting = other.get(f"/api/v1/children/{bao}/requests").json()
    assert [r["status"] for r in waiting] == ["pending"]


def test_api_tokens_read_but_a_read_token_cannot_change(world: dict[str, Any]) -> None:
    base, bao = _serve(world).base, world["bao"]
    bearer = {"Authorization": f"Bearer {world['read_token']}"}
    assert httpx.get(f"{base}/api/v1/children/{bao}", headers=bearer).status_code == 200
    assert httpx.post(f"{base}/api/v1/children/{bao}/pause", json={},
                      headers=bearer).status_code == 403
    assert httpx.get(f"{base}/children/{bao}", headers=bearer).status_code == 303  # no pages
    assert httpx.get(f"{base}/api/v1/me",
                     headers={"Authorization": "Bearer sgt_guess"}).status_code == 401


def test_five_wrong_passwords_lock_the_account(world: dict[str, Any]) -> None:
    base = _serve(world).base
    with httpx.Client(base_url=base) as anon:
        import re

        token = re.search(r'name="csrf" value="([^"]+)"', anon.get("/signin").text)
        assert token is not None

        def attempt(password: str) -> int:
            return anon.post("/signin", data={"csrf": token.group(1),
                                              "login": "lock@example.vn",
                                              "password": password}).status_code

        assert [attempt("sai rồi") for _ in range(5)] == [401, 401, 401, 401, 423]
        assert attempt("mật khẩu đúng 2026") == 423


def test_a_change_through_the_api_reaches_the_gate(world: dict[str, Any]) -> None:
    served = _serve(world)
    client = signed_in_client(served.base, DEMO_LOGIN, DEMO_PASSWORD)
    an = client.get("/api/v1/household").json()["children"][0]["id"]
    assert addresses(query(served.dns_port, "example.org", AN)) == ["192.0.2.1"]
    paused = client.post(f"/api/v1/children/{an}/pause", json={"minutes": 30},
                         headers={"X-CSRF-Token": client.csrf})
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert wait_until(lambda: addresses(query(served.dns_port, "example.org", AN))
                      == ["0.0.0.0"], 5)

    def blocked_today() -> int:
        children = client.get("/api/v1/household").json()["children"]
        return int(next(c for c in children if c["id"] == an)["blocked_today"])

    assert wait_until(lambda: blocked_today() >= 1, 10)  # the query log is written in batches
    resumed = client.post(f"/api/v1/children/{an}/resume",
                          headers={"X-CSRF-Token": client.csrf})
    assert resumed.status_code == 200
    assert wait_until(lambda: addresses(query(served.dns_port, "example.org", AN))
                      == ["192.0.2.1"], 5)


def test_openapi_describes_the_api(world: dict[str, Any]) -> None:
    spec = httpx.get(_serve(world).base + "/api/openapi.json").json()
    assert "/api/v1/children/{child_id}/pause" in spec["paths"]
    assert not any(p.startswith("/children") for p in spec["paths"])


def test_sign_in_attempts_per_address_are_rate_limited(tmp_path: Path) -> None:
    config = tmp_path / "web.toml"
    config.write_text("[web]\nlogin_attempts_per_minute = 3\n")
    data = demo_data_dir(tmp_path / "data")
    served = start_web_serve("--config", str(config), "--no-default-lists", "--data-dir",
                             str(data), "--upstream", "127.0.0.1:9")
    try:
        with httpx.Client(base_url=served.base) as anon:
            import re

            token = re.search(r'name="csrf" value="([^"]+)"', anon.get("/signin").text)
            assert token is not None
            codes = [anon.post("/signin", data={"csrf": token.group(1),
                                                "login": f"x{i}@example.vn",
                                                "password": "whatever-long"}).status_code
                     for i in range(4)]
        assert codes == [401, 401, 401, 429]
    finally:
        served.stop()


def test_bad_input_on_a_page_is_a_one_line_message(world: dict[str, Any]) -> None:
    client = signed_in_client(_serve(world).base, DEMO_LOGIN, DEMO_PASSWORD)
    an = client.get("/api/v1/household").json()["children"][0]["id"]
    bad = client.post(f"/children/{an}/allow-for",
                      data={"csrf": client.csrf, "domain": "not a domain!", "minutes": "30"})
    assert bad.status_code == 400 and "không phải là tên miền" in bad.text  # a vi account
    minutes = client.post(f"/children/{an}/pause", data={"csrf": client.csrf,
                                                          "minutes": "soon"})
    assert minutes.status_code == 400 and "số phút" in minutes.text
    api = client.patch(f"/api/v1/children/{an}/policy", json={"block_categories": ["weather"]},
                       headers={"X-CSRF-Token": client.csrf})
    assert api.status_code == 400 and "weather" in api.json()["error"]
    for answer in (bad, minutes, api):
        assert "Traceback" not in answer.text
    assert client.get(f"/api/v1/children/{an}").json()["paused"] is False


def test_over_tls_the_session_cookie_is_secure(tmp_path: Path) -> None:
    import ssl

    from tests.helpers import make_pki

    pki = make_pki(tmp_path / "pki")
    trust = ssl.create_default_context(cafile=str(pki.ca))
    config = tmp_path / "web.toml"
    config.write_text(f'[web]\ntls = true\n[gate]\ntls_cert = "{pki.cert}"\n'
                      f'tls_key = "{pki.key}"\n')
    data = demo_data_dir(tmp_path / "data")
    served = start_web_serve("--config", str(config), "--demo", "--no-default-lists",
                             "--data-dir", str(data), "--upstream", "127.0.0.1:9",
                             scheme="https", verify=trust)
    try:
        assert served.base.startswith("https://")
        client = signed_in_client(served.base, DEMO_LOGIN, DEMO_PASSWORD, verify=trust)
        cookie = next(c for c in client.cookies.jar if c.name == "sg_session")
        assert cookie.secure
        with pytest.raises(httpx.HTTPError):
            httpx.get(served.base.replace("https", "http") + "/healthz", timeout=3)
        # A browser's idle keep-alive connection does not hold the server up as it stops.
        assert served.stop() == 0
    finally:
        served.stop()


def test_a_policy_change_through_the_api_is_audited_as_the_signed_in_parent(
        world: dict[str, Any]) -> None:
    from safegate.app.audit import audit_entries

    served = _serve(world)
    client = signed_in_client(served.base, DEMO_LOGIN, DEMO_PASSWORD)
    an = client.get("/api/v1/household").json()["children"][0]["id"]
    changed = client.patch(f"/api/v1/children/{an}/policy", json={"deny": ["audit.example"]},
                           headers={"X-CSRF-Token": client.csrf})
    assert changed.status_code == 200, changed.text
    app = App(load_settings(env={}, overrides={"server.data_dir": str(world["data"])}))
    try:
        entries = audit_entries(app, f"id:{an}", actor="test")
    finally:
        app.close()
    changes = [e for e in entries if e["action"] == "policy.change"]
    assert changes and changes[0]["actor"] == DEMO_LOGIN, changes[:1]
