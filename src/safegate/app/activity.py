"""The activity page's query log: one organisation's rows, searched and filtered (child,
device, category, blocked only, time range), newest first, a page at a time; with what is
kept and for how long (``querylog.retention_days`` and each child's log level in effect:
a full log only with the ``full_query_log`` consent, ``privacy.consent``).

The caller's right is checked first (``app.access``: kind ``log``); every search is
recorded in the audit log, one entry per child whose rows it could show.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safegate.app.consent import child_age
from safegate.app.core import App
from safegate.app.explain import NotFound
from safegate.app.presence import in_network
from safegate.policy.decide import category_of
from safegate.policy.schedule import zone
from safegate.policy.timestate import zone_ok
from safegate.privacy import audit
from safegate.privacy.consent import effective_log_level
from safegate.privacy.consent_check import active_consents
from safegate.store import family as repo
from safegate.store.models import Device, Organisation, Profile, QueryLog
from safegate.store.repo import policy_record

PER_PAGE = 50
MAX_PER_PAGE = 200


@dataclass(frozen=True, slots=True)
class LogFilter:
    """What to show. Dates are the household's local days (inclusive)."""

    child_id: int | None = None
    device_id: int | None = None
    category: str | None = None
    blocked_only: bool = False
    day_from: date | None = None
    day_to: date | None = None
    search: str | None = None
    page: int = 1
    per_page: int = PER_PAGE

    def to_dict(self) -> dict[str, Any]:
        return {"child": self.child_id, "device": self.device_id, "category": self.category,
                "blocked": self.blocked_only,
                "from": self.day_from.isoformat() if self.day_from else None,
                "to": self.day_to.isoformat() if self.day_to else None,
                "q": self.search, "page": self.page, "per_page": self.per_page}


def parse_filter(values: dict[str, str | None]) -> LogFilter:
    """A filter from query parameters (``child``, ``device``, ``category``, ``blocked``,
    ``from``, ``to``, ``q``, ``page``, ``per_page``); ValueError names the bad one. Pure."""

    def whole(name: str, low: int = 1, high: int | None = None) -> int | None:
        raw = (values.get(name) or "").strip()
        if not raw:
            return None
        try:
            n = int(raw)
        except ValueError:
            raise ValueError(f"{name}: {raw!r} is not a whole number") from None
        if n < low or (high is not None and n > high):
            raise ValueError(f"{name}: {n} is out of range")
        return n

    def day(name: str) -> date | None:
        raw = (values.get(name) or "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"{name}: {raw!r} is not a date (YYYY-MM-DD)") from None

    blocked = (values.get("blocked") or "").strip().lower() in ("1", "true", "on", "yes")
    first, last = day("from"), day("to")
    if first and last and last < first:
        raise ValueError("to: the end of the range is before its start")
    return LogFilter(child_id=whole("child"), device_id=whole("device"),
                     category=(values.get("category") or "").strip() or None,
                     blocked_only=blocked, day_from=first, day_to=last,
                     search=(values.get("q") or "").strip().lower() or None,
                     page=whole("page") or 1,
                     per_page=whole("per_page", 1, MAX_PER_PAGE) or PER_PAGE)


@dataclass(frozen=True, slots=True)
class Retention:
    child_id: int
    child: str
    log_level: str  # in effect: full, domains or off
    set_level: str  # as set on the policy
    needs_consent: bool  # a full log is set but the full_query_log consent is missing


@dataclass(frozen=True, slots=True)
class LogRow:
    id: int
    ts: float
    child_id: int | None
    child: str | None
    device: str | None
    client_ip: str
    qname: str
    qtype: int
    action: str
    category: str | None
    hits: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ts": self.ts, "child_id": self.child_id, "child": self.child,
                "device": self.device, "client_ip": self.client_ip or None,
                "qname": self.qname, "qtype": self.qtype, "action": self.action,
                "category": self.category, "hits": self.hits}


@dataclass(frozen=True, slots=True)
class LogPage:
    timezone: str
    retention_days: int
    rows: list[LogRow]
    more: bool
    filter: LogFilter
    retention: list[Retention] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"timezone": self.timezone, "retention_days": self.retention_days,
                "filter": self.filter.to_dict(), "more": self.more,
                "rows": [r.to_dict() for r in self.rows],
                "log_levels": [{"child_id": r.child_id, "child": r.child,
                                "in_effect": r.log_level, "set": r.set_level,
                                "needs_consent": r.needs_consent} for r in self.retention]}


def retention_of(session: Session, profile: Profile) -> Retention:
    """A child's log level as set and in effect (a full log needs its consent)."""
    level = policy_record(profile.policy).log_level
    in_effect = effective_log_level(level, active_consents(session, profile.id),
                                    child_age(profile))
    return Retention(profile.id, profile.name, in_effect, level,
                     level == "full" and in_effect != "full")


def _networks(devices: list[Device]) -> dict[int, ipaddress.IPv4Network |
                                               ipaddress.IPv6Network]:
    return {d.id: ipaddress.ip_network(d.ip_cidr, strict=False) for d in devices if d.ip_cidr}


def _device_name(ip: str, devices: list[Device],
                 nets: dict[int, ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str | None:
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return None
    best: tuple[int, str] | None = None
    for d in devices:
        net = nets.get(d.id)
        if net is not None and net.version == addr.version and addr in net and \
                (best is None or net.prefixlen > best[0]):
            best = (net.prefixlen, d.name)
    return None if best is None else best[1]


def local_range(tz: str, first: date | None, last: date | None) -> tuple[float | None,
                                                                       float | None]:
    """Unix times [start, end) of local days ``first``..``last`` in ``tz``. Pure."""
    zi = zone(tz)
    start = datetime.combine(first, datetime.min.time(), zi).timestamp() if first else None
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zi).timestamp() \
        if last else None
    return start, end


def search_log(app: App, org_id: int, flt: LogFilter, *, actor: str) -> LogPage:
    """One page of an organisation's query log (the caller was checked for ``org_id``; a
    child or device of another organisation is NotFound)."""
    with app.sessions().begin() as session:
        org = session.get_one(Organisation, org_id)
        tz = zone_ok(org.timezone)
        children = list(repo.org_profiles(session, org_id))
        if flt.child_id is not None:
            children = [p for p in children if p.id == flt.child_id]
            if not children:
                raise NotFound(f"no child {flt.child_id}")
        devices = {p.id: list(repo.profile_devices(session, p.id)) for p in children}
        nets = {pid: _networks(ds) for pid, ds in devices.items()}
        names = {p.id: p.name for p in children}
        stmt = select(QueryLog).where(
            QueryLog.profile_id.in_(list(names)))
        start, end = local_range(tz, flt.day_from, flt.day_to)
        if flt.device_id is not None:
            owner = next((pid for pid, ds in devices.items()
                          if any(d.id == flt.device_id for d in ds)), None)
            if owner is None:
                raise NotFound(f"no device {flt.device_id}")
            net = nets[owner].get(flt.device_id)
            if net is None:
                raise ValueError("device: it is known by its token only, and the query log "
                                 "records addresses: filter by its child instead")
            seen = select(QueryLog.client_ip).where(QueryLog.profile_id == owner)
            if start is not None:
                seen = seen.where(QueryLog.ts >= start)
            if end is not None:
                seen = seen.where(QueryLog.ts < end)
            ips = [ip for ip in session.scalars(seen.distinct())
                   if ip and in_network(ip, net)]
            stmt = stmt.where(QueryLog.profile_id == owner, QueryLog.client_ip.in_(ips))
        if flt.category:
            stmt = stmt.where(QueryLog.reason.like(f"{_escape(flt.category)}:%", escape="\\"))
        if flt.blocked_only:
            stmt = stmt.where(QueryLog.action == "block")
        if start is not None:
            stmt = stmt.where(QueryLog.ts >= start)
        if end is not None:
            stmt = stmt.where(QueryLog.ts < end)
        if flt.search:
            stmt = stmt.where(QueryLog.qname.contains(flt.search, autoescape=True))
        stmt = stmt.order_by(QueryLog.ts.desc(), QueryLog.id.desc()) \
            .offset((flt.page - 1) * flt.per_page).limit(flt.per_page + 1)
        found = list(session.scalars(stmt))
        rows = [LogRow(r.id, r.ts, r.profile_id, names.get(r.profile_id or -1),
                       _device_name(r.client_ip, devices.get(r.profile_id or -1, []),
                                    nets.get(r.profile_id or -1, {})),
                       r.client_ip, r.qname, r.qtype, r.action, category_of(r.reason), r.hits)
                for r in found[:flt.per_page]]
        for p in children:
            audit.append(session, actor=actor, action="querylog.view",
                         object_type="query_log", subject=p.subject, org_id=org_id,
                         detail={"filter": flt.to_dict(),
                                 "rows": sum(1 for r in rows if r.child_id == p.id)})
        return LogPage(tz, int(app.settings["querylog.retention_days"]), rows,
                       len(found) > flt.per_page, flt,
                       [retention_of(session, p) for p in children])


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
