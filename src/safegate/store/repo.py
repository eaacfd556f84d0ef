"""Repository functions: the store's API for the other packages (plain functions, typed).

Functions taking a ``Session`` flush but never commit: the caller owns the transaction, e.g.

    with session_factory(engine).begin() as session:
        update_policy(session, 3, youtube_mode="strict")
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from safegate.store.demo import create_demo_household
from safegate.store.errors import StoreError
from safegate.store.models import (
    Consent,
    Device,
    Policy,
    Profile,
    Schedule,
    TemporaryAllow,
    TimeBudget,
)
from safegate.store.policy_fields import validate_policy_changes
from safegate.store.querylog import QueryLogRow, insert_query_logs, purge_query_logs
from safegate.store.records import (
    DeviceRecord,
    PolicyRecord,
    ProfileRecord,
    ScheduleRecord,
    TemporaryAllowRecord,
)
from safegate.store.values import utcnow

__all__ = [
    "DeviceRecord",
    "PolicyRecord",
    "ProfileRecord",
    "QueryLogRow",
    "create_demo_household",
    "insert_query_logs",
    "load_profiles",
    "purge_expired_allows",
    "purge_query_logs",
    "update_policy",
]


def load_profiles(session: Session, *, org_id: int | None = None,
                  profile_id: int | None = None,
                  profile_ids: Collection[int] | None = None) -> list[ProfileRecord]:
    """Every profile (or those of ``org_id``, or the one ``profile_id``, or those of
    ``profile_ids`` that exist) with its policy,
    devices, the organisation's time zone, its schedules and its temporary allows not yet
    expired, ordered by id."""
    stmt = (
        select(Profile)
        .options(selectinload(Profile.devices), selectinload(Profile.policy),
                 selectinload(Profile.organisation))
        .order_by(Profile.id)
        .execution_options(populate_existing=True)  # fresh rows even in a long-lived session
    )
    if org_id is not None:
        stmt = stmt.where(Profile.org_id == org_id)
    if profile_id is not None:
        stmt = stmt.where(Profile.id == profile_id)
    if profile_ids is not None:
        stmt = stmt.where(Profile.id.in_(sorted(profile_ids)))
    profiles = list(session.scalars(stmt))
    schedules: dict[int, list[ScheduleRecord]] = {}
    temporary: dict[int, list[TemporaryAllowRecord]] = {}
    budgets: dict[int, list[tuple[str, int]]] = {}
    consents: dict[int, set[tuple[str, str]]] = {}
    if profiles:
        sched_stmt = select(Schedule).order_by(Schedule.profile_id, Schedule.name)
        temp_stmt = (select(TemporaryAllow).where(TemporaryAllow.until > utcnow())
                     .order_by(TemporaryAllow.profile_id, TemporaryAllow.id))
        budget_stmt = select(TimeBudget).order_by(TimeBudget.profile_id, TimeBudget.target)
        consent_stmt = select(Consent.profile_id, Consent.purpose, Consent.given_by).where(
            Consent.withdrawn_at.is_(None))
        if org_id is not None or profile_id is not None or profile_ids is not None:
            ids = [p.id for p in profiles]
            consent_stmt = consent_stmt.where(Consent.profile_id.in_(ids))
            sched_stmt = sched_stmt.where(Schedule.profile_id.in_(ids))
            temp_stmt = temp_stmt.where(TemporaryAllow.profile_id.in_(ids))
            budget_stmt = budget_stmt.where(TimeBudget.profile_id.in_(ids))
        for pid, purpose, given_by in session.execute(consent_stmt):
            consents.setdefault(pid, set()).add((purpose, given_by))
        for b in session.scalars(budget_stmt):
            budgets.setdefault(b.profile_id, []).append((b.target, b.minutes_per_day))
        for row in session.scalars(sched_stmt):
            schedules.setdefault(row.profile_id, []).append(schedule_record(row))
        for t in session.scalars(temp_stmt):
            temporary.setdefault(t.profile_id, []).append(
                TemporaryAllowRecord(t.id, t.domain, t.until))
    return [_profile_record(p, tuple(schedules.get(p.id, ())), tuple(temporary.get(p.id, ())),
                            tuple(budgets.get(p.id, ())), frozenset(consents.get(p.id, ())))
            for p in profiles]


def schedule_record(row: Schedule) -> ScheduleRecord:
    return ScheduleRecord(
        id=row.id, name=row.name, days=row.days, start_minute=row.start_minute,
        end_minute=row.end_minute, action=row.action, block_all=row.block_all,
        categories=tuple(row.categories), services=tuple(row.services),
        allow=tuple(row.allow), enabled=row.enabled,
    )


def update_policy(session: Session, profile_id: int, **changes: Any) -> PolicyRecord:
    """Change fields of a profile's policy; the version goes up by one if anything changed.

    Field names and values are checked first (StoreError names the field, the value and what
    is allowed). A profile without a Policy row gets one (version 1, the defaults) first.
    """
    validated = validate_policy_changes(changes)
    profile = session.get(Profile, profile_id)
    if profile is None:
        raise StoreError(f"profile {profile_id!r} does not exist")
    policy = profile.policy
    if policy is None:
        policy = Policy()
        profile.policy = policy
        session.flush()
    for field, value in validated.items():
        setattr(policy, field, value)
    try:
        session.flush()
    except StaleDataError:
        raise StoreError(
            f"the policy of profile {profile_id} was changed by someone else; reload and retry"
        ) from None
    return policy_record(policy)


def policy_record(policy: Policy | None) -> PolicyRecord:
    """The frozen view of ``policy``; the defaults when there is no row."""
    if policy is None:
        return PolicyRecord()
    return PolicyRecord(
        blocked_categories=tuple(policy.blocked_categories),
        blocked_services=tuple(policy.blocked_services),
        allow=tuple(policy.allow),
        deny=tuple(policy.deny),
        safe_search=policy.safe_search,
        youtube_mode=policy.youtube_mode,
        block_mode=policy.block_mode,
        log_level=policy.log_level,
        bypass_protection=policy.bypass_protection,
        allowed_services=tuple(policy.allowed_services),
        monitored_services=tuple(policy.monitored_services),
        allow_list_only=policy.allow_list_only,
        decree147=policy.decree147,
        version=policy.version,
        updated_at=policy.updated_at,
    )


def _device_record(device: Device) -> DeviceRecord:
    return DeviceRecord(
        id=device.id,
        name=device.name,
        kind=device.kind,
        ip_cidr=device.ip_cidr,
        mac=device.mac,
        token=device.token,
    )


def _profile_record(profile: Profile, schedules: tuple[ScheduleRecord, ...] = (),
                    temporary: tuple[TemporaryAllowRecord, ...] = (),
                    budgets: tuple[tuple[str, int], ...] = (),
                    consents: frozenset[tuple[str, str]] = frozenset()) -> ProfileRecord:
    return ProfileRecord(
        id=profile.id,
        org_id=profile.org_id,
        name=profile.name,
        birth_year=profile.birth_year,
        preset=profile.preset,
        policy=policy_record(profile.policy),
        devices=tuple(_device_record(d) for d in profile.devices),
        timezone=profile.organisation.timezone,
        paused_until=profile.paused_until,
        schedules=schedules,
        temporary_allows=temporary,
        budgets=budgets,
        consents=consents,
        restricted=profile.restricted_at is not None,
    )


def purge_expired_allows(engine: Engine, before: datetime) -> int:
    """Delete temporary allows that ended before ``before`` (the gate ignores them already:
    this only keeps the table small and keeps no record of them longer than needed)."""
    with Session(engine) as session, session.begin():
        result = session.execute(delete(TemporaryAllow).where(TemporaryAllow.until < before))
        return int(getattr(result, "rowcount", 0) or 0)
