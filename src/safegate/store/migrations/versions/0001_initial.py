"""Initial schema: organisations, accounts, profiles, devices, policies, logs, list sources.

Written by hand (values frozen here, not imported from the models, so later model changes
cannot rewrite history). Runs on SQLite and PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def _one_of(table: str, column: str, *values: str) -> sa.CheckConstraint:
    # An OR chain, not IN (...): cheaper per inserted row on SQLite (see models.one_of).
    check = " OR ".join(f"\"{column}\" = '{v}'" for v in values)
    return sa.CheckConstraint(check, name=f"ck_{table}_{column}")


def _created_at() -> sa.Column[Any]:
    return sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now())


def _json_list(name: str) -> sa.Column[Any]:
    return sa.Column(name, JSON, nullable=False, server_default=sa.text("'[]'"))


def upgrade() -> None:
    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="Asia/Ho_Chi_Minh"),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_organisation"),
        _one_of("organisation", "kind", "household", "school", "operator"),
    )
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("locale", sa.String(5), nullable=False, server_default="vi"),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_account"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name="fk_account_org_id_organisation"
        ),
        sa.UniqueConstraint("email", name="uq_account_email"),
        _one_of(
            "account",
            "role",
            "parent",
            "teacher",
            "school_admin",
            "counsellor",
            "partner",
            "operator",
        ),
        _one_of("account", "locale", "vi", "en"),
        sa.CheckConstraint("email = lower(email)", name="ck_account_email_lowercase"),
    )
    op.create_index("ix_account_org_id", "account", ["org_id"])
    op.create_table(
        "profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("preset", sa.String(64), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_profile"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name="fk_profile_org_id_organisation"
        ),
        sa.UniqueConstraint("org_id", "name", name="uq_profile_org_id_name"),
    )
    op.create_table(
        "device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False, server_default="other"),
        sa.Column("ip_cidr", sa.String(64), nullable=True),
        sa.Column("mac", sa.String(17), nullable=True),
        sa.Column("token", sa.String(64), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_device"),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profile.id"],
            name="fk_device_profile_id_profile",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("token", name="uq_device_token"),
        _one_of("device", "kind", "phone", "tablet", "laptop", "desktop", "console", "tv", "other"),
    )
    op.create_index("ix_device_profile_id", "device", ["profile_id"])
    op.create_table(
        "policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        _json_list("blocked_categories"),
        _json_list("blocked_services"),
        _json_list("allow"),
        _json_list("deny"),
        sa.Column("safe_search", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("youtube_mode", sa.String(10), nullable=False, server_default="moderate"),
        sa.Column("block_mode", sa.String(10), nullable=False, server_default="null"),
        sa.Column("log_level", sa.String(10), nullable=False, server_default="full"),
        sa.Column("bypass_protection", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("updated_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_policy"),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profile.id"],
            name="fk_policy_profile_id_profile",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("profile_id", name="uq_policy_profile_id"),
        _one_of("policy", "youtube_mode", "off", "moderate", "strict"),
        _one_of("policy", "block_mode", "null", "nxdomain", "blockpage"),
        _one_of("policy", "log_level", "full", "domains", "off"),
    )
    op.create_table(
        "query_log",
        sa.Column("id", BIG_ID, nullable=False, autoincrement=True),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=True),
        sa.Column("qname", sa.Text(), nullable=False),
        sa.Column("qtype", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("hits", sa.Integer(), nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("id", name="pk_query_log"),
        _one_of(
            "query_log",
            "action",
            "allow",
            "block",
            "rewrite",
            "local",
            "servfail",
            "stale",
            "refused",
        ),
    )
    op.create_index("ix_query_log_ts", "query_log", ["ts"])
    op.create_index("ix_query_log_profile_id_ts", "query_log", ["profile_id", "ts"])
    op.create_table(
        "list_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("match", sa.String(10), nullable=False, server_default="suffix"),
        sa.Column("format", sa.String(10), nullable=False, server_default="auto"),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column(
            "update_interval_s", sa.Integer(), nullable=False, server_default=sa.text("86400")
        ),
        sa.Column("etag", sa.String(255), nullable=True),
        sa.Column("last_modified", sa.String(64), nullable=True),
        sa.Column("last_update", TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("entry_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("id", name="pk_list_source"),
        sa.UniqueConstraint("name", name="uq_list_source_name"),
        _one_of("list_source", "match", "exact", "suffix"),
        _one_of("list_source", "format", "auto", "hosts", "domains", "adblock"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, nullable=False, autoincrement=True),
        sa.Column("ts", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=True),
        sa.Column("detail", JSON, nullable=False, server_default=sa.text("'{}'")),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_ts", "audit_log", ["ts"])
    op.create_index("ix_audit_log_object_type_object_id", "audit_log", ["object_type", "object_id"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "list_source",
        "query_log",
        "policy",
        "device",
        "profile",
        "account",
        "organisation",
    ):
        op.drop_table(table)
