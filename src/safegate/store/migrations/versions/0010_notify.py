"""Alert notifications: per-account preferences, Web Push subscriptions and the record of
each alert's delivery (one row per alert, account and channel, so nothing is sent twice);
password-reset links sent by the same e-mail sender (their tokens hashed).
Written by hand, values frozen here.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEVERITIES = ("warning", "urgent")
CHANNELS = ("email", "push")
STATUSES = ("sent", "failed", "gave_up")


def _check(column: str, values: Sequence[str]) -> sa.CheckConstraint:
    return sa.CheckConstraint(" OR ".join(f"\"{column}\" = '{v}'" for v in values),
                              name=column)


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE",
                                   name=f"fk_{table}_account_id_account")


def upgrade() -> None:
    op.create_table(
        "notify_prefs",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("push", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("quiet_start", sa.String(5), nullable=True),
        sa.Column("quiet_end", sa.String(5), nullable=True),
        sa.Column("min_severity", sa.String(10), nullable=False, server_default="warning"),
        sa.PrimaryKeyConstraint("account_id", name="pk_notify_prefs"),
        _account_fk("notify_prefs"),
        _check("min_severity", SEVERITIES),
    )
    op.create_table(
        "push_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(1000), nullable=False),
        sa.Column("p256dh", sa.String(200), nullable=False),
        sa.Column("auth", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_push_subscription"),
        _account_fk("push_subscription"),
        sa.UniqueConstraint("endpoint", name="uq_push_subscription_endpoint"),
    )
    op.create_index("ix_push_subscription_account_id", "push_subscription", ["account_id"])
    op.create_table(
        "alert_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alert_delivery"),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], ondelete="CASCADE",
                                name="fk_alert_delivery_alert_id_alert"),
        _account_fk("alert_delivery"),
        sa.UniqueConstraint("alert_id", "account_id", "channel",
                            name="uq_alert_delivery_alert_id_account_id_channel"),
        _check("channel", CHANNELS),
        _check("status", STATUSES),
        _check("severity", SEVERITIES),
    )
    op.create_index("ix_alert_delivery_account_id", "alert_delivery", ["account_id"])
    op.create_table(
        "password_reset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_password_reset"),
        _account_fk("password_reset"),
        sa.UniqueConstraint("token_hash", name="uq_password_reset_token_hash"),
    )
    op.create_index("ix_password_reset_account_id", "password_reset", ["account_id"])


def downgrade() -> None:
    op.drop_table("password_reset")
    op.drop_table("alert_delivery")
    op.drop_table("push_subscription")
    op.drop_table("notify_prefs")
