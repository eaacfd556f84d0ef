"""The TOTP second factor on SQLite and PostgreSQL: enrolment confirmed by a first code, the
secret encrypted at rest, a code works once, recovery codes once each, wrong codes lock the
account even when the password is typed again, disabling needs password and code, the audit
log records it all, and key rotation moves the secret to the new key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from safegate.app import second_factor as sf
from safegate.app.accounts import MAX_FAILURES, SignInError, add_user, authenticate
from safegate.app.core import App
from safegate.app.family import add_org
from safegate.app.keys import reencrypt, rotate_key
from safegate.config import load_settings
from safegate.privacy import otp
from safegate.store.models import AccountTotp, AuditLog, RecoveryCode

LOGIN, PASSWORD = "me@example.vn", "mật khẩu dài 2026"
T0 = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    add_org(made, "Nhà Trần")
    add_user(made, LOGIN, PASSWORD)
    yield made
    made.close()


def _enrolled(app: App) -> tuple[str, list[str]]:
    caller = authenticate(app, LOGIN, PASSWORD)
    started = sf.begin(app, caller)
    return started.secret, sf.confirm(app, caller, otp.totp(started.secret, T0.timestamp()),
                                      now=T0)


def test_enrolment_needs_a_first_code_and_stores_the_secret_encrypted(app: App) -> None:
    caller = authenticate(app, LOGIN, PASSWORD)
    started = sf.begin(app, caller)
    assert started.uri.startswith("otpauth://totp/SafeGate:me@example.vn?secret=" +
                                  started.secret)
    assert sf.status(app, caller) == sf.Status(False, True, 0)
    assert sf.pending(app, caller) == started
    with pytest.raises(sf.SecondFactorError, match="does not match"):
        sf.confirm(app, caller, "000000" if otp.totp(started.secret, T0.timestamp())
                   != "000000" else "111111", now=T0)
    assert not sf.is_enrolled(app, caller.account_id)
    codes = sf.confirm(app, caller, otp.totp(started.secret, T0.timestamp()), now=T0)
    assert len(codes) == otp.RECOVERY_CODES
    assert sf.status(app, caller) == sf.Status(True, False, otp.RECOVERY_CODES)
    with app.sessions()() as session:
        stored = session.scalars(select(AccountTotp.secret)).one()
        hashes = set(session.scalars(select(RecoveryCode.code_hash)))
    assert started.secret not in stored
    assert app.keyring().decrypt(stored, context=sf.secret_context(caller.account_id)) == \
        started.secret
    assert not hashes & set(codes) and len(hashes) == otp.RECOVERY_CODES
    with pytest.raises(sf.SecondFactorError, match="on already"):
        sf.begin(app, caller)


def test_a_code_signs_in_once_and_a_recovery_code_once(app: App) -> None:
    secret, codes = _enrolled(app)
    caller = authenticate(app, LOGIN, PASSWORD)
    later = T0 + timedelta(seconds=60)
    code = otp.totp(secret, later.timestamp())
    assert sf.finish_sign_in(app, caller.account_id, code, now=later) == caller
    with pytest.raises(SignInError, match="wrong code"):
        sf.finish_sign_in(app, caller.account_id, code, now=later)  # replayed
    assert sf.finish_sign_in(app, caller.account_id, codes[0].upper(), now=later) == caller
    with pytest.raises(SignInError):
        sf.finish_sign_in(app, caller.account_id, codes[0], now=later)
    assert sf.status(app, caller).recovery_left == otp.RECOVERY_CODES - 1
    with app.sessions()() as session:
        rows = session.execute(select(AuditLog.action, AuditLog.detail).where(
            AuditLog.action.like("account.%")).order_by(AuditLog.seq)).all()
    second = [(a, d) for a, d in rows if a.startswith(("account.totp", "account.signin_second"))]
    assert second == [
        ("account.totp_enrol", {}), ("account.signin_second_factor", {"with": "totp"}),
        ("account.signin_second_factor", {"with": "recovery"})]


def test_wrong_codes_lock_the_account_even_after_a_good_password(app: App) -> None:
    secret, _codes = _enrolled(app)
    account_id = authenticate(app, LOGIN, PASSWORD).account_id
    now = T0 + timedelta(minutes=5)
    wrong = "000000" if otp.totp(secret, now.timestamp()) != "000000" else "111111"
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(SignInError, match="wrong code"):
            sf.finish_sign_in(app, account_id, wrong, now=now)
        authenticate(app, LOGIN, PASSWORD, now=now)  # a good password resets nothing here
    with pytest.raises(SignInError) as locked:
        sf.finish_sign_in(app, account_id, wrong, now=now)
    assert locked.value.locked_until is not None
    with pytest.raises(SignInError) as still:  # the right code is refused while locked
        sf.finish_sign_in(app, account_id, otp.totp(secret, now.timestamp()), now=now)
    assert still.value.locked_until is not None


def test_tickets_name_their_account_until_they_expire(app: App) -> None:
    caller = authenticate(app, LOGIN, PASSWORD)
    ticket = sf.ticket(app, caller, now=T0)
    assert sf.ticket_account(app, ticket, now=T0 + timedelta(seconds=299)) == caller.account_id
    assert sf.ticket_account(app, ticket, now=T0 + timedelta(seconds=301)) is None
    # One character changed inside the token. Its last two characters had been replaced by
    # "AA", which leaves the token's bytes as they were when the bits those characters carry
    # are all zero (about one run in a thousand; it failed once in a full run).
    middle = len(ticket) // 2
    forged = ticket[:middle] + ("B" if ticket[middle] != "B" else "C") + ticket[middle + 1:]
    assert sf.ticket_account(app, forged, now=T0) is None
    other = app.keyring().encrypt(f"{caller.account_id}:9999999999", context="another")
    assert sf.ticket_account(app, other, now=T0) is None
    assert sf.ticket_account(app, "garbage", now=T0) is None


def test_disabling_needs_the_password_and_a_code(app: App) -> None:
    secret, codes = _enrolled(app)
    caller = authenticate(app, LOGIN, PASSWORD)
    now = T0 + timedelta(minutes=2)
    with pytest.raises(sf.SecondFactorError, match="wrong password or code"):
        sf.disable(app, caller, "not the password", otp.totp(secret, now.timestamp()), now=now)
    with pytest.raises(sf.SecondFactorError, match="wrong password or code"):
        sf.disable(app, caller, PASSWORD, "12345", now=now)
    assert sf.is_enrolled(app, caller.account_id)
    sf.disable(app, caller, PASSWORD, otp.totp(secret, now.timestamp()), now=now)
    assert sf.status(app, caller) == sf.Status(False, False, 0)
    with app.sessions()() as session:
        assert session.scalars(select(RecoveryCode)).all() == []
        assert "account.totp_disable" in session.scalars(select(AuditLog.action)).all()
    assert codes  # shown once at enrolment; gone with the factor


def test_key_rotation_moves_the_secret_and_codes_still_work(app: App) -> None:
    secret, _codes = _enrolled(app)
    old = app.keyring().key_id
    rotate_key(app, actor="cli:op")
    assert reencrypt(app, actor="cli:op")["moved"]["TOTP secrets"] == 1
    with app.sessions()() as session:
        stored = session.scalars(select(AccountTotp.secret)).one()
    assert f".{old}." not in stored
    caller = authenticate(app, LOGIN, PASSWORD)
    later = T0 + timedelta(minutes=3)
    assert sf.finish_sign_in(app, caller.account_id, otp.totp(secret, later.timestamp()),
                             now=later) == caller
