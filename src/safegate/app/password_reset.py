"""Password reset by e-mail, through the alert e-mails' sender (``notify.smtp_*``).

A request names a login; whatever it names, the caller is told the same thing. When it is an
account with an e-mail address, a random token goes to that address as a link, and the store
keeps only the token's SHA-256 with an expiry (:data:`VALID_MINUTES`). The link works once:
using it sets the new password, ends every session of the account and clears its lock-out,
and voids the account's other links. At most :data:`PER_HOUR` links an hour go to one account
(more requests are answered the same and send nothing); the web app also counts requests
against the per-address sign-in limit.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from safegate.app.accounts import AccountError, check_password, digest, normalise_login
from safegate.app.accounts import set_password as _set_password
from safegate.app.core import App
from safegate.app.notify import email_sender
from safegate.config import Settings
from safegate.privacy import audit
from safegate.protect.delivery import Message
from safegate.protect.senders import SendError
from safegate.store.models import Account, PasswordReset
from safegate.store.values import utcnow

log = logging.getLogger(__name__)

VALID_MINUTES = 60
PER_HOUR = 3

_TEXT = {
    "vi": {"subject": "[SafeGate] Đặt lại mật khẩu",
           "body": "Có người (có thể là bạn) đã yêu cầu đặt lại mật khẩu SafeGate của "
                   "tài khoản này.\n\nMở liên kết sau trong {minutes} phút để chọn mật khẩu "
                   "mới (chỉ dùng được một lần):\n{url}\n\nNếu bạn không yêu cầu, hãy bỏ qua "
                   "thư này: mật khẩu của bạn không đổi."},
    "en": {"subject": "[SafeGate] Reset your password",
           "body": "Someone (perhaps you) asked to reset the SafeGate password of this "
                   "account.\n\nOpen this link within {minutes} minutes to choose a new "
                   "password (it works once):\n{url}\n\nIf you did not ask, ignore this "
                   "e-mail: your password stays as it is."},
}


def link_base(settings: Settings) -> str:
    """Where the links point: ``notify.base_url``, else the address the web app listens on
    (``web.http``). Never the request's Host header, which a stranger could set to send the
    token to their own site."""
    if settings["notify.base_url"]:
        return str(settings["notify.base_url"])
    return f"{'https' if settings['web.tls'] else 'http'}://{settings['web.http']}"


class ResetError(ValueError):
    """A link that does not work (unknown, used or expired); one message for all three."""


@dataclass(frozen=True, slots=True)
class PreparedReset:
    to: str
    message: Message

    def __repr__(self) -> str:  # the message holds the token
        return "PreparedReset(…)"


def prepare_reset(app: App, login: str, base_url: str, *,
                  now: datetime | None = None) -> PreparedReset | None:
    """A reset link for ``login``'s account, stored (hashed) and ready to send; None when
    nothing is to be sent (no such account, no e-mail address, no SMTP server, or the
    account's hourly allowance used). The caller answers the same in every case."""
    now = now or utcnow()
    if not app.settings["notify.smtp_host"]:
        return None
    try:
        kind, value = normalise_login(login)
    except AccountError:
        return None
    if kind != "email":
        return None
    token = secrets.token_urlsafe(32)
    with app.sessions().begin() as session:
        # Links ended more than a day ago are of no use, not even for the hourly count.
        session.execute(delete(PasswordReset).where(
            PasswordReset.expires_at < now - timedelta(days=1)))
        account = session.scalar(select(Account).where(Account.email == value))
        if account is None or account.email is None:
            return None
        recent = session.scalar(select(func.count()).select_from(PasswordReset).where(
            PasswordReset.account_id == account.id,
            PasswordReset.created_at > now - timedelta(hours=1))) or 0
        if recent >= PER_HOUR:
            log.info("password reset: account %d asked more than %d times in an hour; "
                     "nothing sent", account.id, PER_HOUR)
            return None
        session.add(PasswordReset(account_id=account.id, token_hash=digest(token),
                                  created_at=now,
                                  expires_at=now + timedelta(minutes=VALID_MINUTES)))
        audit.append(session, actor="password reset", action="account.reset_request",
                     object_type="account", object_id=account.id, org_id=account.org_id)
        text = _TEXT["en" if account.locale == "en" else "vi"]
        url = f"{base_url.rstrip('/')}/password/reset?token={token}"
        message = Message(text["subject"],
                          text["body"].format(minutes=VALID_MINUTES, url=url), url)
        return PreparedReset(account.email, message)


def send_reset(app: App, prepared: PreparedReset) -> bool:
    """Send a prepared link; a failure is logged in one line (no token, no password)."""
    sender = email_sender(app.settings)
    if sender is None:
        return False
    try:
        sender(prepared.to, prepared.message)
        return True
    except SendError as exc:
        log.warning("password reset e-mail not sent: %s", exc)
        return False


def reset_password(app: App, token: str, password: str, *, address: str | None = None,
                   now: datetime | None = None) -> str:
    """Set a new password with a link's token; the account's login. ResetError for a link
    that does not work, AccountError for a password that is not allowed (the link then
    still works)."""
    now = now or utcnow()
    check_password(password)
    with app.sessions().begin() as session:
        row = session.scalar(select(PasswordReset).where(
            PasswordReset.token_hash == digest(token.strip())))
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise ResetError("this link does not work any more: ask for a new one")
        account = session.get_one(Account, row.account_id)
        session.execute(update(PasswordReset).where(
            PasswordReset.account_id == account.id, PasswordReset.used_at.is_(None))
            .values(used_at=now))
        audit.append(session, actor="password reset", action="account.reset",
                     object_type="account", object_id=account.id, org_id=account.org_id,
                     detail={"from": address[:64]} if address else None)
        login = account.email or account.phone or ""
    _set_password(app, login, password, actor="password reset", address=address)
    return login
