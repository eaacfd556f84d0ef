"""Parental control operations: organisations (households, schools, operators), children,
devices and a child's policy. Plain functions taking an ``App``; every change runs inside
``app.change("policy", reason)``, so running gates apply it within a moment.

Bad input raises ``FamilyError`` (a ValueError) whose one-line message starts with the
field it is about; a missing row raises ``StoreError`` saying what exists.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from safegate.app.bus import touches
from safegate.app.core import App
from safegate.lists.parse import normalise_domain
from safegate.policy.presets import Preset, band_for_age, decree147, preset
from safegate.store import choices
from safegate.store import family as repo
from safegate.store.errors import StoreError
from safegate.store.models import Device, Organisation, Profile
from safegate.store.records import PolicyRecord
from safegate.store.repo import policy_from_row, policy_record, update_policy


class FamilyError(ValueError):
    """Bad input for a parental-control operation; the message names the field."""


SERVICE_FIELDS = {"block": "blocked_services", "allow": "allowed_services",
                  "monitor": "monitored_services"}
NAME_LIMIT = 100


# ---------------------------------------------------------------- views


@dataclass(frozen=True, slots=True)
class OrgView:
    id: int
    name: str
    kind: str
    timezone: str
    children: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind,
                "timezone": self.timezone, "children": self.children}


@dataclass(frozen=True, slots=True)
class DeviceView:
    id: int
    child: str
    name: str
    kind: str
    ip_cidr: str | None
    mac: str | None
    token: str = field(repr=False)

    def to_dict(self, *, show_token: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "child": self.child, "name": self.name,
                               "kind": self.kind, "ip": self.ip_cidr, "mac": self.mac}
        if show_token:
            out["token"] = self.token
        return out


@dataclass(frozen=True, slots=True)
class ChildView:
    id: int
    org: str
    name: str
    birth_year: int | None
    preset: str | None
    devices: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "org": self.org, "name": self.name,
                "birth_year": self.birth_year, "preset": self.preset,
                "devices": self.devices}


def _org_view(session: Session, org: Organisation) -> OrgView:
    return OrgView(org.id, org.name, org.kind, org.timezone, repo.child_count(session, org.id))


def _device_view(device: Device | Any, child: str) -> DeviceView:
    """A device (its object, or a row of ``repo.device_rows``) as the app shows it."""
    return DeviceView(device.id, child, device.name, device.kind, device.ip_cidr, device.mac,
                      device.token)


def _child_view(session: Session, org: Organisation, profile: Profile) -> ChildView:
    return ChildView(profile.id, org.name, profile.name, profile.birth_year, profile.preset,
                     len(repo.profile_devices(session, profile.id)))


# ---------------------------------------------------------------- checks (pure)


def check_name(name: object, what: str = "name", limit: int = NAME_LIMIT) -> str:
    if not isinstance(name, str) or not name.strip():
        raise FamilyError(f"{what}: {name!r} is not a name (use some text)")
    text = name.strip()
    # Control characters: C0, DEL and C1 (U+0080-U+009F), which no name needs.
    if len(text) > limit or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text):
        raise FamilyError(f"{what}: {name!r} is too long or has control characters "
                          f"(at most {limit} printable characters)")
    if text.startswith("id:"):
        raise FamilyError(f"{what}: {name!r} may not start with 'id:' (that is how ids "
                          "are written)")
    return text


def check_choice(value: object, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise FamilyError(f"{what}: {value!r} is not one of {', '.join(allowed)}")
    return str(value)


def check_timezone(value: object, what: str = "timezone") -> str:
    try:
        if not isinstance(value, str) or not value:
            raise ValueError
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise FamilyError(f"{what}: {value!r} is not an IANA time zone "
                          "(e.g. Asia/Ho_Chi_Minh)") from None
    return value


def check_birth_year(value: object, this_year: int, what: str = "birth_year") -> Preset:
    """The age band's preset for a birth year (this year's age 0-17)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise FamilyError(f"{what}: {value!r} is not a year")
    try:
        return band_for_age(this_year - value)
    except ValueError:
        raise FamilyError(f"{what}: {value!r} gives the age {this_year - value} this year; "
                          f"a child is 0 to 17 (born {this_year - 17} to {this_year})") from None


def check_ip(value: object, what: str = "ip") -> str:
    try:
        if not isinstance(value, str):
            raise ValueError
        text = value.strip()
        return str(ipaddress.ip_network(text, strict=True) if "/" in text
                   else ipaddress.ip_address(text))
    except ValueError:
        raise FamilyError(f"{what}: {value!r} is not an IP address or CIDR") from None


def check_mac(value: object, what: str = "mac") -> str:
    from safegate.store.values import normalise_mac

    try:
        if not isinstance(value, str):
            raise StoreError("")
        return normalise_mac(value)
    except StoreError:
        raise FamilyError(f"{what}: {value!r} is not a MAC address "
                          "(expected aa:bb:cc:dd:ee:ff)") from None


def check_categories(values: Iterable[object], what: str) -> list[str]:
    from safegate.lists.taxonomy import category_ids

    known = [c for c in category_ids() if c != "custom"]
    out: list[str] = []
    for i, value in enumerate(values):
        if value not in known:
            raise FamilyError(f"{what}[{i}]: {value!r} is not a category "
                              f"({', '.join(known)})")
        out.append(str(value))
    return out


def check_services(values: Iterable[object], what: str) -> list[str]:
    from safegate.lists.services import service

    out: list[str] = []
    for i, value in enumerate(values):
        try:
            out.append(service(value).id)  # type: ignore[arg-type]
        except ValueError as exc:
            raise FamilyError(f"{what}[{i}]: {str(exc).split(' Valid ids')[0]}") from None
    return out


def check_domains(values: Iterable[object], what: str) -> list[str]:
    out: list[str] = []
    for i, value in enumerate(values):
        name = normalise_domain(value) if isinstance(value, str) else None
        if name is None:
            raise FamilyError(f"{what}[{i}]: {value!r} is not a domain name")
        out.append(name)
    return out


def this_year(timezone: str, now: datetime | None = None) -> int:
    """The current year in a time zone (a household's New Year is local)."""
    zone = ZoneInfo(timezone)
    return (now.astimezone(zone) if now is not None else datetime.now(zone)).year


# ---------------------------------------------------------------- organisations


def add_org(app: App, name: str, kind: str = "household",
            timezone: str = choices.DEFAULT_TIMEZONE, *, actor: str | None = None,
            role: str | None = None) -> OrgView:
    """A new organisation; with ``actor`` (the web app's operator) its ``org.create`` audit
    entry is written in the same transaction."""
    name = check_name(name, limit=200)
    kind = check_choice(kind, choices.ORG_KINDS, "kind")
    timezone = check_timezone(timezone)
    with app.change("policy", f"organisation {name} added") as session:
        org = repo.create_org(session, name, kind, timezone)
        if actor is not None:
            from safegate.privacy import audit

            audit.append(session, actor=actor, role=role, action="org.create",
                         object_type="organisation", object_id=org.id, org_id=org.id,
                         detail={"kind": kind, "timezone": timezone})
        return _org_view(session, org)


def list_orgs(app: App) -> list[OrgView]:
    with app.sessions()() as session:
        return [_org_view(session, org) for org in repo.all_orgs(session)]


def rename_org(app: App, ref: str, new_name: str) -> OrgView:
    new_name = check_name(new_name, limit=200)
    with app.change("policy", f"organisation {ref} renamed") as session:
        org = repo.find_org(session, ref)
        repo.rename_org(session, org, new_name)
        return _org_view(session, org)


def delete_org(app: App, ref: str, *, force: bool = False) -> int:
    """Delete an organisation; it must have no children unless ``force`` (then they go
    too, with everything of theirs). The number of children deleted."""
    with app.change("policy", f"organisation {ref} deleted") as session:
        org = repo.find_org(session, ref)
        count = repo.child_count(session, org.id)
        if count and not force:
            raise StoreError(f"organisation {org.name!r} has {count} child(ren); delete them "
                             "first or use --force to delete them with it")
        return repo.delete_org(session, org)


# ---------------------------------------------------------------- children


def _child(session: Session, child: str, org: str | None) -> tuple[Organisation, Profile]:
    """A child by name within an organisation (``org`` None: the only one), or ``id:N``."""
    wanted = repo.parse_ref(child)
    if wanted is not None and org is None:
        profile = session.get(Profile, wanted)
        if profile is None:
            raise StoreError(f"no child {child!r}")
        return profile.organisation, profile
    organisation = repo.find_org(session, org)
    return organisation, repo.find_profile(session, organisation, child)


def _audit(session: Session, profile: Profile | Any, actor: str, action: str,
           **detail: Any) -> None:
    """An audit entry about a child's data, in the changing transaction (pseudonym only);
    ``profile``: its ORM object or a row with its ``subject`` and ``org_id``."""
    from safegate.privacy import audit

    audit.append(session, actor=actor, action=action, object_type="profile",
                 subject=profile.subject, org_id=profile.org_id, detail=detail)


def _audit_listing(session: Session, actor: str, action: str, orgs: Sequence[Organisation],
                   count: int) -> None:
    """An audit entry for a listing over organisations (no child named)."""
    from safegate.privacy import audit

    audit.append(session, actor=actor, action=action, object_type="organisation",
                 org_id=orgs[0].id if len(orgs) == 1 else None,
                 detail={"orgs": [o.id for o in orgs], "count": count})


def preset_policy(p: Preset, current_allow: Sequence[str] = ()) -> dict[str, Any]:
    """The policy fields a preset sets; the parent's allow rules are kept."""
    fields = p.policy_fields()
    fields["allow"] = list(dict.fromkeys([*current_allow, *p.allow]))
    return fields


def add_child(app: App, name: str, birth_year: int, *, org: str | None = None,
              now: datetime | None = None, actor: str = "system") -> ChildView:
    """Add a child and apply the preset of its age band (this year's age in the
    organisation's time zone)."""
    name = check_name(name)
    with app.change("policy", f"child {name} added") as session:
        organisation = repo.find_org(session, org)
        band = check_birth_year(birth_year, this_year(organisation.timezone, now))
        profile = repo.create_profile(session, organisation, name, birth_year, band.id)
        touches(session, profile.id)
        update_policy(session, profile.id, **preset_policy(band))
        _audit(session, profile, actor, "child.add", preset=band.id)
        return _child_view(session, organisation, profile)


def list_children(app: App, org: str | None = None, *,
                  actor: str = "system") -> list[ChildView]:
    with app.sessions().begin() as session:
        orgs = [repo.find_org(session, org)] if org is not None else repo.all_orgs(session)
        views = [_child_view(session, o, p) for o in orgs
                 for p in repo.org_profiles(session, o.id)]
        _audit_listing(session, actor, "child.view", orgs, len(views))
        return views


def rename_child(app: App, child: str, new_name: str, *, org: str | None = None,
                 actor: str = "system") -> ChildView:
    new_name = check_name(new_name)
    with app.change("policy", f"child {child} renamed") as session:
        organisation, profile = _child(session, child, org)
        touches(session, profile.id)
        repo.rename_profile(session, profile, new_name)
        _audit(session, profile, actor, "child.rename")
        return _child_view(session, organisation, profile)


def delete_child(app: App, child: str, *, org: str | None = None,
                 actor: str = "system") -> str:
    with app.change("policy", f"child {child} deleted") as session:
        _, profile = _child(session, child, org)
        touches(session, profile.id)
        name = profile.name
        _audit(session, profile, actor, "child.delete")
        repo.delete_profile(session, profile)
        return name


def apply_preset(app: App, child: str, band: str | None = None, *, org: str | None = None,
                 now: datetime | None = None) -> ChildView:
    """Re-apply a preset (default: the band of the child's age now) to a child's policy:
    categories, services and their modes, allow-list-only and safe search are replaced,
    the preset's allow list is added to the parent's; deny rules and the rest stay."""
    with app.change("policy", f"preset applied to {child}") as session:
        organisation, profile = _child(session, child, org)
        touches(session, profile.id)
        if band is not None:
            try:
                chosen = preset(band)
            except ValueError as exc:
                raise FamilyError(f"preset: {exc}") from None
        elif profile.birth_year is None:
            raise FamilyError(f"preset: {profile.name!r} has no birth year; name a preset")
        else:
            chosen = check_birth_year(profile.birth_year,
                                      this_year(organisation.timezone, now))
        current = policy_record(profile.policy)
        update_policy(session, profile.id, **preset_policy(chosen, current.allow))
        profile.preset = chosen.id
        session.flush()
        return _child_view(session, organisation, profile)


# ---------------------------------------------------------------- devices


def add_device(app: App, child: str, name: str, *, kind: str = "other",
               ip: str | None = None, mac: str | None = None,
               org: str | None = None, actor: str = "system") -> DeviceView:
    """A device by IP address or network, by MAC (from a trusted forwarder), or known only
    by its token (DoH/DoT)."""
    name = check_name(name)
    kind = check_choice(kind, choices.DEVICE_KINDS, "kind")
    ip_cidr = None if ip is None else check_ip(ip)
    mac_value = None if mac is None else check_mac(mac)
    with app.change("policy", f"device {name} added to {child}") as session:
        _, profile = _child(session, child, org)
        touches(session, profile.id)
        row = repo.create_device(session, profile, name, kind, ip_cidr, mac_value)
        _audit(session, profile, actor, "device.add", device_id=row.id)
        return _device_view(row, profile.name)


def list_devices(app: App, child: str | None = None, *,
                 org: str | None = None, actor: str = "system") -> list[DeviceView]:
    with app.sessions().begin() as session:
        if child is not None:
            profiles = [_child(session, child, org)[1]]
        else:
            orgs = [repo.find_org(session, org)] if org is not None else repo.all_orgs(session)
            profiles = [p for o in orgs for p in repo.org_profiles(session, o.id)]
        views = [_device_view(d, p.name) for p in profiles
                 for d in repo.profile_devices(session, p.id)]
        if child is not None:
            _audit(session, profiles[0], actor, "device.view", count=len(views))
        else:
            _audit_listing(session, actor, "device.view", orgs, len(views))
        return views


def rename_device(app: App, child: str, device: str, new_name: str, *,
                  org: str | None = None, actor: str = "system") -> DeviceView:
    new_name = check_name(new_name)
    with app.change("policy", f"device {device} of {child} renamed") as session:
        _, profile = _child(session, child, org)
        touches(session, profile.id)
        row = repo.find_device(session, profile, device)
        repo.rename_device(session, row, new_name)
        _audit(session, profile, actor, "device.rename", device_id=row.id)
        return _device_view(row, profile.name)


def remove_device(app: App, child: str, device: str, *, org: str | None = None,
                  actor: str = "system") -> str:
    with app.change("policy", f"device {device} of {child} removed") as session:
        _, profile = _child(session, child, org)
        touches(session, profile.id)
        row = repo.find_device(session, profile, device)
        name = row.name
        _audit(session, profile, actor, "device.remove", device_id=row.id)
        repo.delete_device(session, row)
        return name


# ---------------------------------------------------------------- policy


@dataclass(frozen=True)
class PolicyChange:
    """What `safegate policy set` changes; empty or None fields change nothing."""

    block_categories: tuple[str, ...] = ()
    unblock_categories: tuple[str, ...] = ()
    block_services: tuple[str, ...] = ()
    allow_services: tuple[str, ...] = ()
    monitor_services: tuple[str, ...] = ()
    default_services: tuple[str, ...] = ()  # in no mode: what the categories say
    allow: tuple[str, ...] = ()
    unallow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    undeny: tuple[str, ...] = ()
    log_level: str | None = None
    bypass_protection: bool | None = None
    allow_list_only: bool | None = None
    decree147: bool | None = None
    safe_search: bool | None = None
    youtube_mode: str | None = None
    block_mode: str | None = None  # null, nxdomain or blockpage


def _without(items: Iterable[str], drop: Iterable[str]) -> list[str]:
    gone = set(drop)
    return [i for i in items if i not in gone]


def _with(items: Iterable[str], add: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*items, *add]))


def changed_fields(current: PolicyRecord, change: PolicyChange) -> dict[str, Any]:
    """The policy fields after ``change`` (validated; a service ends in at most one mode:
    the last one named)."""
    cats = check_categories(change.block_categories, "block_category")
    uncats = check_categories(change.unblock_categories, "unblock_category")
    modes = {mode: check_services(getattr(change, f"{mode}_services"), f"{mode}_service")
             for mode in (*SERVICE_FIELDS, "default")}
    out: dict[str, Any] = {}
    if cats or uncats:
        out["blocked_categories"] = _with(_without(current.blocked_categories, uncats), cats)
    named = [sid for ids in modes.values() for sid in ids]
    if named:
        for mode, fname in SERVICE_FIELDS.items():
            out[fname] = _with(_without(getattr(current, fname), named), modes[mode])
    if change.allow or change.unallow:
        out["allow"] = _with(_without(current.allow, check_domains(change.unallow, "unallow")),
                             check_domains(change.allow, "allow"))
    if change.deny or change.undeny:
        out["deny"] = _with(_without(current.deny, check_domains(change.undeny, "undeny")),
                            check_domains(change.deny, "deny"))
    if change.log_level is not None:
        out["log_level"] = check_choice(change.log_level, choices.LOG_LEVELS, "log_level")
    if change.block_mode is not None:
        out["block_mode"] = check_choice(change.block_mode, choices.BLOCK_MODES, "block_mode")
    if change.youtube_mode is not None:
        out["youtube_mode"] = check_choice(change.youtube_mode, choices.YOUTUBE_MODES,
                                           "youtube_mode")
    for flag in ("bypass_protection", "allow_list_only", "decree147", "safe_search"):
        if getattr(change, flag) is not None:
            out[flag] = bool(getattr(change, flag))
    return out


def apply_decree147(session: Session, profile_id: int, on: bool) -> None:
    """The flag on: a daily budget for the games group of the decree's minutes (a stricter
    budget the parent set is kept). Off: that budget goes if it is the decree's."""
    rule = decree147()
    current = repo.budget_minutes(session, profile_id)
    minutes = current.get(rule.target)
    if on:
        repo.set_budget(session, profile_id, rule.target,
                        rule.minutes_per_day if minutes is None
                        else min(minutes, rule.minutes_per_day))
    elif minutes == rule.minutes_per_day:
        repo.delete_budget(session, profile_id, rule.target)


def set_policy(app: App, child: str, change: PolicyChange, *,
               org: str | None = None, actor: str = "system") -> dict[str, Any]:
    """Change a child's policy; the whole policy after the change. The child, its household
    and its policy are read as columns, not ORM objects (a parent's change is frequent)."""
    with app.change("policy", f"policy of {child} changed") as session:
        wanted = repo.parse_ref(child)
        if wanted is None or org is not None:
            wanted = _child(session, child, org)[1].id
        row = repo.child_row(session, wanted)
        if row is None:
            raise StoreError(f"no child {child!r}")
        touches(session, row.id)
        before = policy_from_row(row)
        after, fields = _apply(session, row.id, before, change)
        _audit(session, row, actor, "policy.change", fields=sorted(fields))
        return policy_view(session, row.id, row.name, row.preset, row.birth_year,
                           row.timezone, after)


def change_policy(session: Session, profile: Profile, change: PolicyChange) -> None:
    """Apply ``change`` to ``profile``'s policy inside the caller's ``policy`` change."""
    _apply(session, profile.id, policy_record(profile.policy), change)


def _apply(session: Session, profile_id: int, before: PolicyRecord,
           change: PolicyChange) -> tuple[PolicyRecord, dict[str, Any]]:
    """Apply ``change`` to a policy read as ``before`` in this transaction: the policy after,
    and the fields the change named with their new values."""
    fields = changed_fields(before, change)
    after = update_policy(session, profile_id, before=before, **fields) if fields else before
    if change.decree147 is not None:
        apply_decree147(session, profile_id, change.decree147)
    return after, fields


def show_policy(app: App, child: str, *, org: str | None = None,
                actor: str = "system") -> dict[str, Any]:
    with app.sessions().begin() as session:
        _, profile = _child(session, child, org)
        _audit(session, profile, actor, "policy.view")
        return _policy_dict(session, profile)


POLICY_FIELDS = ("blocked_categories", "blocked_services", "allowed_services",
                 "monitored_services", "allow", "deny", "allow_list_only", "safe_search",
                 "youtube_mode", "block_mode", "log_level", "bypass_protection", "decree147")


def policy_fields(record: PolicyRecord) -> dict[str, Any]:
    """The editable fields of a policy as plain data (lists, strings, booleans)."""
    out: dict[str, Any] = {}
    for name in POLICY_FIELDS:
        value = getattr(record, name)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def _policy_dict(session: Session, profile: Profile) -> dict[str, Any]:
    return policy_view(session, profile.id, profile.name, profile.preset, profile.birth_year,
                       profile.organisation.timezone, policy_record(profile.policy))


def policy_view(session: Session, profile_id: int, name: str, preset: str | None,
                birth_year: int | None, timezone: str, record: PolicyRecord) -> dict[str, Any]:
    """``show_policy``'s fields of a child whose row and policy the caller has read."""
    from safegate.privacy.consent import age, effective_log_level
    from safegate.privacy.consent_check import active_consents

    active = active_consents(session, profile_id)
    in_effect = effective_log_level(record.log_level, active, age(birth_year,
                                                                  this_year(timezone)))
    extra: dict[str, Any] = {"log_level_in_effect": in_effect}
    if in_effect != record.log_level:
        extra["log_level_note"] = ("full query logging needs the full_query_log consent "
                                   "(parent, and the child aged 7+): hourly aggregates "
                                   "(domains) until it is given")
    return {"child": name, "preset": preset,
            **policy_fields(record), **extra,
            "budgets": repo.budget_minutes(session, profile_id)}


def find_device(app: App, child: str, device: str, *, org: str | None = None) -> DeviceView:
    """One of a child's devices (by name or id:N), with its token."""
    with app.sessions()() as session:
        _, profile = _child(session, child, org)
        return _device_view(repo.find_device(session, profile, device), profile.name)
