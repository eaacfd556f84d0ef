"""Invite links and sign-up in the app layer: who may invite whom, the invite's organisation
and role are the account's, a link works once and not after it expires, only its hash is
stored, and a sign-up makes a household and its first parent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from safegate.app.access import Forbidden
from safegate.app.accounts import AccountError, Caller, add_user, authenticate
from safegate.app.core import App
from safegate.app.explain import NotFound
from safegate.app.family import add_org
from safegate.app.invites import (
    InviteError,
    accept_invite,
    create_invite,
    free_name,
    list_invites,
    revoke_invite,
    show_invite,
    sign_up,
)
from safegate.config import load_settings
from safegate.store.models import Invite, Organisation

PASSWORD = "mật khẩu dài 2026"


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    add_org(made, "Nhà Trần")
    add_org(made, "Trường Kim Liên", kind="school")
    yield made
    made.close()


def _caller(app: App, org: str, role: str, login: str) -> Caller:
    add_user(app, login, PASSWORD, org=org, role=role)
    return authenticate(app, login, PASSWORD)


def test_who_may_invite_whom(app: App) -> None:
    parent = _caller(app, "Nhà Trần", "parent", "me@example.vn")
    admin = _caller(app, "Trường Kim Liên", "school_admin", "bgh@example.vn")
    teacher = _caller(app, "Trường Kim Liên", "teacher", "gv@example.vn")
    create_invite(app, parent, "parent")
    create_invite(app, admin, "teacher")
    for caller, role in ((parent, "teacher"), (teacher, "teacher"), (teacher, "parent"),
                         (admin, "parent")):  # a parent of a school would see every pupil
        with pytest.raises(Forbidden):
            create_invite(app, caller, role)
    reader = Caller(parent.account_id, parent.org_id, "parent", "x", "x", "vi", scope="read")
    with pytest.raises(Forbidden):
        create_invite(app, reader, "parent")
    with pytest.raises(InviteError, match="role"):
        create_invite(app, admin, "operator")
    operator = _caller(app, "Nhà Trần", "operator", "op@example.vn")
    with pytest.raises(InviteError, match="into a school"):
        create_invite(app, operator, "teacher")
    assert create_invite(app, operator, "parent")[1].org == "Nhà Trần"


def test_an_invite_fixes_organisation_and_role_and_works_once(app: App) -> None:
    admin = _caller(app, "Trường Kim Liên", "school_admin", "bgh@example.vn")
    token, view = create_invite(app, admin, "teacher")
    assert (view.org, view.role) == ("Trường Kim Liên", "teacher")
    with app.sessions()() as session:
        stored = session.scalars(select(Invite.token_hash)).all()
    assert token not in stored and len(stored) == 1
    assert show_invite(app, token).role == "teacher"
    with pytest.raises(AccountError, match="password"):
        accept_invite(app, token, "co.mai@example.vn", "short")
    teacher = accept_invite(app, token, "co.mai@example.vn", PASSWORD, display_name="Cô Mai")
    assert (teacher.org_id, teacher.role, teacher.name) == (admin.org_id, "teacher", "Cô Mai")
    assert authenticate(app, "co.mai@example.vn", PASSWORD).role == "teacher"
    for attempt in (lambda: show_invite(app, token),
                    lambda: accept_invite(app, token, "other@example.vn", PASSWORD)):
        with pytest.raises(InviteError, match="not valid"):
            attempt()
    with pytest.raises(InviteError, match="not valid"):
        show_invite(app, token + "x")


def test_pending_invites_are_listed_without_tokens_and_can_be_revoked(app: App) -> None:
    parent = _caller(app, "Nhà Trần", "parent", "me@example.vn")
    admin = _caller(app, "Trường Kim Liên", "school_admin", "bgh@example.vn")
    token, _view = create_invite(app, parent, "parent")
    create_invite(app, admin, "teacher")
    listed = list_invites(app, parent)
    assert [i["role"] for i in listed] == ["parent"] and token not in str(listed)
    with pytest.raises(NotFound):
        revoke_invite(app, admin, listed[0]["id"])  # another organisation's
    revoke_invite(app, parent, listed[0]["id"])
    assert list_invites(app, parent) == []
    with pytest.raises(InviteError, match="not valid"):
        accept_invite(app, token, "0912345678", PASSWORD)


def test_an_expired_invite_is_refused(app: App) -> None:
    parent = _caller(app, "Nhà Trần", "parent", "me@example.vn")
    long_ago = datetime.now(UTC) - timedelta(days=8)
    token, _view = create_invite(app, parent, "parent", now=long_ago)
    with pytest.raises(InviteError, match="not valid"):
        accept_invite(app, token, "0912345678", PASSWORD)
    assert accept_invite(app, token, "0912345678", PASSWORD,
                         now=long_ago + timedelta(days=6)).role == "parent"


def test_sign_up_makes_a_household_and_its_first_parent(app: App) -> None:
    made = sign_up(app, "0987 111 222", PASSWORD, "Nhà Trần", display_name="Mẹ Hoa")
    assert (made.role, made.login, made.name) == ("parent", "+84987111222", "Mẹ Hoa")
    with app.sessions()() as session:
        org = session.get_one(Organisation, made.org_id)
        assert (org.name, org.kind) == ("Nhà Trần (2)", "household")
    with pytest.raises(AccountError, match="has an account already"):
        sign_up(app, "0987111222", PASSWORD, "Nhà Hoa")
    with pytest.raises(AccountError, match="login"):
        sign_up(app, "not a phone", PASSWORD, "Nhà Hoa")
    assert free_name("Nhà A", {"nhà a", "nhà a (2)"}) == "Nhà A (3)"
