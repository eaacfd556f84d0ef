"""Schedules, pause and allow-for-N-minutes: the operations a parent performs.

Each change is one ``app.change("policy", …)`` transaction, so every gate reloads within about
half a second, and is audited in it as ``actor`` (the web app's account, ``cli:<user>`` from
the command line). Children are addressed by name (case-insensitive) or ``id:N``. Mistakes raise
``ScheduleError`` with a message for the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safegate.app.bus import touches
from safegate.app.core import App
from safegate.lists.parse import normalise_domain
from safegate.policy.harm import NEVER_LIFTED
from safegate.policy.schedule import (
    ScheduleError,
    days_text,
    in_force,
    local_instant,
    minute_text,
    parse_days,
    parse_minute,
    zone,
)
from safegate.policy.timestate import window_of
from safegate.privacy import audit
from safegate.store.models import Organisation, Profile, Schedule, TemporaryAllow

# "Paused until resumed" is a pause that ends in the year 9999.
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
MAX_MINUTES = 7 * 24 * 60


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """A window as a parent types it (``safegate schedule add``)."""

    name: str
    days: str
    start: str  # HH:MM
    end: str  # HH:MM
    block_all: bool = False
    allow: Sequence[str] = ()
    block_categories: Sequence[str] = ()
    block_services: Sequence[str] = ()
    allow_categories: Sequence[str] = ()
    allow_services: Sequence[str] = ()


def find_child(session: Session, ref: str) -> Profile:
    """A profile by ``id:N`` or by name (case-insensitive; ambiguous across households is
    refused with the ids to use)."""
    if ref.startswith("id:"):
        try:
            found = session.get(Profile, int(ref[3:]))
        except ValueError:
            found = None
        if found is None:
            raise ScheduleError(f"no child with {ref!r}")
        return found
    rows = list(session.scalars(select(Profile).where(func.lower(Profile.name) ==
                                                      ref.casefold()).order_by(Profile.id)))
    if not rows:
        rows = [p for p in session.scalars(select(Profile))
                if p.name.casefold() == ref.casefold()]
    if not rows:
        names = ", ".join(session.scalars(select(Profile.name).order_by(Profile.id))) or "none"
        raise ScheduleError(f"no child named {ref!r} (children: {names})")
    if len(rows) > 1:
        ids = ", ".join(f"id:{p.id}" for p in rows)
        raise ScheduleError(f"several children are named {ref!r}: use one of {ids}")
    return rows[0]


def audit_change(session: Session, profile: Profile, actor: str, action: str, *,
                 object_type: str = "profile", object_id: int | None = None,
                 **detail: Any) -> None:
    """An audit entry for a change to a child's time rules, in the changing transaction (the
    child named by its pseudonym only)."""
    audit.append(session, actor=actor, action=action, object_type=object_type,
                 object_id=object_id, subject=profile.subject, org_id=profile.org_id,
                 detail=detail)


def _timezone(session: Session, profile: Profile) -> str:
    org = session.get(Organisation, profile.org_id)
    return org.timezone if org is not None else "Asia/Ho_Chi_Minh"


def _known(values: Sequence[str], known: Sequence[str], what: str) -> list[str]:
    out = []
    for raw in values:
        value = raw.strip().lower()
        if value not in known:
            raise ScheduleError(f"unknown {what} {raw!r} (known: {', '.join(known)})")
        if value not in out:
            out.append(value)
    return out


def window_row(spec: WindowSpec) -> Schedule:
    """Check a typed window and make its row (ScheduleError says what is wrong)."""
    from safegate.lists.services import service_ids
    from safegate.lists.taxonomy import category_ids

    name = spec.name.strip()
    if not name or len(name) > 100:
        raise ScheduleError("a schedule needs a name of 1 to 100 characters")
    cats = [c for c in category_ids() if c != "custom"]
    block_c = _known(spec.block_categories, cats, "category")
    block_s = _known(spec.block_services, service_ids(), "service")
    allow_c = _known(spec.allow_categories, cats, "category")
    allow_s = _known(spec.allow_services, service_ids(), "service")
    allow = []
    for raw in spec.allow:
        domain = normalise_domain(raw)
        if domain is None:
            raise ScheduleError(f"--allow {raw!r} is not a domain name")
        allow.append(domain)
    blocks = spec.block_all or block_c or block_s
    allows = allow_c or allow_s
    if blocks and allows:
        raise ScheduleError("a window either blocks or allows: make two windows")
    if not blocks and not allows:
        raise ScheduleError("say what the window does: --block-all, --block-category, "
                            "--block-service, --allow-category or --allow-service")
    if allow and not spec.block_all:
        raise ScheduleError("--allow DOMAIN goes with --block-all (the domains bedtime lets "
                            "through)")
    locked = sorted(set(allow_c) & NEVER_LIFTED)
    if locked:
        raise ScheduleError(f"an allow window never unblocks {', '.join(locked)} "
                            f"(never lifted: {', '.join(sorted(NEVER_LIFTED))})")
    return Schedule(name=name, days=parse_days(spec.days), start_minute=parse_minute(spec.start),
                    end_minute=parse_minute(spec.end), action="block" if blocks else "allow",
                    block_all=spec.block_all, categories=block_c or allow_c,
                    services=block_s or allow_s, allow=allow, enabled=True)


def describe(row: Schedule, tz: str, now: datetime) -> dict[str, Any]:
    what = ("everything" if row.block_all else
            ", ".join([*row.categories, *(f"service {s}" for s in row.services)]))
    return {
        "name": row.name, "days": days_text(row.days), "from": minute_text(row.start_minute),
        "to": minute_text(row.end_minute), "action": row.action, "block_all": row.block_all,
        "categories": list(row.categories), "services": list(row.services),
        "allow": list(row.allow), "enabled": row.enabled,
        "in_force": in_force(window_of(row), zone(tz), now), "what": what, "timezone": tz,
    }


def add_schedule(app: App, child: str, spec: WindowSpec, *,
                 actor: str = "system") -> dict[str, Any]:
    row = window_row(spec)
    with app.change("policy", f"schedule add {child} {row.name}") as session:
        profile = find_child(session, child)
        touches(session, profile.id)
        if session.scalar(select(Schedule.id).where(Schedule.profile_id == profile.id,
                                                    Schedule.name == row.name)) is not None:
            raise ScheduleError(f"{profile.name} already has a schedule named {row.name!r}")
        row.profile_id = profile.id
        session.add(row)
        session.flush()
        audit_change(session, profile, actor, "schedule.add", object_type="schedule",
                     object_id=row.id)
        return describe(row, _timezone(session, profile), datetime.now(UTC))


# What a window is made of, as ``window_row`` sets it (``enabled`` and the child are kept by
# an edit).
WINDOW_FIELDS = ("name", "days", "start_minute", "end_minute", "action", "block_all",
                 "categories", "services", "allow")


def window_spec(row: Schedule) -> WindowSpec:
    """A stored window as a parent would type it again (the start of an edit)."""
    blocks = row.action == "block"
    return WindowSpec(
        name=row.name, days=days_text(row.days), start=minute_text(row.start_minute),
        end=minute_text(row.end_minute), block_all=row.block_all, allow=tuple(row.allow),
        block_categories=tuple(row.categories) if blocks else (),
        block_services=tuple(row.services) if blocks else (),
        allow_categories=() if blocks else tuple(row.categories),
        allow_services=() if blocks else tuple(row.services))


def edit_schedule(app: App, child: str, name: str, spec: WindowSpec, *,
                  actor: str = "system") -> dict[str, Any]:
    """Replace the window ``name`` of a child by ``spec`` in place (its name, days, times and
    what it does; the checks of ``add_schedule``); whether it is on is kept."""
    new = window_row(spec)
    with app.change("policy", f"schedule edit {child} {name}") as session:
        profile = find_child(session, child)
        touches(session, profile.id)
        row = _schedule(session, profile, name)
        if new.name != row.name and session.scalar(select(Schedule.id).where(
                Schedule.profile_id == profile.id, Schedule.name == new.name)) is not None:
            raise ScheduleError(f"{profile.name} already has a schedule named {new.name!r}")
        changed = [f for f in WINDOW_FIELDS if getattr(row, f) != getattr(new, f)]
        for field in changed:
            setattr(row, field, getattr(new, field))
        session.flush()
        audit_change(session, profile, actor, "schedule.change", object_type="schedule",
                     object_id=row.id, fields=changed)
        return describe(row, _timezone(session, profile), datetime.now(UTC))


def change_window(app: App, child: str, name: str, *, new_name: str | None = None,
                  days: str | None = None, start: str | None = None, end: str | None = None,
                  actor: str = "system") -> dict[str, Any]:
    """Change some of a window's name, days and times (``safegate schedule edit``); what it
    does stays. The checks of ``add_schedule``."""
    with app.sessions()() as session:
        spec = window_spec(_schedule(session, find_child(session, child), name))
    spec = replace(spec, name=spec.name if new_name is None else new_name,
                   days=spec.days if days is None else days,
                   start=spec.start if start is None else start,
                   end=spec.end if end is None else end)
    return edit_schedule(app, child, name, spec, actor=actor)


def list_schedules(app: App, child: str) -> list[dict[str, Any]]:
    with app.sessions()() as session:
        profile = find_child(session, child)
        tz = _timezone(session, profile)
        now = datetime.now(UTC)
        rows = session.scalars(select(Schedule).where(Schedule.profile_id == profile.id)
                               .order_by(Schedule.start_minute, Schedule.name))
        return [describe(row, tz, now) for row in rows]


def _schedule(session: Session, profile: Profile, name: str) -> Schedule:
    row = session.scalar(select(Schedule).where(Schedule.profile_id == profile.id,
                                                Schedule.name == name))
    if row is None:
        names = ", ".join(session.scalars(select(Schedule.name).where(
            Schedule.profile_id == profile.id))) or "none"
        raise ScheduleError(f"{profile.name} has no schedule named {name!r} (schedules: {names})")
    return row


def remove_schedule(app: App, child: str, name: str, *, actor: str = "system") -> None:
    with app.change("policy", f"schedule remove {child} {name}") as session:
        profile = find_child(session, child)
        touches(session, profile.id)
        row = _schedule(session, profile, name)
        audit_change(session, profile, actor, "schedule.remove", object_type="schedule",
                     object_id=row.id)
        session.delete(row)


def enable_schedule(app: App, child: str, name: str, enabled: bool, *,
                    actor: str = "system") -> dict[str, Any]:
    verb = "enable" if enabled else "disable"
    with app.change("policy", f"schedule {verb} {child} {name}") as session:
        profile = find_child(session, child)
        touches(session, profile.id)
        row = _schedule(session, profile, name)
        row.enabled = enabled
        session.flush()
        audit_change(session, profile, actor, f"schedule.{verb}", object_type="schedule",
                     object_id=row.id)
        return describe(row, _timezone(session, profile), datetime.now(UTC))


def _minutes(minutes: int) -> timedelta:
    if not 1 <= minutes <= MAX_MINUTES:
        raise ScheduleError(f"minutes must be 1 to {MAX_MINUTES} (a week)")
    return timedelta(minutes=minutes)


def next_local(hhmm: str, tz: str, now: datetime) -> datetime:
    """The next instant after ``now`` at which the local clock in ``tz`` shows ``hhmm``."""
    minute = parse_minute(hhmm)
    tzinfo = zone(tz)
    today = now.astimezone(tzinfo).date()
    for days in range(3):
        instant = local_instant(today + timedelta(days=days), minute, tzinfo)
        if instant > now:
            return instant
    raise AssertionError("unreachable")  # pragma: no cover


def pause(app: App, child: str, *, minutes: int | None = None, until: str | None = None,
          now: datetime | None = None, actor: str = "system") -> dict[str, Any]:
    """Block everything but the child's allow rules (and temporary allows) for ``minutes``,
    until the local time ``until``, or (neither) until resumed."""
    if minutes is not None and until is not None:
        raise ScheduleError("give --minutes or --until, not both")
    now = now or datetime.now(UTC)
    with app.change("policy", f"pause {child}") as session:
        profile = find_child(session, child)
        touches(session, profile.id)
        tz = _timezone(session, profile)
        if minutes is not None:
            ends = now + _minutes(minutes)
        elif until is not None:
            ends = next_local(until, tz, now)
        else:
            ends = FOREVER
        profile.paused_until = ends
        session.flush()
        audit_change(session, profile, actor, "child.pause",
                     until=None if ends == FOREVER else ends.astimezone(UTC).isoformat())
        return pause_status(profile.name, ends, tz, now)


def resume(app: App, child: str, *, actor: str = "system") -> dict[str, Any]:
    with app.change("policy", f"resume {child}") as session:
        profile = find_child(session, child)
        touches(session, profile.id)
        profile.paused_until = None
        session.flush()
        audit_change(session, profile, actor, "child.resume")
        return pause_status(profile.name, None, _timezone(session, profile), datetime.now(UTC))


def pause_status(name: str, ends: datetime | None, tz: str, now: datetime) -> dict[str, Any]:
    paused = ends is not None and ends > now
    out: dict[str, Any] = {"child": name, "paused": paused, "paused_until": None,
                           "local_until": None}
    if paused and ends is not None and ends < FOREVER:
        out["paused_until"] = ends.astimezone(UTC).isoformat()
        out["local_until"] = ends.astimezone(zone(tz)).isoformat(timespec="minutes")
    return out


def allow_for(app: App, child: str, domain: str, minutes: int,
              now: datetime | None = None, *, actor: str = "system") -> dict[str, Any]:
    """Allow ``domain`` and its subdomains for ``minutes``, over schedules, the pause, deny
    rules and lists. Expired allows of the child are deleted on the way."""
    name = allowed_domain(domain)
    now = now or datetime.now(UTC)
    ends = now + _minutes(minutes)
    with app.change("policy", f"allow-for {child} {name} {minutes} min") as session:
        profile = find_child(session, child)
        touches(session, profile.id)
        done = add_temporary_allow(session, profile, name, ends, now)
        audit_change(session, profile, actor, "child.allow_for", domain=name,
                     until=ends.astimezone(UTC).isoformat())
        return done


def allowed_domain(domain: str) -> str:
    """``domain`` normalised, or ScheduleError."""
    name = normalise_domain(domain)
    if name is None:
        raise ScheduleError(f"{domain!r} is not a domain name")
    return name


def allow_ends(tz: str, now: datetime, *, minutes: int | None = None,
               until: str | None = None) -> datetime:
    """When a temporary allow given for ``minutes`` or until the local time ``until`` (HH:MM,
    today or tomorrow in ``tz``) ends."""
    if (minutes is None) == (until is None):
        raise ScheduleError("give --minutes or --until")
    if minutes is not None:
        return now + _minutes(minutes)
    assert until is not None
    return next_local(until, tz, now)


def add_temporary_allow(session: Session, profile: Profile, name: str, ends: datetime,
                        now: datetime) -> dict[str, Any]:
    """Allow ``name`` (normalised) for ``profile`` until ``ends``, deleting its expired
    allows, inside the caller's ``policy`` change."""
    for old in session.scalars(select(TemporaryAllow).where(
            TemporaryAllow.profile_id == profile.id, TemporaryAllow.until <= now)):
        session.delete(old)
    session.add(TemporaryAllow(profile_id=profile.id, domain=name, until=ends))
    tz = _timezone(session, profile)
    return {"child": profile.name, "domain": name, "until": ends.isoformat(),
            "local_until": ends.astimezone(zone(tz)).isoformat(timespec="minutes")}


def household_timezone(session: Session, profile: Profile) -> str:
    """The time zone of the child's organisation."""
    return _timezone(session, profile)
