"""Text normalisation for the safety engine, with a map back to the original offsets.

Children write Vietnamese with and without diacritics, in teencode, with repeated letters,
look-alike characters and spacing tricks. Every rule and model in :mod:`safegate.safety`
reads the two strings this module produces:

``text``
    NFKC, lowercase, zero-width characters removed, homoglyphs and leetspeak mapped to
    Latin letters, letters split by dots or spaces joined ("đ.ị.t" → "địt"), runs of three or
    more equal letters collapsed ("đẹpppp" → "đẹp") and teencode expanded ("ko" → "không").
``plain``
    ``text`` with the diacritics removed (``đ`` → ``d``). It has exactly the same length as
    ``text``, so one offset map serves both.

Each step is a substitution over the whole string; when an offset map is asked for, every
output character carries the ``[start, end)`` range of the original characters it came from,
so a match ``[i, j)`` in ``text`` or ``plain`` maps back to ``[starts[i], ends[j - 1])`` in
the input. The fast path (``with_offsets=False``) runs the same steps without the map.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = [
    "TEENCODE",
    "Normalised",
    "deaccent",
    "has_diacritics",
    "normalise",
    "normalise_pair",
]


# ------------------------------------------------------------------ character tables

def _build_deaccent() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in range(0x00C0, 0x2000):
        ch = chr(cp)
        base = unicodedata.normalize("NFD", ch)[0]
        if base != ch and base.isascii() and base.isalpha():
            table[cp] = base
    table[ord("đ")] = "d"
    table[ord("Đ")] = "D"
    return table


_DEACCENT = _build_deaccent()

# Cyrillic and Greek letters that look like Latin ones (lowercase: the text is lowered first).
_HOMOGLYPHS = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "з": "3", "і": "i", "ї": "i", "ј": "j", "к": "k",
    "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s",
    "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ո": "n", "ս": "u", "ı": "i", "ɑ": "a",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "s", "γ": "y", "μ": "u",
}
_HOMOGLYPHS.update({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'", "“": '"', "”": '"'})
_HOMOGLYPH_TABLE = str.maketrans(_HOMOGLYPHS)
# Capitals whose lowercase form looks different (Greek Η is "H", but η looks like "n").
_UPPER_HOMOGLYPH_TABLE = str.maketrans({
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "А": "A", "В": "B", "Е": "E", "К": "K",
    "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S",
    "І": "I", "Ј": "J",
})

# Leetspeak inside words that are mostly letters ("s3x", "d1t", "ch3t").
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "@": "a", "$": "s"}
_LEET_TABLE = str.maketrans(_LEET)

# Teencode and chat abbreviations → standard Vietnamese. Profane abbreviations (vl, dm, cc…)
# are deliberately *not* expanded: the rules know them, and some collide with English ("DM").
TEENCODE: dict[str, str] = {
    # không
    "ko": "không", "k": "không", "kh": "không", "khg": "không", "kg": "không",
    "hok": "không", "hông": "không", "khum": "không", "hem": "không", "khong": "không",
    "kbiet": "không biết", "kbt": "không biết",
    # được, gì, mình, biết
    "dc": "được", "đc": "được", "dk": "được", "đk": "được", "dx": "được",
    "j": "gì", "ji": "gì",
    "mk": "mình", "mik": "mình", "mh": "mình",
    "bít": "biết", "bik": "biết", "bjk": "biết", "bjt": "biết",
    # people
    "ae": "anh em", "ng": "người", "ngta": "người ta", "ny": "người yêu", "ck": "chồng",
    "vk": "vợ", "mn": "mọi người", "mng": "mọi người", "bn": "bạn", "bme": "bố mẹ",
    "hs": "học sinh", "gv": "giáo viên", "e": "em",
    # chat
    "ib": "inbox", "inb": "inbox", "nt": "nhắn tin", "ntin": "nhắn tin",
    "sdt": "số điện thoại", "sđt": "số điện thoại",
    "fb": "facebook", "zl": "zalo", "tele": "telegram", "ig": "instagram", "snap": "snapchat",
        # common words
    "r": "rồi", "cx": "cũng", "cg": "cũng", "bh": "bây giờ", "bjo": "bây giờ",
    "trc": "trước", "ms": "mới", "dag": "đang", "đag": "đang", "lm": "làm",
    "ntn": "như thế nào", "iu": "yêu", "thik": "thích", "wa": "quá", "wá": "quá", "qá": "quá",
    "nhìu": "nhiều", "hc": "học", "vs": "với", "z": "vậy", "v": "vậy", "dth": "dễ thương",
    "đth": "dễ thương", "thui": "thôi", "hnay": "hôm nay",
    "tks": "thanks", "thx": "thanks", "pls": "please", "plz": "please", "u": "you", "ur": "your",
    "r u": "are you", "u r": "you are", "wanna": "want to", "gonna": "going to",
    "kys": "kill yourself",
    "pic": "picture", "pics": "pictures", "pix": "pictures",
}

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"

_LETTER = r"[^\W\d_]"
_SEP_PUNCT = r"(?:\s*[.\-_*·•'’+~|/\\,:]\s*)"
# Re-used patterns.
_RE_ZW = re.compile(f"[{_ZERO_WIDTH}]+")
_RE_TOKEN_LEET = re.compile(r"(?<![\w@$])[\w@$]*[01345@$][\w@$]*")  # one try per token
_RE_SPLIT_PUNCT = re.compile(f"(?<!{_LETTER}){_LETTER}(?:{_SEP_PUNCT}{_LETTER}(?!{_LETTER}))+")
_RE_SPLIT_SPACE = re.compile(f"(?<!{_LETTER}){_LETTER}(?:[ \t]{_LETTER}(?!{_LETTER})){{2,}}")
_RE_REPEAT = re.compile(r"([^\W\d_])\1{2,}")
_RE_NOT_LETTER = re.compile(r"[\W\d_]+")


def _teencode_re() -> re.Pattern[str]:
    keys = sorted(TEENCODE, key=len, reverse=True)
    alternation = "|".join(re.escape(k) for k in keys)
    return re.compile(rf"(?<![\w@#/.]|\d)(?:{alternation})(?![\w'’]|\.\w)")


_RE_TEEN = _teencode_re()


def deaccent(text: str) -> str:
    """Remove Vietnamese (and other Latin) diacritics; ``đ`` → ``d``. Same length."""
    return text.translate(_DEACCENT)


def has_diacritics(text: str) -> bool:
    """True when the text contains at least one letter with a diacritic (or đ)."""
    return text.translate(_DEACCENT) != text


# ------------------------------------------------------------------ the pipeline

Offsets = tuple[list[int], list[int]]


def _sub(pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str], s: str,
         offs: Offsets | None) -> tuple[str, Offsets | None]:
    """``pattern.sub`` that keeps the per-character origin lists in step."""
    if offs is None:
        return pattern.sub(repl, s), None
    starts, ends = offs
    out: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    pos = 0
    for m in pattern.finditer(s):
        a, b = m.span()
        new = repl(m)
        if new == m.group(0):
            continue
        out.append(s[pos:a])
        new_starts.extend(starts[pos:a])
        new_ends.extend(ends[pos:a])
        if new:
            origin_start = starts[a] if a < len(starts) else (ends[-1] if ends else 0)
            origin_end = ends[b - 1] if b > a else origin_start
            out.append(new)
            new_starts.extend([origin_start] * len(new))
            new_ends.extend([origin_end] * len(new))
        pos = b
    if pos == 0:
        return s, offs
    out.append(s[pos:])
    new_starts.extend(starts[pos:])
    new_ends.extend(ends[pos:])
    return "".join(out), (new_starts, new_ends)


def _fold(text: str, with_offsets: bool) -> tuple[str, Offsets | None]:
    """NFKC + lowercase, character cluster by cluster when lengths change."""
    text = text.translate(_UPPER_HOMOGLYPH_TABLE)  # 1:1, before lowercasing loses the shape
    folded = unicodedata.normalize("NFKC", text).lower()
    if not with_offsets:
        return folded, None
    if len(folded) == len(text) and unicodedata.is_normalized("NFKC", text):
        n = len(text)
        return folded, (list(range(n)), list(range(1, n + 1)))
    # Slow path: each base character with its combining marks.
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, j in clusters(text):
        piece = unicodedata.normalize("NFKC", text[i:j]).lower()
        out.append(piece)
        starts.extend([i] * len(piece))
        ends.extend([j] * len(piece))
    return "".join(out), (starts, ends)


def clusters(text: str) -> Iterator[tuple[int, int]]:
    """``[start, end)`` of each base character together with the combining marks after it."""
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        yield i, j
        i = j


def _leet(m: re.Match[str]) -> str:
    tok = m.group(0)
    leet = sum(tok.count(c) for c in _LEET)
    letters = sum(1 for c in tok if c.isalpha())
    if letters <= leet or letters == 0:
        return tok
    if any(c.isdigit() and c not in _LEET for c in tok):
        return tok
    end = m.end()
    if "@" in tok[1:] and end < len(m.string) and m.string[end] == ".":
        return tok  # an e-mail address, not leetspeak
    if tok.startswith("@"):  # a handle keeps its leading @
        return "@" + tok[1:].translate(_LEET_TABLE)
    return tok.translate(_LEET_TABLE)


def _join_letters(m: re.Match[str]) -> str:
    return _RE_NOT_LETTER.sub("", m.group(0))


def _pipeline(text: str, with_offsets: bool) -> tuple[str, Offsets | None]:
    s, offs = _fold(text, with_offsets)
    s, offs = _sub(_RE_ZW, lambda m: "", s, offs)
    s = s.translate(_HOMOGLYPH_TABLE)  # 1:1, offsets unchanged
    s, offs = _sub(_RE_TOKEN_LEET, _leet, s, offs)  # 1:1 but only in some tokens
    s, offs = _sub(_RE_SPLIT_PUNCT, _join_letters, s, offs)
    s, offs = _sub(_RE_SPLIT_SPACE, _join_letters, s, offs)
    s, offs = _sub(_RE_REPEAT, lambda m: m.group(1), s, offs)
    s, offs = _sub(_RE_TEEN, lambda m: TEENCODE[m.group(0)], s, offs)
    return s, offs


@dataclass(frozen=True, slots=True)
class Normalised:
    """The normalised forms of one text and the map back to the original."""

    original: str
    text: str
    plain: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    diacritics: bool  # the *original* was typed with diacritics

    def span(self, i: int, j: int) -> tuple[int, int]:
        """Original ``[start, end)`` for the normalised range ``[i, j)``."""
        if not self.starts:
            return 0, 0
        i = min(max(i, 0), len(self.starts) - 1)
        j = min(max(j, i + 1), len(self.ends))
        return self.starts[i], self.ends[j - 1]


def normalise(text: str) -> Normalised:
    """Normalise ``text`` and keep the offset map (the slower, explaining path)."""
    s, offs = _pipeline(text, True)
    assert offs is not None
    return Normalised(text, s, deaccent(s), tuple(offs[0]), tuple(offs[1]),
                      has_diacritics(text))


def normalise_known(text: str, fast: str) -> Normalised:
    """:func:`normalise` when ``fast == normalise_pair(text)[0]`` is already known.

    When the pipeline only changed letter case (same length, ``fast`` equals the text or its
    lowercase: about three texts in four), the offset map is the identity and the slower
    offset-tracking pass is skipped.
    """
    n = len(text)
    if len(fast) == n and (fast == text or fast == text.lower()):
        return Normalised(text, fast, deaccent(fast), tuple(range(n)), tuple(range(1, n + 1)),
                          has_diacritics(text))
    return normalise(text)


def normalise_pair(text: str) -> tuple[str, str]:
    """``(text, plain)`` without the offset map: the fast path used for scoring."""
    s, _ = _pipeline(text, False)
    return s, deaccent(s)
