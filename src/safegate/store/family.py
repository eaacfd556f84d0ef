"""Repositories for households, schools and operators, their children and devices, and the
schedules and time budgets of a child (as plain rows). Functions take a session, flush,
and never commit; a missing or ambiguous row is a StoreError that says what exists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from safegate.store.errors import StoreError
from safegate.store.models import (
    Account,
    Device,
    Organisation,
    Policy,
    Profile,
    QueryLog,
    Schedule,
    TimeBudget,
)
from safegate.store.repo import POLICY_COLUMNS


def parse_ref(ref: str) -> int | None:
    """The id of an ``id:N`` reference, or None for a name."""
    if ref.startswith("id:"):
        try:
            return int(ref[3:])
        except ValueError:
            raise StoreError(f"{ref!r} is not a valid id reference (expected id:N)") from None
    return None


def _pick(rows: Sequence[Any], ref: str, what: str, where: str = "") -> Any:
    """The row named ``ref`` (case-insensitively) or with id ``id:N``."""
    wanted = parse_ref(ref)
    if wanted is not None:
        found = [r for r in rows if r.id == wanted]
    else:
        found = [r for r in rows if r.name.casefold() == ref.strip().casefold()]
    if len(found) == 1:
        return found[0]
    names = ", ".join(r.name for r in rows) or "none"
    raise StoreError(f"no {what} {ref!r}{where} ({what}s: {names})")


# ---------------------------------------------------------------- organisations


def all_orgs(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.id)))


def find_org(session: Session, ref: str | None) -> Organisation:
    """An organisation by name or ``id:N``; None picks the only one there is."""
    orgs = all_orgs(session)
    if ref is None:
        if len(orgs) == 1:
            return orgs[0]
        if not orgs:
            raise StoreError("there is no organisation yet; add one with `safegate org add`")
        names = ", ".join(o.name for o in orgs)
        raise StoreError(f"there are several organisations; choose one with --org ({names})")
    return _pick(orgs, ref, "organisation")


def _unique(rows: Iterable[Organisation | Profile | Device], name: str, keep: int | None,
            message: str) -> None:
    """StoreError(``message``) when another row (not ``keep``) has ``name`` (any case)."""
    if any(r.id != keep and r.name.casefold() == name.casefold() for r in rows):
        raise StoreError(message)


def create_org(session: Session, name: str, kind: str, timezone: str) -> Organisation:
    _unique(all_orgs(session), name, None,
            f"name: an organisation named {name!r} exists already")
    org = Organisation(name=name, kind=kind, timezone=timezone)
    session.add(org)
    session.flush()
    return org


def rename_org(session: Session, org: Organisation, name: str) -> None:
    _unique(all_orgs(session), name, org.id,
            f"name: an organisation named {name!r} exists already")
    org.name = name
    session.flush()


def delete_org(session: Session, org: Organisation) -> int:
    """Delete an organisation, its accounts and its children with everything of theirs;
    the number of children deleted."""
    children = org_profiles(session, org.id)
    for child in children:
        delete_profile(session, child)
    session.execute(delete(Account).where(Account.org_id == org.id))
    session.execute(delete(Organisation).where(Organisation.id == org.id))
    session.expunge(org)
    session.flush()
    return len(children)


def child_count(session: Session, org_id: int) -> int:
    return int(session.scalar(select(func.count()).where(Profile.org_id == org_id)) or 0)


# ---------------------------------------------------------------- children


def org_profiles(session: Session, org_id: int) -> list[Profile]:
    return list(session.scalars(select(Profile).where(Profile.org_id == org_id)
                                .order_by(Profile.id)))


def find_profile(session: Session, org: Organisation, ref: str) -> Profile:
    return _pick(org_profiles(session, org.id), ref, "child", f" in {org.name!r}")


def create_profile(session: Session, org: Organisation, name: str, birth_year: int | None,
                   preset: str | None) -> Profile:
    _unique(org_profiles(session, org.id), name, None,
            f"name: {org.name!r} has a child named {name!r} already")
    profile = Profile(org_id=org.id, name=name, birth_year=birth_year, preset=preset,
                      policy=Policy())
    session.add(profile)
    session.flush()
    return profile


def rename_profile(session: Session, profile: Profile, name: str) -> None:
    _unique(org_profiles(session, profile.org_id), name, profile.id,
            f"name: there is a child named {name!r} already")
    profile.name = name
    session.flush()


def delete_profile(session: Session, profile: Profile) -> None:
    """Delete a child. Foreign keys cascade to its devices, policy, schedules, budgets and
    their minutes, temporary allows, unblock requests and alerts; the query log has no
    foreign key (cheap inserts), so its rows are deleted here."""
    session.execute(delete(QueryLog).where(QueryLog.profile_id == profile.id))
    session.execute(delete(Profile).where(Profile.id == profile.id))
    session.expunge(profile)
    session.flush()


# ---------------------------------------------------------------- devices


# Statements built once: building and keying a statement each time cost more than running
# it (bench/web). A child's devices as objects (for the callers that change or pick one),
# and the reads of the child's page as columns (no ORM objects to build).
_DEVICES = select(Device).where(Device.profile_id == bindparam("profile_id")).order_by(Device.id)
_DEVICE_ROWS = (select(Device.id, Device.name, Device.kind, Device.ip_cidr, Device.mac,
                       Device.token)
                .where(Device.profile_id == bindparam("profile_id")).order_by(Device.id))
_BUDGET_ROWS = (select(TimeBudget.target, TimeBudget.minutes_per_day)
                .where(TimeBudget.profile_id == bindparam("profile_id"))
                .order_by(TimeBudget.target))


# A child's row, its household's time zone and its policy's columns in one statement (for
# readers that need no ORM objects: the child's page, a policy change).
_CHILD_ROW = (select(Profile.id, Profile.org_id, Profile.name, Profile.birth_year,
                     Profile.preset, Profile.paused_until, Profile.subject,
                     Organisation.timezone, *POLICY_COLUMNS)
              .join_from(Profile, Organisation, Organisation.id == Profile.org_id)
              .outerjoin(Policy, Policy.profile_id == Profile.id)
              .where(Profile.id == bindparam("profile_id")))


def child_row(session: Session, profile_id: int) -> Any:
    """The child's columns, its household's ``timezone`` and its policy's columns
    (``repo.policy_from_row`` makes the record), or None; on the session's connection."""
    return session.connection().execute(_CHILD_ROW, {"profile_id": profile_id}).one_or_none()


def profile_devices(session: Session, profile_id: int) -> list[Device]:
    return list(session.scalars(_DEVICES, {"profile_id": profile_id}))


def device_rows(session: Session, profile_id: int) -> Sequence[Any]:
    """A child's devices as rows (id, name, kind, ip_cidr, mac, token), oldest first (read
    on the session's connection: the devices as last flushed)."""
    return session.connection().execute(_DEVICE_ROWS, {"profile_id": profile_id}).all()


def find_device(session: Session, profile: Profile, ref: str) -> Device:
    return _pick(profile_devices(session, profile.id), ref, "device", f" of {profile.name!r}")


def create_device(session: Session, profile: Profile, name: str, kind: str,
                  ip_cidr: str | None, mac: str | None, token: str | None = None) -> Device:
    _unique(profile_devices(session, profile.id), name, None,
            f"name: {profile.name!r} has a device named {name!r} already")
    device = Device(profile_id=profile.id, name=name, kind=kind, ip_cidr=ip_cidr, mac=mac)
    if token is not None:
        if session.scalar(select(Device.id).where(Device.token == token)) is not None:
            raise StoreError("token: another device has this token already")
        device.token = token
    session.add(device)
    session.flush()
    return device


def rename_device(session: Session, device: Device, name: str) -> None:
    _unique(profile_devices(session, device.profile_id), name, device.id,
            f"name: there is a device named {name!r} already")
    device.name = name
    session.flush()


def delete_device(session: Session, device: Device) -> None:
    session.delete(device)
    session.flush()


# ---------------------------------------------------------------- schedules and budgets


def profile_schedules(session: Session, profile_id: int) -> list[Schedule]:
    return list(session.scalars(select(Schedule).where(Schedule.profile_id == profile_id)
                                .order_by(Schedule.id)))


def add_schedule(session: Session, profile_id: int, **fields: Any) -> Schedule:
    row = Schedule(profile_id=profile_id, **fields)
    session.add(row)
    session.flush()
    return row


def budget_minutes(session: Session, profile_id: int) -> dict[str, int]:
    """A child's budgets: minutes a day by target, in target order (read on the session's
    connection: the budgets as last flushed, which ``set_budget`` and ``delete_budget`` do)."""
    return {target: int(minutes) for target, minutes in session.connection().execute(
        _BUDGET_ROWS, {"profile_id": profile_id})}


def set_budget(session: Session, profile_id: int, target: str, minutes: int) -> TimeBudget:
    row = session.scalar(select(TimeBudget).where(TimeBudget.profile_id == profile_id,
                                                  TimeBudget.target == target))
    if row is None:
        row = TimeBudget(profile_id=profile_id, target=target, minutes_per_day=minutes)
        session.add(row)
    else:
        row.minutes_per_day = minutes
    session.flush()
    return row


def delete_budget(session: Session, profile_id: int, target: str) -> None:
    session.execute(delete(TimeBudget).where(TimeBudget.profile_id == profile_id,
                                             TimeBudget.target == target))
    session.flush()
