"""Retention per data class: how long each kind of child data is kept by default, and the
purges of the classes this package owns (seen domains, fulfilled data requests, withdrawn
consents). Each purge is one transaction with one ``retention.purge`` audit entry (a count and
the cutoff, never a row's content). The query log and alerts keep their own purges
(``store.querylog``, ``protect.retention``); ``safegate.app.retention`` runs them all, once
across nodes, from the gate's jobs leader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.sql import Executable

from safegate.privacy import audit
from safegate.store.db import session_factory
from safegate.store.models import Consent, DataSubjectRequest, SeenDomain

__all__ = ["DATA_CLASSES", "DataClass", "cutoff", "purge_audit", "purge_consents",
           "purge_requests",
           "purge_seen_domains"]


@dataclass(frozen=True, slots=True)
class DataClass:
    name: str
    setting: str | None  # None: no purge (kept while the child's data is)
    what: str


DATA_CLASSES: tuple[DataClass, ...] = (
    DataClass("query_log", "querylog.retention_days",
              "query-log rows with a client address (log level full, with consent)"),
    DataClass("aggregates", "retention.aggregates_days",
              "hourly query-log rows without an address"),
    DataClass("alerts", "alerts.retention_days", "alerts, after their latest message"),
    DataClass("seen_domains", "retention.seen_domains_days",
              "domains waiting for categorisation, after they were last resolved"),
    DataClass("requests", "retention.requests_days",
              "fulfilled data-subject requests, after fulfilment"),
    DataClass("consents", "retention.consents_days", "withdrawn consents, after withdrawal"),
    DataClass("budget_minutes", None, "minutes counted for time budgets: 3 days"),
    DataClass("audit_log", "audit.retention_days",
              "audit-log entries, after they were written (a checkpoint keeps the chain)"),
)


def cutoff(now: datetime, days: int) -> datetime | None:
    """What is older than this goes; None when ``days`` is 0 (kept forever)."""
    if days < 0:
        raise ValueError(f"a retention of {days} days: expected 0 (forever) or more")
    return now - timedelta(days=days) if days else None


def _purge(engine: Engine, what: str, statement: Executable, before: datetime) -> int:
    with session_factory(engine).begin() as session:
        count = int(getattr(session.execute(statement), "rowcount", 0) or 0)
        if count:
            audit.append(session, actor="retention", action="retention.purge",
                         object_type=what, legal_basis="retention_policy",
                         detail={"count": count,
                                 "before": before.isoformat(timespec="seconds")})
    return count


def purge_audit(engine: Engine, before: datetime) -> int:
    """Old audit entries go; the checkpoint that replaces them is the purge's own record."""
    with session_factory(engine).begin() as session:
        return audit.purge(session, before)


def purge_seen_domains(engine: Engine, before: datetime) -> int:
    return _purge(engine, "seen_domain", delete(SeenDomain).where(
        SeenDomain.last_seen < before.timestamp()), before)


def purge_requests(engine: Engine, before: datetime) -> int:
    return _purge(engine, "dsr", delete(DataSubjectRequest).where(
        DataSubjectRequest.status != "open", DataSubjectRequest.fulfilled_at < before), before)


def purge_consents(engine: Engine, before: datetime) -> int:
    return _purge(engine, "consent", delete(Consent).where(
        Consent.withdrawn_at.is_not(None), Consent.withdrawn_at < before), before)
