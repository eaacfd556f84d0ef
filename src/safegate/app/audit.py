"""The audit log for operators: verify the chain, and list the entries about a child (by its
pseudonym) or all of them. Reading entries about a child is itself recorded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from safegate.app.core import App
from safegate.app.schedules import find_child
from safegate.privacy import audit
from safegate.store.models import AuditLog

__all__ = ["audit_entries", "entry_dict", "verify_audit"]


def verify_audit(app: App) -> audit.Verification:
    with app.sessions()() as session:
        return audit.verify(session)


def entry_dict(e: AuditLog) -> dict[str, Any]:
    return {"id": e.id, "seq": e.seq, "ts": e.ts.isoformat(), "actor": e.actor,
            "role": e.role, "org_id": e.org_id, "action": e.action,
            "object_type": e.object_type, "object_id": e.object_id, "subject": e.subject,
            "why": e.why, "legal_basis": e.legal_basis, "detail": e.detail, "hash": e.hash}


def audit_entries(app: App, child: str | None = None, *, actor: str,
                  limit: int | None = None) -> list[dict[str, Any]]:
    """The newest entries first (about ``child`` only, when named)."""
    with app.sessions().begin() as session:
        stmt = select(AuditLog).order_by(AuditLog.id.desc())
        subject = None
        if child is not None:
            profile = find_child(session, child)
            subject = profile.subject
            stmt = stmt.where(AuditLog.subject == subject)
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = [entry_dict(e) for e in session.scalars(stmt)]
        audit.append(session, actor=actor, action="audit.view", object_type="audit_log",
                     subject=subject, detail={"count": len(rows)})
        return rows
