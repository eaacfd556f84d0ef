"""Data-subject requests: open one (parent, or the child aged 7+), list them with the time
left of their 72 hours, and fulfil them.

- access: a ZIP in ``<data dir>/exports/`` with ``data.json`` (every row held about the child,
  alerts and request messages decrypted, device tokens withheld as credentials) and
  ``report.html`` in the requester's language;
- erase: every row of the child in every table, its query-log rows by device address, the
  change log's reasons that name it, its waiting alerts in the spool and its earlier exports;
  on SQLite the database is vacuumed so no deleted page keeps the data. What remains is the
  audit chain's entries, which name the child only by a pseudonym no row links to any more,
  and a ``dsr.erase`` tombstone with the counts;
- restrict: the gate treats the child's devices with the operator default, nothing deleted;
- correct: recorded as done (the correction itself is made with the usual commands).

Each step is one transaction with its audit entry; erase and restrict are ``policy`` changes
on the change bus, so running gates apply them at once.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from safegate.app.consent import child_age
from safegate.app.core import App
from safegate.app.schedules import find_child
from safegate.files import private_dir, write_private
from safegate.privacy import audit
from safegate.privacy import dsr as rules
from safegate.privacy.consent import check_giver
from safegate.store import choices
from safegate.store.errors import StoreError
from safegate.store.models import (
    AuditLog,
    Base,
    Breach,
    ChangeLog,
    DataSubjectRequest,
    Profile,
    QueryLog,
)
from safegate.store.values import utcnow

__all__ = ["DsrError", "DsrView", "fulfil_request", "list_requests", "open_request"]

EXPORTS = "exports"


class DsrError(ValueError):
    """Bad input for a data-subject request (one line)."""


@dataclass(frozen=True, slots=True)
class DsrView:
    id: int
    child: str
    kind: str
    requested_by: str
    actor: str
    language: str
    opened_at: datetime
    due_at: datetime
    status: str
    fulfilled_at: datetime | None
    seconds_left: float

    @property
    def overdue(self) -> bool:
        return self.status == "open" and self.seconds_left < 0

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "child": self.child, "kind": self.kind,
                "requested_by": self.requested_by, "actor": self.actor,
                "language": self.language, "opened_at": self.opened_at.isoformat(),
                "due_at": self.due_at.isoformat(), "status": self.status,
                "fulfilled_at": self.fulfilled_at.isoformat() if self.fulfilled_at else None,
                "seconds_left": round(self.seconds_left), "overdue": self.overdue,
                "time_left": rules.describe_left(self.seconds_left)}


def _view(row: DataSubjectRequest, child: str, now: datetime) -> DsrView:
    return DsrView(row.id, child, row.kind, row.requested_by, row.actor, row.language,
                   row.opened_at, row.due_at, row.status, row.fulfilled_at,
                   rules.seconds_left(row.due_at, now))


def _audit(session: Session, profile: Profile, row: DataSubjectRequest, actor: str,
           action: str, why: str | None = None, **detail: Any) -> None:
    audit.append(session, actor=actor, action=action, object_type="dsr", object_id=row.id,
                 subject=profile.subject, org_id=profile.org_id, why=why,
                 legal_basis="data_subject_request",
                 detail={"kind": row.kind, "requested_by": row.requested_by, **detail})


def open_request(app: App, child: str, kind: str, *, by: str, actor: str,
                 language: str = "vi", now: datetime | None = None) -> DsrView:
    if kind not in choices.DSR_KINDS:
        raise DsrError(f"kind: {kind!r} is not one of {', '.join(choices.DSR_KINDS)}")
    if language not in choices.LOCALES:
        raise DsrError(f"language: {language!r} is not one of {', '.join(choices.LOCALES)}")
    when = now or utcnow()
    with app.sessions().begin() as session:
        profile = find_child(session, child)
        check_giver(by, child_age(profile, when))
        row = DataSubjectRequest(profile_id=profile.id, kind=kind, requested_by=by,
                                 actor=actor, language=language, opened_at=when,
                                 due_at=rules.due_at(when), status="open")
        session.add(row)
        session.flush()
        _audit(session, profile, row, actor, "dsr.open")
        return _view(row, profile.name, when)


def list_requests(app: App, *, child: str | None = None, everything: bool = False,
                  now: datetime | None = None) -> list[DsrView]:
    """Open requests (``everything``: all), the nearest deadline first."""
    when = now or utcnow()
    with app.sessions()() as session:
        stmt = select(DataSubjectRequest, Profile.name).join(
            Profile, Profile.id == DataSubjectRequest.profile_id)
        if child is not None:
            stmt = stmt.where(DataSubjectRequest.profile_id == find_child(session, child).id)
        if not everything:
            stmt = stmt.where(DataSubjectRequest.status == "open")
        rows = session.execute(stmt.order_by(DataSubjectRequest.due_at,
                                             DataSubjectRequest.id)).all()
        return [_view(r, name, when) for r, name in rows]


def fulfil_request(app: App, request_id: int, *, actor: str, why: str | None = None,
                   now: datetime | None = None) -> dict[str, Any]:
    """Carry out an open request; what was done (for access: the ZIP's path). ``why``: the
    operator's note for the audit log (personal data redacted)."""
    when = now or utcnow()
    with app.sessions()() as session:
        row = session.get(DataSubjectRequest, request_id)
        if row is None:
            raise StoreError(f"no data request {request_id}")
        if row.status != "open":
            raise DsrError(f"request {request_id} is {row.status} already")
        kind = row.kind
    if kind == "access":
        return _access(app, request_id, actor, when, why)
    if kind == "erase":
        return _erase(app, request_id, actor, when, why)
    with app.change("policy", f"data request {request_id} ({kind}) fulfilled") as session:
        row = session.get_one(DataSubjectRequest, request_id)
        profile = session.get_one(Profile, row.profile_id)
        if kind == "restrict":
            profile.restricted_at = when
        row.status, row.fulfilled_at, row.fulfilled_by = "fulfilled", when, actor
        session.flush()
        _audit(session, profile, row, actor, f"dsr.{kind}", why)
        return {"id": request_id, "kind": kind, "status": "fulfilled",
                "restricted": profile.restricted_at is not None}


def lift_restriction(app: App, child: str, *, actor: str, why: str | None = None,
                     now: datetime | None = None) -> dict[str, Any]:
    """End a child's processing restriction: its devices get its own policy again, in every
    running gate at once (a change on the change bus)."""
    when = now or utcnow()
    with app.change("policy", "processing restriction lifted") as session:
        profile = find_child(session, child)
        if profile.restricted_at is None:
            raise DsrError(f"{profile.name!r} is not restricted")
        since = profile.restricted_at
        profile.restricted_at = None
        audit.append(session, actor=actor, action="dsr.lift", object_type="profile",
                     object_id=profile.id, subject=profile.subject, org_id=profile.org_id,
                     why=why, legal_basis="data_subject_request",
                     detail={"restricted_at": since.isoformat()}, now=when)
        return {"child": profile.name, "restricted": False,
                "restricted_since": since.isoformat()}


# ---------------------------------------------------------------- access


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _child_tables() -> list[Table]:
    """Every table with a ``profile_id`` column (a new one is exported and erased too)."""
    return [t for t in Base.metadata.sorted_tables if "profile_id" in t.c]


def gather(session: Session, profile: Profile, app: App) -> dict[str, Any]:
    """Everything held about the child, as plain data."""
    from safegate.app.requests import message_context
    from safegate.privacy.crypto import DecryptionError, decrypt_text
    from safegate.protect.monitor import open_snippet

    key = None
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in _child_tables():
        rows = session.execute(select(table).where(table.c.profile_id == profile.id)
                               .order_by(*table.primary_key.columns)).mappings()
        out = [{k: _plain(v) for k, v in r.items()} for r in rows]
        for r in out:
            if table.name == "device":
                r["token"] = "(withheld: the device's credential)"
            elif table.name == "alert" or (table.name == "unblock_request" and r["message"]):
                key = key or app.keyring()
                if table.name == "alert":
                    text, error = open_snippet(r["snippet"], key, profile.id)
                    r["snippet"] = text if text is not None else f"[{error}]"
                else:
                    try:
                        r["message"] = decrypt_text(r["message"], key,
                                                    context=message_context(profile.id))
                    except DecryptionError as exc:
                        r["message"] = f"[{exc}]"
        tables[table.name] = out
    # Breaches that affected the child (the register keeps pseudonyms, not a profile_id).
    tables["breach"] = [
        {"id": b.id, "description": b.description, "occurred_at": _plain(b.occurred_at),
         "detected_at": _plain(b.detected_at), "data_classes": b.data_classes,
         "risk": b.risk, "measures": b.measures, "status": b.status,
         "authority_notified_at": _plain(b.authority_notified_at),
         "subjects_informed_at": _plain(b.subjects_informed_at)}
        for b in session.scalars(select(Breach).order_by(Breach.id))
        if profile.subject in (b.children or [])]
    org = profile.organisation
    entries = session.scalars(select(AuditLog).where(AuditLog.subject == profile.subject)
                              .order_by(AuditLog.seq))
    return {
        "profile": {"id": profile.id, "name": profile.name, "birth_year": profile.birth_year,
                    "age_source": profile.age_source,
                    "age_attested_by": profile.age_attested_by,
                    "age_attested_at": _plain(profile.age_attested_at),
                    "preset": profile.preset, "created_at": _plain(profile.created_at),
                    "paused_until": _plain(profile.paused_until),
                    "restricted_at": _plain(profile.restricted_at),
                    "pseudonym": profile.subject},
        "organisation": {"name": org.name, "kind": org.kind, "timezone": org.timezone},
        "tables": tables,
        "audit": [{"seq": e.seq, "ts": _plain(e.ts), "actor": e.actor, "role": e.role,
                   "action": e.action, "object": f"{e.object_type}:{e.object_id or ''}",
                   "why": e.why, "legal_basis": e.legal_basis, "detail": e.detail}
                  for e in entries],
    }


def export_path(data_dir: Path, request_id: int, subject: str) -> Path:
    return data_dir / EXPORTS / f"dsr-{request_id}-{subject}.zip"


def _access(app: App, request_id: int, actor: str, when: datetime,
            why: str | None) -> dict[str, Any]:
    with app.sessions().begin() as session:
        row = session.get_one(DataSubjectRequest, request_id)
        profile = session.get_one(Profile, row.profile_id)
        row.status, row.fulfilled_at, row.fulfilled_by = "fulfilled", when, actor
        session.flush()
        _audit(session, profile, row, actor, "dsr.access", why)
        data = gather(session, profile, app)
        data["request"] = {"id": row.id, "kind": row.kind, "requested_by": row.requested_by,
                           "opened_at": _plain(row.opened_at), "language": row.language}
        data["made_at"] = when.isoformat(timespec="seconds")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=1))
            archive.writestr("report.html", rules.html_report(data, row.language))
        assert profile.subject is not None
        path = export_path(app.data_dir, row.id, profile.subject)
        private_dir(path.parent)
        write_private(path, buffer.getvalue())  # before the commit: no entry without a file
        return {"id": request_id, "kind": "access", "status": "fulfilled", "zip": str(path),
                "rows": {k: len(v) for k, v in data["tables"].items()}}


# ---------------------------------------------------------------- erasure


def _erase(app: App, request_id: int, actor: str, when: datetime,
           why: str | None) -> dict[str, Any]:
    from safegate.store import family as repo

    with app.change("policy", f"data request {request_id} (erase) fulfilled") as session:
        row = session.get_one(DataSubjectRequest, request_id)
        profile = session.get_one(Profile, row.profile_id)
        subject, pid = profile.subject, profile.id
        devices = list(profile.devices)
        names = [profile.name, *(d.name for d in devices)]
        addresses = [d.ip_cidr for d in devices if d.ip_cidr and "/" not in d.ip_cidr]
        counts = {t.name: int(session.execute(select(func.count()).select_from(t).where(
            t.c.profile_id == pid)).scalar_one()) for t in _child_tables()}
        if addresses:  # rows logged by the child's devices before they were assigned
            gone = session.execute(delete(QueryLog).where(QueryLog.client_ip.in_(addresses),
                                                          QueryLog.profile_id.is_(None)))
            counts["query_log"] += int(getattr(gone, "rowcount", 0) or 0)
        for name in names:  # the change log's reasons were written with the names given
            session.execute(update(ChangeLog).where(ChangeLog.reason.contains(name))
                            .values(reason="(erased)"))
        tombstone = {"request": request_id, "kind": "erase", "requested_by": row.requested_by,
                     "opened_at": _plain(row.opened_at), "rows": counts}
        repo.delete_profile(session, profile)
        audit.append(session, actor=actor, action="dsr.erase", object_type="dsr",
                     object_id=request_id, subject=subject, org_id=profile.org_id, why=why,
                     legal_basis="data_subject_request", detail=tombstone, now=when)
    files = _erase_files(app, pid, subject)
    _compact(app)
    return {"id": request_id, "kind": "erase", "status": "fulfilled", "rows": counts,
            "files": files}


def _erase_files(app: App, profile_id: int, subject: str | None) -> int:
    """The child's alerts waiting in the spool and its earlier exports: how many went."""
    from safegate.protect.spool import Spool

    removed = 0
    spool = Spool(app.data_dir)
    if spool.path.exists():
        with spool.locked():
            entries = spool.entries()
            keep = [e for e in entries if e.alert is None or e.alert.profile_id != profile_id]
            if len(keep) != len(entries):
                spool.rewrite(keep)
                removed += len(entries) - len(keep)
    if subject:
        for path in (app.data_dir / EXPORTS).glob(f"dsr-*-{subject}.zip"):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _compact(app: App) -> None:
    """SQLite keeps deleted rows in free pages and the write-ahead log until they are
    reused: rewrite the file and empty the log (PostgreSQL: VACUUM reclaims in its time)."""
    if app.engine.dialect.name != "sqlite":
        return
    with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
