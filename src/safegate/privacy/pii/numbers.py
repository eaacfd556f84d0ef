"""Numbers that identify a person: phones, CCCD/CMND, bank accounts, payment cards.

One pass finds every number-like run (digits with spaces, dots or dashes between groups,
optionally a leading ``+``/``00`` or a parenthesised prefix) in the digit view of the text
(folded, look-alike letters replaced), plus runs of spelled-out digits. Each run is then
classified by its digits, its format and the nearest context word, so that the same digits
are a bank account after "stk" and a phone after "sđt".
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from functools import lru_cache

from .gazetteer import province_codes
from .lexicon import BANKS
from .text import Doc


def _ws(text: str) -> list[str]:
    return text.split()

MOBILE_PREFIXES = frozenset(
    [f"03{d}" for d in "23456789"]
    + ["052", "055", "056", "058", "059"]
    + ["070", "076", "077", "078", "079"]
    + [f"08{d}" for d in "123456789"]
    + [f"09{d}" for d in "0123456789"]
)
# Fixed-line area codes since 2017 (0 + 2x or 2xx); 24 Hà Nội and 28 Hồ Chí Minh City.
LANDLINE_AREA3 = frozenset(f"0{c}" for c in _ws("""
203 204 205 206 207 208 209 210 211 212 213 214 215 216 218 219 220 221 222 225 226 227
228 229 232 233 234 235 236 237 238 239 251 252 254 255 256 257 258 259 260 261 262 263
269 270 271 272 273 274 275 276 277 290 291 292 293 294 296 297 299
"""))
LANDLINE_AREA2 = frozenset({"024", "028"})


def vn_phone_kind(d: str) -> str | None:
    """'mobile', 'landline' or None for a national-format digit string (leading 0)."""
    if len(d) == 10 and d[:3] in MOBILE_PREFIXES:
        return "mobile"
    if len(d) == 11 and (d[:3] in LANDLINE_AREA2 or d[:4] in LANDLINE_AREA3):
        return "landline"
    return None


def national_from_84(d: str) -> str | None:
    """'84912345678' / '840912345678' -> '0912345678' (None if not that shape)."""
    if not d.startswith("84"):
        return None
    rest = d[2:]
    if rest.startswith("0"):
        rest = rest[1:]
    return "0" + rest if len(rest) in (9, 10) else None


def valid_cccd(d: str, year: int | None = None) -> bool:
    """12-digit citizen identity number: province code (first 3 digits), century/sex digit
    (4th: 0/1 born 1900-1999, 2/3 born 2000-2099) and birth year (5th-6th) that is not in
    the future."""
    if len(d) != 12 or not d.isdigit() or d[:3] not in province_codes():
        return False
    century_sex = int(d[3])
    if century_sex > 3:
        return False
    born = 1900 + 100 * (century_sex // 2) + int(d[4:6])
    return born <= (year or _dt.date.today().year)


def luhn_ok(d: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(d)):
        n = ord(ch) - 48
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def card_brand(d: str) -> str | None:
    n = len(d)
    if d.startswith("9704") and n in (16, 19):
        return "napas"
    if d[0] == "4" and n in (13, 16, 19):
        return "visa"
    if n == 16 and (51 <= int(d[:2]) <= 55 or 2221 <= int(d[:4]) <= 2720):
        return "mastercard"
    if n == 15 and d[:2] in ("34", "37"):
        return "amex"
    if 16 <= n <= 19 and 3528 <= int(d[:4]) <= 3589:
        return "jcb"
    if 16 <= n <= 19 and d[:2] == "62":
        return "unionpay"
    if n == 16 and (d[:4] == "6011" or d[:2] == "65"):
        return "discover"
    return None


# ------------------------------------------------------------------ context words

def _alt(words: list[str]) -> str:
    return "|".join(sorted((re.escape(w).replace(r"\ ", r"\s+") for w in words),
                           key=len, reverse=True))


CONTEXT_WORDS: dict[str, list[str]] = {
    "phone": ["sdt", "so dt", "so dien thoai", "dien thoai", "dthoai", "dt", "phone", "tel",
              "telephone", "mobile", "cell", "hotline", "goi", "call", "text", "nhan tin",
              "sms", "zalo", "viber", "whatsapp", "lien he", "lh", "contact", "di dong",
              "phone number", "ring", "nhan", "alo", "so cua", "so em", "so minh",
              "so to", "so toi", "so tui", "so tao", "so anh", "so chi", "so cua em",
              "so cua minh", "sim", "facetime", "my number", "number"],
    "cccd": ["cccd", "can cuoc", "can cuoc cong dan", "the can cuoc", "so dinh danh",
             "dinh danh", "citizen id", "citizen identity", "national id", "id number",
             "so id", "vneid"],
    "cmnd": ["cmnd", "cmt", "cmtnd", "chung minh", "chung minh nhan dan", "chung minh thu",
             "chung minh thu nhan dan", "giay chung minh", "so chung minh", "identity card",
             "id card"],
    "bank": ["stk", "so tai khoan", "so tk", "tai khoan", "tk", "account", "account number",
             "acc", "acct", "bank account", "ngan hang", "chuyen khoan", "ck", "chuyen tien",
             "nap tien", "iban", "so tai khoan ngan hang", "bank", "transfer"],
    "card": ["so the", "the atm", "atm", "the tin dung", "the ghi no", "the visa",
             "the napas", "credit card", "debit card", "card", "card number", "visa",
             "mastercard", "master card", "napas", "jcb", "amex", "the"],
}
_BANK_NAMES = sorted(BANKS, key=len, reverse=True)
# every context word with its kind, one alternation longest first: where a word of one kind
# begins a longer phrase of another, the phrase wins
_KIND_OF: dict[str, str] = {" ".join(w.split()): "bankname" for w in _BANK_NAMES}
_KIND_OF.update({w: kind for kind, ws in CONTEXT_WORDS.items() for w in ws})
_BEFORE = re.compile(r"\b(?:" + _alt(list(_KIND_OF)) + r")\b")
_AFTER = re.compile(r"[\s,:()\-]{0,4}(?:\(|-\s*)?\b(?:" + _alt(_BANK_NAMES) + r"|cccd|cmnd)\b")
WINDOW_BEFORE = 48
_WORD_START = re.compile(r"\b\w")
_LONGEST = max(len(w) for ws in CONTEXT_WORDS.values() for w in ws)


def _context_words(folded: str, lo: int, hi: int) -> list[tuple[int, int, str]]:
    """Every context word that starts at a word boundary in ``folded[lo:hi]``, the longest one
    at each start, without the words that lie inside a longer one: "nhan" (nhắn, a phone
    word) inside "chung minh nhan dan" is part of the ID phrase, not a word of its own."""
    found: list[tuple[int, int, str]] = []
    for w in _WORD_START.finditer(folded, lo, hi):
        m = _BEFORE.match(folded, w.start(), hi)
        if m:
            found.append((m.start(), m.end(), _KIND_OF[" ".join(m.group().split())]))
    return [f for f in found
            if not any(o[0] <= f[0] and f[1] <= o[1] and o != f for o in found)]


def context_kind(folded: str, start: int, end: int) -> str | None:
    """The kind of the nearest context word before ``start`` (ending within 48 characters;
    a phrase may begin before that), or a bank name right after ``end``."""
    words = _context_words(folded, max(0, start - WINDOW_BEFORE - _LONGEST), start)
    near = [w for w in words if w[1] > start - WINDOW_BEFORE]
    kind = max(near, key=lambda w: (w[1], w[1] - w[0]))[2] if near else None
    if kind == "bankname":
        kind = "bank"
    if kind is None:
        after = _AFTER.match(folded, end, min(len(folded), end + 30))
        if after:
            word = after.group().strip(" ,:()-").strip()
            kind = {"cccd": "cccd", "cmnd": "cmnd"}.get(word, "bank")
    return kind


# ------------------------------------------------------------------ classification


@dataclass(frozen=True, slots=True)
class NumberHit:
    type: str
    start: int
    end: int
    score: float
    why: str


@lru_cache(maxsize=4096)
def _phonenumbers_check(e164: str) -> int:
    """2: a valid number, 1: a possible one (right length for its country), 0: neither."""
    import phonenumbers

    try:
        num = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return 0
    if phonenumbers.is_valid_number(num):
        return 2
    return 1 if phonenumbers.is_possible_number(num) else 0


def _phonenumbers_valid(e164: str) -> bool:
    return _phonenumbers_check(e164) == 2


def classify(digits: str, plus: bool, ctx: str | None,
             grouped: bool) -> tuple[str, float, str] | None:
    """Decide what a run of digits is. Returns (type, score, reason) or None."""
    n = len(digits)
    if n < 6 or n > 19:
        return None
    if plus:
        national = national_from_84(digits)
        if national and vn_phone_kind(national):
            return "PHONE", 0.95, f"+84 {vn_phone_kind(national)}"
        if 8 <= n <= 15 and not digits.startswith("84"):
            check = _phonenumbers_check("+" + digits)
            if check:
                score = 0.9 if check == 2 else 0.8
                return "PHONE", score if ctx in (None, "phone") else 0.7, "E.164"
        return None
    if (ctx == "card" or (ctx == "bank" and digits.startswith("9704"))) and \
            13 <= n <= 19 and luhn_ok(digits):
        return "CARD", 0.95, f"Luhn, {card_brand(digits) or 'card context'}"
    if ctx == "bank":
        return "BANK_ACCOUNT", 0.9, "bank context"
    if ctx == "cmnd":
        if n == 9:
            return "CMND", 0.9, "9 digits after CMND context"
        if n == 12:
            if valid_cccd(digits):
                return "CCCD", 0.95, "valid CCCD after CMND context"
            return "CMND", 0.6, "12 digits after CMND context"
    if ctx == "cccd":
        if n == 12 and valid_cccd(digits):
            return "CCCD", 1.0, "valid CCCD with context"
        if n == 9:
            return "CMND", 0.7, "9 digits after ID context"
    kind = vn_phone_kind(digits)
    if kind is None and digits.startswith("84"):
        national = national_from_84(digits)
        if national and vn_phone_kind(national) == "mobile":
            kind = "mobile (84)"
    if kind:
        return "PHONE", 0.95 if ctx == "phone" else 0.85, kind
    if n == 12 and valid_cccd(digits):
        return "CCCD", 0.85, "valid CCCD"
    if digits.startswith("00") and 10 <= n <= 17 and _phonenumbers_valid("+" + digits[2:]):
        return "PHONE", 0.8, "international (00) prefix"
    if 13 <= n <= 19 and luhn_ok(digits):
        brand = card_brand(digits)
        if brand:
            return "CARD", 0.9 if brand == "napas" else 0.85, f"Luhn, {brand}"
    if ctx == "phone":
        if n == 9 and "0" + digits[:2] in MOBILE_PREFIXES:
            return "PHONE", 0.7, "mobile without leading 0"
        if n == 10 and digits[0] in "23456789" and digits[3] in "23456789" and grouped:
            return "PHONE", 0.65, "North American format"
    return None


_SEP = r"(?:[ .\-]|\s?\(\d{1,4}\)\s?|\s?-\s?)"
NUM_RUN = re.compile(
    r"(?<![\w+@/#.,\-])"
    r"(?:(?P<plus>\(\+\d{1,4}\)\s?|\+\s?)|\(\d{1,4}\)\s?)?"
    r"\d+(?:" + _SEP + r"\d+)*"
    r"(?![\w@]|\.\w|,\d)"
)
_GROUP = re.compile(r"\d+")


def find_numbers(doc: Doc) -> list[NumberHit]:
    view = doc.digits_view
    hits: list[NumberHit] = []
    for m in NUM_RUN.finditer(view):
        span = m.group()
        groups = [(g.start() + m.start(), g.end() + m.start(), g.group())
                  for g in _GROUP.finditer(span)]
        plus = bool(m.group("plus")) or "+" in span[:3]
        total = sum(len(g[2]) for g in groups)
        if total < 6 or _date_or_years([g[2] for g in groups]):
            continue
        hits.extend(_classify_groups(doc, groups, plus, m.start()))
    for run in doc.spelled:
        ctx = context_kind(doc.folded, run.start, run.end)
        got = classify(run.digits, False, ctx, True)
        if got:
            hits.append(NumberHit(got[0], run.start, run.end, got[1] - 0.05,
                                  "spelled-out digits, " + got[2]))
    return hits


def _date_or_years(groups: list[str]) -> bool:
    """A date ("12.05.2024", "20-11-24", "2024 05 12") or a span of school years ("2024 -
    2025") written with the separators of a number: not a phone or an account, whatever
    context word is near ("chuyển khoản lúc 14:30 ngày 12.05.2024")."""
    lengths = [len(g) for g in groups]
    if lengths == [4, 4]:
        first, second = int(groups[0]), int(groups[1])
        return 1900 <= first <= 2099 and 0 <= second - first <= 10
    if len(groups) != 3:
        return False
    if lengths[0] == 4:
        groups, lengths = groups[::-1], lengths[::-1]
    day, month, year = (int(g) for g in groups)
    return (lengths[0] <= 2 and lengths[1] <= 2 and 1 <= day <= 31 and 1 <= month <= 12
            and (lengths[2] == 2 or lengths[2] == 4 and 1900 <= year <= 2099))


def _classify_groups(doc: Doc, groups: list[tuple[int, int, str]], plus: bool,
                     run_start: int) -> list[NumberHit]:
    """Classify a run; if the whole run is nothing, try its group-aligned pieces (two
    numbers written one after the other)."""
    out: list[NumberHit] = []
    i, n = 0, len(groups)
    while i < n:
        found = False
        for j in range(n, i, -1):
            start, end = groups[i][0], groups[j - 1][1]
            digits = "".join(g[2] for g in groups[i:j])
            if len(digits) < 6:
                break
            lead_plus = plus and i == 0
            s = run_start if i == 0 else start
            ctx = context_kind(doc.folded, s, end)
            got = classify(digits, lead_plus, ctx, j - i > 1)
            if got:
                out.append(NumberHit(got[0], s, end, got[1], got[2]))
                i, found = j, True
                break
        if not found:
            i += 1
    return out
