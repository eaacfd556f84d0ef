"""Accounts on SQLite and PostgreSQL: logins (e-mail or a Vietnamese phone number), argon2
passwords, the lock-out after wrong passwords, sessions and API tokens (stored hashed,
revocable)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from safegate.app.accounts import (
    MAX_FAILURES,
    AccountError,
    SignInError,
    add_token,
    add_user,
    authenticate,
    end_session,
    list_users,
    normalise_login,
    revoke_token,
    session_caller,
    set_password,
    start_session,
    token_caller,
)
from safegate.app.core import App
from safegate.app.family import add_org
from safegate.config import load_settings
from safegate.store.models import Account, ApiToken, WebSession

PASSWORD = "mật khẩu dài 2026"


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    add_org(made, "Nhà Trần")
    add_org(made, "Nhà Lê")
    yield made
    made.close()


def test_logins_are_e_mail_addresses_or_vietnamese_phone_numbers() -> None:
    assert normalise_login(" Me@Example.VN ") == ("email", "me@example.vn")
    assert normalise_login("0912 345 678") == ("phone", "+84912345678")
    assert normalise_login("+84 91 234 5678") == ("phone", "+84912345678")
    for bad in ("12345", "+1 202 555 0100", "me@", "hello"):
        with pytest.raises(AccountError, match="login"):
            normalise_login(bad)


def test_a_user_signs_in_with_either_form_of_the_number_and_the_hash_is_argon2(
        app: App) -> None:
    view = add_user(app, "0912345678", PASSWORD, org="Nhà Trần", role="parent")
    assert view.login == "+84912345678" and view.org == "Nhà Trần"
    with app.sessions()() as session:
        stored = session.scalars(select(Account.password_hash)).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    caller = authenticate(app, "+84 912 345 678", PASSWORD)
    assert caller.role == "parent" and caller.login == "+84912345678"
    with pytest.raises(AccountError, match="already"):
        add_user(app, "+84912345678", PASSWORD, org="Nhà Lê")
    with pytest.raises(AccountError, match="password"):
        add_user(app, "b@example.vn", "short", org="Nhà Lê")
    with pytest.raises(AccountError, match="role"):
        add_user(app, "b@example.vn", PASSWORD, org="Nhà Lê", role="king")
    assert [v.login for v in list_users(app, "Nhà Lê")] == []


def test_wrong_passwords_lock_the_account_and_the_right_one_is_then_refused(app: App) -> None:
    add_user(app, "me@example.vn", PASSWORD, org="Nhà Trần")
    now = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    with pytest.raises(SignInError, match="wrong login or password"):
        authenticate(app, "nobody@example.vn", PASSWORD, now=now)
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(SignInError) as info:
            authenticate(app, "me@example.vn", "not the password", now=now)
        assert info.value.locked_until is None
    with pytest.raises(SignInError) as info:
        authenticate(app, "me@example.vn", "not the password", now=now)
    assert info.value.locked_until == now + timedelta(minutes=15)
    with pytest.raises(SignInError, match="locked"):
        authenticate(app, "me@example.vn", PASSWORD, now=now + timedelta(minutes=14))
    assert authenticate(app, "me@example.vn", PASSWORD,
                        now=now + timedelta(minutes=16)).login == "me@example.vn"


def test_sessions_are_stored_hashed_and_end_on_sign_out_or_a_new_password(app: App) -> None:
    add_user(app, "me@example.vn", PASSWORD, org="Nhà Trần")
    caller = authenticate(app, "me@example.vn", PASSWORD)
    token, csrf = start_session(app, caller)
    with app.sessions()() as session:
        ids = list(session.scalars(select(WebSession.id)))
    assert token not in ids and len(ids) == 1
    found = session_caller(app, token)
    assert found is not None and found[0].account_id == caller.account_id and found[1] == csrf
    assert session_caller(app, token + "x") is None
    assert session_caller(app, token, now=datetime.now(UTC) + timedelta(days=15)) is None
    # Signing in again later drops the account's expired sessions from the store.
    start_session(app, caller, now=datetime.now(UTC) + timedelta(days=15))
    assert session_caller(app, token) is None
    with app.sessions()() as session:
        assert len(list(session.scalars(select(WebSession.id)))) == 1
    token, csrf = start_session(app, caller)
    end_session(app, token)
    assert session_caller(app, token) is None
    token, _ = start_session(app, caller)
    set_password(app, "me@example.vn", "một mật khẩu mới hơn")
    assert session_caller(app, token) is None


def test_api_tokens_carry_their_scope_and_stop_when_revoked(app: App) -> None:
    add_user(app, "me@example.vn", PASSWORD, org="Nhà Trần")
    token_id, token = add_token(app, "me@example.vn", "home assistant", "read")
    caller = token_caller(app, token)
    assert caller is not None and caller.scope == "read"
    with app.sessions()() as session:
        assert token not in list(session.scalars(select(ApiToken.token_hash)))
    revoke_token(app, token_id)
    assert token_caller(app, token) is None
    assert token_caller(app, "sgt_made_up") is None


def test_every_sign_in_sign_out_password_and_token_step_is_audited_without_secrets(
        app: App) -> None:
    from safegate.privacy import audit
    from safegate.store.models import AuditLog

    add_user(app, "me@example.vn", PASSWORD, org="Nhà Trần")
    now = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    with pytest.raises(SignInError):
        authenticate(app, "a typed password 123", PASSWORD, address="198.51.100.9", now=now)
    with pytest.raises(SignInError):
        authenticate(app, "nobody@example.vn", PASSWORD, address="198.51.100.9", now=now)
    for _ in range(MAX_FAILURES):
        with pytest.raises(SignInError):
            authenticate(app, "me@example.vn", "not the password", address="203.0.113.5",
                         now=now)
    with pytest.raises(SignInError, match="locked"):
        authenticate(app, "me@example.vn", PASSWORD, address="203.0.113.5", now=now)
    caller = authenticate(app, "me@example.vn", PASSWORD, address="192.0.2.44",
                          now=now + timedelta(minutes=16))
    token, _ = start_session(app, caller)
    end_session(app, token, address="192.0.2.44")
    set_password(app, "me@example.vn", "một mật khẩu mới hơn", actor="cli:root")
    token_id, api_token = add_token(app, "me@example.vn", "home assistant", actor="cli:root")
    revoke_token(app, token_id, actor="cli:root")
    revoke_token(app, token_id, actor="cli:root")  # already revoked: nothing new
    with app.sessions()() as session:
        rows = session.scalars(select(AuditLog).order_by(AuditLog.seq)).all()
        assert audit.verify(session).ok
    steps = [(r.action, r.actor, r.detail.get("from")) for r in rows]
    assert steps == [
        ("account.create", "operator", None),
        ("account.signin_unknown", "anonymous", "198.51.100.9"),
        ("account.signin_unknown", "anonymous", "198.51.100.9"),
        *[("account.signin_failed", "me@example.vn", "203.0.113.5")] * MAX_FAILURES,
        ("account.locked", "me@example.vn", "203.0.113.5"),
        ("account.signin_locked", "me@example.vn", "203.0.113.5"),
        ("account.signin", "me@example.vn", "192.0.2.44"),
        ("account.signout", "me@example.vn", "192.0.2.44"),
        ("account.password_set", "cli:root", None),
        ("token.create", "cli:root", None),
        ("token.revoke", "cli:root", None),
    ]
    assert rows[-1].detail["token_id"] == token_id and rows[-1].object_id == str(rows[0].object_id)
    text = " ".join(f"{r.actor} {r.object_id} {r.detail} {r.why}" for r in rows)
    for secret in (PASSWORD, "not the password", "một mật khẩu mới hơn", api_token, token,
                   "a typed password", "nobody@example.vn"):
        assert secret not in text
