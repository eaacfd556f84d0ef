"""The TOTP second factor through a real `safegate serve`: turn it on from the account page
(key as text and QR code, confirmed by a first code, recovery codes shown once), sign-in then
asks for a code after the password (a wrong or replayed code is refused, a recovery code
works once), the code form needs its CSRF token and a live ticket, and turning it off needs
the password and a code."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from safegate.privacy import otp
from tests.helpers import demo_data_dir, signed_in_client, web_served

LOGIN, PASSWORD = "phuhuynh@example.vn", "demo-safegate"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = demo_data_dir(tmp_path_factory.mktemp("totp") / "data")
    config = data / "web.toml"  # every attempt here comes from 127.0.0.1
    config.write_text("[web]\nlogin_attempts_per_minute = 60\n")
    with web_served("--config", str(config), "--demo", "--no-default-lists", "--data-dir",
                    str(data)) as served:
        yield served.base


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
