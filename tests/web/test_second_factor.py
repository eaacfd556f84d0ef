"""The TOTP second factor through a real `safegate serve`: turn it on from the account page
(key as text and QR code, confirmed by a first code, recovery codes shown once), sign-in then
asks for a code after the password (a wrong or replayed code is refused, a recovery code
works once), the code form needs its CSRF token and a live ticket, and turning it off needs
the password and a code."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from safegate.app.accounts import add_token
from safegate.app.core import App
from safegate.config import load_settings
from safegate.privacy import otp
from tests.helpers import demo_data_dir, signed_in_client, web_served

LOGIN, PASSWORD = "phuhuynh@example.vn", "demo-safegate"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = demo_data_dir(tmp_path_factory.mktemp("totp") / "data")
    config = data / "web.toml"  # every attempt here comes from 127.0.0.1
    config.write_text("[web]\nlogin_attempts_per_minute = 60\n")
    with web_served("--config", str(config), "--demo", "--no-default-lists", "--data-dir",
                    str(data)) as running:
        yield running.base, data


@pytest.fixture(scope="module")
def base(served: tuple[str, Path]) -> str:
    return served[0]


def _field(html: str, pattern: str) -> str:
    found = re.search(pattern, html)
    assert found is not None, html
    return found.group(1)


def _password_step(base: str) -> tuple[httpx.Client, Any]:
    client = httpx.Client(base_url=base, timeout=30)
    csrf = _field(client.get("/signin").text, r'name="csrf" value="([^"]+)"')
    answer = client.post("/signin", data={"csrf": csrf, "login": LOGIN, "password": PASSWORD})
    return client, answer


def _code_step(client: httpx.Client, code: str) -> httpx.Response:
    csrf = _field(client.get("/signin/code").text, r'name="csrf" value="([^"]+)"')
    return client.post("/signin/code", data={"csrf": csrf, "code": code})


def test_enrol_sign_in_with_codes_and_turn_off(base: str) -> None:
    client = signed_in_client(base, LOGIN, PASSWORD)
    page = client.get("/account/security")
    assert page.status_code == 200 and 'id="totp-state"' in page.text
    assert client.post("/account/totp/begin", data={}).status_code == 403  # no CSRF token
    assert client.post("/account/totp/begin", data={"csrf": client.csrf}).status_code == 303
    page = client.get("/account/security").text
    secret = _field(page, r'id="totp-secret">([A-Z2-7]+)<')
    assert "<svg" in page and "otpauth" in page
    wrong = "000000" if otp.totp(secret, time.time()) != "000000" else "111111"
    refused = client.post("/account/totp/confirm", data={"csrf": client.csrf, "code": wrong})
    assert refused.status_code == 400 and 'id="recovery-codes"' not in refused.text
    done = client.post("/account/totp/confirm",
                       data={"csrf": client.csrf, "code": otp.totp(secret, time.time())})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", done.text)
    assert len(codes) == otp.RECOVERY_CODES
    assert not re.findall(r"<code>[a-z2-9]{5}-[a-z2-9]{5}</code>",
                          client.get("/account/security").text)  # shown once

    # The password alone no longer signs in: it leads to the code form, no session yet.
    second, answer = _password_step(base)
    assert answer.status_code == 303 and answer.headers["location"] == "/signin/code"
    assert second.get("/api/v1/me").status_code == 401
    assert _code_step(second, wrong).status_code == 401
    csrf = _field(second.get("/signin/code").text, r'name="csrf" value="([^"]+)"')
    assert second.post("/signin/code", data={"code": wrong}).status_code == 403
    # The next step's code (the first one was spent on confirming) signs in.
    code = otp.totp(secret, time.time() + otp.STEP)
    signed = second.post("/signin/code", data={"csrf": csrf, "code": code})
    assert signed.status_code == 303 and signed.headers["location"] == "/household"
    assert second.get("/api/v1/me").status_code == 200

    third, _answer = _password_step(base)
    assert _code_step(third, code).status_code == 401  # a code works once
    assert _code_step(third, codes[0]).status_code == 303  # a recovery code
    assert third.get("/api/v1/me").status_code == 200
    fourth, _answer = _password_step(base)
    assert _code_step(fourth, codes[0]).status_code == 401  # once only
    assert "%s" % (otp.RECOVERY_CODES - 1) in client.get("/account/security").text

    off = client.post("/account/totp/disable",
                      data={"csrf": client.csrf, "password": "wrong password", "code": codes[1]})
    assert off.status_code == 400
    off = client.post("/account/totp/disable",
                      data={"csrf": client.csrf, "password": PASSWORD, "code": codes[1]})
    assert off.status_code == 303
    _fifth, answer = _password_step(base)
    assert answer.status_code == 303 and answer.headers["location"] == "/household"


def test_the_code_form_needs_a_live_ticket(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/signin/code").headers["location"] == "/signin"
        client.cookies.set("sg_second_factor", "sg1.forged.AAAA")
        assert client.get("/signin/code").headers["location"] == "/signin"


def test_the_api_turns_it_on_and_off_for_a_session_never_for_a_token(
        served: tuple[str, Path]) -> None:
    base, data = served
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    try:
        _, token = add_token(app, LOGIN, "integration", "write")
    finally:
        app.close()
    bearer = httpx.Client(base_url=base, timeout=30,
                          headers={"authorization": f"Bearer {token}"})
    assert bearer.get("/api/v1/me/second-factor").json()["enrolled"] is False
    refused = bearer.post("/api/v1/me/second-factor")
    assert refused.status_code == 403 and "API token" in refused.json()["error"]

    client = signed_in_client(base, LOGIN, PASSWORD)
    head = {"x-csrf-token": client.csrf}
    assert client.post("/api/v1/me/second-factor").status_code == 403  # no CSRF header
    begun = client.post("/api/v1/me/second-factor", headers=head)
    assert begun.status_code == 200, begun.text
    secret = begun.json()["secret"]
    assert begun.json()["uri"].startswith("otpauth://totp/") and secret in begun.json()["uri"]
    assert client.get("/api/v1/me/second-factor").json() == {
        "enrolled": False, "pending": True, "recovery_codes_left": 0}
    wrong = "000000" if otp.totp(secret, time.time()) != "000000" else "111111"
    bad = client.post("/api/v1/me/second-factor/confirm", json={"code": wrong}, headers=head)
    assert bad.status_code == 400 and "does not match" in bad.json()["error"]
    done = client.post("/api/v1/me/second-factor/confirm",
                       json={"code": otp.totp(secret, time.time())}, headers=head)
    assert done.status_code == 200, done.text
    codes = done.json()["recovery_codes"]
    assert len(codes) == otp.RECOVERY_CODES
    assert client.get("/api/v1/me/second-factor").json() == {
        "enrolled": True, "pending": False, "recovery_codes_left": otp.RECOVERY_CODES}
    again = client.post("/api/v1/me/second-factor", headers=head)
    assert again.status_code == 400 and "turn it off first" in again.json()["error"]
    _second, answer = _password_step(base)
    assert answer.headers["location"] == "/signin/code"  # sign-in now asks for a code

    assert bearer.post("/api/v1/me/second-factor/disable",
                       json={"password": PASSWORD, "code": codes[0]}).status_code == 403
    off = client.post("/api/v1/me/second-factor/disable",
                      json={"password": "wrong password", "code": codes[0]}, headers=head)
    assert off.status_code == 400
    off = client.post("/api/v1/me/second-factor/disable",
                      json={"password": PASSWORD, "code": codes[0]}, headers=head)
    assert off.status_code == 200 and off.json()["enrolled"] is False
    _third, answer = _password_step(base)
    assert answer.headers["location"] == "/household"
