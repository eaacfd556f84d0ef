"""Privacy: the breach register and operator notices (deadlines of data requests and
breaches coming or past). Written by hand, values frozen here.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RISKS = ("low", "medium", "high")
STATUSES = ("open", "contained", "closed")
NOTICE_KINDS = ("dsr.reminder", "dsr.overdue", "breach.reminder", "breach.overdue")


def _check(table: str, column: str, values: Sequence[str]) -> sa.CheckConstraint:
    # Named ``column``: the naming convention makes it ck_<table>_<column>, as in the models.
    return sa.CheckConstraint(" OR ".join(f"\"{column}\" = '{v}'" for v in values),
                              name=column)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    when = sa.DateTime(timezone=True)
    op.create_table(
        "breach",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("occurred_at", when, nullable=True),
        sa.Column("detected_at", when, nullable=False),
        sa.Column("recorded_at", when, nullable=False),
        sa.Column("recorded_by", sa.String(320), nullable=False),
        sa.Column("data_classes", _json(), nullable=False),
        sa.Column("children", _json(), nullable=False),
        sa.Column("children_count", sa.Integer(), nullable=False),
        sa.Column("risk", sa.String(10), nullable=False),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False, server_default="open"),
        sa.Column("authority_notified_at", when, nullable=True),
        sa.Column("subjects_informed_at", when, nullable=True),
        sa.Column("late_reason", sa.Text(), nullable=True),
        sa.Column("closed_at", when, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_breach"),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"], ondelete="SET NULL",
                                name="fk_breach_org_id_organisation"),
        _check("breach", "risk", RISKS),
        _check("breach", "status", STATUSES),
    )
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("object_type", sa.String(20), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("due_at", when, nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("seen_at", when, nullable=True),
        sa.Column("seen_by", sa.String(320), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notice"),
        sa.UniqueConstraint("kind", "object_type", "object_id",
                            name="uq_notice_kind_object_type_object_id"),
        _check("notice", "kind", NOTICE_KINDS),
    )


def downgrade() -> None:
    op.drop_table("notice")
    op.drop_table("breach")
