"""What a parent reads next to an alert, in Vietnamese and English (``data/guidance.toml``).

    >>> g = guidance("grooming", "en")
    >>> g.hotline is not None and "111" in g.hotline
    True
    >>> print(render("bullying", "vi").splitlines()[0])
    Con có thể đang bị bắt nạt trên mạng
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["HOTLINE", "LOCALES", "Guidance", "GuidanceError", "guidance", "keys", "render"]

LOCALES = ("vi", "en")
HOTLINE = "111"
_FIELDS = ("title", "meaning", "now", "next", "talk")
_RESERVED = ("hotline", "labels")


class GuidanceError(ValueError):
    """An unknown guidance key or locale, or a guidance file that breaks the rules."""


@dataclass(frozen=True, slots=True)
class Guidance:
    key: str
    locale: str
    title: str
    meaning: str
    now: tuple[str, ...]  # empty unless the alert can be urgent
    next: tuple[str, ...]
    talk: tuple[str, ...]
    hotline: str | None  # the hotline line (111), for the keys that carry it

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "locale": self.locale, "title": self.title,
                "meaning": self.meaning, "now": list(self.now), "next": list(self.next),
                "talk": list(self.talk), "hotline": self.hotline}


@dataclass(frozen=True, slots=True)
class _Book:
    entries: dict[tuple[str, str], Guidance]
    labels: dict[str, dict[str, str]]


def _lines(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise GuidanceError(f"{where} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def parse(data: dict[str, Any]) -> _Book:
    """Check a guidance document (the rules are at the top of guidance.toml) and index it."""
    hotline = data.get("hotline")
    if (not isinstance(hotline, dict) or hotline.get("number") != HOTLINE
            or any(HOTLINE not in str(hotline.get(loc, "")) for loc in LOCALES)):
        raise GuidanceError(f"[hotline] needs number = {HOTLINE!r} and a vi and en line "
                            f"naming it")
    labels = data.get("labels")
    if not isinstance(labels, dict) or set(labels) != set(LOCALES):
        raise GuidanceError("[labels] needs a vi and an en table")
    entries: dict[tuple[str, str], Guidance] = {}
    for key, table in data.items():
        if key in _RESERVED:
            continue
        if not isinstance(table, dict):
            raise GuidanceError(f"[{key}] must be a table")
        with_hotline = table.get("hotline", False)
        if not isinstance(with_hotline, bool):
            raise GuidanceError(f"[{key}] hotline must be true or false")
        for loc in LOCALES:
            text = table.get(loc)
            where = f"[{key}.{loc}]"
            if not isinstance(text, dict):
                raise GuidanceError(f"{where} is missing")
            missing = [f for f in ("title", "meaning", "next", "talk") if not text.get(f)]
            unknown = sorted(set(text) - set(_FIELDS))
            if missing or unknown:
                raise GuidanceError(f"{where}: missing {missing}, unknown {unknown}")
            now = _lines(text.get("now", []), f"{where} now")
            if with_hotline:
                if not now:
                    raise GuidanceError(f"{where}: a hotline key needs 'now' steps")
                steps = (*now, *_lines(text["next"], f"{where} next"))
                if not any(HOTLINE in line for line in steps):
                    raise GuidanceError(f"{where}: a hotline key's steps must name {HOTLINE}")
            if not isinstance(text["title"], str) or not isinstance(text["meaning"], str):
                raise GuidanceError(f"{where}: title and meaning must be strings")
            entries[key, loc] = Guidance(
                key=key, locale=loc, title=text["title"].strip(),
                meaning=text["meaning"].strip(), now=now,
                next=_lines(text["next"], f"{where} next"),
                talk=_lines(text["talk"], f"{where} talk"),
                hotline=str(hotline[loc]) if with_hotline else None,
            )
    return _Book(entries, {loc: dict(labels[loc]) for loc in LOCALES})


@cache
def _book() -> _Book:
    raw = resources.files("safegate.protect").joinpath("data/guidance.toml").read_bytes()
    return parse(tomllib.loads(raw.decode("utf-8")))


def keys() -> tuple[str, ...]:
    """Every guidance key, in file order."""
    return tuple(dict.fromkeys(k for k, _ in _book().entries))


def guidance(key: str, locale: str = "vi") -> Guidance:
    """The guidance for ``key`` in ``locale`` (``vi`` or ``en``)."""
    if locale not in LOCALES:
        raise GuidanceError(f"unknown locale {locale!r}; allowed: {', '.join(LOCALES)}")
    try:
        return _book().entries[key, locale]
    except KeyError:
        raise GuidanceError(f"unknown guidance key {key!r}; keys: {', '.join(keys())}") from None


def render(key: str, locale: str = "vi") -> str:
    """The guidance as plain text (for a terminal, an e-mail or a notification body)."""
    g = guidance(key, locale)
    label = _book().labels[locale]
    out = [g.title, "", g.meaning]
    for name, items in (("now", g.now), ("next", g.next), ("talk", g.talk)):
        if items:
            out += ["", f"{label[name]}:", *(f"- {line}" for line in items)]
    if g.hotline:
        out += ["", f"{label['hotline']}: {g.hotline}"]
    return "\n".join(out)
