"""What a household's pages show at a glance: its children with their age band, devices,
pause state, today's blocked queries and waiting unblock requests (read only; the caller's
right to see the organisation is checked by ``app.access`` first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from safegate.app import access
from safegate.app.accounts import Caller
from safegate.app.core import App
from safegate.app.family import DeviceView, _device_view, policy_view
from safegate.app.requests import RequestView, child_requests
from safegate.policy.presets import preset
from safegate.policy.schedule import zone
from safegate.policy.timestate import zone_ok
from safegate.privacy import audit
from safegate.store import family as repo
from safegate.store.db import reading
from safegate.store.models import Organisation, Profile, QueryLog, UnblockRequest
from safegate.store.repo import policy_from_row


@dataclass(frozen=True, slots=True)
class ChildSummary:
    id: int
    name: str
    birth_year: int | None
    band_vi: str | None
    band_en: str | None
    paused_until: str | None  # local time (minutes); "" when paused until resumed
    blocked_today: int
    pending_requests: int
    devices: list[DeviceView] = field(default_factory=list)

    @property
    def paused(self) -> bool:
        return self.paused_until is not None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "birth_year": self.birth_year,
                "age_band": {"vi": self.band_vi, "en": self.band_en},
                "paused": self.paused, "paused_until": self.paused_until or None,
                "blocked_today": self.blocked_today,
                "pending_requests": self.pending_requests,
                "devices": [d.to_dict() for d in self.devices]}


@dataclass(frozen=True, slots=True)
class Household:
    id: int
    name: str
    timezone: str
    children: list[ChildSummary]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "timezone": self.timezone,
                "children": [c.to_dict() for c in self.children]}


def local_midnight(tz: str, now: datetime) -> float:
    """The unix time at which today began in ``tz``."""
    local = now.astimezone(zone(tz))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


_BLOCKED_SINCE = select(func.coalesce(func.sum(QueryLog.hits), 0)).where(
    QueryLog.profile_id == bindparam("profile_id"), QueryLog.action == "block",
    QueryLog.ts >= bindparam("since"))
_PENDING = select(func.count()).select_from(UnblockRequest).where(
    UnblockRequest.profile_id == bindparam("profile_id"), UnblockRequest.status == "pending")
# Both counts in one statement: one round trip for a summary's numbers.
_COUNTS = select(_BLOCKED_SINCE.scalar_subquery(), _PENDING.scalar_subquery())


def _summary(session: Session, profile: Profile | Any, tz: str,
             now: datetime) -> ChildSummary:
    """A child's summary from its ORM object or a row with the same names."""
    band_vi = band_en = None
    if profile.preset:
        try:
            p = preset(profile.preset)
            band_vi, band_en = p.name_vi, p.name_en
        except ValueError:
            pass
    paused = None
    if profile.paused_until is not None and profile.paused_until > now:
        paused = "" if profile.paused_until.year >= 9999 else \
            profile.paused_until.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M")
    conn = session.connection()  # column-only statements: Core, past the ORM's execute
    blocked, pending = conn.execute(_COUNTS, {"profile_id": profile.id,
                                              "since": local_midnight(tz, now)}).one()
    devices = [_device_view(d, profile.name) for d in repo.device_rows(session, profile.id)]
    return ChildSummary(profile.id, profile.name, profile.birth_year, band_vi, band_en, paused,
                        int(blocked or 0), int(pending or 0), devices)


def household(app: App, org_id: int, *, now: datetime | None = None) -> Household:
    now = now or datetime.now(UTC)
    with reading(app.sessions()) as session:
        org = session.get_one(Organisation, org_id)
        tz = zone_ok(org.timezone)
        children = [_summary(session, p, tz, now) for p in repo.org_profiles(session, org_id)]
        return Household(org.id, org.name, tz, children)


def child_summary(app: App, profile_id: int, *, now: datetime | None = None) -> ChildSummary:
    now = now or datetime.now(UTC)
    with reading(app.sessions()) as session:
        profile = session.get_one(Profile, profile_id)
        org = session.get_one(Organisation, profile.org_id)
        return _summary(session, profile, zone_ok(org.timezone), now)


@dataclass(frozen=True, slots=True)
class ChildPage:
    """What a child's page shows: the summary, the policy (``show_policy``'s fields) and the
    newest unblock requests."""

    summary: ChildSummary
    policy: dict[str, Any]
    requests: list[RequestView]


def child_page(app: App, child_id: int | str, caller: Caller, *, requests: int = 20,
               now: datetime | None = None) -> ChildPage:
    """A child's page for ``caller`` in one transaction: the access check (NotFound or
    Forbidden) on the child's row, read with its household's time zone and its policy as
    columns, the reads and one audit entry (``child.view``: what was shown)."""
    now = now or datetime.now(UTC)
    key = app.keyring()
    oid = access.row_id("child", child_id)
    with app.sessions().begin() as session:
        row = repo.child_row(session, oid)
        if row is None:
            raise access.NotFound(f"no child {oid}")
        access.judge(session, caller, "child", oid, row.id, row.org_id)
        tz = zone_ok(row.timezone)
        summary = _summary(session, row, tz, now)
        policy = policy_view(session, row.id, row.name, row.preset, row.birth_year, tz,
                             policy_from_row(row))
        shown = child_requests(session, row.id, key, limit=requests)
        audit.append(session, actor=caller.actor, action="child.view", object_type="profile",
                     subject=row.subject, org_id=row.org_id,
                     detail={"shown": ["summary", "policy", "requests"],
                             "requests": len(shown)})
        return ChildPage(summary, policy, shown)
