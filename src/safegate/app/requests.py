"""Unblock requests: a child asks for a blocked domain, a parent approves it for a while or for
good, or declines it.

* ``create`` (the CLI now, the block page later): one pending request per child and domain —
  asking again merges into it (the newest message and device win) — and at most
  :data:`MAX_PENDING` pending requests per child.
* The child's message is free text: cut to :data:`MESSAGE_LIMIT` characters, personal data
  replaced by ``[TYPE]`` placeholders (:func:`safegate.privacy.pii.redact`), then encrypted
  at field level for the child (:func:`message_context`). It is never logged, nor written to
  the change log or the audit log.
* ``approve`` for N minutes or until a local time adds a temporary allow
  (:func:`safegate.app.schedules.add_temporary_allow`); for good, the domain joins the child's
  allow rules (:func:`safegate.app.family.change_policy`). ``decline`` only answers. Each
  decision is one ``app.change("policy", …)`` transaction, so every gate applies it within a
  second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from safegate.app.bus import touches
from safegate.app.core import App
from safegate.app.family import PolicyChange, change_policy
from safegate.app.schedules import (
    add_temporary_allow,
    allow_ends,
    allowed_domain,
    find_child,
    household_timezone,
)
from safegate.policy.schedule import ScheduleError, zone
from safegate.privacy import audit
from safegate.privacy.crypto import DecryptionError, Keyring, decrypt_text, encrypt_text
from safegate.store import family as repo
from safegate.store.models import Device, Profile, UnblockRequest
from safegate.textio import clean_text

__all__ = [
    "MAX_PENDING",
    "MESSAGE_LIMIT",
    "RequestError",
    "RequestView",
    "approve",
    "create",
    "decline",
    "list_requests",
    "message_context",
    "prepare_message",
]

MAX_PENDING = 10  # pending requests one child may have
MESSAGE_LIMIT = 300  # characters of a child's message kept (before redaction)


class RequestError(ScheduleError):
    """A request that cannot be made or decided; the message says why."""


def message_context(profile_id: int) -> str:
    """The associated data a request's message is encrypted with (it opens for its child)."""
    return f"unblock_request.message:{profile_id}"


def prepare_message(text: str | None) -> str | None:
    """A child's message as it is stored before encryption: clean, at most
    :data:`MESSAGE_LIMIT` characters, personal data replaced; None when empty."""
    if text is None:
        return None
    cleaned = " ".join(clean_text(text).split())[:MESSAGE_LIMIT]
    if not cleaned:
        return None
    from safegate.privacy.pii import redact

    redacted, _ = redact(cleaned)
    return redacted


@dataclass(frozen=True, slots=True)
class RequestView:
    id: int
    child: str
    device: str | None
    domain: str
    message: str | None  # None: no message, or it cannot be decrypted (message_error)
    status: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    until: datetime | None  # an approval's end; None for good (or not approved)
    local_until: str | None
    merged: bool = False  # create: asked again, merged into the pending request
    message_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "child": self.child, "device": self.device, "domain": self.domain,
            "message": self.message, "status": self.status,
            "created_at": self.created_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decided_by": self.decided_by,
            "until": self.until.isoformat() if self.until else None,
            "local_until": self.local_until, "merged": self.merged,
            **({"message_error": self.message_error} if self.message_error else {}),
        }


def _view(session: Session, row: UnblockRequest, key: Keyring | None, *,
          merged: bool = False) -> RequestView:
    profile = session.get_one(Profile, row.profile_id)
    device = session.get(Device, row.device_id) if row.device_id is not None else None
    message = error = None
    if row.message is not None and key is not None:
        try:
            message = decrypt_text(row.message, key, context=message_context(row.profile_id))
        except DecryptionError as exc:
            error = str(exc)
    local = None
    if row.until is not None:
        tz = zone(household_timezone(session, profile))
        local = row.until.astimezone(tz).isoformat(timespec="minutes")
    return RequestView(row.id, profile.name, device.name if device else None, row.domain,
                       message, row.status, row.created_at, row.decided_at, row.decided_by,
                       row.until, local, merged, error)


def _audit(session: Session, actor: str, action: str, row: UnblockRequest) -> None:
    profile = session.get(Profile, row.profile_id)
    audit.append(session, actor=actor, action=action, object_type="unblock_request",
                 object_id=row.id, subject=profile.subject if profile else None,
                 org_id=profile.org_id if profile else None,
                 detail={"domain": row.domain, "status": row.status})


def create(app: App, child: str, domain: str, *, device: str | None = None,
           message: str | None = None, actor: str = "child",
           now: datetime | None = None) -> RequestView:
    """A child's request for ``domain`` (merged into a pending one for the same domain)."""
    name = allowed_domain(domain)
    now = now or datetime.now(UTC)
    stored = prepare_message(message)
    key = app.keyring()
    with app.sessions().begin() as session:
        profile = find_child(session, child)
        device_id = None if device is None else repo.find_device(session, profile, device).id
        token = None if stored is None else encrypt_text(
            stored, key, context=message_context(profile.id))
        pending = session.scalar(select(UnblockRequest).where(
            UnblockRequest.profile_id == profile.id, UnblockRequest.domain == name,
            UnblockRequest.status == "pending").order_by(UnblockRequest.id).limit(1))
        if pending is not None:
            if token is not None:
                pending.message = token
            if device_id is not None:
                pending.device_id = device_id
            session.flush()
            _audit(session, actor, "request.merge", pending)
            return _view(session, pending, key, merged=True)
        waiting = session.scalar(select(func.count()).select_from(UnblockRequest).where(
            UnblockRequest.profile_id == profile.id, UnblockRequest.status == "pending")) or 0
        if waiting >= MAX_PENDING:
            raise RequestError(f"{profile.name} has {waiting} requests waiting (at most "
                               f"{MAX_PENDING}); a parent answers some first")
        row = UnblockRequest(profile_id=profile.id, device_id=device_id, domain=name,
                             message=token, status="pending", created_at=now)
        session.add(row)
        session.flush()
        _audit(session, actor, "request.create", row)
        return _view(session, row, key)


def list_requests(app: App, child: str | None = None, *, org: str | None = None,
                  everything: bool = False, actor: str | None = None) -> list[RequestView]:
    """Pending requests (``everything``: all) of a child, of an organisation, or of every
    child; oldest pending first, then newest decided first."""
    key = app.keyring()
    with app.sessions().begin() as session:
        stmt = select(UnblockRequest)
        subject = None
        if child is not None:
            found = find_child(session, child)
            subject = found.subject
            stmt = stmt.where(UnblockRequest.profile_id == found.id)
        elif org is not None:
            org_id = repo.find_org(session, org).id
            stmt = stmt.where(UnblockRequest.profile_id.in_(
                select(Profile.id).where(Profile.org_id == org_id)))
        views = _listed(session, stmt, key, everything=everything)
        if actor is not None:
            audit.append(session, actor=actor, action="request.view",
                         object_type="unblock_request", subject=subject,
                         detail={"count": len(views)})
        return views


_IS_PENDING = UnblockRequest.status == "pending"
# Oldest pending first, then newest decided first.
_ORDER = (case((_IS_PENDING, 0), else_=1),
          case((_IS_PENDING, UnblockRequest.id), else_=-UnblockRequest.id))
# A child's requests (its page shows them): built once, with the limit as a parameter.
_CHILD = (select(UnblockRequest).where(UnblockRequest.profile_id == bindparam("profile_id"))
          .order_by(*_ORDER).limit(bindparam("limit")))


def _listed(session: Session, stmt: Any, key: Keyring, *, everything: bool,
            limit: int | None = None) -> list[RequestView]:
    """The requests ``stmt`` selects (pending only unless ``everything``), oldest pending
    first, then newest decided first; the first ``limit`` of them."""
    if not everything:
        stmt = stmt.where(_IS_PENDING)
    rows = session.scalars(stmt.order_by(*_ORDER).limit(limit))
    return [_view(session, r, key) for r in rows]


def child_requests(session: Session, profile_id: int, key: Keyring, *,
                   limit: int | None = None) -> list[RequestView]:
    """A child's requests, pending and decided, in :func:`list_requests`' order, in the
    caller's transaction (not audited: the caller records what it shows)."""
    if limit is None:
        stmt = select(UnblockRequest).where(UnblockRequest.profile_id == profile_id)
        return _listed(session, stmt, key, everything=True)
    rows = session.scalars(_CHILD, {"profile_id": profile_id, "limit": limit})
    return [_view(session, r, key) for r in rows]


def _pending(session: Session, request_id: int) -> UnblockRequest:
    row = session.get(UnblockRequest, request_id, with_for_update=True)
    if row is None:
        raise RequestError(f"no request {request_id}")
    if row.status != "pending":
        raise RequestError(f"request {request_id} was {row.status} already")
    return row


def approve(app: App, request_id: int, *, minutes: int | None = None, until: str | None = None,
            forever: bool = False, actor: str = "parent",
            now: datetime | None = None) -> RequestView:
    """Open the requested domain for ``minutes``, until the local time ``until``, or for good
    (``forever``: an allow rule of the child)."""
    if (minutes is not None) + (until is not None) + forever != 1:
        raise RequestError("approve with one of --minutes N, --until HH:MM or --forever")
    now = now or datetime.now(UTC)
    key = app.keyring()
    how = "for good" if forever else (f"{minutes} min" if minutes is not None
                                      else f"until {until}")
    with app.change("policy", f"request {request_id} approved {how}") as session:
        row = _pending(session, request_id)
        profile = session.get_one(Profile, row.profile_id)
        touches(session, profile.id)
        if forever:
            change_policy(session, profile, PolicyChange(allow=(row.domain,)))
            row.until = None
        else:
            ends = allow_ends(household_timezone(session, profile), now, minutes=minutes,
                              until=until)
            add_temporary_allow(session, profile, row.domain, ends, now)
            row.until = ends
        row.status, row.decided_at, row.decided_by = "approved", now, actor
        session.flush()
        _audit(session, actor, "request.approve", row)
        return _view(session, row, key)


def decline(app: App, request_id: int, *, actor: str = "parent",
            now: datetime | None = None) -> RequestView:
    """Answer no: the domain stays blocked."""
    now = now or datetime.now(UTC)
    key = app.keyring()
    with app.change("policy", f"request {request_id} declined") as session:
        row = _pending(session, request_id)
        touches(session, row.profile_id)
        row.status, row.decided_at, row.decided_by = "declined", now, actor
        session.flush()
        _audit(session, actor, "request.decline", row)
        return _view(session, row, key)
