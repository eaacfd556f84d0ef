"""Schools: classes of a school year, the class each child is in, the teachers of each
class, and invite links (second parent, teacher). Four new tables, nothing rebuilt. Written
by hand, values frozen here.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INVITE_ROLES = ("parent", "teacher")


def _created() -> sa.Column[Any]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                     server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "school_class",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("school_year", sa.String(9), nullable=False),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_school_class"),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"], ondelete="CASCADE",
                                name="fk_school_class_org_id_organisation"),
        sa.UniqueConstraint("org_id", "name", "school_year",
                            name="uq_school_class_org_id_name_school_year"),
    )
    op.create_index("ix_school_class_org_id", "school_class", ["org_id"])
    op.create_table(
        "class_member",
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", name="pk_class_member"),
        sa.ForeignKeyConstraint(["profile_id"], ["profile.id"], ondelete="CASCADE",
                                name="fk_class_member_profile_id_profile"),
        sa.ForeignKeyConstraint(["class_id"], ["school_class.id"], ondelete="CASCADE",
                                name="fk_class_member_class_id_school_class"),
    )
    op.create_index("ix_class_member_class_id", "class_member", ["class_id"])
    op.create_table(
        "class_teacher",
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("class_id", "account_id", name="pk_class_teacher"),
        sa.ForeignKeyConstraint(["class_id"], ["school_class.id"], ondelete="CASCADE",
                                name="fk_class_teacher_class_id_school_class"),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE",
                                name="fk_class_teacher_account_id_account"),
    )
    op.create_index("ix_class_teacher_account_id", "class_teacher", ["account_id"])
    op.create_table(
        "invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        _created(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_invite"),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"], ondelete="CASCADE",
                                name="fk_invite_org_id_organisation"),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="SET NULL",
                                name="fk_invite_account_id_account"),
        sa.UniqueConstraint("token_hash", name="uq_invite_token_hash"),
        sa.CheckConstraint(" OR ".join(f"\"role\" = '{v}'" for v in INVITE_ROLES),
                           name="role"),
    )
    op.create_index("ix_invite_org_id", "invite", ["org_id"])


def downgrade() -> None:
    op.drop_table("invite")
    op.drop_table("class_teacher")
    op.drop_table("class_member")
    op.drop_table("school_class")
