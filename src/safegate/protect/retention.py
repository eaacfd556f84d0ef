"""How long alerts are kept (``alerts.retention_days``), and deleting those past it.

Kept apart from :mod:`.monitor` so that the gate, which purges hourly, does not import the
text-safety engine."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete

from safegate.privacy import audit
from safegate.store.db import session_factory
from safegate.store.models import Alert

__all__ = ["purge_alerts", "retention_cutoff"]


def retention_cutoff(now: datetime, days: int) -> datetime | None:
    """Alerts whose latest message is older than this go; None when ``days`` is 0: alerts
    are kept forever."""
    if days < 0:
        raise ValueError(f"a retention of {days} days: expected 0 (forever) or more")
    return now - timedelta(days=days) if days else None


def purge_alerts(engine: Engine, before: datetime, *, actor: str = "retention") -> int:
    """Delete the alerts whose latest message is older than ``before`` (an alert still being
    added to stays, with its first messages) and return how many went. One ``alert.purge``
    audit entry records how many and the cutoff. Commits; works on SQLite and PostgreSQL."""
    with session_factory(engine).begin() as session:
        result = session.connection().execute(delete(Alert).where(Alert.last_seen_at < before))
        count = int(result.rowcount)
        if count:
            audit.append(session, actor=actor, action="alert.purge", object_type="alert",
                         legal_basis="retention_policy",
                         detail={"count": count,
                                 "before": before.isoformat(timespec="seconds")})
    return count
