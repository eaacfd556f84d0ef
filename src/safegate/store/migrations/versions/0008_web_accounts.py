"""Web accounts: sign-in with an e-mail address or a Vietnamese phone number (the e-mail
becomes optional, one of the two is required), the sign-in lock-out counters, browser
sessions and API tokens.

The account table is rebuilt on SQLite (batch mode) to make ``email`` nullable; that is safe
because, before this revision, no table refers to ``account`` (the two new tables that do are
created after the rebuild). Written by hand, values frozen here.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKEN_SCOPES = ("read", "write")


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE",
                                   name=f"fk_{table}_account_id_account")


def upgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.alter_column("email", existing_type=sa.String(320), nullable=True)
        batch.add_column(sa.Column("phone", sa.String(20), nullable=True))
        batch.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint("uq_account_phone", ["phone"])
        batch.create_check_constraint("email_or_phone", "email IS NOT NULL OR phone IS NOT NULL")

    op.create_table(
        "web_session",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_web_session"),
        _account_fk("web_session"),
    )
    op.create_index("ix_web_session_account_id", "web_session", ["account_id"])
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_token"),
        _account_fk("api_token"),
        sa.UniqueConstraint("token_hash", name="uq_api_token_token_hash"),
        sa.CheckConstraint(" OR ".join(f"\"scope\" = '{v}'" for v in TOKEN_SCOPES),
                           name="scope"),
    )
    op.create_index("ix_api_token_account_id", "api_token", ["account_id"])


def downgrade() -> None:
    op.drop_table("api_token")
    op.drop_table("web_session")
    # Accounts known only by a phone number cannot be kept under NOT NULL e-mail: they go.
    op.execute("DELETE FROM account WHERE email IS NULL")
    with op.batch_alter_table("account") as batch:
        batch.drop_constraint("email_or_phone", type_="check")  # ck_account_email_or_phone
        batch.drop_constraint("uq_account_phone", type_="unique")
        batch.drop_column("last_login_at")
        batch.drop_column("locked_until")
        batch.drop_column("failed_logins")
        batch.drop_column("phone")
        batch.alter_column("email", existing_type=sa.String(320), nullable=False)
