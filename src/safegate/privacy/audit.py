"""The audit log: an append-only, hash-chained record of who viewed, changed, exported or
erased children's data, and of every consent change.

Each entry holds its place in the chain (``seq``, from 1), the previous entry's hash and its
own: SHA-256 over the canonical JSON of every field. :func:`append` runs inside the
transaction that makes the change it records (flushes only, never commits), so an entry
exists exactly when its change does. The single ``audit_head`` row holds the count and the
last hash; updating it first orders concurrent writers on PostgreSQL and SQLite alike, and it
shows a removed last entry. :func:`verify` walks the chain and says where it breaks.

Old entries may be purged (``audit.retention_days``): :func:`purge` deletes the entries
written before a cutoff and, in the same transaction, appends an ``audit.checkpoint`` entry
recording how many went, the place and the hash of the last one. :func:`verify` then starts
from the newest checkpoint: the oldest entry left must be the next after the purged one and
link to its hash, so a purge is visible and explained, and any other gap is still found.

A child is named by its pseudonym (``Profile.subject``), never by name; ``why`` is redacted
with the PII redactor before it is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from safegate.store.models import AuditHead, AuditLog
from safegate.store.values import utcnow

__all__ = ["CHECKPOINT", "Verification", "append", "entry_hash", "purge", "verify"]

_HEAD = cast(Table, AuditHead.__table__)
_LOG = cast(Table, AuditLog.__table__)
# The statements of every append, built once (a page view appends one).
_CLAIM = (update(_HEAD).where(_HEAD.c.id == 1).values(count=_HEAD.c.count + 1)
          .returning(_HEAD.c.count, _HEAD.c.last_hash))
_INSERT = insert(_LOG)
_NEW_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(last_hash=bindparam("digest"))
WHY_LIMIT = 200
# What the law names as the ground for each kind of processing (shown in the entries).
CHECKPOINT = "audit.checkpoint"
LEGAL_BASES = ("consent", "legal_obligation", "data_subject_request", "vital_interest",
               "contract", "retention_policy")


def _when(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(prev: str, seq: int, fields: Mapping[str, Any]) -> str:
    """The hash of an entry: SHA-256 over the canonical JSON of its fields, its place and the
    previous hash. (Migration 0009 holds a frozen copy: change both or neither.)"""
    body = {"seq": seq, "prev": prev, "ts": _when(fields["ts"]), "actor": fields["actor"],
            "role": fields.get("role"), "org_id": fields.get("org_id"),
            "action": fields["action"], "object_type": fields["object_type"],
            "object_id": fields.get("object_id"), "subject": fields.get("subject"),
            "why": fields.get("why"), "legal_basis": fields.get("legal_basis"),
            "detail": fields.get("detail") or {}}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _claim(session: Session) -> tuple[int, str]:
    """Take the next place in the chain (row lock until the transaction ends): (seq, the
    previous hash)."""
    row = session.connection().execute(_CLAIM).one_or_none()
    if row is None:  # the head is missing (an emptied table): rebuild it from the chain
        last = session.execute(select(AuditLog.seq, AuditLog.hash)
                               .order_by(AuditLog.seq.desc()).limit(1)).one_or_none()
        module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(module.insert(_HEAD).values(
            id=1, count=int(last[0] or 0) if last else 0,
            last_hash=(last[1] or "") if last else "").on_conflict_do_nothing())
        row = session.execute(_CLAIM).one()
    return int(row[0]), str(row[1])


def clean_why(why: str | None) -> str | None:
    """An operator's reason without personal data (the PII redactor's placeholders)."""
    if not why:
        return None
    from safegate.privacy.pii import redact

    return redact(" ".join(why.split()))[0][:WHY_LIMIT]


def append(session: Session, *, actor: str, action: str, object_type: str,
           object_id: int | str | None = None, subject: str | None = None,
           org_id: int | None = None, role: str | None = None, why: str | None = None,
           legal_basis: str | None = None, detail: Mapping[str, Any] | None = None,
           now: datetime | None = None) -> int:
    """Add one entry to the chain in the caller's transaction (flushes, never commits); its
    place in the chain (``seq``)."""
    if legal_basis is not None and legal_basis not in LEGAL_BASES:
        raise ValueError(f"legal_basis: {legal_basis!r} is not one of {', '.join(LEGAL_BASES)}")
    seq, prev = _claim(session)
    fields: dict[str, Any] = {
        "ts": (now or utcnow()).astimezone(UTC), "actor": actor[:320], "role": role,
        "org_id": org_id, "action": action, "object_type": object_type,
        "object_id": None if object_id is None else str(object_id), "subject": subject,
        "why": clean_why(why), "legal_basis": legal_basis, "detail": dict(detail or {}),
    }
    digest = entry_hash(prev, seq, fields)
    # A plain INSERT (no unit of work for a row nobody changes afterwards): a page view
    # writes one of these, and the ORM's flush of it cost as much as the statements.
    row = {"seq": seq, "prev_hash": prev, "hash": digest, **fields}
    # Core statements on the session's connection, past the ORM's execute.
    conn = session.connection()
    conn.execute(_INSERT, row)
    conn.execute(_NEW_HEAD, {"digest": digest})
    session.flush()  # the caller's own pending changes, as before
    return seq


def purge(session: Session, before: datetime, *, actor: str = "retention",
          now: datetime | None = None) -> int:
    """Delete the oldest entries, up to the first one written at or after ``before`` (only a
    run from the start of the chain, so an entry with an earlier time further on stays), and
    record a checkpoint (the count, the last purged entry's place and hash) in the caller's
    transaction; the number deleted."""
    first_kept = session.scalar(select(func.min(AuditLog.seq)).where(AuditLog.ts >= before))
    stmt = select(AuditLog.seq, AuditLog.hash).where(AuditLog.seq.is_not(None))
    if first_kept is not None:
        stmt = stmt.where(AuditLog.seq < first_kept)
    last = session.execute(stmt.order_by(AuditLog.seq.desc()).limit(1)).one_or_none()
    if last is None:
        return 0
    through, through_hash = int(last[0] or 0), str(last[1])
    result = session.execute(delete(AuditLog).where(AuditLog.seq <= through))
    count = int(getattr(result, "rowcount", 0) or 0)
    append(session, actor=actor, action=CHECKPOINT, object_type="audit_log",
           legal_basis="retention_policy", now=now,
           detail={"purged": count, "through_seq": through, "through_hash": through_hash,
                   "before": _when(before)})
    return count


def _start(session: Session) -> tuple[int, str, int | None]:
    """Where the walk starts: (the last purged place, its hash, the checkpoint's seq) from
    the newest checkpoint, or the chain's beginning."""
    row = session.execute(select(AuditLog.seq, AuditLog.detail)
                          .where(AuditLog.action == CHECKPOINT)
                          .order_by(AuditLog.seq.desc()).limit(1)).one_or_none()
    if row is None:
        return 0, "", None
    detail = row[1] or {}
    try:
        return int(detail["through_seq"]), str(detail["through_hash"]), row[0]
    except (KeyError, TypeError, ValueError):
        return 0, "", row[0]  # a damaged checkpoint: the walk (and its hash) reports it


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of walking the chain: ``problem`` None when it is whole. ``since`` is the
    last purged place when the walk started from a checkpoint (0: from the beginning)."""

    entries: int
    problem: str | None = None
    at_id: int | None = None
    since: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "problem": self.problem,
                "at_id": self.at_id, "since": self.since}


def verify(session: Session) -> Verification:
    """Walk every entry in id order: each must be the next in the chain, link to the previous
    hash and hash to what it holds; the head must name the last one. After a purge the walk
    starts from the newest checkpoint's last purged place and hash."""
    seq, prev, _ = _start(session)
    since, checked = seq, 0
    rows = session.execute(select(AuditLog).order_by(AuditLog.id)
                           .execution_options(yield_per=1000)).scalars()
    for entry in rows:
        seq += 1
        checked += 1
        if entry.seq is None or entry.hash is None:
            return Verification(checked, f"entry id {entry.id} is outside the chain "
                                "(no place or hash: written around the audit log)", entry.id,
                                since)
        if entry.seq != seq:
            what = "removed or reordered" if entry.seq > seq else "reordered or copied"
            return Verification(checked, f"entry id {entry.id} is number {entry.seq} where "
                                f"number {seq} belongs: entries {what}", entry.id, since)
        if entry.prev_hash != prev:
            return Verification(checked, f"entry id {entry.id} (number {seq}) does not link "
                                "to the entry before it: entries removed or reordered",
                                entry.id, since)
        fields = {c: getattr(entry, c) for c in (
            "ts", "actor", "role", "org_id", "action", "object_type", "object_id", "subject",
            "why", "legal_basis", "detail")}
        if entry_hash(prev, seq, fields) != entry.hash:
            return Verification(checked, f"entry id {entry.id} (number {seq}) was changed "
                                "after it was written", entry.id, since)
        prev = entry.hash
    head = session.execute(select(_HEAD.c.count, _HEAD.c.last_hash)
                           .where(_HEAD.c.id == 1)).one_or_none()
    count, last = (int(head[0]), str(head[1])) if head else (0, "")
    if head is not None and (count != seq or last != prev):
        return Verification(checked, f"the chain ends at number {seq} but {count} entries "
                            "were written: the last entries were removed", None, since)
    if head is None and seq:
        return Verification(checked, "the chain's head row is missing", None, since)
    return Verification(checked, since=since)

