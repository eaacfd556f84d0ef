"""The change bus (safegate.app.bus): a single-row version counter and a log of changes.

Written by hand, values frozen here (see 0001). The counter row starts at version 0.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("policy", "lists", "categories", "all")
# BIGINT on PostgreSQL, INTEGER on SQLite (as safegate.store.coltypes.BigId).
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    version = op.create_table(
        "change_version",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("version", BIG, nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("id", name="pk_change_version"),
        sa.CheckConstraint("id = 1", name="ck_change_version_single_row"),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])
    op.create_table(
        "change_log",
        sa.Column("version", BIG, nullable=False, autoincrement=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("version", name="pk_change_log"),
        sa.CheckConstraint(" OR ".join(f"\"kind\" = '{k}'" for k in KINDS),
                           name="ck_change_log_kind"),
    )
    op.create_index("ix_change_log_at", "change_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_change_log_at", table_name="change_log")
    op.drop_table("change_log")
    op.drop_table("change_version")
