"""An optional second sign-in factor: a TOTP authenticator app (``privacy.otp``) and
single-use recovery codes.

Enrolling stores a new secret, encrypted with the field keyring, unconfirmed; the first code
from the app confirms it and returns ten recovery codes (shown once, stored as digests). A
sign-in of an enrolled account is finished by :func:`finish_sign_in` with a code or a recovery
code; wrong codes count towards the same lock-out as wrong passwords. Disabling needs the
password and a code. Enrolment, disabling and each second-factor sign-in are audited.

Between the password and the code the browser holds a *ticket*: the account id and an expiry
sealed with the keyring (AES-GCM, its own associated data), so it cannot be forged or moved
to another account, and any node can read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from safegate.app import accounts
from safegate.app.core import App
from safegate.privacy import audit, otp
from safegate.privacy.crypto import CryptoError
from safegate.store.errors import StoreError
from safegate.store.models import Account, AccountTotp, RecoveryCode

TICKET_SECONDS = 300  # time to type the code after the password
_TICKET_CONTEXT = "signin.second_factor"


class SecondFactorError(ValueError):
    """A refused enrolment or disabling step; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Status:
    enrolled: bool  # confirmed: sign-in asks for a code
    pending: bool  # a secret waits for its first code
    recovery_left: int


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str  # base32, to type into the app
    uri: str  # otpauth://, for the QR code


def secret_context(account_id: int) -> str:
    """The associated data an account's TOTP secret is encrypted with."""
    return f"account_totp.secret:{account_id}"


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _row(session: Session, account_id: int, *, lock: bool = False) -> AccountTotp | None:
    """The account's factor; ``lock``: held until the transaction ends (PostgreSQL), so two
    sign-ins with the same code cannot both pass."""
    stmt = select(AccountTotp).where(AccountTotp.account_id == account_id)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def _secret(app: App, row: AccountTotp) -> str:
    return app.keyring().decrypt(row.secret, context=secret_context(row.account_id))


def _unused(session: Session, account_id: int) -> list[RecoveryCode]:
    return list(session.scalars(select(RecoveryCode).where(
        RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None))))


def status(app: App, caller: accounts.Caller) -> Status:
    with app.sessions()() as session:
        row = _row(session, caller.account_id)
        enrolled = row is not None and row.confirmed_at is not None
        return Status(enrolled, row is not None and not enrolled,
                      len(_unused(session, caller.account_id)) if enrolled else 0)


def is_enrolled(app: App, account_id: int) -> bool:
    with app.sessions()() as session:
        row = _row(session, account_id)
        return row is not None and row.confirmed_at is not None


# ---------------------------------------------------------------- enrolling and disabling


def begin(app: App, caller: accounts.Caller) -> Enrolment:
    """A new secret waiting for its first code (replacing an unconfirmed one)."""
    secret = otp.new_secret()
    sealed = app.keyring().encrypt(secret, context=secret_context(caller.account_id))
    with app.sessions().begin() as session:
        row = _row(session, caller.account_id)
        if row is not None and row.confirmed_at is not None:
            raise SecondFactorError("a second factor is on already: turn it off first")
        if row is None:
            session.add(AccountTotp(account_id=caller.account_id, secret=sealed))
        else:
            row.secret, row.last_step = sealed, None
    return Enrolment(secret, otp.provisioning_uri(secret, caller.login))


def pending(app: App, caller: accounts.Caller) -> Enrolment | None:
    """The secret waiting for its first code, if any (to show it again)."""
    with app.sessions()() as session:
        row = _row(session, caller.account_id)
        if row is None or row.confirmed_at is not None:
            return None
        secret = _secret(app, row)
    return Enrolment(secret, otp.provisioning_uri(secret, caller.login))


def confirm(app: App, caller: accounts.Caller, code: str, *,
            now: datetime | None = None) -> list[str]:
    """Turn the second factor on with the app's first code: the recovery codes (shown once)."""
    now = _now(now)
    with app.sessions().begin() as session:
        row = _row(session, caller.account_id, lock=True)
        if row is None or row.confirmed_at is not None:
            raise SecondFactorError("no second factor waits for its first code: start again")
        step = otp.matching_step(_secret(app, row), code, now.timestamp())
        if step is None:
            raise SecondFactorError("that code does not match: check the phone's clock and "
                                    "type the code the app shows now")
        row.confirmed_at, row.last_step = now, step
        codes = otp.new_recovery_codes()
        session.execute(delete(RecoveryCode).where(
            RecoveryCode.account_id == caller.account_id))
        session.add_all(RecoveryCode(account_id=caller.account_id,
                                     code_hash=otp.recovery_digest(c)) for c in codes)
        audit.append(session, actor=caller.actor, action="account.totp_enrol",
                     object_type="account", object_id=caller.account_id,
                     org_id=caller.org_id, role=caller.role, now=now)
    return codes


def disable(app: App, caller: accounts.Caller, password: str, code: str, *,
            now: datetime | None = None) -> None:
    """Turn the second factor off: needs the account's password and a code (or a recovery
    code). A wrong password or code counts towards the lock-out."""
    now = _now(now)
    refused: SecondFactorError | None = None
    with app.sessions().begin() as session:
        account = session.get_one(Account, caller.account_id)
        row = _row(session, caller.account_id, lock=True)
        if row is None or row.confirmed_at is None:
            raise SecondFactorError("no second factor is on")
        if not accounts.password_matches(account, password) or \
                _use_code(app, session, row, code, now) is None:
            _count_failure(session, account, row, now)
            refused = SecondFactorError("wrong password or code")
        else:
            session.delete(row)
            session.execute(delete(RecoveryCode).where(
                RecoveryCode.account_id == caller.account_id))
            audit.append(session, actor=caller.actor, action="account.totp_disable",
                          object_type="account", object_id=caller.account_id,
                          org_id=caller.org_id, role=caller.role, now=now)
    if refused is not None:
        raise refused


# ---------------------------------------------------------------- signing in


def _use_code(app: App, session: Session, row: AccountTotp, code: str,
              now: datetime) -> str | None:
    """"totp" or "recovery" when ``code`` is good (and now used up), else None."""
    step = otp.matching_step(_secret(app, row), code, now.timestamp(), after=row.last_step)
    if step is not None:
        row.last_step = step
        return "totp"
    digest = otp.recovery_digest(code)
    for recovery in _unused(session, row.account_id):
        if recovery.code_hash == digest:
            recovery.used_at = now
            return "recovery"
    return None


def _count_failure(session: Session, account: Account, row: AccountTotp,
                   now: datetime) -> None:
    """A wrong code: counted apart from wrong passwords (a good password does not reset it),
    and as many in a row lock the account like wrong passwords do."""
    row.failed_codes += 1
    account.locked_until = accounts.lock_state(row.failed_codes, now)
    if account.locked_until is not None:
        row.failed_codes = 0
        audit.append(session, actor=accounts.login_of(account), action="account.locked",
                     object_type="account", object_id=account.id, org_id=account.org_id,
                     now=now)


def ticket(app: App, caller: accounts.Caller, *, now: datetime | None = None) -> str:
    """What the browser holds between a good password and the code."""
    expires = int(_now(now).timestamp()) + TICKET_SECONDS
    return app.keyring().encrypt(f"{caller.account_id}:{expires}", context=_TICKET_CONTEXT)


def ticket_account(app: App, token: str, *, now: datetime | None = None) -> int | None:
    """The account a live ticket is for, or None (expired, forged or garbage)."""
    try:
        account, _, expires = app.keyring().decrypt(token, context=_TICKET_CONTEXT
                                                    ).partition(":")
        if int(expires) < _now(now).timestamp():
            return None
        return int(account)
    except (CryptoError, ValueError):
        return None


def finish_sign_in(app: App, account_id: int, code: str, *,
                   now: datetime | None = None) -> accounts.Caller:
    """The caller once the second factor checks (a code or an unused recovery code), else
    :class:`accounts.SignInError`; audited either way a sign-in ends."""
    now = _now(now)
    refused: accounts.SignInError | None = None
    with app.sessions().begin() as session:
        account = session.get(Account, account_id)
        row = _row(session, account_id, lock=True)
        if account is None or row is None or row.confirmed_at is None:
            raise accounts.SignInError("wrong code")
        if account.locked_until is not None and account.locked_until > now:
            raise accounts.SignInError("account locked", locked_until=account.locked_until)
        how = _use_code(app, session, row, code, now)
        if how is None:
            _count_failure(session, account, row, now)
            refused = accounts.SignInError(
                "account locked" if account.locked_until else "wrong code",
                locked_until=account.locked_until)
        else:
            row.failed_codes, account.last_login_at = 0, now
            caller = accounts.caller_of(account)
            audit.append(session, actor=caller.actor, action="account.signin_second_factor",
                         object_type="account", object_id=account_id, org_id=caller.org_id,
                         role=caller.role, detail={"with": how}, now=now)
    if refused is not None:
        raise refused
    return caller


def reset(app: App, login: str, *, actor: str = "operator") -> bool:
    """Remove an account's second factor for someone who lost both phone and recovery codes
    (the operator's step, after checking who is asking); whether there was one. Audited."""
    with app.sessions().begin() as session:
        account = accounts.find_account(session, login)
        if account is None:
            raise StoreError(f"no account {login!r}")
        row = _row(session, account.id)
        session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
        if row is None:
            return False
        session.delete(row)
        audit.append(session, actor=actor, action="account.totp_reset", object_type="account",
                     object_id=account.id, org_id=account.org_id)
        return True
