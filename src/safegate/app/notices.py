"""Operator notices for deadlines (docs/privacy.md): a reminder when an open data request or
an unreported breach is due within a day, an alert when it is overdue. The gate's jobs leader
raises them hourly (once across nodes; a notice exists once per kind and object, so a second
node or a second run adds nothing), each with a log line that names no child; the command
line and the web app show the table until a person marks a notice seen. A notice whose
request was fulfilled, or whose breach was reported or closed, is marked resolved.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from safegate.app.access import row_id
from safegate.app.core import App
from safegate.app.explain import NotFound
from safegate.privacy import audit
from safegate.privacy import breach as breach_rules
from safegate.privacy.dsr import deadline_notice, describe_left
from safegate.store.models import Breach, DataSubjectRequest, Notice, Organisation, Profile
from safegate.store.values import utcnow

__all__ = ["list_notices", "mark_seen", "raise_notices"]

log = logging.getLogger(__name__)
RESOLVED = "resolved"


def _due_items(session: Session) -> list[tuple[str, int, int | None, datetime, bool]]:
    """(object type, id, organisation, due, still open) of every request and breach."""
    items: list[tuple[str, int, int | None, datetime, bool]] = []
    for row, org in session.execute(select(DataSubjectRequest, Profile.org_id).join(
            Profile, Profile.id == DataSubjectRequest.profile_id)).all():
        items.append(("dsr", row.id, org, row.due_at, row.status == "open"))
    for b in session.scalars(select(Breach)):
        items.append(("breach", b.id, b.org_id,
                      breach_rules.deadline(b.detected_at, b.occurred_at),
                      b.status != "closed" and b.authority_notified_at is None))
    return items


def raise_notices(app: App, now: datetime | None = None) -> int:
    """New notices for deadlines near or past (and open ones resolved): how many were
    raised."""
    now = now or utcnow()
    raised = 0
    with app.sessions().begin() as session:
        module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        table: Table = Notice.__table__  # type: ignore[assignment]
        open_items = set()
        for kind, oid, org, due, still_open in _due_items(session):
            if not still_open:
                continue
            open_items.add((kind, oid))
            which = deadline_notice(due, now)
            if which is None:
                continue
            new = session.execute(module.insert(table).values(
                kind=f"{kind}.{which}", object_type=kind, object_id=oid, org_id=org,
                due_at=due, created_at=now).on_conflict_do_nothing()
                .returning(table.c.id)).scalar_one_or_none()
            if new is not None:
                raised += 1
                what = "data request" if kind == "dsr" else "breach report"
                left = describe_left((due - now).total_seconds())
                if which == "overdue":
                    log.warning("privacy: %s %d is OVERDUE (%s)", what, oid, left)
                else:
                    log.info("privacy: %s %d is due within a day (%s)", what, oid, left)
        for notice in session.scalars(select(Notice).where(Notice.seen_at.is_(None))):
            if (notice.object_type, notice.object_id) not in open_items:
                notice.seen_at, notice.seen_by = now, RESOLVED
    return raised


def list_notices(app: App, *, everything: bool = False, created: datetime | None = None,
                 now: datetime | None = None) -> list[dict[str, Any]]:
    """Unseen notices (``everything``: all; ``created``: only those raised at that moment,
    as ``raise_notices``'s ``now``), the earliest deadline first."""
    now = now or utcnow()
    with app.sessions()() as session:
        stmt = (select(Notice, Organisation.name)
                .outerjoin(Organisation, Organisation.id == Notice.org_id)
                .order_by(Notice.due_at, Notice.id))
        if not everything:
            stmt = stmt.where(Notice.seen_at.is_(None))
        if created is not None:
            stmt = stmt.where(Notice.created_at == created)
        return [{"id": n.id, "kind": n.kind, "object_type": n.object_type,
                 "object_id": n.object_id, "org_id": n.org_id, "org": org,
                 "due_at": n.due_at.isoformat(), "created_at": n.created_at.isoformat(),
                 "seconds_left": int((n.due_at - now).total_seconds()),
                 "time_left": describe_left((n.due_at - now).total_seconds()),
                 "seen_at": n.seen_at.isoformat() if n.seen_at else None,
                 "seen_by": n.seen_by} for n, org in session.execute(stmt)]


def mark_seen(app: App, notice_id: int, *, actor: str, role: str | None = None,
              now: datetime | None = None) -> None:
    """Mark a notice seen by ``actor`` (audited); NotFound for an unknown id."""
    with app.sessions().begin() as session:
        notice = session.get(Notice, row_id("notice", notice_id))
        if notice is None:
            raise NotFound(f"no notice {notice_id}")
        if notice.seen_at is None:
            notice.seen_at, notice.seen_by = now or utcnow(), actor[:320]
            audit.append(session, actor=actor, role=role, action="notice.seen",
                         object_type="notice",
                         object_id=notice.id, org_id=notice.org_id,
                         detail={"kind": notice.kind, "object": notice.object_id})
