"""A link a child can hold for their own page (``child_link``, at most one per child): the
token's SHA-256, the page's language, who made it and when, when it was last opened. A
stopped link is deleted. Written by hand.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCALES = ("vi", "en")


def upgrade() -> None:
    op.create_table(
        "child_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("last_opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_child_link"),
        sa.ForeignKeyConstraint(["profile_id"], ["profile.id"], ondelete="CASCADE",
                                name="fk_child_link_profile_id_profile"),
        sa.UniqueConstraint("profile_id", name="uq_child_link_profile_id"),
        sa.UniqueConstraint("token_hash", name="uq_child_link_token_hash"),
        sa.CheckConstraint(" OR ".join(f"\"language\" = '{v}'" for v in LOCALES),
                           name="language"),
    )


def downgrade() -> None:
    op.drop_table("child_link")
