"""Invite links and sign-up: a parent invites a second parent, a school admin invites a
teacher; a new household signs itself up.

An invite is single-use and expires (7 days by default); only its token's SHA-256 is stored.
The organisation and the role are the invite's: the invitee chooses a login, a name and a
password, nothing else. Taking an invite claims it with one conditional UPDATE, so two people
racing with the same link cannot both get an account.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select, update

from safegate.app.accounts import (
    AccountError,
    Caller,
    caller_of,
    digest,
    find_account,
    hash_password,
    normalise_login,
)
from safegate.app.core import App
from safegate.app.family import check_name
from safegate.privacy import audit
from safegate.store import choices
from safegate.store import family as repo
from safegate.store.models import Account, Invite, Organisation

INVITE_DAYS = 7
# Who may invite whom: a household's parent a second parent, a school's admin a teacher, an
# operator either. A parent's rights cover the whole organisation, so parents are invited into
# households only, and teachers into schools only (INTO).
MAY_INVITE: Final[dict[str, frozenset[str]]] = {
    "parent": frozenset({"parent"}),
    "school_admin": frozenset({"teacher"}),
    "operator": frozenset(choices.INVITE_ROLES),
}
INTO: Final[dict[str, str]] = {"parent": "household", "teacher": "school"}


class InviteError(ValueError):
    """A link that is unknown, used or expired (one message for all three), or bad input."""


@dataclass(frozen=True, slots=True)
class InviteView:
    org: str
    role: str
    expires_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"org": self.org, "role": self.role, "expires_at": self.expires_at.isoformat()}


def may_invite(caller: Caller, role: str) -> bool:
    """Pure: may this caller create an invite for ``role``?"""
    return caller.scope == "write" and role in MAY_INVITE.get(caller.role, frozenset())


def create_invite(app: App, caller: Caller, role: str, *, days: int = INVITE_DAYS,
                  now: datetime | None = None) -> tuple[str, InviteView]:
    """A new invite into the caller's own organisation: (token — shown once, view)."""
    from safegate.app.access import Forbidden

    if role not in choices.INVITE_ROLES:
        raise InviteError(f"role: {role!r} is not one of {', '.join(choices.INVITE_ROLES)}")
    if not may_invite(caller, role):
        raise Forbidden(f"a {caller.role} may not invite a {role}")
    now = now or datetime.now(UTC)
    token = "sgi_" + secrets.token_urlsafe(32)
    with app.sessions().begin() as session:
        org = session.get_one(Organisation, caller.org_id)
        if org.kind != INTO[role]:
            raise InviteError(f"role: a {role} is invited into a {INTO[role]}, and "
                              f"{org.name!r} is a {org.kind}")
        row = Invite(org_id=org.id, role=role, token_hash=digest(token),
                     created_by=caller.actor, created_at=now,
                     expires_at=now + timedelta(days=days))
        session.add(row)
        session.flush()
        audit.append(session, actor=caller.actor, role=caller.role, action="invite.create",
                     object_type="invite", object_id=row.id, org_id=org.id,
                     detail={"role": role})
        return token, InviteView(org.name, role, row.expires_at)


def list_invites(app: App, caller: Caller, *, now: datetime | None = None
                 ) -> list[dict[str, Any]]:
    """The caller's organisation's invites that can still be taken (of the roles the caller
    may invite), newest first; never a token (only its hash is stored)."""
    now = now or datetime.now(UTC)
    roles = MAY_INVITE.get(caller.role, frozenset())
    with app.sessions()() as session:
        rows = session.scalars(select(Invite).where(
            Invite.org_id == caller.org_id, Invite.used_at.is_(None), Invite.expires_at > now)
            .order_by(Invite.id.desc()))
        return [{"id": r.id, "role": r.role, "created_by": r.created_by,
                 "created_at": r.created_at.isoformat(), "expires_at": r.expires_at.isoformat()}
                for r in rows if r.role in roles]


def revoke_invite(app: App, caller: Caller, invite_id: int, *,
                  now: datetime | None = None) -> None:
    """End an invite of the caller's organisation now (a link sent to the wrong person)."""
    from safegate.app.access import Forbidden, row_id
    from safegate.app.explain import NotFound

    now = now or datetime.now(UTC)
    with app.sessions().begin() as session:
        row = session.get(Invite, row_id("invite", invite_id))
        if row is None or row.org_id != caller.org_id:
            raise NotFound(f"no invite {invite_id}")
        if not may_invite(caller, row.role):
            raise Forbidden(f"a {caller.role} may not revoke an invite for a {row.role}")
        if row.used_at is None and row.expires_at > now:
            row.expires_at = now
            audit.append(session, actor=caller.actor, role=caller.role,
                         action="invite.revoke", object_type="invite", object_id=row.id,
                         org_id=row.org_id, detail={"role": row.role})


def _live(session: Any, token: str, now: datetime) -> Invite:
    row = session.scalar(select(Invite).where(Invite.token_hash == digest(token)))
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise InviteError("this invite link is not valid: it was used already, it expired, "
                          "or it was mistyped. Ask for a new one.")
    return row


def show_invite(app: App, token: str, *, now: datetime | None = None) -> InviteView:
    """What a live invite offers (its organisation's name and the role), or InviteError."""
    with app.sessions()() as session:
        row = _live(session, token, now or datetime.now(UTC))
        return InviteView(session.get_one(Organisation, row.org_id).name, row.role,
                          row.expires_at)


def _account(session: Any, org_id: int, role: str, login: str, password_hash: str,
             display_name: str, locale: str) -> Account:
    kind, value = normalise_login(login)
    if locale not in choices.LOCALES:
        raise AccountError(f"locale: {locale!r} is not one of {', '.join(choices.LOCALES)}")
    if find_account(session, value) is not None:
        raise AccountError(f"login: {value} has an account already")
    name = check_name(display_name or value, "name", 200)
    account = Account(org_id=org_id, role=role, locale=locale, display_name=name,
                      password_hash=password_hash, **{kind: value})
    session.add(account)
    session.flush()
    return account


def accept_invite(app: App, token: str, login: str, password: str, *,
                  display_name: str = "", locale: str = "vi", address: str | None = None,
                  now: datetime | None = None) -> Caller:
    """The invitee's new account, in the invite's organisation with the invite's role."""
    now = now or datetime.now(UTC)
    hashed = hash_password(password)
    with app.sessions().begin() as session:
        row = _live(session, token, now)
        account = _account(session, row.org_id, row.role, login, hashed, display_name,
                           locale)
        claimed = session.execute(
            update(Invite).where(Invite.id == row.id, Invite.used_at.is_(None))
            .values(used_at=now, account_id=account.id)
            .execution_options(synchronize_session=False))
        if getattr(claimed, "rowcount", 0) != 1:
            raise InviteError("this invite link is not valid: it was used already")
        audit.append(session, actor=caller_of(account).actor, role=row.role,
                     action="invite.accept", object_type="invite", object_id=row.id,
                     org_id=row.org_id, detail={"account": account.id,
                                                **({"from": address[:64]} if address else {})})
        return caller_of(account)


def free_name(name: str, taken: set[str]) -> str:
    """Pure: ``name``, or ``name (2)``, ``name (3)``… the first no organisation has (names
    like "Nhà Nguyễn" are common; a sign-up never fails, nor tells, because of another's)."""
    candidate, n = name, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{name} ({n})"
    return candidate


def sign_up(app: App, login: str, password: str, household: str, *,
            display_name: str = "", locale: str = "vi",
            address: str | None = None) -> Caller:
    """A new household and its first parent (the caller of the new account)."""
    hashed = hash_password(password)
    name = check_name(household, "household", 200)
    with app.sessions().begin() as session:
        if find_account(session, normalise_login(login)[1]) is not None:
            raise AccountError("login: this e-mail or phone number has an account already; "
                               "sign in instead")
        org = repo.create_org(session, free_name(name, {o.name.casefold() for o in
                                                        repo.all_orgs(session)}),
                              "household", choices.DEFAULT_TIMEZONE)
        account = _account(session, org.id, "parent", login, hashed, display_name, locale)
        caller = caller_of(account)
        audit.append(session, actor=caller.actor, role="parent", action="account.signup",
                     object_type="organisation", object_id=org.id, org_id=org.id,
                     detail={"from": address[:64]} if address else {})
        return caller
