"""Privacy: consents, data-subject requests, the audit log's hash chain and its head, and on
the profile the child's pseudonym, how the age was established and a processing restriction.

Columns are added in place, never by rebuilding ``profile`` (see 0006). Existing profiles get
a pseudonym, existing audit entries are chained in id order with the hash written out here
(frozen: it must stay what safegate.privacy.audit computed when this revision was written).
Written by hand, values frozen here.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PURPOSES = ("filtering", "full_query_log", "message_monitoring", "alerts", "reports",
            "partner_sharing")
GIVERS = ("parent", "child")
METHODS = ("cli", "web", "paper", "in_person")
LOCALES = ("vi", "en")
DSR_KINDS = ("access", "correct", "restrict", "erase")
DSR_STATUSES = ("open", "fulfilled", "refused")
PROFILE_COLUMNS = ("subject", "age_source", "age_attested_by", "age_attested_at",
                   "restricted_at")
AUDIT_COLUMNS = ("seq", "role", "org_id", "subject", "why", "legal_basis", "prev_hash", "hash")


def _one_of(column: str, values: Sequence[str]) -> str:
    return " OR ".join(f"\"{column}\" = '{v}'" for v in values)


def _check(table: str, column: str, values: Sequence[str]) -> sa.CheckConstraint:
    return sa.CheckConstraint(_one_of(column, values), name=f"ck_{table}_{column}")


def _profile_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["profile_id"], ["profile.id"], ondelete="CASCADE",
                                   name=f"fk_{table}_profile_id_profile")


def _when(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return str(value.astimezone(UTC).isoformat(timespec="microseconds"))


def _hash(prev: str, seq: int, row: Any) -> str:
    detail = row.detail if isinstance(row.detail, dict) else json.loads(row.detail or "{}")
    body = {"seq": seq, "prev": prev, "ts": _when(row.ts), "actor": row.actor, "role": None,
            "org_id": None, "action": row.action, "object_type": row.object_type,
            "object_id": row.object_id, "subject": None, "why": None, "legal_basis": None,
            "detail": detail}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def upgrade() -> None:
    op.add_column("profile", sa.Column("subject", sa.String(32), nullable=True))
    op.add_column("profile", sa.Column("age_source", sa.String(20), nullable=True))
    op.add_column("profile", sa.Column("age_attested_by", sa.String(320), nullable=True))
    op.add_column("profile", sa.Column("age_attested_at", sa.DateTime(timezone=True),
                                       nullable=True))
    op.add_column("profile", sa.Column("restricted_at", sa.DateTime(timezone=True),
                                       nullable=True))
    conn = op.get_bind()
    for (pid,) in conn.execute(sa.text("SELECT id FROM profile")).all():
        conn.execute(sa.text("UPDATE profile SET subject = :s WHERE id = :i"),
                     {"s": secrets.token_hex(16), "i": pid})
    op.create_index("ix_profile_subject", "profile", ["subject"], unique=True)

    op.add_column("audit_log", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.add_column("audit_log", sa.Column("role", sa.String(20), nullable=True))
    op.add_column("audit_log", sa.Column("org_id", sa.Integer(), nullable=True))
    op.add_column("audit_log", sa.Column("subject", sa.String(32), nullable=True))
    op.add_column("audit_log", sa.Column("why", sa.String(200), nullable=True))
    op.add_column("audit_log", sa.Column("legal_basis", sa.String(64), nullable=True))
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(64), nullable=True))
    op.add_column("audit_log", sa.Column("hash", sa.String(64), nullable=True))
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_hash", sa.String(64), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
        sa.CheckConstraint("id = 1", name="ck_audit_head_single_row"),
    )
    prev, seq = "", 0
    rows = conn.execute(sa.text("SELECT id, ts, actor, action, object_type, object_id, detail "
                                "FROM audit_log ORDER BY id")).all()
    for row in rows:
        seq += 1
        digest = _hash(prev, seq, row)
        conn.execute(sa.text("UPDATE audit_log SET seq = :seq, prev_hash = :prev, hash = :h "
                             "WHERE id = :id"), {"seq": seq, "prev": prev, "h": digest,
                                                  "id": row.id})
        prev = digest
    conn.execute(sa.text("INSERT INTO audit_head (id, count, last_hash) VALUES (1, :c, :h)"),
                 {"c": seq, "h": prev})
    op.create_index("ix_audit_log_subject", "audit_log", ["subject"])
    op.create_index("ix_audit_log_seq", "audit_log", ["seq"], unique=True)

    op.create_table(
        "consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(24), nullable=False),
        sa.Column("given_by", sa.String(10), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("text_version", sa.String(20), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("method", sa.String(12), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(320), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_consent"),
        _profile_fk("consent"),
        _check("consent", "purpose", PURPOSES),
        _check("consent", "given_by", GIVERS),
        _check("consent", "method", METHODS),
        _check("consent", "language", LOCALES),
    )
    op.create_index("ix_consent_profile_id_purpose", "consent", ["profile_id", "purpose"])

    op.create_table(
        "dsr",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("requested_by", sa.String(10), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="open"),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fulfilled_by", sa.String(320), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dsr"),
        _profile_fk("dsr"),
        _check("dsr", "kind", DSR_KINDS),
        _check("dsr", "requested_by", GIVERS),
        _check("dsr", "status", DSR_STATUSES),
        _check("dsr", "language", LOCALES),
    )
    op.create_index("ix_dsr_profile_id", "dsr", ["profile_id"])


def downgrade() -> None:
    op.drop_index("ix_dsr_profile_id", table_name="dsr")
    op.drop_table("dsr")
    op.drop_index("ix_consent_profile_id_purpose", table_name="consent")
    op.drop_table("consent")
    op.drop_index("ix_audit_log_seq", table_name="audit_log")
    op.drop_index("ix_audit_log_subject", table_name="audit_log")
    op.drop_table("audit_head")
    for column in reversed(AUDIT_COLUMNS):
        _drop_column("audit_log", column)
    op.drop_index("ix_profile_subject", table_name="profile")
    for column in reversed(PROFILE_COLUMNS):
        _drop_column("profile", column)


def _drop_column(table: str, column: str) -> None:
    op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
