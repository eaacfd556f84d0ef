"""ADDRESS: Vietnamese addresses built from components, and US/UK-style street addresses.

A Vietnamese address is found as a chain of components next to each other (only spaces,
commas, dashes between them): house number ("số 12", "12/3A"), lane ("ngõ 58", "ngách 4",
"hẻm 34/5", "kiệt 20"), street ("đường Nguyễn Trãi", "phố Huế", "đường số 5"), hamlet or
block ("tổ 5", "khu phố 3", "ấp Bình Lợi", "thôn 2", "xóm Chùa"), ward/commune ("phường Bến
Nghé", "P.5", "xã Tân An", "thị trấn ..."), district ("quận 1", "Q.3", "huyện Củ Chi",
"thị xã ..."), province/city ("tỉnh Lào Cai", "TP.HCM", or a bare name from the gazetteer at
the end of the chain), and a trailing postcode. A unit name after a keyword is accepted when
it is capitalised, a number, or (in lower-case / unaccented text) in the gazetteer.

A chain is reported when it holds at least one fine component (house, lane, street, hamlet,
ward) and either a second component or an address phrase right before it ("địa chỉ",
"nhà em ở", "I live at"). A district or city alone ("em ở quận 1") is not an address.
"""

from __future__ import annotations

import re

from .gazetteer import longest_unit, names_by_kind
from .lexicon import FAMILY_NAMES, is_vi_name_word
from .patterns import Hit
from .scores import counted_before, inside, is_event_word, score_spans
from .text import Doc


def _ws(text: str) -> list[str]:
    return text.split()

_NUM = r"\d{1,5}[a-z]?(?:\s?[/\-]\s?\d{1,5}[a-z]?){0,3}"
_NUMRE = re.compile(r"\s*[.:]?\s*(?:so\s+)?(" + _NUM + r")(?![\w/])")
_WORD = re.compile(r"\s*(?:-\s*)?([^\W\d_][\w']*)")
_LOWER_STOP = frozenset(_ws("""
nhe nha nhá a ah ak do day dau va voi hay hoac hoc lop o nay nam tuoi sinh so sdt la thi ma
con cua cho di dang da se roi ne ha ko khong k cung vs truong the and at in em anh chi minh
to tao tui toi ban gan canh doi dien sau truoc trong ngoai phia ben tren duoi ve tu den qua
khi neu vi nen rat lam oi nhi chu chua luon nua thoi moi vao ra len xuong
"""))
_FINE = {"house", "lane", "street", "area", "ward", "house_street"}

# keyword -> (component kind, what may follow: 'num', 'name', 'both')
_KEYWORDS: list[tuple[str, str, str]] = [
    (r"so nha|nha so|sn|so", "house", "num"),
    (r"ngo|ngach|hem|kiet|hxh|hem xe hoi", "lane", "both"),
    (r"duong|pho|dai lo|d\.", "street", "both"),
    (r"to dan pho|tdp|khu pho|kp|khu do thi|kdt|khu tap the|ktt|chung cu|cc|toa nha|toa|"
     r"block|lo|can ho|to|khu|ban", "area", "num"),
    (r"ap|thon|xom|khom|bon|buon|lang", "area", "both"),
    (r"phuong|p\.|p(?=\d)|xa|thi tran|tt\.|dac khu", "ward", "both"),
    (r"quan|q\.|q(?=\d)|huyen|thi xa|tx\.", "district", "both"),
    (r"thanh pho|tp\.?|tinh", "province", "name"),
]
_KW_RE = re.compile(r"(?<![\w.])(?:" + "|".join(
    f"(?P<k{i}>{pat})" for i, (pat, _, _) in enumerate(_KEYWORDS)) + r")(?:(?<=\.)|(?![^\W\d_]))")
_UNIT_KIND = {"ward": "W", "district": "D", "province": "TD", "area": "", "street": "",
              "lane": "", "house": ""}
_TRIGGER = re.compile(
    r"(?:dia chi|\bdc\b|d/c|nha (?:em|minh|to|toi|tao|tui|con|chau|anh|chi|ban)"
    r"(?: o| tai)?|\bo tai|song o|song tai|cu tru|thuong tru|tam tru|que quan|que (?:em|minh)"
    r"|address|live at|live on|lives at|living at|my house is|come to|den nha|qua nha)"
    r"\s*(?:la|is|:|o|tai)?\s*:?\s*$")
_HOUSE_STREET = re.compile(r"(?<![\w/.,])(" + _NUM + r")\s+(?=[^\W\d_])")
_GAP = re.compile(r"[\s,;\-–]{0,4}")


_KEYWORDS_RAW = frozenset(
    _ws("""
số ngõ ngách hẻm kiệt đường phố phường xã thị quận huyện tỉnh thành tp ấp thôn xóm khu
tổ đại p q h tt tx
"""))


def _keyword_as_written(doc: Doc, s: int, e: int) -> bool:
    """An accented word breaks a name only if it is the keyword with its own diacritics:
    "Tĩnh" in "Xô Viết Nghệ Tĩnh" is not "tỉnh"."""
    raw = doc.text[s:e].lower()
    return raw == doc.folded[s:e] or raw in _KEYWORDS_RAW


# how one-word keywords are written with diacritics (they are matched folded)
_KEYWORDS_TYPED = _KEYWORDS_RAW | frozenset(_ws("""
lô tòa toà căn hộ khóm khoóm bon buôn làng đ thành
"""))


def _typed_as_keyword(doc: Doc, s: int, e: int) -> bool:
    """A one-word keyword typed with other diacritics is another word: "bàn" (desk) is not
    "ban" (board), "quán" (shop) not "quận", "tô" (bowl) not "tổ". Unaccented text and
    keywords of several words are taken as they come."""
    raw = doc.text[s:e].lower()
    if raw == doc.folded[s:e] or " " in raw or not raw.isalpha():
        return True
    return raw in _KEYWORDS_TYPED


def _take_name(doc: Doc, pos: int, kinds: str, allow_lower: bool,
               max_words: int = 5) -> int:
    """End of a unit name starting at ``pos`` or -1."""
    dm = _DATE_STREET.match(doc.folded, pos)
    if dm and not kinds:
        return dm.end(1)
    words: list[tuple[int, int, str]] = []
    p = pos
    while len(words) < max_words:
        m = _WORD.match(doc.text, p)
        if not m:
            break
        words.append((m.start(1), m.end(1), doc.folded[m.start(1):m.end(1)]))
        p = m.end()
    if not words:
        return -1
    if kinds:
        n = longest_unit([w[2] for w in words], kinds)
        if n:
            return words[n - 1][1]
    end = -1
    particle = False
    for i, (s, e, fw) in enumerate(words):
        if _NAME_BREAK.match(doc.folded, s) and _keyword_as_written(doc, s, e):
            break
        if doc.text[s].isupper():
            end = e
            particle = False
        elif i and not particle and fw in _PARTICLE and end == words[i - 1][1] and \
                i + 1 < len(words) and doc.text[words[i + 1][0]].isupper():
            particle = True  # "Alexandre de Rhodes"
        elif allow_lower and i < 3 and fw not in _LOWER_STOP and \
                (i == 0 or end == words[i - 1][1]):
            end = e
        else:
            break
    return end


# Inside a name, these words start the next component instead ("... Láng, phường ...").
_NAME_BREAK = re.compile(
    r"(?:ngo|ngach|hem|duong|pho|phuong|xa|thi tran|thi xa|quan|huyen|tinh|thanh pho|tp|"
    r"ap|thon|xom|khu pho|to dan pho|dai lo|(?:so|kiet|khu|to|p|q)(?=[\s.]*\d))"
    r"(?![^\W\d_])|(?:p|q|tp|tx|tt|h)\.")
# streets named after dates: "30 Tháng 4", "3/2", "Cách Mạng Tháng Tám"
_DATE_STREET = re.compile(r"\s*(\d{1,2}\s+thang\s+(?:\d{1,2}|[a-z]+)|\d{1,2}/\d{1,2})(?![\w/])")
_PARTICLE = frozenset({"de", "la", "van", "von", "du", "des"})


def _components(doc: Doc) -> list[tuple[int, int, str]]:
    f = doc.folded
    comps: list[tuple[int, int, str]] = []
    for m in _KW_RE.finditer(f):
        idx = int(m.lastgroup[1:])  # type: ignore[index]
        _, kind, follows = _KEYWORDS[idx]
        after = m.end()
        end = -1
        if not _typed_as_keyword(doc, m.start(), m.end()):
            continue  # "bàn số 4" is a desk, "quán 3" a shop: not "ban", "quận"
        if kind == "house" and m.group() == "so" and counted_before(doc, m.start()):
            continue  # "áo số 7", "ghế số 12", "tỉ số 2-1"
        if kind == "street":
            dm = _DATE_STREET.match(f, after)
            if dm:
                comps.append((m.start(), dm.end(1), kind))
                continue
        if follows in ("num", "both"):
            nm = _NUMRE.match(f, after)
            if nm and (kind != "district" or m.group().startswith("q") and len(nm.group(1)) <= 2):
                end = nm.end(1)
        if end < 0 and follows in ("name", "both"):
            start_name = after + (1 if f[after:after + 1] == "." else 0)
            # "đường" / "phố" in lower case: an unaccented "duong"/"pho" is too common a
            # word, so it needs a capitalised name or a previous component
            end = _take_name(doc, start_name, _UNIT_KIND.get(kind, ""), False)
            if end < 0 and kind in ("lane", "area", "street"):
                # a lower-case name ("duong lang"): only as part of a chain
                end = _take_name(doc, start_name, "", True, 3)
                if end > after:
                    comps.append((m.start(), end, "weak_" + kind))
                continue
            if kind in ("ward", "district", "province") and end < 0:
                continue
        if end > after:
            comps.append((m.start(), end, kind))
    # "12 Nguyễn Trãi", "76 Lê Đức Thọ": house number directly followed by a capitalised
    # street name of two or more words
    for m in _HOUSE_STREET.finditer(f):
        if counted_before(doc, m.start(1)):
            continue  # "top 3 Liên Quân", "giải 3 cấp quận 5", "lớp 6 Trần Phú"
        end = _take_name(doc, m.end(1), "", False, 5)
        if end > 0 and len(doc.text[m.end(1):end].split()) >= 2:
            comps.append((m.start(1), end, "house_street"))
        else:
            comps.append((m.start(1), m.end(1), "number"))
    scores = score_spans(doc)
    if scores:  # "tỉ số 2-1", "U23 Việt Nam 2-1 Thái Lan": a score is no house number
        comps = [c for c in comps if not inside(scores, c[0], c[1])]
    comps.sort(key=lambda c: (c[0], -c[1]))
    return comps


_BARE_PLACE = re.compile(r"[\s,\-–]{1,4}")
_POSTCODE = re.compile(r"[\s,]{1,3}(\d{5,6})(?!\w)")


def find_vn_addresses(doc: Doc) -> list[Hit]:
    comps = _components(doc)
    if not comps:
        return []
    hits: list[Hit] = []
    chain: list[tuple[int, int, str]] = []

    def close() -> None:
        kinds = [c[2] for c in chain if c[2] != "number"]
        if not kinds:
            return
        start = chain[0][0]
        if chain[0][2] == "number" and len(chain) > 1 and chain[1][2] in (
                "lane", "street", "area"):
            start = chain[0][0]
        elif chain[0][2] == "number":
            start = chain[1][0] if len(chain) > 1 else start
        end = chain[-1][1]
        # extend with a bare province / district name and a postcode
        while True:
            g = _BARE_PLACE.match(doc.text, end)
            if not g:
                break
            n_end = _take_name(doc, g.end(), "TD", True, 5)
            if n_end < 0 or longest_unit(
                    doc.folded[g.end():n_end].replace("-", " ").split(), "TD") == 0:
                break
            end = n_end
            kinds.append("province")
        pc = _POSTCODE.match(doc.text, end)
        if pc and kinds:
            end = pc.end(1)
        fine = [k for k in kinds if k in _FINE]
        n = len(kinds)
        if "house_street" in kinds:
            hs = next(c for c in chain if c[2] == "house_street")
            num = _NUMRE.match(doc.folded, hs[0])
            first = _WORD.match(doc.text, hs[0] + len(num.group())) if num else None
            if first and is_vi_name_word(first.group(1)):
                n += 1
        trig = _TRIGGER.search(doc.folded, max(0, start - 40), start)
        if fine and (n >= 2 or trig):
            score = 0.9 if n >= 3 else 0.8
            hits.append(Hit("ADDRESS", start, end, score, "address components: " + ",".join(
                kinds)))

    for c in comps:
        if c[2].startswith("weak_"):
            if not chain or not _GAP.fullmatch(doc.text, chain[-1][1], c[0]):
                continue
            c = (c[0], c[1], c[2][5:])
        if chain and c[0] < chain[-1][1]:
            if c[1] > chain[-1][1]:
                chain[-1] = (chain[-1][0], c[1], chain[-1][2] if chain[-1][2] != "number"
                             else c[2])
            continue
        if chain and _GAP.fullmatch(doc.text, chain[-1][1], c[0]):
            chain.append(c)
            continue
        if chain and chain[-1][2] in _BRIDGE_FROM | {"street"}:
            bridge = _BRIDGE.fullmatch(doc.folded, chain[-1][1], c[0])
            if bridge and _street_words(doc, bridge):
                chain.extend([(chain[-1][1], c[0], "street"), c])
                continue
        if chain:
            _extend_street(doc, chain)
            close()
        chain = [c]
    if chain:
        _extend_street(doc, chain)
        close()
    return hits


_BRIDGE_FROM = {"house", "lane", "number", "area"}
# up to five words between a house/lane/street and the next component: a street name
# written without keyword or capitals ("so 177 phan chu trinh quan thu duc")
_BRIDGE = re.compile(r"[\s,\-–]{1,3}(?:[^\W_]+\s){0,4}[^\W_]+[\s,\-–]{1,3}")
_BRIDGE_STOP = frozenset(_ws("""
va voi hoac nhung con thi la o tai gan canh nha nhe di den qua ve em anh chi minh toi
ban hay roi and or near the
"""))


def _street_words(doc: Doc, bridge: re.Match[str]) -> bool:
    """Whether the words between two components may be a street name: no stop word, no
    time ("19h"), date or match word ("thứ 7 ngày 20/11 tổ 3", "tổ 2 thắng tổ 3")."""
    words = list(_BRIDGE_WORD.finditer(bridge.string, bridge.start(), bridge.end()))
    return not any(w.group() in _BRIDGE_STOP or _CLOCK.fullmatch(w.group())
                   or is_event_word(doc, w.start(), w.end()) for w in words)


_BRIDGE_WORD = re.compile(r"[^\W_]+")
_CLOCK = re.compile(r"\d{1,2}[hg]\d{0,2}")


def _street_after(doc: Doc, pos: int, lower_ok: bool = True) -> tuple[int, int, str] | None:
    """A street name without a keyword right after a house number or lane
    ("ngách 82, Lê Văn Sỹ", "so 177 phan chu trinh quan ...")."""
    g = _GAP.match(doc.text, pos)
    if not g:
        return None
    end = _take_name(doc, g.end(), "", lower_ok, 5)
    if end <= g.end():
        return None
    return (g.end(), end, "street")


def _extend_street(doc: Doc, chain: list[tuple[int, int, str]]) -> None:
    """A capitalised street name after the last house/lane of a chain."""
    if chain[-1][2] in _BRIDGE_FROM:
        street = _street_after(doc, chain[-1][1], lower_ok=False)
        if street:
            chain.append(street)


# ------------------------------------------------------------------ English

_SUFFIXES = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|"
    "Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Crescent|Close|"
    "Gardens|Grove|Hill|Hills|Park|Row|Walk|Alley|Plaza|Point|Pike|Loop|Run|Path|Crossing|"
    "Heights|Ridge|View|Views|Village|Villages|Estate|Estates|Manor|Meadow|Meadows|Mews|"
    "Mill|Mills|Plains|Port|Ports|Shore|Shores|Springs|Station|Summit|Track|Turnpike|Union|"
    "Valley|Vista|Well|Wells|Fork|Forks|Fort|Freeway|Garden|Gateway|Glen|Green|Harbor|"
    "Haven|Island|Junction|Key|Knoll|Knolls|Lake|Lakes|Landing|Light|Lodge|Mission|Motorway|"
    "Mount|Mountain|Neck|Orchard|Oval|Overpass|Pass|Passage|Pine|Pines|Prairie|Radial|Ramp|"
    "Ranch|Rapid|Rapids|Rest|Route|Skyway|Spur|Squares|Stravenue|Stream|Streets|Throughway|"
    "Trace|Trafficway|Tunnel|Underpass|Viaduct|Ville|Camp|Canyon|Cape|Causeway|Center|"
    "Centers|Cliff|Cliffs|Club|Common|Commons|Corner|Corners|Course|Courts|Cove|Coves|"
    "Creek|Crest|Curve|Dale|Dam|Divide|Drives|Expressway|Extension|Extensions|Fall|Falls|"
    "Ferry|Field|Fields|Flat|Flats|Ford|Fords|Forest|Forge|Forges|Flats|Harbors|Isle|"
    "Keys|Locks|Loaf|Lock|Lights|Bypass|Brook|Brooks|Burg|Burgs|Bluff|Bluffs|Bottom|Branch|"
    "Bridge|Beach|Bend|Ways|Wall|Vista|Unions|Annex|Arcade|Avenue|Shoal|Land|Spur|Inlet|"
    "Mall|Isle|Lane|Neck|Oval|Plain")
_UNIT = r"(?:,?\s+(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Room|#)\s*\#?\w{1,6})?"
_CITY_STATE = (r"(?:,?\s+(?:[A-Z][a-z]+\s+){0,2}[A-Z][a-z]+,\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?|"
               r",\s+(?:[A-Z][a-z]+\s+){0,2}[A-Z][a-z]+(?:,\s+[A-Z]{2})?(?=[\s.,!?]|$))?")
_EN_ADDRESS = re.compile(
    r"(?<![\w/.,])\d{1,6}[A-Za-z]?\s+(?:(?:[NSEW]|North|South|East|West)\.?\s+)?"
    r"(?:[A-Z][a-zA-Z'\-]+\.?\s+|\d{1,3}(?:st|nd|rd|th)\s+){1,4}"
    r"(?:" + _SUFFIXES + r")s?\b\.?" + _UNIT + _CITY_STATE)
# any street name followed by "City, ST 12345"
_EN_ADDRESS_TAIL = re.compile(
    r"(?<![\w/.,])\d{1,6}[A-Za-z]?\s+(?:[A-Z][a-zA-Z'\-]+\.?\s+){0,3}[A-Z][a-zA-Z'\-]+\.?"
    + _UNIT + r",?\s+(?:[A-Z][a-z]+\s+){0,2}[A-Z][a-z]+,\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?\b")
_EN_TRIGGER = re.compile(r"(?:live at|live on|lives at|address is|address:|house is at)\s*$",
                         re.I)


_EN_MILITARY = re.compile(
    r"\b(?:(?:Unit|PSC)\s+\d{3,5}(?:,?\s+Box\s+\d{1,5})?|(?:USNS|USNV|USS|USCGC)\s+[A-Z]\w+)"
    r",\s+[AFD]PO\s+A[AEP]\s+\d{5}\b")


def find_en_addresses(doc: Doc) -> list[Hit]:
    hits = [Hit("ADDRESS", m.start(), m.end(), 0.85, "military address")
            for m in _EN_MILITARY.finditer(doc.text)]
    for m in _EN_ADDRESS.finditer(doc.text):
        if counted_before(doc, m.start()):
            continue  # "Top 10 Football Club", "got 3 Bonus Points"
        hits.append(Hit("ADDRESS", m.start(), m.end(), 0.85, "number + street suffix"))
    for m in _EN_ADDRESS_TAIL.finditer(doc.text):
        hits.append(Hit("ADDRESS", m.start(), m.end(), 0.86, "street, city, state, ZIP"))
    return hits


def find_addresses(doc: Doc) -> list[Hit]:
    return find_vn_addresses(doc) + find_en_addresses(doc)


__all__ = ["find_addresses", "FAMILY_NAMES", "names_by_kind"]
