"""Frozen, ORM-free views of stored rows, safe to hand to other threads (the gate)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from safegate.store.choices import DEFAULT_TIMEZONE


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    id: int
    name: str
    kind: str
    ip_cidr: str | None
    mac: str | None
    token: str


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    """A profile's policy; the defaults here are what a profile without a Policy row gets."""

    blocked_categories: tuple[str, ...] = ()
    blocked_services: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    safe_search: bool = True
    youtube_mode: str = "moderate"
    block_mode: str = "null"
    log_level: str = "full"
    bypass_protection: bool = True
    allowed_services: tuple[str, ...] = ()
    monitored_services: tuple[str, ...] = ()
    allow_list_only: bool = False
    decree147: bool = False
    version: int = 1
    updated_at: datetime | None = None  # None: no Policy row yet


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """A weekly window (see ``models.Schedule``)."""

    id: int
    name: str
    days: int
    start_minute: int
    end_minute: int
    action: str
    block_all: bool
    categories: tuple[str, ...]
    services: tuple[str, ...]
    allow: tuple[str, ...]
    enabled: bool


@dataclass(frozen=True, slots=True)
class TemporaryAllowRecord:
    id: int
    domain: str
    until: datetime  # UTC


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    """A child with the policy, devices and time-dependent rules the gate needs."""

    id: int
    org_id: int
    name: str
    birth_year: int | None
    preset: str | None
    policy: PolicyRecord
    devices: tuple[DeviceRecord, ...]
    timezone: str = DEFAULT_TIMEZONE  # the organisation's
    paused_until: datetime | None = None
    schedules: tuple[ScheduleRecord, ...] = ()
    temporary_allows: tuple[TemporaryAllowRecord, ...] = ()  # those not yet expired
    budgets: tuple[tuple[str, int], ...] = ()  # (target, minutes a day), by target
    # Privacy (safegate.privacy.consent): the (purpose, given_by) pairs of the consents not
    # withdrawn, and whether processing is restricted (a data-subject request).
    consents: frozenset[tuple[str, str]] = frozenset()
    restricted: bool = False
