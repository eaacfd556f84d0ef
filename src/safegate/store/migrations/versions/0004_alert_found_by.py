"""Which layer of the safety engine found an alert (rules, model, deep, conversation).

Nullable: alerts stored before this revision do not know. Written by hand, values frozen here.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOUND_BY = ("rules", "model", "deep", "conversation")


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch:  # SQLite: add the CHECK by rebuilding
        batch.add_column(sa.Column("found_by", sa.String(12), nullable=True))
        batch.create_check_constraint(  # named ck_alert_found_by by the naming convention
            "found_by", " OR ".join(f"\"found_by\" = '{v}'" for v in FOUND_BY))


def downgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.drop_constraint("found_by", type_="check")
        batch.drop_column("found_by")
