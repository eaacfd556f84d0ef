"""Age presets and the Decree 147/2024 game-time preset: data files in ``presets/``.

Each age band has one file (``age_<band>.toml``) naming the categories and services it
blocks, its allow list, whether it is allow-list-only, and its safe-search settings. A
child gets the preset of this year's age (the current year in the household's time zone
minus the birth year) when added.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["BANDS", "Decree147", "Preset", "band_for_age", "decree147", "preset", "presets"]

BANDS = ("under_7", "7_10", "11_13", "14_15", "16_17")


@dataclass(frozen=True, slots=True)
class Preset:
    id: str
    band: str
    name_vi: str
    name_en: str
    min_age: int
    max_age: int
    blocked_categories: tuple[str, ...]
    blocked_services: tuple[str, ...]
    allow: tuple[str, ...]
    allow_list_only: bool
    safe_search: bool
    youtube_mode: str

    def policy_fields(self) -> dict[str, Any]:
        """The policy fields a preset sets (the allow list is merged by the caller)."""
        return {
            "blocked_categories": list(self.blocked_categories),
            "blocked_services": list(self.blocked_services),
            "allowed_services": [],
            "monitored_services": [],
            "allow_list_only": self.allow_list_only,
            "safe_search": self.safe_search,
            "youtube_mode": self.youtube_mode,
        }


@dataclass(frozen=True, slots=True)
class Decree147:
    source: str
    minutes_per_game: int
    minutes_per_day: int
    target: str


def _read(name: str) -> dict[str, Any]:
    text = resources.files("safegate.policy").joinpath("presets", name).read_text("utf-8")
    return tomllib.loads(text)


def _strings(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: {key!r} must be a list of strings")
    return tuple(value)


def parse_preset(data: dict[str, Any], where: str) -> Preset:
    try:
        return Preset(
            id=str(data["id"]), band=str(data["band"]), name_vi=str(data["name_vi"]),
            name_en=str(data["name_en"]), min_age=int(data["min_age"]),
            max_age=int(data["max_age"]),
            blocked_categories=_strings(data, "blocked_categories", where),
            blocked_services=_strings(data, "blocked_services", where),
            allow=_strings(data, "allow", where),
            allow_list_only=bool(data["allow_list_only"]),
            safe_search=bool(data["safe_search"]), youtube_mode=str(data["youtube_mode"]),
        )
    except KeyError as exc:
        raise ValueError(f"{where}: missing {exc.args[0]!r}") from None


@cache
def presets() -> tuple[Preset, ...]:
    """The age presets, youngest first."""
    return tuple(parse_preset(_read(f"age_{band}.toml"), f"preset {band}") for band in BANDS)


def preset(ref: str) -> Preset:
    """A preset by id (``age_7_10``) or band (``7_10``); ValueError listing the valid ones."""
    for p in presets():
        if ref in (p.id, p.band):
            return p
    raise ValueError(f"unknown preset {ref!r}; presets: {', '.join(p.id for p in presets())}")


def band_for_age(age: int) -> Preset:
    """The preset whose band holds ``age``; ValueError for an age no band holds."""
    for p in presets():
        if p.min_age <= age <= p.max_age:
            return p
    raise ValueError(f"age {age} is in no band (a child is 0 to 17 this year)")


@cache
def decree147() -> Decree147:
    data = _read("decree147.toml")
    return Decree147(source=str(data["source"]), minutes_per_game=int(data["minutes_per_game"]),
                     minutes_per_day=int(data["minutes_per_day"]), target=str(data["target"]))
