"""`safegate user …`: accounts and API tokens from the command line, errors as one line."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sqlalchemy import select

from safegate.app.accounts import authenticate, token_caller
from safegate.app.core import App
from safegate.config import load_settings
from safegate.store.models import AuditLog
from tests.helpers import cli, demo_data_dir

PASSWORD = "một mật khẩu đủ dài"


def test_user_add_list_password_token_and_revoke(tmp_path: Path) -> None:
    data = str(demo_data_dir(tmp_path / "data"))
    added = cli("user", "add", "0912 345 678", "--role", "parent", "--locale", "en", "--json",
                "--password-stdin", "--data-dir", data, stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["login"] == "+84912345678"
    listed = cli("user", "list", "--json", "--data-dir", data)
    logins = {a["login"]: a for a in json.loads(listed.stdout)}
    assert logins["+84912345678"]["locale"] == "en" and "phuhuynh@example.vn" in logins
    again = cli("user", "add", "+84912345678", "--password-stdin", "--data-dir", data,
                stdin=PASSWORD)
    assert again.returncode != 0 and "already" in again.stderr
    assert "Traceback" not in again.stderr
    short = cli("user", "add", "b@example.vn", "--password-stdin", "--data-dir", data,
                stdin="short\n")
    assert short.returncode != 0 and "password" in short.stderr
    bad = cli("user", "add", "12345", "--password-stdin", "--data-dir", data, stdin=PASSWORD)
    assert bad.returncode != 0 and "Vietnamese phone number" in bad.stderr

    token = cli("user", "token", "0912345678", "--scope", "write", "--data-dir", data)
    assert token.returncode == 0, token.stderr
    token_id, secret = token.stdout.split()[1].strip("#"), token.stdout.split()[-1]
    app = App(load_settings(env={}, overrides={"server.data_dir": data}))
    try:
        caller = token_caller(app, secret)
        assert caller is not None and caller.scope == "write"
        assert cli("user", "revoke-token", token_id, "--data-dir", data).returncode == 0
        assert token_caller(app, secret) is None
        changed = cli("user", "password", "0912345678", "--password-stdin", "--data-dir", data,
                      stdin="mật khẩu mới hoàn toàn\n")
        assert changed.returncode == 0, changed.stderr
        assert authenticate(app, "0912345678", "mật khẩu mới hoàn toàn").login == "+84912345678"
        with app.sessions()() as session:  # the account was made by this command line's user
            made = session.scalars(select(AuditLog.actor).where(
                AuditLog.action == "account.create")).all()
        assert made and all(actor.startswith("cli:") for actor in made)
    finally:
        app.close()


def test_user_second_factor_off_removes_a_lost_factor(tmp_path: Path) -> None:
    from safegate.app import second_factor
    from safegate.privacy import otp

    data = str(demo_data_dir(tmp_path / "data"))
    added = cli("user", "add", "lan@example.vn", "--password-stdin", "--data-dir", data,
                stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    app = App(load_settings(env={}, overrides={"server.data_dir": data}))
    try:
        caller = authenticate(app, "lan@example.vn", PASSWORD)
        started = second_factor.begin(app, caller)
        second_factor.confirm(app, caller, otp.totp(started.secret, time.time()))
        assert second_factor.is_enrolled(app, caller.account_id)
        off = cli("user", "second-factor-off", "LAN@example.vn", "--data-dir", data)
        assert off.returncode == 0 and "removed" in off.stdout, off.stderr
        assert not second_factor.is_enrolled(app, caller.account_id)
        again = cli("user", "second-factor-off", "lan@example.vn", "--data-dir", data)
        assert again.returncode == 0 and "was not on" in again.stdout
        nobody = cli("user", "second-factor-off", "ai@example.vn", "--data-dir", data)
        assert nobody.returncode != 0 and "no account" in nobody.stderr
        assert "Traceback" not in nobody.stderr
    finally:
        app.close()
