"""What SafeGate keeps about a child, in words for the child: the versioned texts
(``data/child_notice.toml``, Vietnamese and English, one set per age band) and the pure
composition of those words with the facts the app layer reads from the store. Counts only for
alerts: the notice never carries an alert's content.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

from safegate.privacy.consent import CHILD_CONSENT_AGE, describe
from safegate.store.choices import LOCALES

__all__ = ["BANDS", "ChildFacts", "band_for", "compose", "notice_texts"]

BANDS = ("7-10", "11-13", "14-17")


@dataclass(frozen=True, slots=True)
class ChildFacts:
    """What the store holds for one child, as the notice tells it (no alert content)."""

    name: str
    age: int | None
    devices: tuple[str, ...]
    log_level: str  # in effect: full | domains | off
    log_days: int  # 0: kept until erased
    alerts: int
    alert_days: int
    consents: tuple[tuple[str, str, str], ...] = ()  # (purpose, given_by, text version)
    requests: tuple[tuple[str, str, str], ...] = field(default=())  # (kind, status, date)


@cache
def notice_texts() -> dict[str, dict[str, dict[str, dict[str, str]]]]:
    """version → language → band → words."""
    raw = tomllib.loads(files("safegate.privacy").joinpath("data/child_notice.toml")
                        .read_text(encoding="utf-8"))
    return {n["version"]: {lang: n[lang] for lang in LOCALES} for n in raw["notice"]}


def current_version() -> str:
    return list(notice_texts())[-1]


def band_for(age: int | None) -> str:
    """The words for an age: 7-10 (also below 7: the page says it is meant for 7+), 11-13,
    14-17; an unknown age gets the middle band."""
    if age is None:
        return "11-13"
    if age <= 10:
        return "7-10"
    return "11-13" if age <= 13 else "14-17"


def _days(words: dict[str, str], key: str, days: int, **more: Any) -> str:
    return words[key].format(days=days if days else "∞", **more)


def compose(facts: ChildFacts, language: str, band: str | None = None,
            version: str | None = None) -> dict[str, Any]:
    """The notice as data: the words for ``band`` (None: from the age) in ``language``,
    filled with ``facts``. ValueError for an unknown language, band or version."""
    if language not in LOCALES:
        raise ValueError(f"language: {language!r} is not one of {', '.join(LOCALES)}")
    chosen = band or band_for(facts.age)
    if chosen not in BANDS:
        raise ValueError(f"band: {chosen!r} is not one of {', '.join(BANDS)}")
    version = version or current_version()
    if version not in notice_texts():
        raise ValueError(f"version: no child notice {version!r}")
    w = notice_texts()[version][language][chosen]
    sections: list[dict[str, Any]] = [
        {"id": "devices", "text": w["devices"].format(devices=", ".join(facts.devices))
         if facts.devices else w["devices_none"]},
        {"id": "log", "text": _days(w, f"log_{facts.log_level}", facts.log_days)},
        {"id": "alerts", "text": _days(w, "alerts", facts.alert_days, count=facts.alerts)
         if facts.alerts else w["alerts_none"]},
        {"id": "consents", "text": w["consents"] if facts.consents else w["consents_none"],
         "items": [_consent_line(w, p, g, v, language) for p, g, v in facts.consents]},
        {"id": "requests", "text": w["requests"] if facts.requests else w["requests_none"],
         "items": [f"{w['kind_' + k]} ({w['status_' + s]}, {d})"
                   for k, s, d in facts.requests]},
        {"id": "rights", "text": w["rights"]},
    ]
    return {"version": version, "language": language, "band": chosen,
            "below_seven": facts.age is not None and facts.age < CHILD_CONSENT_AGE,
            "title": w["title"].format(name=facts.name), "intro": w["intro"],
            "sections": sections}


def _consent_line(words: dict[str, str], purpose: str, given_by: str, version: str,
                  language: str) -> str:
    said = describe(purpose, language, for_child=True, version=version)["text"]
    return f"{said} ({words['given_by_' + given_by]}; {version})"

