"""Password reset through the alert e-mails' sender, against a real SMTP server: a link for
an account with an e-mail address, the same nothing for an unknown one, a link that works
once and not after its hour, at most three links an hour, and the new password signs in
while the old one and the account's sessions are gone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from safegate.app.accounts import SignInError, add_user, authenticate, session_caller, start_session
from safegate.app.core import App
from safegate.app.family import add_org
from safegate.app.password_reset import (
    PER_HOUR,
    ResetError,
    prepare_reset,
    reset_password,
    send_reset,
)
from safegate.config import load_settings
from safegate.store.models import PasswordReset
from tests.helpers import SmtpSink

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
OLD, NEW = "mật khẩu cũ của Lan", "mật khẩu mới của Lan 2026"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    yield server
    server.stop()


@pytest.fixture
def app(engine: Engine, tmp_path: Path, sink: SmtpSink) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "data"), "notify.smtp_host": "127.0.0.1",
        "notify.smtp_port": sink.port, "notify.smtp_from": "safegate@example.vn",
        "notify.smtp_starttls": False}))
    add_org(made, "Nhà Lan")
    add_user(made, "lan@example.vn", OLD, org="Nhà Lan", locale="en")
    add_user(made, "0912345678", "mật khẩu của số điện thoại", org="Nhà Lan")
    yield made
    made.close()


def _token(sink: SmtpSink, index: int = -1) -> str:
    found = re.search(r"/password/reset\?token=([A-Za-z0-9_-]+)",
                      sink.messages[index].get_content())
    assert found is not None
    return found.group(1)


def test_a_link_by_email_sets_the_password_once(app: App, sink: SmtpSink) -> None:
    caller = authenticate(app, "lan@example.vn", OLD)
    session_token, _ = start_session(app, caller)
    prepared = prepare_reset(app, "LAN@example.vn ", "http://safegate.home", now=NOW)
    assert prepared is not None and "token" not in repr(prepared)
    assert send_reset(app, prepared)
    [mail] = sink.messages
    assert mail["To"] == "lan@example.vn" and "Reset your password" in mail["Subject"]
    token = _token(sink)
    with app.sessions()() as session:
        [row] = session.scalars(select(PasswordReset)).all()
        assert row.token_hash != token and token not in row.token_hash  # only its hash

    with pytest.raises(ValueError, match="at least 10"):
        reset_password(app, token, "short", now=NOW)  # the link still works after this
    assert reset_password(app, token, NEW, now=NOW + timedelta(minutes=5)) == "lan@example.vn"
    assert authenticate(app, "lan@example.vn", NEW).login == "lan@example.vn"
    with pytest.raises(SignInError):
        authenticate(app, "lan@example.vn", OLD)
    assert session_caller(app, session_token) is None  # every session ended
    with pytest.raises(ResetError, match="does not work"):
        reset_password(app, token, "yet another password", now=NOW + timedelta(minutes=6))


def test_unknown_or_phone_accounts_get_nothing(app: App, sink: SmtpSink) -> None:
    for login in ("nobody@example.vn", "0912345678", "not a login at all"):
        assert prepare_reset(app, login, "http://safegate.home", now=NOW) is None
    assert sink.messages == []


def test_a_link_expires_after_an_hour_and_three_an_hour_at_most(
        app: App, sink: SmtpSink) -> None:
    first = prepare_reset(app, "lan@example.vn", "http://x", now=NOW)
    assert first is not None and send_reset(app, first)
    with pytest.raises(ResetError):
        reset_password(app, _token(sink), NEW, now=NOW + timedelta(minutes=61))
    for _ in range(PER_HOUR - 1):
        assert prepare_reset(app, "lan@example.vn", "http://x", now=NOW) is not None
    assert prepare_reset(app, "lan@example.vn", "http://x", now=NOW) is None
    assert prepare_reset(app, "lan@example.vn", "http://x",
                         now=NOW + timedelta(minutes=61)) is not None
    with app.sessions()() as session:
        assert len(session.scalars(select(PasswordReset)).all()) == PER_HOUR + 1
    # a request two days later clears the links that ended more than a day before
    assert prepare_reset(app, "nobody@example.vn", "http://x",
                         now=NOW + timedelta(days=2)) is None
    with app.sessions()() as session:
        assert session.scalars(select(PasswordReset)).all() == []


def test_using_one_link_voids_the_others(
        app: App, sink: SmtpSink) -> None:
    for _ in range(2):
        prepared = prepare_reset(app, "lan@example.vn", "http://x", now=NOW)
        assert prepared is not None and send_reset(app, prepared)
    first, second = _token(sink, 0), _token(sink, 1)
    reset_password(app, second, NEW, now=NOW)
    with pytest.raises(ResetError):
        reset_password(app, first, "another new password", now=NOW)
