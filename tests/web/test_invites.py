"""Invite links and sign-up over real HTTP against a real `safegate serve`: a parent invites
a second parent through the page, a school admin a teacher through the API; the invitee's
form cannot choose the organisation or role; a link works once; sign-up creates a household
and signs its parent in, and shares the sign-in rate limit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from safegate.app.accounts import add_user
from safegate.app.core import App
from safegate.app.family import add_org
from safegate.config import load_settings
from safegate.store.demo import DEMO_ORG_NAME
from tests.helpers import (
    WebServe,
    demo_data_dir,
    signed_in_client,
    web_served,
)

PARENT, PARENT_PASSWORD = "phuhuynh@example.vn", "demo-safegate"
ADMIN, PASSWORD = "bgh@truong.edu.vn", "mật khẩu trường 2026"
LIMIT = 5  # sign-in attempts a minute per address, in this module's server


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServe]:
    data = demo_data_dir(tmp_path_factory.mktemp("invites") / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    add_org(app, "Trường THCS Ba Đình", kind="school")
    add_user(app, ADMIN, PASSWORD, org="Trường THCS Ba Đình", role="school_admin")
    app.close()
    config = data / "web.toml"
    config.write_text(f"[web]\nsignup = true\nlogin_attempts_per_minute = {LIMIT}\n")
    with web_served("--config", str(config), "--demo", "--no-default-lists", "--data-dir",
                    str(data)) as serve:
        yield serve


def _from(base: str, source: str) -> httpx.Client:
    """A client whose requests come from ``source`` (each test its own rate-limit budget)."""
    return httpx.Client(base_url=base, timeout=30,
                        transport=httpx.HTTPTransport(local_address=source))


def _form_token(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def _me(client: httpx.Client) -> dict[str, Any]:
    answer = client.get("/api/v1/me")
    assert answer.status_code == 200, answer.text
    me: dict[str, Any] = answer.json()
    return me


def test_a_parent_invites_a_second_parent_through_the_page(served: WebServe) -> None:
    parent = signed_in_client(served.base, PARENT, PARENT_PASSWORD)
    household = _me(parent)["org_id"]
    assert 'href="/invites"' in parent.get("/household").text
    made = parent.post("/invites", data={"csrf": parent.csrf, "role": "parent"})
    assert made.status_code == 200
    link = re.search(r'id="invite-link"[^>]*value="([^"]+)"', made.text)
    assert link is not None and "/invite/sgi_" in link.group(1)
    path = link.group(1).removeprefix(served.base)
    assert parent.post("/invites", data={"csrf": parent.csrf, "role": "teacher"}
                       ).status_code == 403
    spare = parent.post("/invites", data={"csrf": parent.csrf, "role": "parent"})
    spare_path = re.search(r'id="invite-link"[^>]*value="([^"]+)"', spare.text)
    assert spare_path is not None
    pending = parent.get("/api/v1/invites").json()
    assert len(pending) == 2 and "sgi_" not in str(pending)
    assert parent.post(f"/invites/{pending[0]['id']}/revoke",
                       data={"csrf": parent.csrf}).status_code == 303
    assert len(parent.get("/api/v1/invites").json()) == 1
    with _from(served.base, "127.0.0.30") as stranger:
        assert stranger.get(spare_path.group(1).removeprefix(served.base)).status_code == 404
    with _from(served.base, "127.0.0.31") as invitee:
        page = invitee.get(path)
        assert page.status_code == 200 and DEMO_ORG_NAME in page.text
        token = _form_token(invitee, path)
        assert invitee.post(path, data={"login": "bo@example.vn", "password": PASSWORD}
                            ).status_code == 403  # no CSRF token
        joined = invitee.post(path, data={
            "csrf": token, "login": "bo@example.vn", "password": PASSWORD,
            "display_name": "Bố Minh", "role": "operator", "org_id": "999", "org": "x"})
        assert joined.status_code == 303 and joined.headers["location"] == "/household"
        me = _me(invitee)
        assert (me["role"], me["org_id"], me["name"]) == ("parent", household, "Bố Minh")
        assert invitee.get("/household").status_code == 200
    with _from(served.base, "127.0.0.32") as late:
        assert late.get(path).status_code == 404
        late.cookies.set("sg_login_csrf", "t")
        again = late.post(path, data={"csrf": "t", "login": "x@example.vn",
                                      "password": PASSWORD})
        assert again.status_code == 404 and "not valid" in again.text


def test_a_school_admin_invites_a_teacher_through_the_api(served: WebServe) -> None:
    admin = signed_in_client(served.base, ADMIN, PASSWORD)
    school = _me(admin)["org_id"]
    made = admin.post("/api/v1/invites", json={"role": "teacher", "days": 2},
                      headers={"x-csrf-token": admin.csrf})
    assert made.status_code == 200, made.text
    assert (made.json()["role"], made.json()["org"]) == ("teacher", "Trường THCS Ba Đình")
    path = made.json()["url"].removeprefix(served.base)
    with _from(served.base, "127.0.0.33") as teacher:
        token = _form_token(teacher, path)
        short = teacher.post(path, data={"csrf": token, "login": "0911222333",
                                         "password": "short"})
        assert short.status_code == 400 and "at least 10 characters" in short.text
        joined = teacher.post(path, data={"csrf": token, "login": "0911 222 333",
                                          "password": PASSWORD})
        assert joined.status_code == 303 and joined.headers["location"] == "/school"
        me = _me(teacher)
        assert (me["role"], me["org_id"], me["login"]) == ("teacher", school, "+84911222333")
        assert teacher.post("/api/v1/invites", json={"role": "teacher"},
                            headers={"x-csrf-token": me["csrf"]}).status_code == 403


def test_sign_up_creates_a_household_and_shares_the_sign_in_rate_limit(
        served: WebServe) -> None:
    with _from(served.base, "127.0.0.34") as newcomer:
        token = _form_token(newcomer, "/signup")
        made = newcomer.post("/signup", data={
            "csrf": token, "household": DEMO_ORG_NAME, "display_name": "Mẹ Lan",
            "login": "me.lan@example.vn", "password": PASSWORD})
        assert made.status_code == 303 and made.headers["location"] == "/household"
        me = _me(newcomer)
        assert me["role"] == "parent" and me["name"] == "Mẹ Lan"
        page = newcomer.get("/household")
        assert f"{DEMO_ORG_NAME} (2)" in page.text  # and no child of the other household:
        assert re.search(r"/children/\d", page.text) is None, page.text
    with _from(served.base, "127.0.0.35") as guesser:
        token = _form_token(guesser, "/signup")
        answers = [guesser.post("/signup", data={
            "csrf": token, "household": "Nhà X", "login": "me.lan@example.vn",
            "password": PASSWORD}).status_code for _ in range(LIMIT + 1)]
        assert answers == [400] * LIMIT + [429]
        signin = _form_token(guesser, "/signin")
        assert guesser.post("/signin", data={"csrf": signin, "login": "me.lan@example.vn",
                                             "password": PASSWORD}).status_code == 429
