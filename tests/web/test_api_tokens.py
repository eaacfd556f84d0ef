"""A parent's own API tokens against a real `safegate serve`: made on the page (shown once,
only the hash stored), used as a bearer token within its scope (a read token reads, cannot
change), listed by name, revoked at once (then 401); made and revoked from a session only,
never by a token; nobody revokes another account's token; both steps audited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from safegate.app.accounts import add_user
from safegate.app.core import App
from safegate.app.family import add_org
from safegate.config import load_settings
from safegate.store.models import ApiToken, AuditLog
from tests.helpers import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    demo_data_dir,
    signed_in_client,
    web_served,
)

OTHER, OTHER_PASSWORD = "0912345678", "mật khẩu nhà Lê 2026"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = demo_data_dir(tmp_path_factory.mktemp("tokens") / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    add_org(app, "Nhà Lê")
    add_user(app, OTHER, OTHER_PASSWORD, org="Nhà Lê")
    app.close()
    (data / "web.toml").write_text("[web]\nlogin_attempts_per_minute = 1000\n")
    with web_served("--config", str(data / "web.toml"), "--demo", "--no-default-lists",
                    "--data-dir", str(data)) as served:
        yield {"base": served.base, "data": data}


def _made(page: str) -> str:
    found = re.search(r'id="new-token" type="text" readonly value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def test_a_parent_makes_uses_and_revokes_a_token(world: dict[str, Any]) -> None:
    base = world["base"]
    parent = signed_in_client(base, DEMO_LOGIN, DEMO_PASSWORD)
    assert 'href="/account/tokens"' in parent.get("/account/security").text
    form = parent.get("/account/tokens").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    assert parent.post("/account/tokens", data={"name": "x", "scope": "read"}).status_code \
        == 403  # no CSRF token
    made = parent.post("/account/tokens", data={"csrf": csrf, "name": "Bảng điều khiển",
                                                "scope": "read"})
    assert made.status_code == 200
    token = _made(made.text)
    listed = parent.get("/api/v1/me/tokens").json()
    assert [(t["name"], t["scope"]) for t in listed] == [("Bảng điều khiển", "read")]
    assert token not in parent.get("/account/tokens").text + str(listed)  # shown once
    reader = {"Authorization": f"Bearer {token}"}
    assert httpx.get(base + "/api/v1/household", headers=reader, timeout=30).status_code == 200
    child = httpx.get(base + "/api/v1/household", headers=reader,
                      timeout=30).json()["children"][0]["id"]
    assert httpx.post(base + f"/api/v1/children/{child}/pause", headers=reader, json={},
                      timeout=30).status_code == 403  # read only
    # A token cannot make or revoke tokens.
    assert httpx.post(base + "/api/v1/me/tokens", headers=reader, timeout=30,
                      json={"name": "more", "scope": "write"}).status_code == 403
    assert httpx.delete(base + f"/api/v1/me/tokens/{listed[0]['id']}", headers=reader,
                        timeout=30).status_code == 403
    # Another family's parent cannot revoke it; its owner can, and it stops at once.
    other = signed_in_client(base, OTHER, OTHER_PASSWORD)
    assert other.delete(f"/api/v1/me/tokens/{listed[0]['id']}",
                        headers={"X-CSRF-Token": other.csrf}).status_code == 404
    assert other.get("/api/v1/me/tokens").json() == []
    gone = parent.post(f"/account/tokens/{listed[0]['id']}/revoke", data={"csrf": csrf},
                       follow_redirects=False)
    assert gone.status_code == 303
    assert httpx.get(base + "/api/v1/household", headers=reader, timeout=30).status_code == 401
    assert parent.get("/api/v1/me/tokens").json() == []
    bad = parent.post("/account/tokens", data={"csrf": csrf, "name": "y", "scope": "admin"})
    assert bad.status_code == 400 and 'id="token-error"' in bad.text
    via_api = parent.post("/api/v1/me/tokens", headers={"X-CSRF-Token": parent.csrf},
                          json={"name": "Home Assistant", "scope": "write"})
    assert via_api.status_code == 201 and via_api.json()["token"].startswith("sgt_")
    parent.close()
    other.close()
    app = App(load_settings(env={}, overrides={"server.data_dir": str(world["data"])}))
    try:
        with app.sessions()() as session:
            hashes = list(session.scalars(select(ApiToken.token_hash)))
            actions = [(e.action, e.actor) for e in session.scalars(
                select(AuditLog).where(AuditLog.action.in_(("token.create", "token.revoke")))
                .order_by(AuditLog.seq))]
    finally:
        app.close()
    assert token not in hashes and len(hashes) == 2
    assert actions == [("token.create", DEMO_LOGIN), ("token.revoke", DEMO_LOGIN),
                       ("token.create", DEMO_LOGIN)]


def test_the_token_api_is_in_the_schema(world: dict[str, Any]) -> None:
    paths = httpx.get(world["base"] + "/api/openapi.json", timeout=30).json()["paths"]
    assert "/api/v1/me/tokens" in paths and "/api/v1/me/tokens/{token_id}" in paths
    assert "/account/tokens" not in paths


def test_tokens_need_a_name(tmp_path: Path) -> None:
    from safegate.app.accounts import AccountError, add_own_token, caller_of, find_account

    data = demo_data_dir(tmp_path / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    try:
        with app.sessions()() as session:
            caller = caller_of(find_account(session, DEMO_LOGIN))  # type: ignore[arg-type]
        with pytest.raises(AccountError, match="name"):
            add_own_token(app, caller, "  ", "read")
    finally:
        app.close()
