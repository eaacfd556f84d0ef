"""`safegate policy export` / `import`: a whole organisation as one TOML or JSON document.

The document holds the organisation, its children with their policies, devices (tokens
only when asked: a token is a device's secret), weekly schedules and daily time budgets.
An import checks everything first and names every bad field by its path
(``children[1].devices[0].ip: '300.1.1.1' is not an IP address or CIDR``); then it
applies all of it in one transaction, or nothing.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from safegate.app.core import App
from safegate.app.family import (
    POLICY_FIELDS,
    SERVICE_FIELDS,
    FamilyError,
    check_categories,
    check_choice,
    check_domains,
    check_ip,
    check_mac,
    check_name,
    check_services,
    check_timezone,
    policy_fields,
    preset_policy,
)
from safegate.app.schedules import WindowSpec, window_row
from safegate.policy.presets import preset
from safegate.policy.schedule import (
    DAY_NAMES,
    ScheduleError,
    days_text,
    minute_text,
    parse_days,
    parse_minute,
)
from safegate.store import choices
from safegate.store import family as repo
from safegate.store.errors import StoreError
from safegate.store.repo import policy_record, update_policy

FORMAT = "safegate-organisation"
VERSION = 1


class ImportProblems(FamilyError):
    """Everything wrong with an import document, one problem per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"nothing imported: {len(problems)} problem(s):\n  "
                         + "\n  ".join(problems))


# ---------------------------------------------------------------- plain data (pure)


def days_to_list(mask: int) -> list[str]:
    return [day for bit, day in enumerate(DAY_NAMES) if mask >> bit & 1]


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


# ---------------------------------------------------------------- export


def export_org(app: App, org: str | None = None, *, with_tokens: bool = False) -> dict[str, Any]:
    with app.sessions()() as session:
        organisation = repo.find_org(session, org)
        children = []
        for p in repo.org_profiles(session, organisation.id):
            devices = [_drop_none({"name": d.name, "kind": d.kind, "ip": d.ip_cidr, "mac": d.mac,
                                   "token": d.token if with_tokens else None})
                       for d in repo.profile_devices(session, p.id)]
            schedules = [{"name": s.name, "days": days_to_list(s.days),
                          "start": minute_text(s.start_minute),
                          "end": minute_text(s.end_minute), "action": s.action,
                          "block_all": s.block_all, "categories": list(s.categories),
                          "services": list(s.services), "allow": list(s.allow),
                          "enabled": s.enabled}
                         for s in repo.profile_schedules(session, p.id)]
            budgets = [{"target": target, "minutes_per_day": minutes}
                       for target, minutes in repo.budget_minutes(session, p.id).items()]
            children.append(_drop_none({
                "name": p.name, "birth_year": p.birth_year, "preset": p.preset,
                "policy": policy_fields(policy_record(p.policy)),
                "devices": devices, "schedules": schedules, "budgets": budgets,
            }))
        return {"format": FORMAT, "version": VERSION,
                "organisation": {"name": organisation.name, "kind": organisation.kind,
                                 "timezone": organisation.timezone},
                "children": children}


def to_toml(doc: Mapping[str, Any]) -> str:
    """TOML for an export document (strings, integers, booleans, lists, tables)."""
    lines: list[str] = []
    _toml_table(doc, "", lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _toml_table(table: Mapping[str, Any], prefix: str, lines: list[str]) -> None:
    for key, value in table.items():
        empty_tables = isinstance(value, list) and not value and key in _TABLE_LISTS
        if not isinstance(value, dict) and not _is_tables(value) and not empty_tables:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, value in table.items():
        if isinstance(value, dict):
            lines.append(f"\n[{prefix}{key}]")
            _toml_table(value, f"{prefix}{key}.", lines)
    for key, value in table.items():
        if _is_tables(value):
            for item in value:
                lines.append(f"\n[[{prefix}{key}]]")
                _toml_table(item, f"{prefix}{key}.", lines)


_TABLE_LISTS = {"children", "devices", "schedules", "budgets"}


def read_document(path: Path) -> dict[str, Any]:
    """A TOML or JSON document (by the file's suffix; JSON when it starts with '{')."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FamilyError(f"{path}: cannot read ({exc})") from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FamilyError(f"{path}: not valid JSON ({exc})") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise FamilyError(f"{path}: not valid TOML ({exc})") from None
    if not isinstance(data, dict):
        raise FamilyError(f"{path}: expected a table (object) at the top")
    return data


# ---------------------------------------------------------------- validation (pure)


class _Checker:
    """Collects problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def run(self, check: Callable[[], Any], default: Any = None) -> Any:
        try:
            return check()
        except FamilyError as exc:
            self.problems.append(str(exc))
            return default

    def fail(self, message: str) -> None:
        self.problems.append(message)

    def table(self, value: Any, path: str, allowed: tuple[str, ...],
              required: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(f"{path}: expected a table (object), got {value!r}")
            return {}
        for key in value:
            if key not in allowed:
                self.fail(f"{path}.{key}: unknown field (fields: {', '.join(allowed)})")
        for key in required:
            if key not in value:
                self.fail(f"{path}.{key}: missing")
        return value

    def tables(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(f"{path}: expected a list of tables, got {value!r}")
            return []
        return value

    def strings(self, value: Any, path: str) -> list[str] | None:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"{path}: expected a list of strings, got {value!r}")
            return None
        return value

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(f"{path}: {value!r} is not true or false")
            return False
        return value


def _check_policy(c: _Checker, raw: Any, path: str) -> dict[str, Any]:
    data = c.table(raw, path, POLICY_FIELDS)
    out: dict[str, Any] = {}
    lists: dict[str, Callable[[list[str], str], list[str]]] = {
        "blocked_categories": check_categories, "blocked_services": check_services,
        "allowed_services": check_services, "monitored_services": check_services,
        "allow": _check_rules, "deny": _check_rules,
    }
    for key, value in data.items():
        where = f"{path}.{key}"
        if key in lists:
            items = c.strings(value, where)
            if items is not None:
                out[key] = c.run(partial(lists[key], items, where), [])
        elif key in ("allow_list_only", "safe_search", "bypass_protection", "decree147"):
            out[key] = c.boolean(value, where)
        elif key in ("youtube_mode", "block_mode", "log_level"):
            allowed = {"youtube_mode": choices.YOUTUBE_MODES, "block_mode": choices.BLOCK_MODES,
                       "log_level": choices.LOG_LEVELS}[key]
            out[key] = c.run(partial(check_choice, value, allowed, where))
    seen: dict[str, str] = {}
    for fname in SERVICE_FIELDS.values():
        for sid in out.get(fname) or ():
            if sid in seen:
                c.fail(f"{path}.{fname}: {sid!r} is in {seen[sid]} too; a service has one mode")
            seen[sid] = fname
    return out


def _check_rules(items: list[str], where: str) -> list[str]:
    """Allow/deny rules: domains, or IP addresses/networks (answer addresses)."""
    out = []
    for i, item in enumerate(items):
        try:
            out.append(check_ip(item, where) if any(ch in item for ch in ":/")
                       or item.replace(".", "").isdigit() else check_domains([item], where)[0])
        except FamilyError:
            raise FamilyError(f"{where}[{i}]: {item!r} is not a domain name or IP network"
                              ) from None
    return out


def _check_device(c: _Checker, raw: Any, path: str) -> dict[str, Any]:
    data = c.table(raw, path, ("name", "kind", "ip", "mac", "token"), ("name",))
    out: dict[str, Any] = {"name": c.run(lambda: check_name(data.get("name"), f"{path}.name")),
                           "kind": c.run(lambda: check_choice(data.get("kind", "other"),
                                                              choices.DEVICE_KINDS,
                                                              f"{path}.kind"))}
    out["ip_cidr"] = None if data.get("ip") is None else c.run(
        lambda: check_ip(data["ip"], f"{path}.ip"))
    out["mac"] = None if data.get("mac") is None else c.run(
        lambda: check_mac(data["mac"], f"{path}.mac"))
    token = data.get("token")
    if token is not None and (not isinstance(token, str) or not 16 <= len(token) <= 64
                              or not re.fullmatch(r"[A-Za-z0-9_-]+", token)):
        c.fail(f"{path}.token: {token!r} is not a device token (16-64 URL-safe characters)")
    out["token"] = token
    return out


def _check_schedule(c: _Checker, raw: Any, path: str) -> dict[str, Any]:
    fields = ("name", "days", "start", "end", "action", "block_all", "categories", "services",
              "allow", "enabled")
    problems = len(c.problems)
    data = c.table(raw, path, fields, ("name", "days", "start", "end", "action"))
    out: dict[str, Any] = {"name": c.run(lambda: check_name(data.get("name"), f"{path}.name"))}
    days = data.get("days")
    if not isinstance(days, list) or not days or any(d not in DAY_NAMES for d in days):
        c.fail(f"{path}.days: {days!r} is not a list of days ({', '.join(DAY_NAMES)})")
    else:
        out["days"] = parse_days(",".join(days))
    for key, column in (("start", "start_minute"), ("end", "end_minute")):
        value = data.get(key)
        try:
            out[column] = parse_minute(value if isinstance(value, str) else "")
        except ScheduleError:
            c.fail(f"{path}.{key}: {value!r} is not a time HH:MM (00:00 to 23:59)")
    out["action"] = c.run(lambda: check_choice(data.get("action"), choices.SCHEDULE_ACTIONS,
                                               f"{path}.action"))
    out["block_all"] = c.boolean(data.get("block_all", False), f"{path}.block_all")
    out["enabled"] = c.boolean(data.get("enabled", True), f"{path}.enabled")
    for key, check in (("categories", check_categories), ("services", check_services),
                       ("allow", check_domains)):
        items = c.strings(data.get(key, []), f"{path}.{key}")
        out[key] = [] if items is None else c.run(partial(check, items, f"{path}.{key}"), [])
    if len(c.problems) == problems:  # every field read: now what the window does
        # The rules `safegate schedule add` applies to what a window does (a window that
        # both blocks and allows, or does nothing, would be accepted and never act).
        blocking = out["action"] == "block"
        spec = WindowSpec(
            out["name"], days_text(out["days"]), minute_text(out["start_minute"]),
            minute_text(out["end_minute"]), block_all=out["block_all"], allow=out["allow"],
            block_categories=out["categories"] if blocking else (),
            block_services=out["services"] if blocking else (),
            allow_categories=() if blocking else out["categories"],
            allow_services=() if blocking else out["services"])
        try:
            window_row(spec)
            if not blocking and out["block_all"]:
                raise ScheduleError("a window either blocks or allows: make two windows")
        except ScheduleError as exc:
            c.fail(f"{path}: {exc}")
    return out


def _check_budget(c: _Checker, raw: Any, path: str) -> tuple[str, int] | None:
    from safegate.lists.services import GROUPS, service_ids

    data = c.table(raw, path, ("target", "minutes_per_day"), ("target", "minutes_per_day"))
    target, minutes = data.get("target"), data.get("minutes_per_day")
    ok = True
    if not (target in service_ids() or (isinstance(target, str) and target.startswith("group:")
                                        and target[6:] in GROUPS)):
        c.fail(f"{path}.target: {target!r} is not a service id or group:<group> "
               f"(groups: {', '.join(GROUPS)})")
        ok = False
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 <= minutes <= 1440:
        c.fail(f"{path}.minutes_per_day: {minutes!r} is not a number of minutes (0 to 1440)")
        ok = False
    return (str(target), int(minutes)) if ok else None  # type: ignore[arg-type]


def _unique(c: _Checker, names: list[Any], path: str, what: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if isinstance(name, str):
            if name.casefold() in seen:
                c.fail(f"{path}[{i}].{what}: {name!r} appears twice")
            seen.add(name.casefold())


@dataclass(frozen=True)
class Plan:
    """A checked document, ready to apply."""

    org: dict[str, str]
    children: list[dict[str, Any]]


def check_document(doc: Mapping[str, Any]) -> Plan:
    """Check a whole document; ImportProblems lists every problem found."""
    c = _Checker()
    top = c.table(doc, "document", ("format", "version", "organisation", "children"),
                  ("organisation",))
    if top.get("format", FORMAT) != FORMAT or top.get("version", VERSION) != VERSION:
        c.fail(f"format: expected {FORMAT!r} version {VERSION}, got {top.get('format')!r} "
               f"version {top.get('version')!r}")
    org_raw = c.table(top.get("organisation", {}), "organisation", ("name", "kind", "timezone"),
                      ("name",))
    org = {"name": c.run(lambda: check_name(org_raw.get("name"), "organisation.name", 200)),
           "kind": c.run(lambda: check_choice(org_raw.get("kind", "household"),
                                              choices.ORG_KINDS, "organisation.kind")),
           "timezone": c.run(lambda: check_timezone(org_raw.get("timezone",
                                                                choices.DEFAULT_TIMEZONE),
                                                    "organisation.timezone"))}
    children = []
    raw_children = c.tables(top.get("children"), "children")
    _unique(c, [ch.get("name") if isinstance(ch, dict) else None for ch in raw_children],
            "children", "name")
    tokens: set[str] = set()
    for n, raw in enumerate(raw_children):
        path = f"children[{n}]"
        data = c.table(raw, path, ("name", "birth_year", "preset", "policy", "devices",
                                   "schedules", "budgets"), ("name",))
        child: dict[str, Any] = {"name": c.run(partial(check_name, data.get("name"),
                                                       f"{path}.name"))}
        year = data.get("birth_year")
        if year is not None and (not isinstance(year, int) or isinstance(year, bool)
                                 or not 1900 <= year <= 2200):
            c.fail(f"{path}.birth_year: {year!r} is not a year")
        child["birth_year"] = year
        if data.get("preset") is not None:
            try:
                preset(data["preset"])
            except (ValueError, TypeError) as exc:
                c.fail(f"{path}.preset: {exc}")
        child["preset"] = data.get("preset")
        child["policy"] = _check_policy(c, data.get("policy", {}), f"{path}.policy")
        devices = c.tables(data.get("devices"), f"{path}.devices")
        child["devices"] = [_check_device(c, d, f"{path}.devices[{i}]")
                            for i, d in enumerate(devices)]
        _unique(c, [d.get("name") if isinstance(d, dict) else None for d in devices],
                f"{path}.devices", "name")
        for i, d in enumerate(child["devices"]):
            if d["token"] in tokens:
                c.fail(f"{path}.devices[{i}].token: used by another device in the file")
            if d["token"]:
                tokens.add(d["token"])
        schedules = c.tables(data.get("schedules"), f"{path}.schedules")
        child["schedules"] = [_check_schedule(c, s, f"{path}.schedules[{i}]")
                              for i, s in enumerate(schedules)]
        _unique(c, [s.get("name") if isinstance(s, dict) else None for s in schedules],
                f"{path}.schedules", "name")
        budgets = c.tables(data.get("budgets"), f"{path}.budgets")
        child["budgets"] = [_check_budget(c, b, f"{path}.budgets[{i}]")
                            for i, b in enumerate(budgets)]
        _unique(c, [b.get("target") if isinstance(b, dict) else None for b in budgets],
                f"{path}.budgets", "target")
        children.append(child)
    if c.problems:
        raise ImportProblems(c.problems)
    return Plan(org, children)


# ---------------------------------------------------------------- import


def import_org(app: App, doc: Mapping[str, Any], *, replace: bool = False) -> dict[str, Any]:
    """Check ``doc`` and create its organisation with everything in it, in one transaction.
    An organisation of the same name is refused, or with ``replace`` deleted first."""
    plan = check_document(doc)
    name = plan.org["name"]
    with app.change("policy", f"organisation {name} imported") as session:
        existing = [o for o in repo.all_orgs(session) if o.name.casefold() == name.casefold()]
        if existing and not replace:
            raise StoreError(f"organisation.name: {name!r} exists already; use --replace to "
                             "replace it and everything in it")
        for org in existing:
            repo.delete_org(session, org)
        org = repo.create_org(session, name, plan.org["kind"], plan.org["timezone"])
        for child in plan.children:
            _apply_child(session, org, child)
        return {"organisation": name, "children": len(plan.children),
                "devices": sum(len(ch["devices"]) for ch in plan.children)}


def _apply_child(session: Session, org: Any, child: dict[str, Any]) -> None:
    profile = repo.create_profile(session, org, child["name"], child["birth_year"],
                                  child["preset"])
    # The preset is the base (as `child add` does) and the document's fields go on top; an
    # export carries every field, so importing it gives back exactly what was exported.
    fields = preset_policy(preset(child["preset"])) if child["preset"] else {}
    fields.update(child["policy"])
    if fields:
        update_policy(session, profile.id, **fields)
    for d in child["devices"]:
        repo.create_device(session, profile, d["name"], d["kind"], d["ip_cidr"], d["mac"],
                           d["token"])
    for s in child["schedules"]:
        repo.add_schedule(session, profile.id, **s)
    for target, minutes in child["budgets"]:
        repo.set_budget(session, profile.id, target, minutes)
