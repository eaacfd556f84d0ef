"""What an operator sees of the service: the running gate's own counters (``App.live_gate``,
set by ``app.gate_process``: nothing new is counted on the hot path), the list sources and
their health, and whether this process is ready to answer.

Counters are this process's since it started (with ``gate.workers`` > 1, each worker has
its own: Prometheus adds them up across the workers it scrapes, and a page shows the worker
that answered it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text

from safegate.app.core import App
from safegate.histogram import Reading
from safegate.lists.registry import list_sources


@dataclass(frozen=True, slots=True)
class UpstreamHealth:
    name: str
    healthy: bool
    failures: int


@dataclass(frozen=True, slots=True)
class GateStatus:
    queries: int  # queries the query log counted (a profile that logs nothing is not)
    slow_path: int  # answered by the full pipeline (not from a memo)
    blocked: int
    refused: int
    rate_limited: int
    servfail: int
    stale: int
    handler_errors: int
    cache_entries: int
    cache_hits: int
    cache_misses: int
    memo_entries: int
    clients: int
    querylog_written: int
    querylog_dropped: int
    upstream_queries: int
    upstream_failures: int
    index_names: int
    generation: int
    upstreams: list[UpstreamHealth] = field(default_factory=list)
    qps: float | None = None  # since the previous reading in this process
    blocked_by_category: dict[str, int] = field(default_factory=dict)
    upstream_latency: Reading | None = None  # seconds to a good upstream answer

    @property
    def cache_hit_rate(self) -> float | None:
        total = self.cache_hits + self.cache_misses
        return None if total == 0 else self.cache_hits / total

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__
               if k not in ("upstreams", "upstream_latency")}
        out["upstream_latency"] = None if self.upstream_latency is None \
            else self.upstream_latency.to_dict()
        out["cache_hit_rate"] = self.cache_hit_rate
        out["upstreams"] = [{"name": u.name, "healthy": u.healthy, "failures": u.failures}
                            for u in self.upstreams]
        return out


class Rate:
    """Queries per second between two readings (the first reading has none)."""

    def __init__(self) -> None:
        self._last: tuple[float, int] | None = None

    def update(self, now: float, count: int) -> float | None:
        last, self._last = self._last, (now, count)
        if last is None or now <= last[0] or count < last[1]:
            return None
        return (count - last[1]) / (now - last[0])


def gate_status(app: App, rate: Rate | None = None) -> GateStatus | None:
    """The running gate's counters (None: no gate runs in this process)."""
    gate = app.live_gate
    if gate is None:
        return None
    s, snap = gate.stats, gate.snapshot
    memo = len(snap.default.memo) + sum(len(p.memo) for p in snap.profiles.values())
    queries = gate.querylog.queries
    return GateStatus(
        queries=queries, slow_path=s.slow_path, blocked=s.blocked, refused=s.refused,
        rate_limited=s.rate_limited, servfail=s.servfail, stale=s.stale,
        handler_errors=s.handler_errors, cache_entries=len(gate.cache),
        cache_hits=gate.cache.hits, cache_misses=gate.cache.misses, memo_entries=memo,
        clients=len(gate.clients) + len(gate.token_clients),
        querylog_written=gate.querylog.written, querylog_dropped=gate.querylog.dropped,
        upstream_queries=gate.pool.queries, upstream_failures=gate.pool.failures,
        index_names=snap.index.size, generation=snap.generation,
        upstreams=[UpstreamHealth(u.name, bool(u.healthy), int(u.failures))
                   for u in gate.pool.upstreams],
        qps=None if rate is None else rate.update(time.monotonic(), queries),
        blocked_by_category=dict(s.blocked_by_category),
        upstream_latency=gate.pool.latency.reading())


@dataclass(frozen=True, slots=True)
class SourceHealth:
    name: str
    category: str
    enabled: bool
    entries: int
    last_update: datetime | None
    last_error: str | None
    overdue: bool  # not updated for twice its interval

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "category": self.category, "enabled": self.enabled,
                "entries": self.entries,
                "last_update": self.last_update.isoformat() if self.last_update else None,
                "last_error": self.last_error, "overdue": self.overdue}


def sources_health(app: App, now: datetime | None = None) -> list[SourceHealth]:
    """Every list source with its entries, last update and last error."""
    from datetime import UTC

    now = now or datetime.now(UTC)
    if not app.has_store:
        return []
    with app.sessions()() as session:
        records = list_sources(session)
    out = []
    for r in records:
        last = r.last_update
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        overdue = r.enabled and (last is None or
                                 (now - last).total_seconds() > 2 * r.update_interval_s)
        out.append(SourceHealth(r.name, r.category, r.enabled, r.entry_count, last,
                                r.last_error, overdue))
    return out


def readiness(app: App) -> dict[str, bool]:
    """Each check /readyz makes: the gate answers with a loaded index, the store answers,
    and at least one upstream is healthy."""
    gate = app.live_gate
    checks = {"gate": gate is not None and app.live_index is not None}
    checks["upstream"] = gate is not None and any(u.healthy for u in gate.pool.upstreams)
    if app.has_store:
        try:
            with app.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["store"] = True
        except Exception:
            checks["store"] = False
    return checks
