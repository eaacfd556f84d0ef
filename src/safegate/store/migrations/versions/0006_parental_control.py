"""Parental control: service modes and allow-list-only on the policy, a pause on the profile,
weekly schedules, daily time budgets and the minutes used, temporary allows, and unblock
requests.

Written by hand, values frozen here (see 0001).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEDULE_ACTIONS = ("block", "allow")
REQUEST_STATUSES = ("pending", "approved", "declined")
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _one_of(column: str, values: Sequence[str]) -> str:
    return " OR ".join(f"\"{column}\" = '{v}'" for v in values)


def _profile_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["profile_id"], ["profile.id"], ondelete="CASCADE",
                                   name=f"fk_{table}_profile_id_profile")


# Columns are added and dropped in place (SQLite >= 3.35 drops them natively), never by
# rebuilding the table: on SQLite a rebuilt profile table would be dropped, and with foreign
# keys on, dropping it deletes every alert and device of every child (ON DELETE CASCADE).
POLICY_COLUMNS = ("allowed_services", "monitored_services", "allow_list_only", "decree147")


def upgrade() -> None:
    op.add_column("policy", sa.Column("allowed_services", JSON, nullable=False,
                                      server_default=sa.text("'[]'")))
    op.add_column("policy", sa.Column("monitored_services", JSON, nullable=False,
                                      server_default=sa.text("'[]'")))
    op.add_column("policy", sa.Column("allow_list_only", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.add_column("policy", sa.Column("decree147", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.add_column("profile", sa.Column("paused_until", sa.DateTime(timezone=True),
                                       nullable=True))

    op.create_table(
        "schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),  # bit 0 Monday … bit 6 Sunday
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("block_all", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("categories", JSON, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("services", JSON, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("allow", JSON, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.PrimaryKeyConstraint("id", name="pk_schedule"),
        _profile_fk("schedule"),
        sa.UniqueConstraint("profile_id", "name", name="uq_schedule_profile_id_name"),
        sa.CheckConstraint(_one_of("action", SCHEDULE_ACTIONS), name="ck_schedule_action"),
        sa.CheckConstraint("days >= 1 AND days <= 127", name="ck_schedule_days"),
        sa.CheckConstraint("start_minute >= 0 AND start_minute < 1440 AND end_minute >= 0 "
                           "AND end_minute < 1440", name="ck_schedule_minutes"),
    )
    op.create_index("ix_schedule_profile_id", "schedule", ["profile_id"])

    op.create_table(
        "time_budget",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),  # a service id or group:<group>
        sa.Column("minutes_per_day", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_time_budget"),
        _profile_fk("time_budget"),
        sa.UniqueConstraint("profile_id", "target", name="uq_time_budget_profile_id_target"),
        sa.CheckConstraint("minutes_per_day >= 0 AND minutes_per_day <= 1440",
                           name="ck_time_budget_minutes"),
    )

    op.create_table(
        "budget_usage",
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),  # the household's local date
        sa.Column("minute", sa.Integer(), nullable=False),  # minute of that local day
        sa.PrimaryKeyConstraint("profile_id", "target", "day", "minute",
                                name="pk_budget_usage"),
        _profile_fk("budget_usage"),
    )

    op.create_table(
        "temporary_allow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_temporary_allow"),
        _profile_fk("temporary_allow"),
    )
    op.create_index("ix_temporary_allow_profile_id", "temporary_allow", ["profile_id"])

    op.create_table(
        "unblock_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(320), nullable=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_unblock_request"),
        _profile_fk("unblock_request"),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], ondelete="SET NULL",
                                name="fk_unblock_request_device_id_device"),
        sa.CheckConstraint(_one_of("status", REQUEST_STATUSES), name="ck_unblock_request_status"),
    )
    op.create_index("ix_unblock_request_profile_id", "unblock_request", ["profile_id"])


def downgrade() -> None:
    op.drop_index("ix_unblock_request_profile_id", table_name="unblock_request")
    op.drop_table("unblock_request")
    op.drop_index("ix_temporary_allow_profile_id", table_name="temporary_allow")
    op.drop_table("temporary_allow")
    op.drop_table("budget_usage")
    op.drop_table("time_budget")
    op.drop_index("ix_schedule_profile_id", table_name="schedule")
    op.drop_table("schedule")
    _drop_column("profile", "paused_until")
    for column in reversed(POLICY_COLUMNS):
        _drop_column("policy", column)


def _drop_column(table: str, column: str) -> None:
    op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
