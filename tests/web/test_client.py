"""Where a request comes from: the X-Forwarded-For header counts only from a trusted proxy,
and a real `safegate serve` records that address on a sign-in and counts attempts by it."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import httpx
from sqlalchemy import select

from safegate.app.core import App
from safegate.config import load_settings
from safegate.store.models import AuditLog
from safegate.web.client import address_from
from tests.helpers import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    demo_data_dir,
    signed_in_client,
    start_web_serve,
)

PROXY = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")]


def test_the_header_counts_only_from_a_trusted_proxy() -> None:
    assert address_from("198.51.100.7", "203.0.113.1", PROXY) == "198.51.100.7"
    assert address_from("10.1.2.3", "203.0.113.1", PROXY) == "203.0.113.1"
    # the client's own claim (leftmost) loses to what the trusted hops saw
    assert address_from("10.1.2.3", "1.2.3.4, 203.0.113.1, 10.9.9.9", PROXY) == "203.0.113.1"
    assert address_from("::1", "[2001:db8::5]:4711", PROXY) == "2001:db8::5"
    assert address_from("10.1.2.3", "203.0.113.1:5000", PROXY) == "203.0.113.1"
    assert address_from("10.1.2.3", "junk, 10.2.2.2", PROXY) == "10.2.2.2"
    assert address_from("10.1.2.3", None, PROXY) == "10.1.2.3"
    assert address_from("10.1.2.3", "203.0.113.1", []) == "10.1.2.3"


def _sign_in_fails(base: str, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/signin")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token is not None
        answer = client.post("/signin", headers=headers, data={
            "csrf": token.group(1), "login": "nobody@example.vn", "password": "x" * 12})
        assert answer.status_code == 401


def test_a_served_sign_in_records_the_address_the_proxy_saw(tmp_path: Path) -> None:
    for trusted, expected in (("", "127.0.0.1"), ('"127.0.0.0/8"', "203.0.113.77")):
        data = tmp_path / f"data{bool(trusted)}"
        config = tmp_path / f"web{bool(trusted)}.toml"
        config.write_text(f"[web]\ntrusted_proxies = [{trusted}]\n")
        serve = start_web_serve("--config", str(config), "--no-default-lists", "--data-dir",
                                str(data), "--upstream", "127.0.0.1:9")
        try:
            _sign_in_fails(serve.base, {"X-Forwarded-For": "203.0.113.77"})
        finally:
            serve.stop()
        app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
        try:
            with app.sessions()() as session:
                last = session.execute(select(AuditLog.action, AuditLog.detail)
                                       .order_by(AuditLog.seq.desc()).limit(1)).one()
        finally:
            app.close()
        assert last[0] == "account.signin_unknown" and last[1]["from"] == expected


def test_behind_a_trusted_proxy_each_client_has_its_own_attempts(tmp_path: Path) -> None:
    """The second factor's steps count against the sign-in limit of the address the proxy
    saw, like the sign-in form (two a minute here): one client going over it does not stop
    the next one behind the same proxy."""
    data = demo_data_dir(tmp_path / "data")
    config = tmp_path / "web.toml"
    config.write_text('[web]\ntrusted_proxies = ["127.0.0.0/8"]\nlogin_attempts_per_minute = 2\n')
    serve = start_web_serve("--config", str(config), "--demo", "--no-default-lists",
                            "--data-dir", str(data), "--upstream", "127.0.0.1:9")
    try:
        client = signed_in_client(serve.base, DEMO_LOGIN, DEMO_PASSWORD)

        def disable(forwarded_for: str) -> int:
            answer = client.post("/api/v1/me/second-factor/disable",
                                 json={"password": DEMO_PASSWORD, "code": "000000"},
                                 headers={"x-csrf-token": client.csrf,
                                          "x-forwarded-for": forwarded_for})
            return int(answer.status_code)

        # No factor is on: refused (400) after the limit let the attempt through.
        assert [disable("203.0.113.1") for _ in range(3)] == [400, 400, 429]
        assert disable("203.0.113.2") == 400
    finally:
        serve.stop()
