"""The one place that decides whether a caller may read or change an object.

Every page and every API endpoint that names a child, a device, an unblock request, an alert
or a query-log row asks :func:`check` first and then calls the operation with the child's
``id:N`` it returns. An object of another organisation is answered exactly like one that does
not exist (``NotFound``: HTTP 404), so nobody learns what other families have; an object of
the caller's own organisation that the role may not touch is ``Forbidden`` (HTTP 403).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from safegate.app.accounts import Caller
from safegate.app.core import App
from safegate.app.explain import NotFound
from safegate.store.db import reading
from safegate.store.models import (
    Alert,
    ClassMember,
    ClassTeacher,
    Device,
    Profile,
    QueryLog,
    SchoolClass,
    UnblockRequest,
)

KINDS: Final = ("child", "device", "request", "alert", "log")
ACTIONS: Final = ("read", "change")

# What each role may do inside its own organisation. Operators run the service: every
# organisation. Teachers read the children, devices and requests of their own classes only
# (anything else of their school is answered as not found); counsellors read children and
# alerts; partners see no family object.
RIGHTS: Final[dict[str, dict[str, frozenset[str]]]] = {
    "parent": {k: frozenset(ACTIONS) for k in KINDS},
    "school_admin": {k: frozenset(ACTIONS) for k in KINDS},
    "operator": {k: frozenset(ACTIONS) for k in KINDS},
    "teacher": {k: frozenset({"read"}) for k in ("child", "device", "request")},
    "counsellor": {k: frozenset({"read"}) for k in ("child", "alert")},
    "partner": {},
}


class Forbidden(PermissionError):
    """The caller may not do this to an object of its own organisation."""


@dataclass(frozen=True, slots=True)
class Owned:
    """A checked object: its id, the child (profile) and organisation it belongs to."""

    kind: str
    id: int
    profile_id: int
    org_id: int

    @property
    def child_ref(self) -> str:
        return f"id:{self.profile_id}"


def decide(caller: Caller, kind: str, action: str, org_id: int, *,
           in_class: bool = True) -> str:
    """"ok", "forbidden" or "hidden" (another organisation's, or for a teacher a child outside
    the teacher's classes: answered as not found). Pure."""
    if kind not in KINDS or action not in ACTIONS:
        raise ValueError(f"unknown kind or action: {kind} {action}")
    if caller.role != "operator" and org_id != caller.org_id:
        return "hidden"
    if caller.role == "teacher" and not in_class:
        return "hidden"
    if action == "change" and caller.scope != "write":
        return "forbidden"
    return "ok" if action in RIGHTS.get(caller.role, {}).get(kind, frozenset()) \
        else "forbidden"


MAX_ID = 2**63 - 1  # no row has a larger id (SQLite's INTEGER, PostgreSQL's bigint)


def row_id(kind: str, value: int | str) -> int:
    """``value`` as a row id, or NotFound: not a number, or outside 1..MAX_ID (which the
    database driver would refuse with an overflow, not answer "no such row")."""
    try:
        oid = int(value)
    except (TypeError, ValueError):
        raise NotFound(f"no {kind} {value!r}") from None
    if not 1 <= oid <= MAX_ID:
        raise NotFound(f"no {kind} {oid}")
    return oid


def _owner_of(model: Any) -> Any:
    """(the child's id, its organisation) of one ``model`` row, by the row's id."""
    if model is Profile:
        return select(Profile.id, Profile.org_id).where(Profile.id == bindparam("id"))
    return (select(Profile.id, Profile.org_id).join(model, model.profile_id == Profile.id)
            .where(model.id == bindparam("id")))


# Built once: every page and API call checks an object (building and keying the statement
# cost more than running it).
_OWNER: Final = {kind: _owner_of(model) for kind, model in (
    ("child", Profile), ("device", Device), ("request", UnblockRequest), ("alert", Alert),
    ("log", QueryLog))}
_TEACHES: Final = (select(ClassMember.profile_id)
                   .join(ClassTeacher, ClassTeacher.class_id == ClassMember.class_id)
                   .where(ClassMember.profile_id == bindparam("profile_id"),
                          ClassTeacher.account_id == bindparam("account_id")))


def require_operator(caller: Caller, *, write: bool = False) -> None:
    """Forbidden unless the caller is an operator (and, for a change, not a read-only
    token): the service-wide pages and their API (organisations, accounts, notices). Pure."""
    if caller.role != "operator":
        raise Forbidden(f"a {caller.role} may not use the operator's pages")
    if write and caller.scope != "write":
        raise Forbidden("a read-only token may not change anything")


def may(caller: Caller, owned: Owned, action: str) -> bool:
    """Whether ``caller`` may also ``action`` an object already checked (a page offers its
    forms only then; the change itself is checked again). Pure."""
    return decide(caller, owned.kind, action, owned.org_id) == "ok"


def check(app: App, caller: Caller, kind: str, object_id: int | str,
          action: str = "read") -> Owned:
    """The object if ``caller`` may ``action`` it; NotFound or Forbidden otherwise."""
    with reading(app.sessions()) as session:
        return check_in(session, caller, kind, object_id, action)


def check_own(app: App, caller: Caller, kind: str, object_id: int | str,
              action: str = "read") -> Owned:
    """:func:`check`, and the object must be of the caller's own organisation (NotFound
    otherwise): for a secret of a family's or school's own (a device's set-up material, a
    child's link), which an operator of the service, who may read every organisation, does
    not get."""
    owned = check(app, caller, kind, object_id, action)
    if owned.org_id != caller.org_id:
        raise NotFound(f"no {kind} {owned.id}")
    return owned


def check_in(session: Session, caller: Caller, kind: str, object_id: int | str,
             action: str = "read") -> Owned:
    """:func:`check` in the caller's transaction (a page that reads what it checked)."""
    oid = row_id(kind, object_id)
    stmt = _OWNER.get(kind)
    if stmt is None:
        raise ValueError(f"unknown kind: {kind}")
    owner = session.connection().execute(stmt, {"id": oid}).one_or_none()
    if owner is None:
        raise NotFound(f"no {kind} {oid}")
    return judge(session, caller, kind, oid, owner[0], owner[1], action)


def judge(session: Session, caller: Caller, kind: str, oid: int, profile_id: int,
          org_id: int, action: str = "read") -> Owned:
    """:func:`check_in` for an object whose owner the caller has read already (a page that
    reads the child's row with its household in one statement): NotFound or Forbidden."""
    in_class = caller.role != "teacher" or teaches(session, caller.account_id, profile_id)
    verdict = decide(caller, kind, action, org_id, in_class=in_class)
    if verdict == "hidden":
        raise NotFound(f"no {kind} {oid}")
    if verdict == "forbidden":
        raise Forbidden(f"a {caller.role} may not {action} this {kind}")
    return Owned(kind, oid, profile_id, org_id)


def teaches(session: Session, account_id: int, profile_id: int) -> bool:
    """Is the child in one of the classes this (teacher's) account is assigned to?"""
    return session.connection().scalar(_TEACHES, {"profile_id": profile_id,
                                                  "account_id": account_id}) is not None


def check_class(app: App, caller: Caller, class_id: int | str, action: str = "read") -> int:
    """The class's id if ``caller`` may ``action`` it: the school's admins (and operators)
    read and change every class of the school, a teacher reads the classes assigned to them;
    anything else is NotFound (another organisation's, or not the teacher's) or Forbidden."""
    cid = row_id("class", class_id)
    with reading(app.sessions()) as session:
        row = session.get(SchoolClass, cid)
        if row is None:
            raise NotFound(f"no class {cid}")
        assigned = session.scalar(select(ClassTeacher.class_id).where(
            ClassTeacher.class_id == cid, ClassTeacher.account_id == caller.account_id))
        verdict = decide(caller, "child", action, row.org_id, in_class=assigned is not None)
    if verdict == "hidden":
        raise NotFound(f"no class {cid}")
    if verdict == "forbidden":
        raise Forbidden(f"a {caller.role} may not {action} this class")
    return cid


def check_org(caller: Caller, org_id: int, action: str = "read", kind: str = "child") -> None:
    """The caller may list (read) or add to (change) an organisation's children (or its
    objects of another ``kind``). A teacher lists only the children of their classes
    (``check_class``), never the whole school."""
    if caller.role == "teacher":
        raise Forbidden("a teacher sees the children of their own classes only")
    verdict = decide(caller, kind, action, org_id)
    if verdict == "hidden":
        raise NotFound(f"no organisation {org_id}")
    if verdict == "forbidden":
        raise Forbidden(f"a {caller.role} may not {action} this organisation")
