"""Pattern-shaped entities: EMAIL, SOCIAL_HANDLE, IP, MAC, DATE_OF_BIRTH."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .text import Doc


@dataclass(frozen=True, slots=True)
class Hit:
    type: str
    start: int
    end: int
    score: float
    why: str


# ------------------------------------------------------------------ EMAIL

_EMAIL = re.compile(
    r"(?<![\w.%+\-])[a-z0-9](?:[a-z0-9._%+\-]{0,63})@[a-z0-9](?:[a-z0-9\-]{0,62})"
    r"(?:\.[a-z0-9\-]{1,63})*\.[a-z]{2,24}(?![\w\-])")
# "abc (at) gmail (dot) com", "abc a còng gmail chấm com"
_EMAIL_SPOKEN = re.compile(
    r"(?<![\w.])[a-z0-9][a-z0-9._\-]{1,63}\s*(?:\(at\)|\[at\]|\{at\}|\sat\s|\sa\s?cong\s)\s*"
    r"[a-z0-9\-]{2,63}(?:\s*(?:\.|\(dot\)|\[dot\]|\sdot\s|\scham\s)\s*[a-z]{2,6}){1,2}"
    r"(?![\w])")
_SPOKEN_TLD = re.compile(r"(?:com|net|org|vn|edu|io|me|co|info)$")


def find_emails(doc: Doc) -> list[Hit]:
    hits = [Hit("EMAIL", m.start(), m.end(), 1.0, "address@domain")
            for m in _EMAIL.finditer(doc.folded)]
    if "at" in doc.folded or "cong" in doc.folded:
        for m in _EMAIL_SPOKEN.finditer(doc.folded):
            if _SPOKEN_TLD.search(m.group()):
                hits.append(Hit("EMAIL", m.start(), m.end(), 0.8, "spelled-out @ and dot"))
    return hits


# ------------------------------------------------------------------ SOCIAL_HANDLE

_SOCIAL_URL = re.compile(
    r"(?<![\w.\-/])(?:https?://)?(?:(?:www|m|mobile|web|vt|vm|mbasic|business)\.)?"
    r"(?:facebook\.com|fb\.com|fb\.me|fb\.watch|messenger\.com|m\.me|tiktok\.com|"
    r"instagram\.com|instagr\.am|zalo\.me|chat\.zalo\.me|t\.me|telegram\.me|telegram\.dog|"
    r"discord\.gg|discord\.com/(?:users|invite)|discordapp\.com/(?:users|invite)|"
    r"threads\.net|x\.com|twitter\.com|youtube\.com/@|snapchat\.com/add)"
    r"/?[^\s,;<>()\[\]{}\"']*[^\s,;<>()\[\]{}\"'.!?]")
_AT_HANDLE = re.compile(r"(?<![\w@.\-/])@[a-z0-9_](?:[a-z0-9_.]{0,28}[a-z0-9_])?(?![\w@])")
_PLATFORM = (r"fb|facebook|face|ig|insta|instagram|tiktok|tik tok|tele|telegram|tg|discord|"
             r"dis|zalo|snap|snapchat|sc|twitter|threads|messenger|mess|nick|nick fb|nick zalo|"
             r"nick game|id game|roblox|free fire|ff|lien quan|lq|pubg|minecraft|steam")
_PLATFORM_HANDLE = re.compile(
    r"\b(?:" + _PLATFORM + r")\s*(?:cua (?:em|minh|to|toi|tao)\s*)?(?:la\s+|is\s+|:\s*|-\s*)"
    r"@?(?P<h>[a-z0-9_][a-z0-9_.\-]{2,30}(?:#\d{4})?)(?![\w@])")
_DISCORD_TAG = re.compile(r"(?<![\w@#])[a-z0-9_.]{2,32}#\d{4}(?!\w)")
_HANDLE_STOP = frozenset({"la", "cua", "em", "minh", "toi", "nha", "nhe", "the", "and", "khong",
                          "ko", "co", "dang", "roi", "is", "my", "http", "https", "www"})


def find_handles(doc: Doc) -> list[Hit]:
    f = doc.folded
    hits: list[Hit] = []
    for m in _SOCIAL_URL.finditer(f):
        hits.append(Hit("SOCIAL_HANDLE", m.start(), m.end(), 0.95, "profile URL"))
    if "@" in f:
        for m in _AT_HANDLE.finditer(f):
            if len(m.group()) >= 3:
                hits.append(Hit("SOCIAL_HANDLE", m.start(), m.end(), 0.85, "@handle"))
    for m in _PLATFORM_HANDLE.finditer(f):
        h = m.group("h")
        if h in _HANDLE_STOP or h.replace(".", "").replace("-", "").isdigit():
            continue  # a number after "zalo:" is a phone: the number recogniser takes it
        hits.append(Hit("SOCIAL_HANDLE", m.start("h"), m.end("h"), 0.75,
                        "handle after platform name"))
    if "#" in f:
        for m in _DISCORD_TAG.finditer(f):
            hits.append(Hit("SOCIAL_HANDLE", m.start(), m.end(), 0.75, "name#1234 tag"))
    return hits


# ------------------------------------------------------------------ IP, MAC

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(r"(?<![\w.])(?:" + _OCTET + r"\.){3}" + _OCTET + r"(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?:%\w+)?(?![\w:])")
_MAC = re.compile(r"(?<![\w:\-.])(?:[0-9a-f]{2}([:\-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}|"
                  r"[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4})(?![\w:\-]|\.\w)")
_VERSION_BEFORE = re.compile(r"(?:\bv|version|phien ban|ban|ver\.?|build|cap nhat|update|"
                             r"patch|release|firmware|ios|android|windows)\s*$")


def find_network(doc: Doc) -> list[Hit]:
    f = doc.folded
    hits: list[Hit] = []
    if "." in f:
        for m in _IPV4.finditer(f):
            if _VERSION_BEFORE.search(f, max(0, m.start() - 12), m.start()):
                continue
            hits.append(Hit("IP", m.start(), m.end(), 0.9, "IPv4"))
    if ":" in f:
        for m in _IPV6.finditer(f):
            text = m.group().split("%")[0]
            if text.count(":") < 2 or len(text) < 6:
                continue
            try:
                ipaddress.IPv6Address(text)
            except ValueError:
                continue
            if _MAC.fullmatch(text):
                continue
            hits.append(Hit("IP", m.start(), m.end(), 0.9, "IPv6"))
    if ":" in f or "-" in f or "." in f:
        for m in _MAC.finditer(f):
            hits.append(Hit("MAC", m.start(), m.end(), 0.9, "MAC address"))
    return hits


# ------------------------------------------------------------------ DATE_OF_BIRTH

_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MON = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:19\d{2}|20\d{2})"
_DATE = (
    r"(?:" + _DAY + r"\s*[/.\-]\s*" + _MON + r"(?:\s*[/.\-]\s*(?:" + _YEAR + r"|\d{2}))?"
    r"|" + _YEAR + r"\s*[/.\-]\s*" + _MON + r"\s*[/.\-]\s*" + _DAY +
    r"|(?:ngay\s+)?" + _DAY + r"\s+thang\s+" + _MON + r"(?:\s*(?:,|nam)?\s*" + _YEAR + r")?"
    r"|thang\s+" + _MON + r"(?:\s*(?:,|nam|/)?\s*" + _YEAR + r")"
    r"|(?:" + _MONTHS + r")\.?\s+" + _DAY + r"(?:st|nd|rd|th)?(?:,?\s+" + _YEAR + r")?"
    r"|" + _DAY + r"(?:st|nd|rd|th)?\s+(?:of\s+)?(?:" + _MONTHS + r")\.?(?:,?\s+" + _YEAR +
    r")?"
    r"|(?:" + _MONTHS + r")\.?\s+" + _YEAR +
    r")")
_DOB_TRIGGER = (
    r"(?:ngay\s+thang\s+nam\s+sinh|ngay\s+sinh|nam\s+sinh|thang\s+sinh|(?<!hoc\s)sinh\s+ngay|"
    r"(?<!hoc\s)sinh\s+nam|(?<!hoc\s)sinh\s+thang|(?<!hoc\s)(?<!ve\s)sinh\s+vao(?:\s+ngay)?|"
    r"(?<!hoc\s)(?<!ve\s)(?<!ky\s)sinh|sinh\s+nhat|\bsn|\bns|\bdob|d\.o\.b\.?|date\s+of\s+birth|"
    r"birth\s*date|birthday|bday|b-day|born(?:\s+on|\s+in)?)")
_DOB = re.compile(
    r"\b" + _DOB_TRIGGER + r"(?:\s+(?:(?:cua|of)\s+)?(?:em|minh|to|toi|tao|tui|con|chau|be|me|"
    r"my|him|her|ban|anh|chi|no))?(?:\s+(?:la|is|was|vao|on|in))?\s*[:=\-]?\s*(?:(?:la|is|vao|on)\s+)?"
    r"(?P<date>" + _DATE + r"|" + _YEAR + r")(?![\w/]|[.\-]\d)")


# The date first: "12/5 là sinh nhật em", "may 3rd is my birthday" (the writer's own).
_DOB_DATE_FIRST = re.compile(
    r"(?<![\w/.\-])(?P<date>" + _DATE + r")(?![\w/]|[.\-]\d)\s*(?:[,:\-]\s*)?"
    r"(?:(?:la|is|was|=)\s+)?(?:ngay\s+)?(?:sinh\s+nhat|birthday|bday|b-day)\s+"
    r"(?:(?:cua|of)\s+)?(?:em|minh|to|toi|tao|tui|con|chau)\b"
    r"|(?<![\w/.\-])(?P<date2>" + _DATE + r")(?![\w/]|[.\-]\d)\s+(?:is|was)\s+my\s+"
    r"(?:birthday|bday|b-day)\b")


def find_dob(doc: Doc) -> list[Hit]:
    f = doc.folded
    hits = []
    for m in _DOB_DATE_FIRST.finditer(f):
        group = "date" if m.group("date") else "date2"
        start, end = m.span(group)
        hits.append(Hit("DATE_OF_BIRTH", start, end, 0.85, "date before birthday context"))
    for m in _DOB.finditer(f):
        start, end = m.span("date")
        date = m.group("date")
        trigger = f[m.start():start]
        if re.fullmatch(_YEAR, date) and not re.search(
                r"nam|born in|birth|dob|sinh|sn|ns", trigger):
            continue
        hits.append(Hit("DATE_OF_BIRTH", start, end, 0.9, "date after birth context"))
    return hits
