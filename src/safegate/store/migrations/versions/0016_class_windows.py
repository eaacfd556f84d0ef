"""A window a class's school hours put on a child remembers the class
(``schedule.class_id``), so it leaves with the child when the child leaves or changes class.
NULL for a child's own windows; a class deleted leaves its windows as the children's own.
Written by hand.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("schedule") as batch:
        batch.add_column(sa.Column("class_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_schedule_class_id_school_class", "school_class",
                                 ["class_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_schedule_class_id", ["class_id"])


def downgrade() -> None:
    with op.batch_alter_table("schedule") as batch:
        batch.drop_index("ix_schedule_class_id")
        batch.drop_constraint("fk_schedule_class_id_school_class", type_="foreignkey")
        batch.drop_column("class_id")
