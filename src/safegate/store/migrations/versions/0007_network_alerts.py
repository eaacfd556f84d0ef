"""Alerts from the gate's query log: a device trying to get around the filter
(``bypass_attempt``) and a device that looks infected (``infected_device``), found by the
DNS signals (``found_by`` = ``dns``).

Only the alert table's CHECK constraints change. On SQLite the batch mode rebuilds the alert
table; that is safe here because no table refers to ``alert`` (unlike ``profile``, see 0006).
Written by hand, values frozen here.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_CATEGORIES = ("sexual", "grooming", "self_harm", "bullying", "hate", "violence", "scam",
                  "drugs", "gambling", "pii_disclosure")
NEW_CATEGORIES = (*OLD_CATEGORIES, "bypass_attempt", "infected_device")
OLD_FOUND_BY = ("rules", "model", "deep", "conversation")
NEW_FOUND_BY = (*OLD_FOUND_BY, "dns")


def _one_of(column: str, values: Sequence[str]) -> str:
    return " OR ".join(f"\"{column}\" = '{v}'" for v in values)


# 0003 named its CHECK ``ck_alert_category`` and the naming convention prefixed it once more:
# in every database made since, it is ``ck_alert_ck_alert_category``. Upgrading gives it the
# name the model's convention makes (``ck_alert_category``); downgrading restores the old one.
OLD_CATEGORY_CHECK = "ck_alert_ck_alert_category"


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch:  # SQLite: rebuilt with the new CHECKs
        batch.drop_constraint(op.f(OLD_CATEGORY_CHECK), type_="check")
        batch.drop_constraint("found_by", type_="check")  # ck_alert_found_by
        batch.create_check_constraint("category", _one_of("category", NEW_CATEGORIES))
        batch.create_check_constraint("found_by", _one_of("found_by", NEW_FOUND_BY))


def downgrade() -> None:
    # Alerts of the new kinds cannot be kept under the old CHECKs: they go.
    op.execute("DELETE FROM alert WHERE category IN ('bypass_attempt', 'infected_device') "
               "OR found_by = 'dns'")
    with op.batch_alter_table("alert") as batch:
        batch.drop_constraint("category", type_="check")  # ck_alert_category
        batch.drop_constraint("found_by", type_="check")
        batch.create_check_constraint(op.f(OLD_CATEGORY_CHECK),
                                      _one_of("category", OLD_CATEGORIES))
        batch.create_check_constraint("found_by", _one_of("found_by", OLD_FOUND_BY))
