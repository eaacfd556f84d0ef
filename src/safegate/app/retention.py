"""Retention: every purge of child data with its setting, run by the gate's jobs leader once
across nodes every hour (``app.gate_process``) or now by `safegate retention run`.
The defaults and what each data class is: ``safegate.privacy.retention.DATA_CLASSES``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from safegate.app.core import App
from safegate.config import Settings
from safegate.privacy import retention as rules
from safegate.store.values import utcnow

__all__ = ["Purge", "purges", "retention_table", "run_retention"]


@dataclass(frozen=True, slots=True)
class Purge:
    what: str  # "<what> retention purge failed" in the log
    rows: str  # "purged N <rows>"
    run: Callable[[Engine], int]
    days: int


def purges(settings: Settings, now: datetime | None = None) -> list[Purge]:
    """The purges due under ``settings`` (a class kept forever has none)."""
    from safegate.protect.retention import purge_alerts
    from safegate.store.querylog import purge_query_logs

    when = now or utcnow()
    out: list[Purge] = []

    def add(what: str, rows: str, setting: str, fn: Callable[..., int], epoch: bool = False,
            **kwargs: Any) -> None:
        days = settings[setting]
        before = rules.cutoff(when, days)
        if before is not None:
            arg: Any = before.timestamp() if epoch else before
            out.append(Purge(what, rows, functools.partial(_call, fn, arg, kwargs), days))

    add("query log", "query log rows", "querylog.retention_days", purge_query_logs,
        epoch=True, only="full")
    add("aggregate", "query log aggregates", "retention.aggregates_days", purge_query_logs,
        epoch=True, only="aggregates")
    add("alert", "alerts", "alerts.retention_days", purge_alerts)
    add("seen domain", "seen domains", "retention.seen_domains_days",
        rules.purge_seen_domains)
    add("request", "data requests", "retention.requests_days", rules.purge_requests)
    add("consent", "withdrawn consents", "retention.consents_days", rules.purge_consents)
    add("audit", "audit entries", "audit.retention_days", rules.purge_audit)
    return out


def _call(fn: Callable[..., int], cutoff: Any, kwargs: dict[str, Any], engine: Engine) -> int:
    return fn(engine, cutoff, **kwargs)


def run_retention(app: App, now: datetime | None = None) -> dict[str, int]:
    """Every purge now (the schema checked first): rows deleted per class."""
    app.sessions()
    return {p.rows: p.run(app.engine) for p in purges(app.settings, now)}


def retention_table(settings: Settings) -> list[dict[str, Any]]:
    return [{"class": c.name, "setting": c.setting,
             "days": settings[c.setting] if c.setting else None, "what": c.what}
            for c in rules.DATA_CLASSES]


