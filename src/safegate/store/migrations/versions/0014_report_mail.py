"""Weekly reports by e-mail: an account's choice (``notify_prefs.weekly_report``, on unless
turned off) and one row per account and week sent or tried (``report_delivery``). Written by
hand.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("sent", "failed", "gave_up")


def upgrade() -> None:
    with op.batch_alter_table("notify_prefs") as batch:
        batch.add_column(sa.Column("weekly_report", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
    op.create_table(
        "report_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_report_delivery"),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE",
                                name="fk_report_delivery_account_id_account"),
        sa.UniqueConstraint("account_id", "week", name="uq_report_delivery_account_id_week"),
        sa.CheckConstraint(" OR ".join(f"\"status\" = '{v}'" for v in STATUSES),
                           name="status"),
    )


def downgrade() -> None:
    op.drop_table("report_delivery")
    with op.batch_alter_table("notify_prefs") as batch:
        batch.drop_column("weekly_report")
