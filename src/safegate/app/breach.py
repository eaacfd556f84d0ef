"""The breach register (docs/privacy.md, "Breaches"): record a suspected breach, list them
with the 72-hour clocks, update what is known and done, and draft the notifications (to the
authority and to the families) in Vietnamese or English. Every step is an audit entry; the
children affected are kept by pseudonym, found by name or from the audit log's entries in a
time window (say, every child whose data a stolen account read).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safegate.app.core import App
from safegate.app.schedules import find_child
from safegate.files import write_private
from safegate.privacy import audit
from safegate.privacy import breach as rules
from safegate.store import choices
from safegate.store.models import AuditLog, Breach, Organisation, Profile
from safegate.store.values import utcnow

__all__ = ["BreachError", "BreachView", "list_breaches", "notify_breach", "record_breach",
           "update_breach"]

TEXT_LIMIT = 2000


class BreachError(ValueError):
    """A breach that is not there, or a change that does not fit it."""


@dataclass(frozen=True, slots=True)
class BreachView:
    id: int
    description: str
    occurred_at: datetime | None
    detected_at: datetime
    due_at: datetime
    data_classes: list[str]
    children_count: int
    children: list[str]
    risk: str
    measures: str | None
    status: str
    authority_notified_at: datetime | None
    subjects_informed_at: datetime | None
    authority: str  # the clock: time left, overdue, or done
    subjects: str

    @property
    def overdue(self) -> bool:
        return "overdue" in self.authority or "overdue" in self.subjects

    def to_dict(self) -> dict[str, Any]:
        def iso(v: datetime | None) -> str | None:
            return None if v is None else v.isoformat()

        return {"id": self.id, "description": self.description,
                "occurred_at": iso(self.occurred_at), "detected_at": iso(self.detected_at),
                "due_at": iso(self.due_at), "data_classes": self.data_classes,
                "children_count": self.children_count, "children": self.children,
                "risk": self.risk, "measures": self.measures, "status": self.status,
                "authority_notified_at": iso(self.authority_notified_at),
                "subjects_informed_at": iso(self.subjects_informed_at),
                "authority": self.authority, "subjects": self.subjects,
                "overdue": self.overdue}


def _clean(text: str | None, what: str) -> str | None:
    """An operator's text without personal data (the PII redactor's placeholders)."""
    if text is None:
        return None
    flat = " ".join(text.split())
    if not flat:
        raise BreachError(f"{what}: empty")
    from safegate.privacy.pii import redact

    return redact(flat)[0][:TEXT_LIMIT]


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _view(row: Breach, now: datetime) -> BreachView:
    due = rules.deadline(row.detected_at, row.occurred_at).astimezone(UTC)
    return BreachView(row.id, row.description, _utc(row.occurred_at),
                      row.detected_at.astimezone(UTC), due,
                      list(row.data_classes), row.children_count, list(row.children),
                      row.risk, row.measures, row.status, row.authority_notified_at,
                      row.subjects_informed_at,
                      rules.breach_clock(due, row.authority_notified_at, now),
                      rules.breach_clock(due, row.subjects_informed_at, now))


def _get(session: Session, breach_id: int) -> Breach:
    row = session.get(Breach, breach_id)
    if row is None:
        raise BreachError(f"no breach {breach_id}")
    return row


def _subjects(session: Session, children: Sequence[str], audit_from: datetime | None,
              audit_to: datetime | None, audit_actor: str | None,
              ) -> tuple[list[str], list[str]]:
    """The pseudonyms of the children named and of those in the audit entries of the window
    (by the actor, when given), and the data classes those entries touched."""
    found = [find_child(session, ref).subject for ref in children]
    actions: list[str] = []
    if audit_from is not None or audit_to is not None or audit_actor is not None:
        stmt = select(AuditLog.subject, AuditLog.action).where(AuditLog.subject.is_not(None))
        if audit_from is not None:
            stmt = stmt.where(AuditLog.ts >= audit_from)
        if audit_to is not None:
            stmt = stmt.where(AuditLog.ts <= audit_to)
        if audit_actor is not None:
            stmt = stmt.where(AuditLog.actor == audit_actor)
        for subject, action in session.execute(stmt.distinct()):
            found.append(subject)
            actions.append(action)
    return sorted({s for s in found if s}), rules.classes_of_actions(actions)


def _audit(session: Session, row: Breach, actor: str, action: str, **detail: Any) -> None:
    audit.append(session, actor=actor, action=action, object_type="breach", object_id=row.id,
                 org_id=row.org_id, legal_basis="legal_obligation",
                 detail={"status": row.status, "children": row.children_count, **detail})


def record_breach(app: App, description: str, *, detected_at: datetime,
                  data_classes: Sequence[str], risk: str, actor: str,
                  occurred_at: datetime | None = None, children: Sequence[str] = (),
                  audit_from: datetime | None = None, audit_to: datetime | None = None,
                  audit_actor: str | None = None, measures: str | None = None,
                  now: datetime | None = None) -> BreachView:
    """A new entry in the register; its 72 hours run from ``occurred_at`` or
    ``detected_at``, whichever is earlier. With an audit window, the children and the data
    classes its entries touched are added to those named."""
    now = now or utcnow()
    if risk not in choices.BREACH_RISKS:
        raise BreachError(f"risk: {risk!r} is not one of {', '.join(choices.BREACH_RISKS)}")
    if detected_at > now or (occurred_at is not None and occurred_at > now):
        raise BreachError("a breach cannot be detected or occur in the future")
    with app.sessions().begin() as session:
        subjects, touched = _subjects(session, children, audit_from, audit_to, audit_actor)
        classes = rules.parse_classes([*data_classes, *touched])
        orgs = set(session.scalars(select(Profile.org_id).where(Profile.subject.in_(subjects))))
        if not orgs:  # no child named: the organisation, when the store holds only one
            orgs = set(session.scalars(select(Organisation.id).limit(2)))
        row = Breach(description=_clean(description, "description"), occurred_at=occurred_at,
                     detected_at=detected_at, recorded_at=now, recorded_by=actor[:320],
                     data_classes=classes, children=subjects, children_count=len(subjects),
                     risk=risk, measures=_clean(measures, "measures"), status="open",
                     org_id=orgs.pop() if len(orgs) == 1 else None)
        session.add(row)
        session.flush()
        _audit(session, row, actor, "breach.record", data_classes=classes, risk=risk)
        return _view(row, now)


def list_breaches(app: App, *, everything: bool = False,
                  now: datetime | None = None) -> list[BreachView]:
    """Open and contained breaches (all with ``everything``), the nearest deadline first."""
    now = now or utcnow()
    with app.sessions()() as session:
        stmt = select(Breach)
        if not everything:
            stmt = stmt.where(Breach.status != "closed")
        views = [_view(r, now) for r in session.scalars(stmt)]
    return sorted(views, key=lambda v: (v.status == "closed", v.due_at, v.id))


def update_breach(app: App, breach_id: int, *, actor: str, status: str | None = None,
                  risk: str | None = None, measures: str | None = None,
                  data_classes: Sequence[str] = (), children: Sequence[str] = (),
                  occurred_at: datetime | None = None, late_reason: str | None = None,
                  now: datetime | None = None) -> BreachView:
    """Change what is known or done; data classes and children are added, never dropped."""
    now = now or utcnow()
    if status is not None and status not in choices.BREACH_STATUSES:
        raise BreachError(f"status: {status!r} is not one of "
                          f"{', '.join(choices.BREACH_STATUSES)}")
    if risk is not None and risk not in choices.BREACH_RISKS:
        raise BreachError(f"risk: {risk!r} is not one of {', '.join(choices.BREACH_RISKS)}")
    with app.sessions().begin() as session:
        row = _get(session, breach_id)
        changed: list[str] = []
        if status is not None and status != row.status:
            row.status, row.closed_at = status, now if status == "closed" else None
            changed.append("status")
        if risk is not None and risk != row.risk:
            row.risk = risk
            changed.append("risk")
        if measures is not None:
            row.measures = _clean(measures, "measures")
            changed.append("measures")
        if late_reason is not None:
            row.late_reason = _clean(late_reason, "late reason")
            changed.append("late_reason")
        if occurred_at is not None:
            if occurred_at > now:
                raise BreachError("a breach cannot occur in the future")
            row.occurred_at = occurred_at
            changed.append("occurred_at")
        if data_classes:
            merged = rules.parse_classes([*row.data_classes, *data_classes])
            if merged != list(row.data_classes):
                row.data_classes = merged
                changed.append("data_classes")
        if children:
            named, _ = _subjects(session, children, None, None, None)
            subjects = sorted({*row.children, *named})
            if subjects != list(row.children):
                row.children, row.children_count = subjects, len(subjects)
                changed.append("children")
        if not changed:
            raise BreachError("nothing to change")
        _audit(session, row, actor, "breach.update", changed=changed)
        session.flush()
        return _view(row, now)


def notify_breach(app: App, breach_id: int, *, to: str, language: str, actor: str,
                  sent: bool = False, out: Path | None = None,
                  now: datetime | None = None) -> dict[str, Any]:
    """The notification draft for ``to`` (``authority`` or ``subjects``); with ``sent`` the
    notification is recorded as made now (the operator sends it; SafeGate does not)."""
    now = now or utcnow()
    if to not in ("authority", "subjects"):
        raise BreachError("to: authority or subjects")
    with app.sessions().begin() as session:
        row = _get(session, breach_id)
        org = session.get(Organisation, row.org_id) if row.org_id is not None else None
        facts = {"id": row.id, "description": row.description,
                 "occurred_at": row.occurred_at, "detected_at": row.detected_at,
                 "data_classes": row.data_classes, "children_count": row.children_count,
                 "risk": row.risk, "measures": row.measures, "late_reason": row.late_reason}
        text = rules.draft(facts, to=to, lang=language, organisation=org.name if org else "...",
                           now=now)
        if sent:
            if to == "authority":
                row.authority_notified_at = now
            else:
                row.subjects_informed_at = now
        _audit(session, row, actor, "breach.notified" if sent else "breach.draft", to=to,
               language=language)
    if out is not None:
        write_private(out, text.encode("utf-8"))
    return {"id": breach_id, "to": to, "language": language, "sent": sent, "draft": text,
            **({"file": str(out)} if out is not None else {})}
