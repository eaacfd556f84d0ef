"""PERSON: Vietnamese and English personal names without a statistical NER model.

Signals, strongest first:

* a trigger phrase ("tên em là ...", "mình tên ...", "họ và tên: ...", "my name is ...",
  "call me ...") followed by capitalised words or, in lower case, by words from the name
  lexicon;
* a capitalised run that starts with a Vietnamese family name ("Nguyễn Văn An",
  "NGUYEN VAN AN", "Tran Thi Bich Ngoc") or ends with one in Western order ("Hạnh Trần");
* a known English given name followed by a capitalised word ("Sarah Wagner"), or a title
  ("Mr Brown", "cô Mai");
* "I'm X" / "mình là X" when X is a known given name;
* a lower-case full name with diacritics and a distinctive family name ("nguyễn văn an").

Runs right after address and school keywords ("đường Nguyễn Du", "trường Lê Quý Đôn") are
street and school names, not people, and are left to those recognisers.

A span of two or more words that is exactly a place name (gazetteer provinces and districts,
countries: "Thái Lan", "Hà Nội", "Bình Dương") is not a person. How much is vetoed depends
on the cue: nothing after a name phrase ("tên em là Bình Minh"); provinces and countries
after a title or self-introduction ("bác Hà Nội", but "cô Thanh Xuân" stays a name); also
districts when only the shape of the words speaks for a name. A single given name after a
cue ("anh Hải", "em là Vinh") is never vetoed.
"""

from __future__ import annotations

import re

from .gazetteer import is_place_name
from .lexicon import (
    DISTINCT_FAMILY_NAMES,
    EN_TITLES,
    ENGLISH_FIRST_NAMES,
    FAMILY_NAMES,
    MIDDLE_NAMES,
    NAME_STOPWORDS,
    NAME_TRIGGERS,
    UNACCENTED_FAMILY_NAMES,
    VI_TITLES,
    VI_TITLES_RAW,
    is_capital_stopword,
    is_family_name_word,
    is_vi_name_word,
)
from .patterns import Hit
from .text import Doc


def _ws(text: str) -> list[str]:
    return text.split()

_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
# a trigger never ends inside a word: "mình tên lan" is "mình tên" + "lan", not "... la" + "n"
_TRIGGER = re.compile(r"\b(?:" + "|".join(NAME_TRIGGERS) + r")(?:(?<!\w)|\b)\s*:?\s*")
# weaker: "em là ...", "I'm ..." (also "em là học sinh"), so a name must look like one
_SELF_PRONOUNS = r"(?:em|e|minh|mk|mik|mjk|to|toi|tui|tao|t|con|chau)"
_WEAK_TRIGGER = re.compile(r"\b(?:" + _SELF_PRONOUNS + r" la|day la|i am|i'm|im|this is|"
                           r"it's)\s+")
_SOCIAL_BEFORE = re.compile(r"\b(?:voi|va|ban|gap|hoi|bao|nhan|ru|cung|thang|con be|nho|dua|"
                            r"ask|with|and|tell|told|meet|met|from|love|hate|like|ke|"
                            r"chi|anh|em|co|thay|chu|bac|ong|ba)\s+$")
# cues that fold to the same letters as other words: "thằng Nam" (that guy Nam) is a cue,
# "thắng Chelsea" (beat Chelsea) is not
_SOCIAL_AS_WRITTEN = {"thang": frozenset({"thang", "thằng"})}


def _social_cue(doc: Doc, pos: int, before: str) -> bool:
    """A social cue word ends ``before`` (the folded text up to ``pos``), typed as that cue."""
    m = _SOCIAL_BEFORE.search(before)
    if not m:
        return False
    word = m.group().strip()
    forms = _SOCIAL_AS_WRITTEN.get(word)
    if forms is None:
        return True
    start = pos - len(before) + m.start()
    return doc.text[start:start + len(word)].lower() in forms


_VOCATIVE_AFTER = re.compile(r"\s*,?\s*(?:oi|oi oi|a|ah)\b")
_SELF_INTRO = re.compile(r"\b(?:i am|i'm|im|this is|it's|its|" + _SELF_PRONOUNS + r" la|"
                         r"day la)\s+$")
_PLACE_BEFORE = re.compile(
    r"(?:duong|pho|ngo|hem|kiet|phuong|quan|huyen|xa|tinh|thanh pho|tp|truong|thcs|thpt|"
    r"tieu hoc|chuyen|cau|cho|benh vien|bv|cong vien|nha van hoa|le|den|chua|dai lo|quang "
    r"truong|tuong dai|street|st|road|rd|avenue|ave)\.?\s+$")
_NUMBER_BEFORE = re.compile(r"\d[a-z]?\s+$")
_TITLE_BEFORE = re.compile(r"\b(?:" + "|".join(VI_TITLES + EN_TITLES) + r")\.?\s+$")
_EN_NEXT_STOP = frozenset(
    _ws("""
school street road avenue lane drive court academy college university elementary middle
high primary park city county state and or the of to in at on
"""))
_LOWER_FAMILY_OK2 = frozenset({"nguyễn", "trần", "phạm", "huỳnh"})


def _words(doc: Doc) -> list[tuple[int, int, str, bool, str]]:
    out = []
    for m in _WORD.finditer(doc.text):
        w = m.group()
        out.append((m.start(), m.end(), doc.folded[m.start():m.end()], w[0].isupper(), w))
    return out


def _adjacent(doc: Doc, a_end: int, b_start: int) -> bool:
    gap = doc.text[a_end:b_start]
    return gap == " " or (gap == "  ")


def find_persons(doc: Doc) -> list[Hit]:
    words = _words(doc)
    if not words:
        return []
    hits: list[Hit] = []
    f = doc.folded
    # typed with diacritics: a word without them is as written ("Thanh Hoa" is not "Thanh Hóa")
    accented = f != doc.text.lower()

    # 1. trigger phrases
    for weak, rx in ((False, _TRIGGER), (True, _WEAK_TRIGGER)):
        for m in rx.finditer(f):
            i = next((k for k, w in enumerate(words) if w[0] >= m.end()), None)
            if i is None or words[i][0] != m.end():
                continue
            en = any(w in m.group() for w in ("name", "call", "named", "i'm", "i am", "this"))
            j = _consume_name(doc, words, i, en)
            if j == i:
                continue
            first = words[i]
            # never at the start of a sentence, so "Minh" is not "Mình" here
            if weak and not (
                    first[3] and not _acronym(first[4])
                    and not is_capital_stopword(first[4], as_written=True)
                    and (j - i >= 2 or is_vi_name_word(first[4], True)
                         or first[2] in ENGLISH_FIRST_NAMES)
                    or j - i >= 2 and _family(first[4])):
                continue
            if weak and j - i >= 2 and _place(doc, first[0], words[j - 1][1], "TC", accented):
                continue  # "đây là Hà Nội"
            hits.append(Hit("PERSON", first[0], words[j - 1][1], 0.75 if weak else 0.9,
                            "self-introduction" if weak else "trigger phrase"))

    # 2./3. capitalised runs
    k = 0
    n = len(words)
    while k < n:
        if not words[k][3]:
            k += 1
            continue
        r = k
        while r + 1 < n and words[r + 1][3] and _adjacent(doc, words[r][1], words[r + 1][0]):
            r += 1
        run = words[k:r + 1]
        k = r + 1
        # drop leading sentence words and titles ("Em", "Cô", "Mr")
        start_before = f[max(0, run[0][0] - 20):run[0][0]]
        # in a text typed with diacritics "Thanh" is Thanh, not "Thành"
        while run and (is_capital_stopword(run[0][4], as_written=accented)
                       or run[0][2] in EN_TITLES):
            run = run[1:]
        if not run:
            continue
        before = f[max(0, run[0][0] - 20):run[0][0]]
        if _PLACE_BEFORE.search(before) or _NUMBER_BEFORE.search(before) or \
                _PLACE_BEFORE.search(start_before):
            continue
        folded = [w[2] for w in run]
        # with a title or self-introduction before it, only provinces and countries are
        # vetoed ("cô Thanh Xuân" is a teacher; "bác Hà Nội" is the uncle in Hà Nội)
        cued = _title_before(doc, run[0][0]) is not None or _SELF_INTRO.search(before)
        places = "TC" if cued else "TDC"
        if 2 <= len(run) <= 3 and _place(doc, run[0][0], run[-1][1], places, accented):
            continue
        # Vietnamese order: family name first
        fam = next((i for i, w in enumerate(run[:2]) if is_family_name_word(w[4])), None)
        if fam is not None and len(run) - fam >= 2:
            rest = folded[fam + 1:fam + 4]
            given = sum(is_vi_name_word(w[4], True) for w in run[fam + 1:fam + 4])
            if given == len(rest) or (given >= 1 and len(rest) >= 2):
                seg = run[fam:fam + 1 + len(rest)]
                if not _place(doc, seg[0][0], seg[-1][1], places, accented):
                    hits.append(Hit("PERSON", seg[0][0], seg[-1][1],
                                    0.85 if given == len(rest) else 0.7, "family name first"))
                    continue
        # Western order: given name(s) then family name ("Hạnh Trần")
        if 2 <= len(run) <= 3 and is_family_name_word(run[-1][4]) and all(
                is_vi_name_word(w[4], True) for w in run[:-1]) and \
                not is_family_name_word(run[0][4]):
            hits.append(Hit("PERSON", run[0][0], run[-1][1], 0.7, "given + family name"))
            continue
        # English: known first name + capitalised surname
        if len(run) >= 2 and folded[0] in ENGLISH_FIRST_NAMES and folded[1] not in \
                _EN_NEXT_STOP and not is_capital_stopword(run[1][4]) and \
                (run[1][4].isascii() or _family(run[1][4])):
            end = run[1][1]
            if len(run) >= 3 and folded[2] not in _EN_NEXT_STOP and len(folded[1]) == 1:
                end = run[2][1]  # "John F Kennedy"
            hits.append(Hit("PERSON", run[0][0], end, 0.8, "English given name + surname"))
            continue
        # a title or self-introduction before one capitalised name
        head = run[0]
        if _acronym(head[4]):
            continue
        before = f[max(0, head[0] - 16):head[0]]
        given = is_vi_name_word(head[4], True) or head[2] in ENGLISH_FIRST_NAMES
        month = doc.text[max(0, head[0] - 6):head[0]].lower().endswith("tháng ")
        if given and len(run) == 1 and not month and (_VOCATIVE_AFTER.match(f, head[1]) or
                                                      _social_cue(doc, head[0], before)):
            hits.append(Hit("PERSON", head[0], head[1], 0.6, "given name in address/social"))
            continue
        title = _title_before(doc, head[0])
        if title and (is_vi_name_word(head[4], True) or head[2] in ENGLISH_FIRST_NAMES
                      or title in EN_TITLES):
            end = run[min(len(run), 3) - 1][1]
            hits.append(Hit("PERSON", head[0], end, 0.6, "title + name"))
        elif _SELF_INTRO.search(before) and (is_vi_name_word(head[4], True) or head[2] in
                                            ENGLISH_FIRST_NAMES):
            end = run[min(len(run), 3) - 1][1]
            hits.append(Hit("PERSON", head[0], end, 0.75, "self-introduction"))

    # 4. lower-case full names: with diacritics and a distinctive family name
    # ("nguyễn văn an"), or unaccented with a middle name ("tran thi mai")
    for idx, (s, _e, fw, cap, raw) in enumerate(words):
        if cap:
            continue
        accented = raw in DISTINCT_FAMILY_NAMES
        if not accented and not (raw == fw and fw in UNACCENTED_FAMILY_NAMES):
            continue
        j = idx + 1
        while j < n and j - idx <= 3 and not words[j][3] and \
                is_vi_name_word(words[j][4], True) and \
                _adjacent(doc, words[j - 1][1], words[j][0]) and \
                not (words[j][4] == words[j][2] and words[j][2] in _PARTICLES):
            j += 1
        if accented:
            need = 2 if raw in _LOWER_FAMILY_OK2 else 3
        else:
            need = 3 if idx + 1 < n and words[idx + 1][2] in MIDDLE_NAMES else 99
            if fw in ("nguyen", "huynh") and j - idx == 2:
                need = 2
        if j - idx >= need and not _PLACE_BEFORE.search(f[max(0, s - 20):s]):
            hits.append(Hit("PERSON", s, words[j - 1][1], 0.6, "lower-case full name"))
    return hits


def _acronym(word: str) -> bool:
    return len(word) >= 2 and word.isupper()


def _family(word: str) -> bool:
    return is_family_name_word(word)


def _place(doc: Doc, start: int, end: int, kinds: str, accented: bool) -> bool:
    """``doc.text[start:end]`` is exactly a place name of ``kinds`` (see
    :func:`gazetteer.is_place_name`)."""
    return is_place_name(doc.text[start:end], kinds, as_written=True if accented else None)


def _title_before(doc: Doc, start: int) -> str | None:
    """The title or kin word right before ``start`` ("cô", "anh", "Mr"), folded, or None.
    A word typed with diacritics must be the title with its own: "đi" is not "dì"."""
    lo = max(0, start - 16)
    m = _TITLE_BEFORE.search(doc.folded, lo, start)
    if m is None:
        return None
    folded = doc.folded[m.start():m.end()].strip(". \t\n")
    raw = doc.text[m.start():m.start() + len(folded)].lower()
    if raw != folded and raw not in VI_TITLES_RAW:
        return None
    return folded


_MIDDLE_OR_FAMILY = MIDDLE_NAMES | FAMILY_NAMES
# particles that are also (rare) given names when typed without diacritics: "nha" (Nhã)
_PARTICLES = frozenset({"nha", "nhe", "a", "ah", "o", "ma", "la", "ne", "di", "roi", "cho",
                        "con", "hay", "voi", "va", "khong", "co", "day", "do"})


def _consume_name(doc: Doc, words: list[tuple[int, int, str, bool, str]], i: int,
                  en: bool) -> int:
    """Index after the name words starting at ``i`` (at most 4)."""
    j = i
    while j < len(words) and j - i < 4:
        s, _e, fw, cap, raw = words[j]
        if j > i and not _adjacent(doc, words[j - 1][1], s):
            break
        name_word = is_vi_name_word(raw) or (en and fw in ENGLISH_FIRST_NAMES)
        if not (cap or name_word):
            break
        if fw in NAME_STOPWORDS and not cap:
            accented = raw.lower() != fw
            after_name = j > i and words[j - 1][2] in _MIDDLE_OR_FAMILY and \
                fw not in _PARTICLES
            first_family = j == i and _family(raw)
            if not (accented and name_word or after_name and name_word or first_family):
                break
        if cap and j > i and is_capital_stopword(raw) and not name_word:
            break
        j += 1
    return j
