"""Replace detected personal data by typed placeholders or per-document pseudonyms."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Literal

from safegate.textio import clean_text

from .engine import detect
from .entity import Entity
from .text import fold

Mode = Literal["placeholder", "pseudonym"]
_NUMERIC = {"PHONE", "CCCD", "CMND", "BANK_ACCOUNT", "CARD"}


def _key(e: Entity) -> str:
    """What makes two mentions "the same" within one document."""
    if e.type in _NUMERIC:
        digits = re.sub(r"\D", "", fold(e.text).replace("o", "0").replace("l", "1"))
        if e.type == "PHONE" and digits.startswith("84") and len(digits) in (11, 12):
            digits = "0" + digits[2:].lstrip("0")
        return digits or fold(e.text)
    return re.sub(r"\s+", " ", fold(e.text).strip().lower())


def redact(text: str, *, mode: Mode = "placeholder", types: Collection[str] | None = None,
           language: str | None = None) -> tuple[str, list[Entity]]:
    """Return the redacted text and the entities found (offsets into the input ``text``).

    ``placeholder``: each entity becomes ``[TYPE]``. ``pseudonym``: ``[TYPE_n]``, where the
    same value (same digits for numbers, same folded text otherwise) gets the same ``n``
    throughout the document, numbered in order of first appearance.
    """
    if mode not in ("placeholder", "pseudonym"):
        raise ValueError(f"unknown mode {mode!r}")
    text = clean_text(text)  # lone surrogates → U+FFFD, one for one (offsets hold)
    entities = detect(text, language=language, types=types)
    numbering: dict[tuple[str, str], int] = {}
    counters: dict[str, int] = {}
    parts: list[str] = []
    last = 0
    for e in entities:
        parts.append(text[last:e.start])
        if mode == "placeholder":
            parts.append(f"[{e.type}]")
        else:
            k = (e.type, _key(e))
            if k not in numbering:
                counters[e.type] = counters.get(e.type, 0) + 1
                numbering[k] = counters[e.type]
            parts.append(f"[{e.type}_{numbering[k]}]")
        last = e.end
    parts.append(text[last:])
    return "".join(parts), entities
