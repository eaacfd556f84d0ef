"""Domain categories found by the content-safety engine or set by operators, and the queue
of newly seen domains.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "domain_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False, server_default="1"),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_domain_category"),
        sa.UniqueConstraint("domain", name="uq_domain_category_domain"),
        sa.CheckConstraint("\"source\" = 'auto' OR \"source\" = 'operator'",
                           name="ck_domain_category_source"),
    )
    op.create_table(
        "seen_domain",
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("queries", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("classified", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("domain", name="pk_seen_domain"),
    )


def downgrade() -> None:
    op.drop_table("seen_domain")
    op.drop_table("domain_category")
