"""A link a child can hold: the address of the child's own read-only page (what SafeGate
keeps about them, ``app/child_notice.py``), to keep on the child's own device and open there
without an adult's session (docs/privacy.md, "A child's own page").

The link carries a random token; the store keeps only its SHA-256. A child has at most one
link: making a new one replaces the old one (a lost phone), and a parent stops it at any
time. A stopped link is deleted, not kept: the audit log keeps that it existed. The token
opens that one child's notice and nothing else: no other page, no API, no session. A token
that is unknown or stopped gives nothing, and the two cannot be told apart. Making and
stopping a link, and every view through it, are audited (the view as ``child-link:<id>``,
role ``child``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from safegate.app.accounts import digest
from safegate.app.child_notice import notice_in
from safegate.app.core import App
from safegate.app.schedules import find_child
from safegate.privacy import audit
from safegate.store import choices
from safegate.store.models import ChildLink, Profile
from safegate.store.values import utcnow

__all__ = ["PREFIX", "ChildLinkError", "ChildLinkView", "child_link", "end_child_link",
           "link_url", "make_child_link", "notice_by_link"]

PREFIX = "sgc_"
PATH = "/me/"  # the page's path: PATH + token


class ChildLinkError(ValueError):
    """Bad input for a link (the message says which field)."""


@dataclass(frozen=True, slots=True)
class ChildLinkView:
    """A child's link, without its token (only the hash is stored)."""

    id: int
    child: str
    language: str
    created_by: str
    created_at: datetime
    last_opened_at: datetime | None
    timezone: str  # the child's household's (or school's), for showing the times

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "child": self.child, "language": self.language,
                "created_by": self.created_by, "created_at": self.created_at.isoformat(),
                "last_opened_at": (self.last_opened_at.isoformat()
                                   if self.last_opened_at else None)}


def link_url(app: App, token: str, base: str | None = None) -> str:
    """The link for ``token``: under ``notify.base_url`` when the operator set the public
    address, else under ``base`` (the web app: the address the parent's browser used), else
    the path alone."""
    root = app.settings["notify.base_url"] or base or ""
    return root.rstrip("/") + PATH + token


def _view(row: ChildLink, profile: Profile) -> ChildLinkView:
    return ChildLinkView(row.id, profile.name, row.language, row.created_by, row.created_at,
                         row.last_opened_at, profile.organisation.timezone)


def _link_of(session: Session, profile_id: int) -> ChildLink | None:
    return session.scalar(select(ChildLink).where(ChildLink.profile_id == profile_id))


def _locked_child(session: Session, child: str) -> Profile:
    """The child, its row locked until the transaction ends (PostgreSQL), so that two parents
    making a link at the same moment take turns instead of both inserting one."""
    profile = find_child(session, child)
    session.execute(select(Profile.id).where(Profile.id == profile.id).with_for_update())
    return profile


def _audit(session: Session, profile: Profile, actor: str, role: str | None, action: str,
           link_id: int, **detail: Any) -> None:
    audit.append(session, actor=actor, role=role, action=action, object_type="child",
                 object_id=profile.id, subject=profile.subject, org_id=profile.org_id,
                 detail={"link": link_id, **detail})


def make_child_link(app: App, child: str, *, actor: str, role: str | None = None,
                    language: str = "vi", now: datetime | None = None
                    ) -> tuple[str, ChildLinkView]:
    """A new link for a child (``id:N`` or name; the caller has checked access): (token,
    shown once; view). The child's old link, if any, is deleted in the same transaction."""
    if language not in choices.LOCALES:
        raise ChildLinkError(f"language: {language!r} is not one of "
                             f"{', '.join(choices.LOCALES)}")
    when = now or utcnow()
    token = PREFIX + secrets.token_urlsafe(32)
    with app.sessions().begin() as session:
        profile = _locked_child(session, child)
        old = _link_of(session, profile.id)
        if old is not None:
            session.execute(delete(ChildLink).where(ChildLink.id == old.id))
            _audit(session, profile, actor, role, "child.link_end", old.id, replaced=True)
        row = ChildLink(profile_id=profile.id, token_hash=digest(token), language=language,
                        created_by=actor, created_at=when)
        session.add(row)
        session.flush()
        _audit(session, profile, actor, role, "child.link_make", row.id, language=language)
        return token, _view(row, profile)


def end_child_link(app: App, child: str, *, actor: str, role: str | None = None) -> bool:
    """Stop (delete) the child's link now; False when there was none."""
    with app.sessions().begin() as session:
        profile = _locked_child(session, child)
        row = _link_of(session, profile.id)
        if row is None:
            return False
        session.execute(delete(ChildLink).where(ChildLink.id == row.id))
        _audit(session, profile, actor, role, "child.link_end", row.id)
        return True


def child_link(app: App, child: str) -> ChildLinkView | None:
    """The child's link (never its token), or None."""
    with app.sessions()() as session:
        profile = find_child(session, child)
        row = _link_of(session, profile.id)
        return None if row is None else _view(row, profile)


def notice_by_link(app: App, token: str, language: str | None = None,
                   band: str | None = None, *, now: datetime | None = None
                   ) -> dict[str, Any] | None:
    """The notice of the child whose link has ``token`` (in ``language``, default the
    link's), the view audited and the link's last opening noted; None for any other token."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    when = now or utcnow()
    with app.sessions().begin() as session:
        row = session.scalar(select(ChildLink).where(ChildLink.token_hash == digest(token)))
        if row is None:
            return None
        session.execute(update(ChildLink).where(ChildLink.id == row.id)
                        .values(last_opened_at=when))
        profile = session.get_one(Profile, row.profile_id)
        return notice_in(app, session, profile, language or row.language, band,
                         actor=f"child-link:{row.id}", role="child")
