"""The blocked-services catalogue: apps and sites (TikTok, YouTube, Roblox, Liên Quân, Zalo...)
that a parent or school can switch off one by one.

The catalogue is data in the package (``data/services.toml``), loaded once and cached. Each
service lists the names a DNS filter must block so that the app stops working; every name
blocks itself and everything under it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = [
    "GROUPS",
    "Service",
    "is_valid_hostname",
    "parse_services",
    "service",
    "service_ids",
    "services",
    "services_for_domain",
]

GROUPS = (
    "social", "video", "games", "chat", "ai", "shopping", "music", "streaming", "education",
    "other",
)

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_TLD_RE = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_FIELDS = {"id", "name", "name_vi", "group", "icon", "domains", "note"}


@dataclass(frozen=True, slots=True)
class Service:
    """One app or site and the names that must be blocked to stop it."""

    id: str
    name: str
    name_vi: str
    group: str
    icon: str
    domains: tuple[str, ...]
    note: str | None


def is_valid_hostname(name: str) -> bool:
    """A lowercase DNS hostname with at least two labels: no scheme, port, wildcard or dot at
    either end, labels of 1-63 letters, digits or inner hyphens, a letter TLD (or punycode)."""
    if not name or len(name) > 253 or name != name.lower():
        return False
    labels = name.split(".")
    if len(labels) < 2:
        return False
    return all(_LABEL_RE.match(label) for label in labels) and bool(_TLD_RE.match(labels[-1]))


def _str(entry: dict[str, object], field: str, where: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {field!r} must be a non-empty string")
    return value


def _opt_str(entry: dict[str, object], field: str, where: str) -> str | None:
    return None if entry.get(field) is None else _str(entry, field, where)


def _parse_one(n: int, entry: object) -> Service:
    where = f"service #{n}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected a table")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
    sid = _str(entry, "id", where)
    where = f"service {sid!r}"
    if not _ID_RE.match(sid):
        raise ValueError(f"{where}: id must be lowercase snake_case")
    name = _str(entry, "name", where)
    icon = _str(entry, "icon", where)
    group = _str(entry, "group", where)
    if group not in GROUPS:
        raise ValueError(f"{where}: group {group!r} is not one of {', '.join(GROUPS)}")
    name_vi = _opt_str(entry, "name_vi", where) or name
    note = _opt_str(entry, "note", where)
    raw = entry.get("domains")
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{where}: 'domains' must be a non-empty list")
    domains: list[str] = []
    for d in raw:
        if not isinstance(d, str) or not is_valid_hostname(d):
            raise ValueError(f"{where}: {d!r} is not a valid lowercase hostname "
                             "(no scheme, wildcard, port or trailing dot)")
        if d in domains:
            raise ValueError(f"{where}: {d!r} is listed twice")
        domains.append(d)
    return Service(id=sid, name=name, name_vi=name_vi, group=group, icon=icon,
                   domains=tuple(domains), note=note)


def parse_services(text: str) -> tuple[Service, ...]:
    """Parse and validate the TOML text of a services file (``[[service]]`` tables)."""
    entries = tomllib.loads(text).get("service")
    if not isinstance(entries, list) or not entries:
        raise ValueError("services: expected a non-empty array of [[service]] tables")
    out: list[Service] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        svc = _parse_one(n, entry)
        if svc.id in seen:
            raise ValueError(f"service {svc.id!r}: duplicate id")
        seen.add(svc.id)
        out.append(svc)
    return tuple(out)


@cache
def services() -> tuple[Service, ...]:
    """Every service, in catalogue order (grouped as in the file)."""
    text = resources.files("safegate.lists").joinpath("data", "services.toml")
    return parse_services(text.read_text(encoding="utf-8"))


@cache
def _by_id() -> dict[str, Service]:
    return {s.id: s for s in services()}


def service_ids() -> tuple[str, ...]:
    """The service ids in catalogue order."""
    return tuple(s.id for s in services())


def service(sid: str) -> Service:
    """The service with this id; ``ValueError`` with a hint if there is none."""
    found = _by_id().get(sid) if isinstance(sid, str) else None
    if found is None:
        ids = service_ids()
        close = [i for i in ids if isinstance(sid, str) and sid and (sid in i or i in sid)]
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown service {sid!r}.{hint} Valid ids: {', '.join(ids)}")
    return found


@cache
def _domain_index() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for svc in services():
        for d in svc.domains:
            index.setdefault(d, []).append(svc.id)
    return {d: tuple(ids) for d, ids in index.items()}


def services_for_domain(name: str) -> tuple[str, ...]:
    """The ids of the services a hostname belongs to, by suffix match on their domains.

    The most specific match comes first: ``fortnite-public-service-prod11.ol.epicgames.com``
    gives ``("fortnite", "epic_games")``. Case and a trailing dot are ignored; a name that
    belongs to no service gives ``()``.
    """
    host = name.strip().rstrip(".").lower()
    if not host:
        return ()
    index = _domain_index()
    out: list[str] = []
    labels = host.split(".")
    for i in range(len(labels)):
        for sid in index.get(".".join(labels[i:]), ()):
            if sid not in out:
                out.append(sid)
    return tuple(out)
