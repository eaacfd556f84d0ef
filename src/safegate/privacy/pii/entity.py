"""The result type and the entity ids."""

from __future__ import annotations

from dataclasses import dataclass

ENTITY_TYPES: tuple[str, ...] = (
    "PHONE", "CCCD", "CMND", "EMAIL", "BANK_ACCOUNT", "CARD", "ADDRESS", "SCHOOL", "PERSON",
    "SOCIAL_HANDLE", "IP", "MAC", "DATE_OF_BIRTH",
)


@dataclass(frozen=True, slots=True)
class Entity:
    """One piece of personal data: ``text == input[start:end]``."""

    type: str
    start: int
    end: int
    text: str
    score: float
