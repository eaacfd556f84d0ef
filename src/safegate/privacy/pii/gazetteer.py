"""Vietnamese administrative units (provinces, districts, wards), from the compact file
generated at build time from underthesea's data (see ``_build_gazetteer.py`` and
``data/ATTRIBUTION.md``)."""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib.resources import files

from .text import fold

# Everyday short names that the official list does not use.
ALIASES = {
    "T": ["HCM", "TPHCM", "TP HCM", "TP.HCM", "Sài Gòn", "SG", "HN", "Hà Nội", "Huế",
          "Vũng Tàu", "Bà Rịa", "ĐN", "Đà Nẵng", "Hải Phòng", "HP", "Cần Thơ", "Ha Noi",
          "Ho Chi Minh City", "Saigon", "Hanoi", "Da Nang", "Hai Phong", "Can Tho"],
}


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


def longest_unit(words: list[str], kinds: str = "TDW", max_words: int = 5) -> int:
    """Number of leading folded ``words`` that form a unit name of one of ``kinds``
    (longest match), or 0."""
    by = names_by_kind()
    for n in range(min(max_words, len(words)), 0, -1):
        cand = " ".join(words[:n])
        if any(cand in by[k] for k in kinds):
            return n
    return 0
