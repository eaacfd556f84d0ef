"""Forgotten passwords through a real `safegate serve` and a real SMTP server: the same answer
for an account and for nobody, the e-mailed link sets a new password once, and the forms need
their CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    SmtpSink,
    demo_data_dir,
    signed_in_client,
    wait_until,
    web_served,
)

NEW = "mật khẩu mới của Mai 2026"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = demo_data_dir(tmp_path_factory.mktemp("password") / "data")
    sink = SmtpSink()
    config = data / "web.toml"
    config.write_text(f"[notify]\ndeliver_interval = 0\nsmtp_host = \"127.0.0.1\"\n"
                      f"smtp_port = {sink.port}\nsmtp_from = \"safegate@example.vn\"\n"
                      "smtp_starttls = false\n")
    try:
        with web_served("--config", str(config), "--demo", "--no-default-lists", "--data-dir",
                        str(data)) as served:
            yield {"base": served.base, "sink": sink}
    finally:
        sink.stop()


def _csrf(client: httpx.Client, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def _answer(base: str, login: str, host: str | None = None) -> str:
    with httpx.Client(base_url=base) as client:
        csrf = _csrf(client, "/password/forgot")
        answer = client.post("/password/forgot", data={"csrf": csrf, "login": login},
                             headers={"Host": host} if host else {})
        assert answer.status_code == 200
        return answer.text.replace(csrf, "CSRF")


def test_the_same_answer_for_an_account_and_for_nobody_and_the_link_works_once(
        world: dict[str, Any]) -> None:
    base, sink = world["base"], world["sink"]
    with httpx.Client(base_url=base) as anon:
        assert 'href="/password/forgot"' in anon.get("/signin").text
        assert anon.post("/password/forgot", data={"login": DEMO_LOGIN}).status_code == 403
    # A stranger's Host header does not choose where the link points.
    assert _answer(base, "nobody@example.vn") == _answer(base, DEMO_LOGIN, "evil.example")
    assert wait_until(lambda: len(sink.messages) == 1, 10)
    [mail] = sink.messages
    assert mail["To"] == DEMO_LOGIN and "Đặt lại mật khẩu" in mail["Subject"]
    link = re.search(r"http://127\.0\.0\.1:\d+/password/reset\?token=[A-Za-z0-9_-]+",
                     mail.get_content())
    assert link is not None and "evil" not in mail.get_content()

    with httpx.Client() as browser:
        page = browser.get(link.group(0))
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        assert csrf and token
        form = {"csrf": csrf.group(1), "token": token.group(1)}
        differ = browser.post(base + "/password/reset",
                              data={**form, "password": NEW, "again": NEW + "x"})
        assert differ.status_code == 400 and "không giống nhau" in differ.text
        done = browser.post(base + "/password/reset",
                            data={**form, "password": NEW, "again": NEW})
        assert done.status_code == 200 and 'id="reset-done"' in done.text
        again = browser.post(base + "/password/reset",
                             data={**form, "password": NEW, "again": NEW})
        assert again.status_code == 400 and "không còn dùng được" in again.text
    assert signed_in_client(base, DEMO_LOGIN, NEW).get("/api/v1/me").status_code == 200
    with httpx.Client(base_url=base) as old:
        csrf_old = _csrf(old, "/signin")
        refused = old.post("/signin", data={"csrf": csrf_old, "login": DEMO_LOGIN,
                                            "password": DEMO_PASSWORD})
        assert refused.status_code == 401
