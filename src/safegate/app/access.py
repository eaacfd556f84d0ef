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

from safegate.app.accounts import Caller
from safegate.app.core import App
from safegate.app.explain import NotFound
from safegate.store.models import Alert, Device, Profile, QueryLog, UnblockRequest

KINDS: Final = ("child", "device", "request", "alert", "log")
ACTIONS: Final = ("read", "change")

# What each role may do inside its own organisation. Operators run the service: every
# organisation. Teachers read (their classes arrive with the school pages); counsellors read
# children and alerts; partners see no family object.
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


def decide(caller: Caller, kind: str, action: str, org_id: int) -> str:
    """"ok", "forbidden" or "hidden" (another organisation's: answered as not found). Pure."""
    if kind not in KINDS or action not in ACTIONS:
        raise ValueError(f"unknown kind or action: {kind} {action}")
    if caller.role != "operator" and org_id != caller.org_id:
        return "hidden"
    if action == "change" and caller.scope != "write":
        return "forbidden"
    return "ok" if action in RIGHTS.get(caller.role, {}).get(kind, frozenset()) \
        else "forbidden"


def check(app: App, caller: Caller, kind: str, object_id: int | str,
          action: str = "read") -> Owned:
    """The object if ``caller`` may ``action`` it; NotFound or Forbidden otherwise."""
    try:
        oid = int(object_id)
    except (TypeError, ValueError):
        raise NotFound(f"no {kind} {object_id!r}") from None
    with app.sessions()() as session:
        profile_id: int | None
        if kind == "child":
            profile_id = oid if session.get(Profile, oid) is not None else None
        else:
            model: Any = {"device": Device, "request": UnblockRequest, "alert": Alert,
                     "log": QueryLog}.get(kind)
            if model is None:
                raise ValueError(f"unknown kind: {kind}")
            row = session.get(model, oid)
            profile_id = None if row is None else row.profile_id
        profile = None if profile_id is None else session.get(Profile, profile_id)
        if profile is None:
            raise NotFound(f"no {kind} {oid}")
        verdict = decide(caller, kind, action, profile.org_id)
    if verdict == "hidden":
        raise NotFound(f"no {kind} {oid}")
    if verdict == "forbidden":
        raise Forbidden(f"a {caller.role} may not {action} this {kind}")
    return Owned(kind, oid, profile.id, profile.org_id)


def check_org(caller: Caller, org_id: int, action: str = "read") -> None:
    """The caller may list (read) or add to (change) an organisation's children."""
    verdict = decide(caller, "child", action, org_id)
    if verdict == "hidden":
        raise NotFound(f"no organisation {org_id}")
    if verdict == "forbidden":
        raise Forbidden(f"a {caller.role} may not {action} this organisation")
