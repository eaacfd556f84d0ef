"""Accounts of the people who use the web app and the API: add and list them, check a
password (argon2, with a lock-out after repeated failures), browser sessions and API tokens.

Secrets are never stored: passwords as argon2 hashes, session cookies and API tokens as their
SHA-256. Identity comes from here, never from what a client claims: a caller is the account a
valid session or token belongs to, with that account's organisation and role.

Every sign-in (success, wrong password, unknown login, refused while locked), lock-out,
sign-out, password change, account creation and API token creation or revocation is an
audit entry with "from where" when the caller knows it (the web app's client address,
``web.trusted_proxies``); a password or token is never recorded, nor the text typed as the
login of an account that does not exist (it may be a mistyped password).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from safegate.app.core import App
from safegate.privacy import audit
from safegate.store import choices
from safegate.store import family as repo
from safegate.store.errors import StoreError
from safegate.store.models import Account, ApiToken, WebSession
from safegate.store.values import normalise_email

MIN_PASSWORD = 10  # characters
MAX_FAILURES = 5  # wrong passwords in a row before the account is locked
LOCK_MINUTES = 15
SESSION_DAYS = 14
DEMO_PASSWORD = "demo-safegate"  # the demo parent's, printed by `serve --demo`; demo only

_hasher = PasswordHasher()
# Checked when the identifier is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """Bad input for an account operation; the message names the field."""


class SignInError(Exception):
    """A refused sign-in. The message never says whether the account exists."""

    def __init__(self, message: str, *, locked_until: datetime | None = None) -> None:
        super().__init__(message)
        self.locked_until = locked_until


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: an account, its organisation and role (from the store, never the client)."""

    account_id: int
    org_id: int
    role: str
    name: str
    login: str  # e-mail or phone
    locale: str
    scope: str = "write"  # "read" for a read-only API token

    @property
    def actor(self) -> str:
        """How audit rows and decisions name the caller."""
        return self.login


@dataclass(frozen=True, slots=True)
class AccountView:
    id: int
    org: str
    login: str
    display_name: str
    role: str
    locale: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "org": self.org, "login": self.login,
                "display_name": self.display_name, "role": self.role, "locale": self.locale}


# ---------------------------------------------------------------- checks (pure)


def normalise_login(text: str) -> tuple[str, str]:
    """("email", address) or ("phone", +84… in E.164) for what a person types to sign in."""
    value = text.strip()
    if "@" in value:
        try:
            return "email", normalise_email(value)
        except StoreError as exc:
            raise AccountError(f"login: {exc}") from None
    import phonenumbers

    try:
        number = phonenumbers.parse(value, "VN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or number.country_code != 84 or not phonenumbers.is_valid_number(number):
        raise AccountError(f"login: {text!r} is neither an e-mail address nor a Vietnamese "
                           "phone number (e.g. 0912 345 678)")
    return "phone", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise AccountError("password: at most 1024 characters")
    return password


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _login_of(account: Account) -> str:
    return _login(account.email, account.phone, account.id)


def _login(email: str | None, phone: str | None, account_id: int) -> str:
    return email or phone or f"id:{account_id}"


def _view(account: Account) -> AccountView:
    return AccountView(account.id, account.organisation.name, _login_of(account),
                       account.display_name, account.role, account.locale)


def _caller(account: Account, scope: str = "write") -> Caller:
    return Caller(account.id, account.org_id, account.role, account.display_name,
                  _login_of(account), account.locale, scope)


def _find(session: Session, login: str) -> Account | None:
    kind, value = normalise_login(login)
    column = Account.email if kind == "email" else Account.phone
    return session.scalar(select(Account).where(column == value))


# ---------------------------------------------------------------- accounts


def add_user(app: App, login: str, password: str, *, role: str = "parent",
             org: str | None = None, display_name: str | None = None,
             locale: str = "vi", actor: str = "operator") -> AccountView:
    """A new account in an organisation (``org`` None: the only one), audited as ``actor``."""
    kind, value = normalise_login(login)
    if role not in choices.ROLES:
        raise AccountError(f"role: {role!r} is not one of {', '.join(choices.ROLES)}")
    if locale not in choices.LOCALES:
        raise AccountError(f"locale: {locale!r} is not one of {', '.join(choices.LOCALES)}")
    hashed = _hasher.hash(check_password(password))
    with app.sessions().begin() as session:
        organisation = repo.find_org(session, org)
        if _find(session, value) is not None:
            raise AccountError(f"login: {value} has an account already")
        account = Account(org_id=organisation.id, role=role, locale=locale,
                          display_name=(display_name or value).strip()[:200],
                          password_hash=hashed, **{kind: value})
        session.add(account)
        session.flush()
        _record(session, account, "account.create", actor=actor, role=role)
        return _view(account)


def _record(session: Session, account: Account | None, action: str, *,
            actor: str | None = None, address: str | None = None, **detail: Any) -> None:
    """One audit entry about an account (``address``: where the request came from)."""
    if address:
        detail["from"] = address[:64]
    audit.append(session, actor=actor or (_login_of(account) if account else "anonymous"),
                 action=action, object_type="account",
                 object_id=None if account is None else account.id,
                 org_id=None if account is None else account.org_id,
                 role=None if account is None else account.role, detail=detail)


def list_users(app: App, org: str | None = None) -> list[AccountView]:
    with app.sessions()() as session:
        stmt = select(Account).order_by(Account.id)
        if org is not None:
            stmt = stmt.where(Account.org_id == repo.find_org(session, org).id)
        return [_view(a) for a in session.scalars(stmt)]


def set_password(app: App, login: str, password: str, *, actor: str = "operator",
                 address: str | None = None) -> AccountView:
    """A new password (and the lock-out cleared); every session of the account ends."""
    hashed = _hasher.hash(check_password(password))
    with app.sessions().begin() as session:
        account = _find(session, login)
        if account is None:
            raise StoreError(f"no account {login!r}")
        account.password_hash, account.failed_logins, account.locked_until = hashed, 0, None
        for row in session.scalars(select(WebSession).where(
                WebSession.account_id == account.id)):
            session.delete(row)
        _record(session, account, "account.password_set", actor=actor, address=address)
        return _view(account)


def set_locale(app: App, caller: Caller, locale: str) -> None:
    if locale not in choices.LOCALES:
        raise AccountError(f"locale: {locale!r} is not one of {', '.join(choices.LOCALES)}")
    with app.sessions().begin() as session:
        session.get_one(Account, caller.account_id).locale = locale


def ensure_demo_parent(app: App) -> str | None:
    """Give the demo household's parent the fixed demo password if it has none (demo only);
    its login, or None without a demo household."""
    from safegate.store.demo import DEMO_PARENT_EMAIL

    with app.sessions().begin() as session:
        account = session.scalar(select(Account).where(Account.email == DEMO_PARENT_EMAIL))
        if account is None:
            return None
        if account.password_hash is None:
            account.password_hash = _hasher.hash(DEMO_PASSWORD)
        return DEMO_PARENT_EMAIL


# ---------------------------------------------------------------- signing in


def lock_state(failures: int, now: datetime) -> datetime | None:
    """Until when an account with ``failures`` wrong passwords in a row is locked."""
    return now + timedelta(minutes=LOCK_MINUTES) if failures >= MAX_FAILURES else None


def authenticate(app: App, login: str, password: str, *, address: str | None = None,
                 now: datetime | None = None) -> Caller:
    """The caller for a login and password, or SignInError (the same message whether the
    account exists or not; a locked account says until when). Every outcome is audited
    (``address``: where the attempt came from)."""
    now = now or datetime.now(UTC)
    try:
        _kind, value = normalise_login(login)
    except AccountError:
        _burn(password)  # no timing oracle on the shape of the login
        value = ""
    refused: SignInError | None = None
    caller: Caller | None = None
    # The failure counter and the audit entries must be committed, so the refusal is raised
    # after the transaction.
    with app.sessions().begin() as session:
        account = _find(session, value) if value else None
        if account is None or account.password_hash is None:
            if value:
                _burn(password)
            _record(session, account, "account.signin_unknown" if account is None
                    else "account.signin_failed", address=address,
                    **({} if account is None else {"reason": "no password set"}))
            refused = SignInError("wrong login or password")
        elif account.locked_until is not None and account.locked_until > now:
            _record(session, account, "account.signin_locked", address=address)
            refused = SignInError("account locked", locked_until=account.locked_until)
        else:
            caller, refused = _check(session, account, password, now, address)
    if refused is not None or caller is None:
        raise refused or SignInError("wrong login or password")
    return caller


def _check(session: Session, account: Account, password: str, now: datetime,
           address: str | None) -> tuple[Caller | None, SignInError | None]:
    """The password check of an existing, unlocked account: (caller, None) or (None, the
    refusal), with the counter, the lock-out and the audit entries written."""
    assert account.password_hash is not None
    try:
        _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        account.failed_logins += 1
        account.locked_until = lock_state(account.failed_logins, now)
        _record(session, account, "account.signin_failed", address=address,
                reason="wrong password")
        if account.locked_until is None:
            return None, SignInError("wrong login or password")
        account.failed_logins = 0
        _record(session, account, "account.locked", address=address,
                until=account.locked_until.isoformat(timespec="seconds"))
        return None, SignInError("account locked", locked_until=account.locked_until)
    account.failed_logins, account.locked_until, account.last_login_at = 0, None, now
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    _record(session, account, "account.signin", address=address)
    return _caller(account), None


def _burn(password: str) -> None:
    """Spend the time a real check takes."""
    with contextlib.suppress(VerificationError, InvalidHashError):
        _hasher.verify(_DUMMY_HASH, password)


def start_session(app: App, caller: Caller, *, now: datetime | None = None) -> tuple[str, str]:
    """A new browser session: (cookie token, CSRF token)."""
    now = now or datetime.now(UTC)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with app.sessions().begin() as session:
        session.execute(delete(WebSession).where(WebSession.account_id == caller.account_id,
                                                 WebSession.expires_at <= now))
        session.add(WebSession(id=digest(token), account_id=caller.account_id, csrf=csrf,
                               created_at=now, expires_at=now + timedelta(days=SESSION_DAYS)))
    return token, csrf


# A session and its account's columns in one Core statement, built once: every request
# signed in by cookie runs it (with an ORM object it took 166 µs a call, 103 µs now).
_WS, _ACCOUNT = WebSession.__table__.c, Account.__table__.c
_SESSION = (select(_WS.expires_at, _WS.csrf, _ACCOUNT.id, _ACCOUNT.org_id, _ACCOUNT.role,
                   _ACCOUNT.display_name, _ACCOUNT.email, _ACCOUNT.phone, _ACCOUNT.locale)
            .join_from(WebSession.__table__, Account.__table__, _ACCOUNT.id == _WS.account_id)
            .where(_WS.id == bindparam("id")))


def session_caller(app: App, token: str, *,
                   now: datetime | None = None) -> tuple[Caller, str] | None:
    """(caller, CSRF token) of a live session cookie, or None."""
    now = now or datetime.now(UTC)
    # On a bare connection (no ORM session to build for one statement). This runs before
    # every signed-in request: on PostgreSQL without a transaction (no BEGIN and COMMIT round
    # trips, and no ROLLBACK: see store.db.reading),
    # on SQLite in one that reads only (setting its isolation level each time cost more).
    app.sessions()  # the schema check, once
    with app.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        row = conn.execute(_SESSION, {"id": digest(token)}).one_or_none()
        conn.commit()
    if row is None or row.expires_at <= now:
        return None
    return Caller(row.id, row.org_id, row.role, row.display_name,
                  _login(row.email, row.phone, row.id), row.locale), row.csrf


def end_session(app: App, token: str, *, address: str | None = None) -> None:
    """Sign out: the session ends (audited when there was one)."""
    with app.sessions().begin() as session:
        row = session.get(WebSession, digest(token))
        if row is not None:
            _record(session, session.get(Account, row.account_id), "account.signout",
                    address=address)
            session.delete(row)


# ---------------------------------------------------------------- API tokens


def add_token(app: App, login: str, name: str, scope: str = "write", *,
              actor: str = "operator") -> tuple[int, str]:
    """A new API token for an account: (id, the token — shown once, stored only hashed)."""
    if scope not in choices.TOKEN_SCOPES:
        raise AccountError(f"scope: {scope!r} is not one of {', '.join(choices.TOKEN_SCOPES)}")
    token = "sgt_" + secrets.token_urlsafe(32)
    with app.sessions().begin() as session:
        account = _find(session, login)
        if account is None:
            raise StoreError(f"no account {login!r}")
        row = ApiToken(account_id=account.id, name=name.strip()[:100] or "token",
                       token_hash=digest(token), scope=scope)
        session.add(row)
        session.flush()
        _record(session, account, "token.create", actor=actor, token_id=row.id, scope=scope)
        return row.id, token


def revoke_token(app: App, token_id: int, *, actor: str = "operator",
                 now: datetime | None = None) -> None:
    with app.sessions().begin() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise StoreError(f"no API token {token_id}")
        if row.revoked_at is None:
            row.revoked_at = now or datetime.now(UTC)
            _record(session, session.get(Account, row.account_id), "token.revoke",
                    actor=actor, token_id=row.id)


def own_tokens(app: App, caller: Caller) -> list[dict[str, Any]]:
    """The caller's live API tokens, newest first, never the tokens themselves (only their
    SHA-256 is stored)."""
    with app.sessions()() as session:
        rows = session.scalars(select(ApiToken).where(
            ApiToken.account_id == caller.account_id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id.desc()))
        return [{"id": r.id, "name": r.name, "scope": r.scope,
                 "created_at": r.created_at.isoformat()} for r in rows]


def add_own_token(app: App, caller: Caller, name: str, scope: str) -> tuple[int, str]:
    """A new API token of the caller's own account (id, the token, shown once); audited."""
    if not name.strip():
        raise AccountError("name: give the token a name (what it is for)")
    return add_token(app, caller.login, name, scope, actor=caller.actor)


def revoke_own_token(app: App, caller: Caller, token_id: int) -> None:
    """End one of the caller's own API tokens now (NotFound for anyone else's)."""
    from safegate.app.access import row_id
    from safegate.app.explain import NotFound

    with app.sessions()() as session:
        owner = session.scalar(select(ApiToken.account_id).where(
            ApiToken.id == row_id("token", token_id)))
    if owner != caller.account_id:
        raise NotFound(f"no token {token_id}")
    revoke_token(app, token_id, actor=caller.actor)


def token_caller(app: App, token: str) -> Caller | None:
    """The caller of a live (not revoked) API token, with its scope, or None."""
    with app.sessions()() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
        if row is None or row.revoked_at is not None:
            return None
        return _caller(session.get_one(Account, row.account_id), row.scope)


# ---------------------------------------------------------------- for invites and sign-up


def hash_password(password: str) -> str:
    """The argon2 hash of a password that passes :func:`check_password`."""
    return _hasher.hash(check_password(password))


def find_account(session: Session, login: str) -> Account | None:
    """The account of an e-mail address or phone number (normalised), or None."""
    return _find(session, login)


def caller_of(account: Account) -> Caller:
    return _caller(account)


def login_of(account: Account) -> str:
    return _login_of(account)


def password_matches(account: Account, password: str) -> bool:
    """Whether ``password`` is the account's (for a step that asks for it again)."""
    if account.password_hash is None:
        _burn(password)
        return False
    try:
        return bool(_hasher.verify(account.password_hash, password))
    except (VerificationError, InvalidHashError):
        return False
