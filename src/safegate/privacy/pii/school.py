"""SCHOOL: named schools, with the class when it is written next to them.

Vietnamese: "trường THCS Nguyễn Du", "THPT chuyên Lê Hồng Phong", "trường tiểu học Kim
Đồng", "trường Lê Quý Đôn", "lớp 7A2, trường THCS ..." (the class is included). English:
"Springfield Elementary School", "grade 6 at Lincoln Middle School", "St. Mary's Academy".
A class on its own ("lớp 6", "lớp 7A2", "grade 6") is not a SCHOOL: it does not say where.
"""

from __future__ import annotations

import re

from .lexicon import FAMILY_NAMES, GIVEN_NAMES
from .patterns import Hit
from .scores import is_event_word
from .text import Doc


def _ws(text: str) -> list[str]:
    return text.split()

_TYPE = (r"tieu hoc va trung hoc co so|trung hoc co so va trung hoc pho thong|"
         r"trung hoc co so|trung hoc pho thong|pho thong dan toc noi tru|pho thong nang khieu|"
         r"th\s*(?:-|&|va)\s*thcs|thcs\s*(?:-|&|va)\s*thpt|tieu hoc|thcs|thpt|ptth|ptdtnt|"
         r"ptnk|mam non|mau giao|lien cap|pho thong|quoc te|dai hoc|cao dang|hoc vien|"
         r"trung cap|gdtx|th|mn|dh|cd")
_STRONG_TYPE = (r"tieu hoc va trung hoc co so|trung hoc co so|trung hoc pho thong|"
                r"th\s*(?:-|&)\s*thcs|thcs\s*(?:-|&)\s*thpt|tieu hoc|thcs|thpt|ptth|ptdtnt|"
                r"ptnk|mam non|lien cap")
_VI_SCHOOL = re.compile(
    r"(?<![\w])(?:(?P<truong>truong)\s+(?:(?P<type1>" + _TYPE + r")\s+)?|(?P<type2>"
    + _STRONG_TYPE + r")\s+)(?P<chuyen>chuyen\s+)?(?P<rest>)")
_CLASS_BEFORE = re.compile(
    r"(?:lop|class)\s+\d{1,2}(?:\s?[a-z]{1,2}\d{0,2})?(?:\s*[,\-–]\s*|\s+)(?:(?:o|tai|cua|"
    r"at|in)\s+)?$")
_WORD = re.compile(r"\s*(?:-\s*)?([^\W_][\w'’.]*)")
_NAME_STOP = frozenset(_ws("""
hop hoc lop cua em minh va la o nha nhe thi ma khong ko co dang da roi nay do kia nao nhung
cac moi gi day ay the vi nen tu den voi cho khi luc gan xa lon nho cu ben tren ne a ak ah oi
di nhi ha
"""))
_NUM_NAME = re.compile(r"\s*(?:so\s+)?\d{1,2}\b")


def _name_end(doc: Doc, pos: int, lower_ok: bool, lexicon_only: bool) -> int:
    end = -1
    n = 0
    capitalised = False
    nm = _NUM_NAME.match(doc.folded, pos)
    if nm:
        end = nm.end()
        pos = end
    p = pos
    while n < 5:
        m = _WORD.match(doc.text, p)
        if not m:
            break
        word = m.group(1).rstrip(".")
        fw = doc.folded[m.start(1):m.start(1) + len(word)]
        first_char = doc.text[m.start(1)]
        if first_char.isupper() or first_char.isdigit() and n:
            capitalised = capitalised or not n
        elif not capitalised and lower_ok and fw not in _NAME_STOP and \
                not is_event_word(doc, m.start(1), m.start(1) + len(word)) and (
                not lexicon_only or fw in FAMILY_NAMES or fw in GIVEN_NAMES):
            pass
        else:
            break
        end = m.start(1) + len(word)
        p = end
        n += 1
    return end


_EN_SCHOOL = re.compile(
    r"(?:(?:(?:grade|year|class|form)\s+\d{1,2}|\d{1,2}(?:st|nd|rd|th)\s+grade|"
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth)"
    r"\s+grade)\s+(?:at|in)\s+(?:the\s+)?)?"
    r"(?:St\.?\s+)?(?:[A-Z][\w'’.\-]*\s+){1,5}(?:School|Academy|College|Institute|Lyceum)\b"
    r"(?:\s+of\s+[A-Z]\w+(?:\s+[A-Z]\w+)?)?")
_EN_LEAD_STOP = re.compile(r"^(?:(?:My|Our|Your|His|Her|Their|The|This|That|A|At|In|To|I|We|"
                           r"Go|Going|After|Before|From|New|Old|Primary|High|Middle|Elementary|"
                           r"Secondary|Public|Private|Summer|Sunday|Night|Driving|Art|Music|"
                           r"Dance|Language|Online|Home)\s+)+")


def find_schools(doc: Doc) -> list[Hit]:
    f = doc.folded
    hits: list[Hit] = []
    if "truong" in f or re.search(r"th|mam non|lien cap", f):
        for m in _VI_SCHOOL.finditer(f):
            typ = m.group("type1") or m.group("type2")
            if m.group("truong") and not typ and not m.group("chuyen"):
                # "trường" + name: capitalised, or a person-like name in lower case
                end = _name_end(doc, m.end(), True, True)
            else:
                if typ in ("th", "mn", "dh", "cd") and not m.group("truong"):
                    continue
                original = doc.text[m.start():m.end()]
                upper_type = typ is not None and any(c.isupper() for c in original)
                end = _name_end(doc, m.end(), True, not upper_type and not m.group("truong")
                                and typ not in ("thcs", "thpt", "tieu hoc"))
            if end <= m.end():
                continue
            start = m.start()
            cls = _CLASS_BEFORE.search(f, max(0, start - 24), start)
            if cls:
                start = cls.start()
            score = 0.9 if typ or m.group("chuyen") else 0.88
            hits.append(Hit("SCHOOL", start, end, score, "school type/keyword + name"))
    if "School" in doc.text or "Academy" in doc.text or "College" in doc.text or \
            "Institute" in doc.text or "Lyceum" in doc.text:
        for m in _EN_SCHOOL.finditer(doc.text):
            s = m.start()
            text = m.group()
            if not re.match(r"(?:grade|year|class|form|\d|first|second|third|fourth|fifth|"
                            r"sixth|seventh|eighth|ninth|tenth|eleventh|twelfth)", text):
                lead = _EN_LEAD_STOP.match(text)
                if lead:
                    s += lead.end()
            if len(doc.text[s:m.end()].split()) < 2:
                continue
            hits.append(Hit("SCHOOL", s, m.end(), 0.85, "name + School/Academy"))
    return hits
