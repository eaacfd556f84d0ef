"""Text views used by the recognisers: accent folding, NFC composition, disguised digits.

Every view except :func:`compose` keeps the length of its input, so an offset found in a view
is an offset into the text the view was made from.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    ranges = [range(0x41, 0x5B), range(0xC0, 0x250), range(0x1E00, 0x1F00)]
    for block in ranges:
        for cp in block:
            ch = chr(cp)
            base = unicodedata.normalize("NFD", ch)[0].lower()
            if len(base) == 1 and "a" <= base <= "z" and base != ch:
                table[cp] = base
    for ch in "đĐ":
        table[ord(ch)] = "d"
    return table


FOLD_TABLE = _fold_table()
_COMBINING = re.compile(r"[\u0300-\u036f]")


def fold(text: str) -> str:
    """Lower-case and strip Vietnamese (and other Latin) diacritics, keeping the length.

    ``fold("Nguyễn Văn Đức") == "nguyen van duc"``. Characters outside the Latin blocks are
    kept as they are, so offsets are unchanged.
    """
    return text.translate(FOLD_TABLE)


def compose(text: str) -> tuple[str, list[int] | None]:
    """Return ``text`` in NFC and, when that changed its length, a map back to ``text``.

    The map has one entry per composed character (its start offset in ``text``) plus a final
    entry ``len(text)``. Text typed with combining accents (decomposed) is rare but real: it is
    composed so that the recognisers see one character per letter.
    """
    if not _COMBINING.search(text):
        return text, None
    out: list[str] = []
    offsets: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        piece = unicodedata.normalize("NFC", text[i:j])
        out.append(piece)
        offsets.extend([i] * len(piece))
        i = j
    offsets.append(n)
    return "".join(out), offsets


def map_back(offsets: list[int], start: int, end: int) -> tuple[int, int]:
    """Map a span of the composed text to the original text (see :func:`compose`)."""
    return offsets[start], offsets[end]


# ------------------------------------------------------------------ disguised digits

# A run of number-ish tokens ("O9l2 345 678"): tokens of digits and the look-alike letters
# o (0) and i/l (1), separated by one space, dot or dash. Applied to folded text.
_DISGUISED_RUN = re.compile(r"(?<![a-z0-9])[0-9oil]+(?:[ .\-][0-9oil]+)*(?![a-z0-9])")
_LOOKALIKE = str.maketrans({"o": "0", "i": "1", "l": "1"})


def undisguise(folded: str) -> str:
    """Replace look-alike letters inside number-like runs of a folded text by digits.

    A run is rewritten only if each of its tokens holds at least one real digit, and together
    it holds at least 7 digit-like characters of which at least half are real digits, so
    ordinary words ("lol", "oi", "1 ly") are never touched. Same length as the input.
    """
    if not any(c in folded for c in "oil"):
        return folded
    parts: list[str] = []
    last = 0
    for m in _DISGUISED_RUN.finditer(folded):
        run = m.group()
        tokens = re.split(r"[ .\-]", run)
        if not any(c in run for c in "oil"):
            continue
        # keep the longest stretch of tokens that each contain a real digit
        good = [any(c.isdigit() for c in t) for t in tokens]
        if not all(good):
            continue
        chars = sum(len(t) for t in tokens)
        digits = sum(c.isdigit() for c in run)
        if chars >= 7 and digits >= 0.5 * chars:
            parts.append(folded[last:m.start()])
            parts.append(run.translate(_LOOKALIKE))
            last = m.end()
    if not parts:
        return folded
    parts.append(folded[last:])
    return "".join(parts)


# ------------------------------------------------------------------ spelled-out digits

SPELLED_DIGITS: dict[str, str] = {
    # Vietnamese, folded (no diacritics); the accented forms fold to these
    "khong": "0", "linh": "0", "le": "0",
    "mot": "1", "hai": "2", "ba": "3", "bon": "4", "tu": "4",
    "nam": "5", "lam": "5", "sau": "6", "bay": "7", "tam": "8", "chin": "9",
    # English
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}
_SPELLED_TOKEN = re.compile(r"[a-z]+|\d+")
_SPELLED_GAP = re.compile(r"[\s,.\-]{0,3}")


@dataclass(frozen=True, slots=True)
class SpelledRun:
    start: int
    end: int
    digits: str


def spelled_runs(folded: str, min_digits: int = 7) -> list[SpelledRun]:
    """Runs of spelled-out digits ("khong chin tam ...", "zero nine eight ..."), mixed with
    numerals, of at least ``min_digits`` digits and at least 3 spelled words."""
    runs: list[SpelledRun] = []
    cur_start = cur_end = -1
    digits: list[str] = []
    words = 0

    def flush() -> None:
        if cur_start >= 0 and words >= 3 and len("".join(digits)) >= min_digits:
            runs.append(SpelledRun(cur_start, cur_end, "".join(digits)))

    for m in _SPELLED_TOKEN.finditer(folded):
        tok = m.group()
        value = tok if tok.isdigit() else SPELLED_DIGITS.get(tok)
        gap_ok = cur_start >= 0 and _SPELLED_GAP.fullmatch(folded, cur_end, m.start()) is not None
        if value is None:
            flush()
            cur_start, digits, words = -1, [], 0
            continue
        if not gap_ok:
            flush()
            cur_start, digits, words = m.start(), [], 0
        digits.append(value)
        words += not tok.isdigit()
        cur_end = m.end()
    flush()
    return runs


# ------------------------------------------------------------------ the per-text document


@dataclass
class Doc:
    """One text and its views, shared by all recognisers during one analysis."""

    text: str
    folded: str = field(init=False)

    def __post_init__(self) -> None:
        self.folded = fold(self.text)

    @cached_property
    def digits_view(self) -> str:
        return undisguise(self.folded)

    @cached_property
    def spelled(self) -> list[SpelledRun]:
        return spelled_runs(self.folded)

    @cached_property
    def line_starts(self) -> list[int]:
        return [0] + [m.end() for m in re.finditer(r"\n", self.text)]

    def same_line(self, a: int, b: int) -> bool:
        return bisect_right(self.line_starts, a) == bisect_right(self.line_starts, b)
