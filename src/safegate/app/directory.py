"""The operator's view of who uses the service: every organisation (households, schools,
operators) with its children and accounts counted, and every account with its role, its
organisation, whether it has two-step sign-in, when it last signed in and whether failed
sign-ins have locked it; and the operator's three actions on them: add an organisation, add
an account, lift a lock-out.

For the ``operator`` role only (Forbidden otherwise; an operator of the service sees every
organisation, as with list sources and the gate). Reading the list is one audit entry
(``account.list``, with the count); every action is audited under the operator's login. No
child is named here: children are counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from safegate.app.access import require_operator, row_id
from safegate.app.accounts import AccountView, Caller, add_user, login_of
from safegate.app.core import App
from safegate.app.explain import NotFound
from safegate.app.family import OrgView, add_org
from safegate.privacy import audit
from safegate.store.models import Account, AccountTotp, Organisation, Profile
from safegate.store.values import utcnow

__all__ = ["AccountRow", "Directory", "OrgRow", "directory", "operator_add_account",
           "operator_add_org", "unlock_account"]


@dataclass(frozen=True, slots=True)
class OrgRow:
    id: int
    name: str
    kind: str
    timezone: str
    children: int
    accounts: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind,
                "timezone": self.timezone, "children": self.children,
                "accounts": self.accounts}


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: int
    login: str
    display_name: str
    role: str
    org_id: int
    org: str
    locale: str
    second_factor: bool
    created_at: datetime
    last_login_at: datetime | None
    locked_until: datetime | None  # in the future: locked now

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "login": self.login, "display_name": self.display_name,
                "role": self.role, "org_id": self.org_id, "org": self.org,
                "locale": self.locale, "second_factor": self.second_factor,
                "created_at": self.created_at.isoformat(),
                "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
                "locked_until": self.locked_until.isoformat() if self.locked_until else None}


@dataclass(frozen=True, slots=True)
class Directory:
    orgs: list[OrgRow]
    accounts: list[AccountRow]


def directory(app: App, caller: Caller, *, now: datetime | None = None) -> Directory:
    """Every organisation and account, for an operator (the reading is audited)."""
    require_operator(caller)
    now = now or utcnow()
    with app.sessions().begin() as session:
        children = dict(session.execute(select(Profile.org_id, func.count())
                                        .group_by(Profile.org_id)).tuples().all())
        members = dict(session.execute(select(Account.org_id, func.count())
                                       .group_by(Account.org_id)).tuples().all())
        orgs = [OrgRow(o.id, o.name, o.kind, o.timezone, children.get(o.id, 0),
                       members.get(o.id, 0))
                for o in session.scalars(select(Organisation).order_by(Organisation.id))]
        names = {o.id: o.name for o in orgs}
        enrolled = set(session.scalars(select(AccountTotp.account_id).where(
            AccountTotp.confirmed_at.is_not(None))))
        accounts = [AccountRow(a.id, login_of(a), a.display_name, a.role, a.org_id,
                               names.get(a.org_id, ""), a.locale, a.id in enrolled,
                               a.created_at, a.last_login_at,
                               a.locked_until if a.locked_until and a.locked_until > now
                               else None)
                    for a in session.scalars(select(Account).order_by(Account.id))]
        audit.append(session, actor=caller.actor, role=caller.role, action="account.list",
                     object_type="account", detail={"accounts": len(accounts),
                                                    "organisations": len(orgs)})
    return Directory(orgs, accounts)


def operator_add_org(app: App, caller: Caller, name: str, kind: str,
                     timezone: str) -> OrgView:
    """A new organisation (household, school or operator), audited as the operator."""
    require_operator(caller, write=True)
    return add_org(app, name, kind, timezone, actor=caller.actor, role=caller.role)


def operator_add_account(app: App, caller: Caller, login: str, password: str, *, role: str,
                         org_id: int, display_name: str | None = None,
                         locale: str = "vi") -> AccountView:
    """A new account in an organisation, made by an operator (audited under their login)."""
    require_operator(caller, write=True)
    return add_user(app, login, password, role=role, org=f"id:{org_id}",
                    display_name=display_name, locale=locale, actor=caller.actor)


def unlock_account(app: App, caller: Caller, account_id: int) -> bool:
    """Lift a lock-out after failed sign-ins now (audited); False when it was not locked."""
    require_operator(caller, write=True)
    now = utcnow()
    with app.sessions().begin() as session:
        account = session.get(Account, row_id("account", account_id))
        if account is None:
            raise NotFound(f"no account {account_id}")
        locked = account.locked_until is not None and account.locked_until > now
        account.failed_logins, account.locked_until = 0, None
        if locked:
            audit.append(session, actor=caller.actor, role=caller.role,
                         action="account.unlock", object_type="account",
                         object_id=account.id, org_id=account.org_id)
        return locked
