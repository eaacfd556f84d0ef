"""Vietnamese administrative units (provinces, districts, wards), from the compact file
generated at build time from underthesea's data (see ``_build_gazetteer.py`` and
``data/ATTRIBUTION.md``), and country names in Vietnamese (for the PERSON veto only)."""

from __future__ import annotations

import gzip
import re
import unicodedata
from functools import lru_cache
from importlib.resources import files

from .text import fold

# Everyday short names that the official list does not use.
ALIASES = {
    "T": ["HCM", "TPHCM", "TP HCM", "TP.HCM", "Sài Gòn", "SG", "HN", "Hà Nội", "Huế",
          "Vũng Tàu", "Bà Rịa", "ĐN", "Đà Nẵng", "Hải Phòng", "HP", "Cần Thơ", "Ha Noi",
          "Ho Chi Minh City", "Saigon", "Hanoi", "Da Nang", "Hai Phong", "Can Tho"],
}


# Countries and world regions as Vietnamese children write them (with the transliterations
# in common use), so that "Thái Lan", "Hà Lan" or "Châu Phi" are not read as people. Not
# administrative units: the ADDRESS recogniser does not use them.
COUNTRIES = """
Việt Nam, Lào, Campuchia, Cam-pu-chia, Thái Lan, Miến Điện, Mi-an-ma, Myanmar, Ma-lai-xi-a,
Malaysia, Xin-ga-po, Singapore, In-đô-nê-xi-a, Indonesia, Phi-líp-pin, Philippines,
Bru-nây, Brunei, Đông Ti-mo, Trung Quốc, Đài Loan, Hồng Kông, Hong Kong, Ma Cao, Mông Cổ,
Nhật Bản, Hàn Quốc, Đại Hàn, Triều Tiên, Bắc Triều Tiên, Ấn Độ, Pa-ki-xtan, Băng-la-đét,
Nê-pan, Xri Lan-ca, I-ran, I-rắc, Ả Rập Xê Út, A Rập Xê Út, Thổ Nhĩ Kỳ, I-xra-en, Ai Cập,
Nam Phi, Ni-giê-ri-a, Nga, Ucraina, U-crai-na, Pháp, Đức, Anh, Ý, Tây Ban Nha, Bồ Đào Nha,
Hà Lan, Bỉ, Thụy Sĩ, Thụy Điển, Na Uy, Đan Mạch, Phần Lan, Ba Lan, Séc, Áo, Hung-ga-ri,
Hy Lạp, Ai-len, Xcốt-len, Mỹ, Hoa Kỳ, Ca-na-đa, Canada, Mê-hi-cô, Mexico, Cu Ba, Bra-xin,
Brazil, Ác-hen-ti-na, Argentina, Chi-lê, Pê-ru, Cô-lôm-bi-a, Úc, Ô-xtrây-li-a, Australia,
Tân Tây Lan, Niu Di-lân, New Zealand, Châu Á, Châu Âu, Châu Phi, Châu Mỹ, Châu Úc,
Đông Nam Á, Đông Á, Trung Đông, Bắc Mỹ, Nam Mỹ, Mỹ La-tinh
"""


@lru_cache(maxsize=1)
def _rows() -> list[tuple[str, str, str]]:
    raw = files("safegate.privacy.pii").joinpath("data/vn_admin_units.tsv.gz").read_bytes()
    out = []
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, name, code = line.split("\t")
            out.append((kind, name, code))
    return out


@lru_cache(maxsize=1)
def province_codes() -> frozenset[str]:
    """Three-digit CCCD place codes ("001" Hà Nội ... "096" Cà Mau)."""
    return frozenset("0" + code for kind, _, code in _rows() if kind == "T" and code)


@lru_cache(maxsize=1)
def names_by_kind() -> dict[str, frozenset[str]]:
    """Folded unit names per kind: T (province), D (district), W (ward/commune)."""
    out: dict[str, set[str]] = {"T": set(), "D": set(), "W": set()}
    for kind, name, _ in _rows():
        out[kind].add(fold(name).replace(" - ", " ").replace("-", " "))
    for kind, names in ALIASES.items():
        out[kind].update(fold(n).replace(".", " ").replace("  ", " ") for n in names)
    return {k: frozenset(v) for k, v in out.items()}


@lru_cache(maxsize=1)
def all_names() -> frozenset[str]:
    by = names_by_kind()
    return by["T"] | by["D"] | by["W"]


_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền sắc ngã hỏi nặng
_SEPARATORS = re.compile(r"[\s.\-]+")


def place_key(name: str) -> str:
    """``name`` lower-cased with its diacritics, hyphens and dots as spaces, and each word's
    tone mark moved to the word's end, so the old and new tone placements agree ("Thanh
    Hoá" == "Thanh Hóa") while "Thanh Hoa" (a person's name) stays different."""
    words = []
    for word in _SEPARATORS.split(name.lower()):
        if word:
            nfd = unicodedata.normalize("NFD", word)
            tones = "".join(c for c in nfd if c in _TONES)
            base = "".join(c for c in nfd if c not in _TONES)
            words.append(unicodedata.normalize("NFC", base) + tones)
    return " ".join(words)


def _folded_key(name: str) -> str:
    return " ".join(_SEPARATORS.split(fold(name))).strip()


@lru_cache(maxsize=1)
def _place_keys() -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Per kind (T province, D district, C country or region): the names as
    :func:`place_key` keys, and folded (the folded T and D sets are :func:`names_by_kind`'s)."""
    by = names_by_kind()
    accented: dict[str, set[str]] = {"T": set(), "D": set(), "C": set()}
    for kind, name, _ in _rows():
        if kind in accented:
            accented[kind].add(place_key(name))
    for kind, names in ALIASES.items():
        accented[kind].update(place_key(n) for n in names)
    countries = [c.strip() for c in COUNTRIES.replace("\n", " ").split(",") if c.strip()]
    accented["C"].update(place_key(c) for c in countries)
    folded = {"T": by["T"], "D": by["D"], "C": frozenset(_folded_key(c) for c in countries)}
    return {k: (frozenset(accented[k]), frozenset(folded[k])) for k in accented}


def is_place_name(text: str, kinds: str = "TDC", as_written: bool | None = None) -> bool:
    """Whether ``text`` is exactly the name of a province (T), a pre-2025 district (D) or a
    country or world region (C). Compared as written ``as_written`` (by default: when it
    has diacritics), wherever the tone mark sits ("Thanh Hóa" = "Thanh Hoá" but not "Thanh
    Hoa"), otherwise folded ("thai lan"). Pass ``as_written=True`` for a span without
    diacritics in a text typed with them: there "Thanh Hoa" is a person's name. Ward names
    are never checked: thousands of them are people's names."""
    keys = _place_keys()
    folded = _folded_key(text)
    if as_written is None:
        as_written = folded != " ".join(_SEPARATORS.split(text.lower())).strip()
    if as_written:
        key = place_key(text)
        return any(key in keys[k][0] for k in kinds)
    return any(folded in keys[k][1] for k in kinds)


def longest_unit(words: list[str], kinds: str = "TDW", max_words: int = 5) -> int:
    """Number of leading folded ``words`` that form a unit name of one of ``kinds``
    (longest match), or 0."""
    by = names_by_kind()
    for n in range(min(max_words, len(words)), 0, -1):
        cand = " ".join(words[:n])
        if any(cand in by[k] for k in kinds):
            return n
    return 0
