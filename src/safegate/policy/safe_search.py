"""Safe search: which hostnames a profile's gate rewrites to an engine's enforced endpoint,
and which search engines it blocks because they cannot be forced.

The facts (engines, hostnames, endpoints and their sources) are data, in
``policy/data/safe_search.toml``; this module reads them once and turns a profile's two
settings (``safe_search`` on/off, ``youtube_mode`` off/moderate/strict) into two frozen maps
that ``decide`` reads: exact hostname → rewrite decision, and blocked domain → block decision.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

SETTING_SAFE_SEARCH = "safe_search"
SETTING_YOUTUBE = "youtube_mode"
YOUTUBE_MODES = ("moderate", "strict")
CATEGORY = "safe_search"  # the decision category of every rewrite and every engine block


@dataclass(frozen=True, slots=True)
class Engine:
    """A search engine whose safe mode a resolver can force with a CNAME."""

    id: str
    setting: str  # "safe_search" or "youtube_mode"
    targets: dict[str, str]  # mode ("on", "moderate", "strict") → enforced endpoint
    hosts: tuple[str, ...]  # exact hostnames rewritten


@dataclass(frozen=True, slots=True)
class Unforceable:
    """A search engine with no enforced endpoint: blocked while safe search is on."""

    id: str
    domains: tuple[str, ...]  # each blocks itself and every subdomain


@dataclass(frozen=True, slots=True)
class Table:
    engines: tuple[Engine, ...]
    unforceable: tuple[Unforceable, ...]

    def engine(self, engine_id: str) -> Engine:
        for engine in self.engines:
            if engine.id == engine_id:
                return engine
        raise KeyError(engine_id)


def _name(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not raw or raw != raw.strip().strip(".").lower():
        raise ValueError(f"safe_search.toml: {where}: {raw!r} is not a lowercase hostname")
    return raw


def parse_table(text: str) -> Table:
    """The table from the TOML text (ValueError names the entry that is wrong)."""
    data = tomllib.loads(text)
    engines: list[Engine] = []
    seen: set[str] = set()
    for entry in data.get("engine", []):
        eid = entry["id"]
        setting = entry["setting"]
        hosts = [_name(h, eid) for h in entry.get("hosts", [])]
        hosts += [f"www.google.{_name(t, eid)}" for t in entry.get("google_tlds", [])]
        if setting == SETTING_SAFE_SEARCH:
            targets = {"on": _name(entry["target"], eid)}
        elif setting == SETTING_YOUTUBE:
            raw: dict[str, Any] = entry["targets"]
            targets = {mode: _name(raw[mode], eid) for mode in YOUTUBE_MODES}
        else:
            raise ValueError(f"safe_search.toml: {eid}: unknown setting {setting!r}")
        if not hosts:
            raise ValueError(f"safe_search.toml: {eid}: no hosts")
        for host in hosts:
            if host in seen:
                raise ValueError(f"safe_search.toml: {host} is listed twice")
            seen.add(host)
        engines.append(Engine(eid, setting, targets, tuple(hosts)))
    blocked = [
        Unforceable(e["id"], tuple(_name(d, e["id"]) for d in e["domains"]))
        for e in data.get("unforceable", [])
    ]
    return Table(tuple(engines), tuple(blocked))


@lru_cache(maxsize=1)
def table() -> Table:
    """The table shipped in the package (read once)."""
    path = resources.files("safegate.policy").joinpath("data", "safe_search.toml")
    return parse_table(path.read_text(encoding="utf-8"))


def mode_for(engine: Engine, safe_search: bool, youtube_mode: str) -> str | None:
    """The mode a profile's settings choose for ``engine`` (None: not forced)."""
    if engine.setting == SETTING_YOUTUBE:
        return youtube_mode if youtube_mode in YOUTUBE_MODES else None
    return "on" if safe_search else None


@dataclass(frozen=True, slots=True)
class Rewrite:
    """One hostname's forced endpoint under a profile."""

    engine: str
    mode: str
    target: str

    @property
    def rule(self) -> str:
        """The decision's rule: the engine, and the mode when there are several."""
        return self.engine if self.mode == "on" else f"{self.engine}:{self.mode}"


def rewrites(safe_search: bool, youtube_mode: str) -> dict[str, Rewrite]:
    """Exact hostname → its rewrite, for a profile with these settings."""
    t = table()
    out: dict[str, Rewrite] = {}
    for engine in t.engines:
        mode = mode_for(engine, safe_search, youtube_mode)
        if mode is None:
            continue
        rewrite = Rewrite(engine.id, mode, engine.targets[mode])
        for host in engine.hosts:
            out[host] = rewrite
    return out


@lru_cache(maxsize=8)
def for_settings(safe_search: bool, youtube_mode: str) -> tuple[dict[str, Rewrite],
                                                                 dict[str, str]]:
    """``rewrites`` and ``blocked_engines`` of the shipped table, shared by every profile with
    the same settings (read-only)."""
    return rewrites(safe_search, youtube_mode), blocked_engines(safe_search)


def blocked_engines(safe_search: bool) -> dict[str, str]:
    """Domain → engine id of the search engines blocked because they cannot be forced."""
    if not safe_search:
        return {}
    return {domain: e.id for e in table().unforceable for domain in e.domains}


def setting_in_words(engine_id: str, mode: str) -> str:
    """The setting behind a rewrite or a block, as a parent reads it after "profile 'An' "."""
    if engine_id == "youtube":
        return f"has YouTube Restricted Mode set to {mode}"
    if mode == "blocked":
        return (f"has safe search on, and {engine_id} cannot be forced into safe search, "
                "so it is blocked")
    return "has safe search on"
