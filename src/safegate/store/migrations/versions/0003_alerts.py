"""Alerts for parents from a child's conversations (safegate.protect).

Written by hand, values frozen here (see 0001). The snippet column holds ciphertext.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def _one_of(column: str, *values: str) -> sa.CheckConstraint:
    check = " OR ".join(f"\"{column}\" = '{v}'" for v in values)
    return sa.CheckConstraint(check, name=f"ck_alert_{column}")


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False),
        sa.Column("conversation", sa.String(200), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("snippet", sa.Text(), nullable=False),
        sa.Column("guidance", sa.String(40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("feedback", sa.String(10), nullable=True),
        sa.Column("feedback_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alert"),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["profile.id"], name="fk_alert_profile_id_profile",
            ondelete="CASCADE",
        ),
        _one_of("category", "sexual", "grooming", "self_harm", "bullying", "hate", "violence",
                "scam", "drugs", "gambling", "pii_disclosure"),
        _one_of("severity", "warning", "urgent"),
        _one_of("feedback", "helpful", "wrong"),
    )
    op.create_index("ix_alert_profile_id_conversation_category_created_at", "alert",
                    ["profile_id", "conversation", "category", "created_at"])
    op.create_index("ix_alert_profile_id_created_at", "alert", ["profile_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_alert_profile_id_created_at", table_name="alert")
    op.drop_index("ix_alert_profile_id_conversation_category_created_at", table_name="alert")
    op.drop_table("alert")
