"""Every form a signed-in person can post, and the query of every page, sent odd values
against a real `safegate serve`: empty, very long, a NUL, an emoji, numbers out of range, a
time that is none, markup, a path, an unknown time zone, control characters. Each form gets
each value in every field (with a valid CSRF token, the caller's role and real rows in its
path), and no answer may be a 5xx, show a traceback or be FastAPI's JSON for the API (422):
a wrong form field gets a clear message on a page, never a server error. The forms and pages
are read from the app's own routes, so a new one is tried without a change here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from safegate.app.accounts import add_user
from safegate.app.core import App
from safegate.app.family import add_org, list_children, list_devices
from safegate.app.requests import create
from safegate.app.school import add_class
from safegate.config import load_settings
from safegate.web.application import create_app
from tests.helpers import DEMO_LOGIN, DEMO_PASSWORD, demo_data_dir, signed_in_client, web_served

PASSWORD = "mật khẩu kiểm tra 2026"
OPERATOR, SCHOOL_ADMIN = "vanhanh@example.vn", "bgh@truong.edu.vn"
ODD = ["", " ", "x" * 5000, "\x00", "💥🧨", "-1", "0", "99999999999999999999999", "25:99",
       "<script>alert(1)</script>", "../../etc/passwd", "Mars/Olympus", "id:999999",
       "a\u008ab", "2026-13-45", "on"]
# Posted elsewhere with their own checks (sign-in, its code, password reset, sign-up, an
# invite's form) or ending the session the others need.
SKIPPED = ("/signin", "/signin/code", "/signout", "/password/forgot", "/password/reset",
           "/signup", "/invite/{token}", "/account/totp/disable")
# Forms that read their own fields from the request: the names they read.
READ_BY_HAND = ["name", "days", "start", "end", "block_all", "categories", "services",
                "allow", "category", "edit", "file"]
# Pages that read their query by hand: every name such a page reads.
QUERY_BY_HAND = ["domain", "resolve", "svc", "rules", "note", "period", "day", "from", "to",
                 "child", "device", "category", "blocked", "q", "page", "since", "edit",
                 "everything", "next", "lang", "band"]


def _forms(method: str = "POST") -> list[tuple[str, list[str]]]:
    """(path, fields) of every form of the web app (not the API) sent with ``method``: for
    POST the body's fields, for GET the query's."""
    import tempfile

    app = App(load_settings(env={}, overrides={"server.data_dir": tempfile.mkdtemp()}))
    try:
        web = create_app(app)
        found = []
        for mounted in web.routes:
            router = getattr(mounted, "original_router", None)
            for route in getattr(router, "routes", ()):
                if method not in (getattr(route, "methods", None) or ()) or \
                        route.path.startswith("/api/") or route.path in SKIPPED:
                    continue
                params = (route.dependant.body_params if method == "POST"
                          else route.dependant.query_params)
                fields = [p.name for p in params if p.name != "csrf"]
                found.append((route.path, fields or (READ_BY_HAND if method == "POST"
                                                     else QUERY_BY_HAND)))
        return found
    finally:
        app.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = demo_data_dir(tmp_path_factory.mktemp("forms") / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    add_org(app, "SafeGate vận hành", kind="operator")
    add_user(app, OPERATOR, PASSWORD, role="operator", org="SafeGate vận hành")
    school = add_org(app, "Trường THCS Ba Đình", kind="school")
    add_user(app, SCHOOL_ADMIN, PASSWORD, role="school_admin", org="Trường THCS Ba Đình")
    klass = add_class(app, school.id, "6A")
    request = create(app, "An", "roblox.com", message="con muốn chơi")
    ids = {"child_id": list_children(app)[0].id, "device_id": list_devices(app)[0].id,
           "request_id": request.id, "class_id": klass.id, "alert_id": 1, "invite_id": 1,
           "notice_id": 1, "account_id": 1, "token_id": 1}
    app.close()
    (data / "web.toml").write_text("[web]\nlogin_attempts_per_minute = 10000\n")
    with web_served("--config", str(data / "web.toml"), "--demo", "--no-default-lists",
                    "--data-dir", str(data)) as served:
        yield {"base": served.base, "ids": ids}


def _client(base: str, login: str, password: str) -> tuple[httpx.Client, str]:
    client = signed_in_client(base, login, password)
    page = client.get("/account/security").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    return client, csrf.group(1)


def test_no_form_answers_a_server_error_whatever_it_is_sent(world: dict[str, Any]) -> None:
    base, ids = world["base"], world["ids"]
    callers = {"": _client(base, DEMO_LOGIN, DEMO_PASSWORD),
               "/operator": _client(base, OPERATOR, PASSWORD),
               "/school": _client(base, SCHOOL_ADMIN, PASSWORD)}
    forms = _forms()
    assert len(forms) >= 30  # the routes were read
    broken: list[str] = []
    statuses: dict[int, int] = {}
    for path, fields in forms:
        who = next((k for k in ("/operator", "/school") if path.startswith(k)), "")
        client, csrf = callers[who]
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), path)
        for value in ODD:
            answer = client.post(url, data={"csrf": csrf, **dict.fromkeys(fields, value)},
                                 follow_redirects=False)
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            # A 422 is FastAPI's JSON for the API; a page form gets the error page (400).
            if answer.status_code >= 500 or answer.status_code == 422 or \
                    "Traceback" in answer.text:
                broken.append(f"POST {url} {fields} = {value[:20]!r}: {answer.status_code} "
                              f"{answer.text[:200]!r}")
    client, csrf = callers[""]
    missing = client.post("/children/new", data={"csrf": csrf})  # no name, no birth year
    assert missing.status_code == 400 and "name: cần điền giá trị" in missing.text
    assert '<html lang="vi">' in missing.text
    for client, _ in callers.values():
        client.close()
    assert sum(n for code, n in statuses.items() if code < 400) >= len(forms), statuses
    assert not broken, "\n".join(broken)


def test_no_page_answers_a_server_error_whatever_its_query(world: dict[str, Any]) -> None:
    """The same odd values in every query parameter of every page (GET)."""
    base, ids = world["base"], world["ids"]
    callers = {"": _client(base, DEMO_LOGIN, DEMO_PASSWORD)[0],
               "/operator": _client(base, OPERATOR, PASSWORD)[0],
               "/school": _client(base, SCHOOL_ADMIN, PASSWORD)[0]}
    pages = _forms("GET")
    assert len(pages) >= 20  # household, a child, activity, report, schedules, about-me, …
    broken: list[str] = []
    for path, fields in pages:
        who = next((k for k in ("/operator", "/school") if path.startswith(k)), "")
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), path)
        for value in ODD:
            # A URL carries less than a body: the long value is cut to 400 characters.
            answer = callers[who].get(url, params=dict.fromkeys(fields, value[:400]),
                                      follow_redirects=False)
            if answer.status_code >= 500 or answer.status_code == 422 or \
                    "Traceback" in answer.text:
                broken.append(f"GET {url} {fields} = {value[:20]!r}: {answer.status_code} "
                              f"{answer.text[:200]!r}")
    for client in callers.values():
        client.close()
    assert not broken, "\n".join(broken)
