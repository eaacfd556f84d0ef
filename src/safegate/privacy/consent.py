"""Consent: the versioned texts (``data/consent_texts.toml``, Vietnamese and English), who
must consent to what, and what a missing consent means for the gate. Pure functions; the app
layer stores the records (``safegate.app.consent``).

The rule (Law on Children 2016 Art. 21; Decree 13/2023 Art. 20; Personal Data Protection Law
2025): processing a child's data needs the consent of a parent, and also of the child when
the child is 7 or older. A child whose birth year is not known is treated as 7 or older.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from safegate.store.choices import CONSENT_GIVERS, CONSENT_PURPOSES, LOCALES
from safegate.store.records import ProfileRecord

CHILD_CONSENT_AGE = 7


class ConsentError(ValueError):
    """Bad input for a consent, or a feature refused for want of one (one line)."""


@dataclass(frozen=True, slots=True)
class ConsentText:
    purpose: str
    version: str
    text: dict[str, str]  # language → the parent's wording
    child_text: dict[str, str]  # language → the wording for a child aged 7+


@cache
def texts() -> tuple[ConsentText, ...]:
    raw = tomllib.loads(files("safegate.privacy").joinpath("data/consent_texts.toml")
                        .read_text(encoding="utf-8"))
    out = []
    for item in raw["text"]:
        out.append(ConsentText(item["purpose"], item["version"],
                               {lang: item[lang] for lang in LOCALES},
                               {lang: item[f"child_{lang}"] for lang in LOCALES}))
    return tuple(out)


def current_text(purpose: str) -> ConsentText:
    """The newest text of a purpose (the last listed)."""
    check_purpose(purpose)
    return [t for t in texts() if t.purpose == purpose][-1]


def text_version(purpose: str, version: str | None) -> ConsentText:
    """The text of ``purpose`` at ``version`` (None: the newest)."""
    if version is None:
        return current_text(purpose)
    for t in texts():
        if t.purpose == purpose and t.version == version:
            return t
    known = ", ".join(t.version for t in texts() if t.purpose == purpose)
    raise ConsentError(f"text_version: {version!r} is not a version of the {purpose} text "
                       f"({known})")


def check_purpose(purpose: object) -> str:
    if purpose not in CONSENT_PURPOSES:
        raise ConsentError(f"purpose: {purpose!r} is not one of {', '.join(CONSENT_PURPOSES)}")
    return str(purpose)


def age(birth_year: int | None, year: int) -> int | None:
    return None if birth_year is None else year - birth_year


def givers_needed(child_age: int | None) -> tuple[str, ...]:
    """Who must consent: the parent, and the child too from 7 (or when the age is unknown)."""
    if child_age is not None and child_age < CHILD_CONSENT_AGE:
        return ("parent",)
    return CONSENT_GIVERS


def check_giver(given_by: object, child_age: int | None) -> str:
    if given_by not in CONSENT_GIVERS:
        raise ConsentError(f"by: {given_by!r} is not one of {', '.join(CONSENT_GIVERS)}")
    if given_by == "child" and child_age is not None and child_age < CHILD_CONSENT_AGE:
        raise ConsentError(f"by: the child is {child_age}; a child consents or asks for "
                           f"themselves from {CHILD_CONSENT_AGE} (a parent does before)")
    return str(given_by)


def missing(purpose: str, active: Collection[tuple[str, str]],
            child_age: int | None) -> tuple[str, ...]:
    """Who has not (or no longer) consented to ``purpose``: () when it may go ahead.
    ``active``: the (purpose, given_by) pairs of the consents not withdrawn."""
    return tuple(g for g in givers_needed(child_age) if (purpose, g) not in active)


def refusal(feature: str, purpose: str, child: str, lacking: Iterable[str]) -> str:
    """The one-line message of a feature refused for want of consent."""
    who = " and ".join("the parent" if g == "parent" else "the child (aged 7+)"
                       for g in lacking)
    return (f"{feature}: {child!r} has no {purpose} consent from {who}; record it with "
            f"`safegate consent give {child} {purpose} --by parent` (and --by child)")


def gate_record(record: ProfileRecord, year: int) -> ProfileRecord:
    """The profile the gate applies: a full query log only with the full_query_log consent
    (otherwise hourly aggregates without addresses, ``domains``)."""
    level = effective_log_level(record.policy.log_level, record.consents,
                                age(record.birth_year, year))
    if level == record.policy.log_level:
        return record
    return dataclasses.replace(record,
                               policy=dataclasses.replace(record.policy, log_level=level))


def effective_log_level(level: str, active: Collection[tuple[str, str]],
                        child_age: int | None) -> str:
    """What the gate does with a log level set on a child's policy."""
    if level == "full" and missing("full_query_log", active, child_age):
        return "domains"
    return level


def describe(purpose: str, language: str, *, for_child: bool = False,
             version: str | None = None) -> dict[str, Any]:
    t = text_version(purpose, version)
    lang = language if language in LOCALES else "vi"
    return {"purpose": purpose, "version": t.version, "language": lang,
            "text": (t.child_text if for_child else t.text)[lang]}
