"""The content categories and which category each blocklist feeds.

Both are data in the package (``data/categories.toml`` and ``data/list_categories.toml``),
loaded once and cached. The order of the categories in the file is their display order and
their bit index in category bitmasks, so the index and compiled policies can carry a set of
categories as one ``int``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "MAX_CATEGORIES",
    "ROLES",
    "Category",
    "ListMapping",
    "categories",
    "category",
    "category_bit",
    "category_ids",
    "category_mask",
    "default_blocked_ids",
    "list_mapping",
    "list_mappings",
    "parse_categories",
    "parse_list_mappings",
]

MAX_CATEGORIES = 64
ROLES = ("block", "allow")

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_COLOUR_RE = re.compile(r"^#[0-9a-f]{6}$")
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.-]*$")
_TEXT_FIELDS = ("id", "name_vi", "name_en", "description_vi", "description_en", "icon", "colour")


@dataclass(frozen=True, slots=True)
class Category:
    """One content category, as a parent sees it in the settings and on the block page."""

    id: str
    name_vi: str
    name_en: str
    description_vi: str
    description_en: str
    icon: str
    colour: str
    default_blocked: bool
    sources_note: str | None


@dataclass(frozen=True, slots=True)
class ListMapping:
    """The category a blocklist feeds and its role (``"block"`` or ``"allow"``).

    ``key`` is ``"<source>/<file stem>"``, e.g. ``"hostsvn/adult"``.
    """

    key: str
    category: str
    role: str


def _read(name: str) -> str:
    return resources.files("safegate.lists").joinpath("data", name).read_text(encoding="utf-8")


def _text(entry: Mapping[str, Any], field: str, where: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {field!r} must be a non-empty string")
    return value


def parse_categories(text: str) -> tuple[Category, ...]:
    """Parse and validate the TOML text of a categories file (``[[category]]`` tables)."""
    data = tomllib.loads(text)
    entries = data.get("category")
    if not isinstance(entries, list) or not entries:
        raise ValueError("categories: expected a non-empty array of [[category]] tables")
    if len(entries) > MAX_CATEGORIES:
        raise ValueError(f"categories: {len(entries)} categories, at most {MAX_CATEGORIES} fit "
                         "in a bitmask")
    out: list[Category] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        where = f"category #{n}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a table")
        unknown = set(entry) - {*_TEXT_FIELDS, "default_blocked", "sources_note"}
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
        values = {f: _text(entry, f, where) for f in _TEXT_FIELDS}
        cid = values["id"]
        where = f"category {cid!r}"
        if not _ID_RE.match(cid):
            raise ValueError(f"{where}: id must be lowercase snake_case")
        if cid in seen:
            raise ValueError(f"{where}: duplicate id")
        seen.add(cid)
        if not _COLOUR_RE.match(values["colour"]):
            raise ValueError(f"{where}: colour must look like #1a2b3c (lowercase hex)")
        default_blocked = entry.get("default_blocked")
        if not isinstance(default_blocked, bool):
            raise ValueError(f"{where}: default_blocked must be true or false")
        note = entry.get("sources_note")
        if note is not None and (not isinstance(note, str) or not note.strip()):
            raise ValueError(f"{where}: sources_note must be a non-empty string when present")
        out.append(Category(default_blocked=default_blocked, sources_note=note, **values))
    return tuple(out)


def parse_list_mappings(text: str, known: Iterable[str]) -> tuple[ListMapping, ...]:
    """Parse and validate the TOML text of a list mapping file (``[lists."src/name"]``).

    ``known`` is the set of valid category ids.
    """
    valid = frozenset(known)
    data = tomllib.loads(text)
    lists = data.get("lists")
    if not isinstance(lists, dict) or not lists:
        raise ValueError("list mappings: expected [lists.\"<source>/<name>\"] tables")
    out: list[ListMapping] = []
    for key, entry in lists.items():
        where = f"list {key!r}"
        if not _KEY_RE.match(key):
            raise ValueError(f"{where}: key must be '<source>/<file stem>' in lowercase")
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a table")
        unknown = set(entry) - {"category", "role"}
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
        cid = _text(entry, "category", where)
        if cid not in valid:
            raise ValueError(
                f"{where}: unknown category {cid!r}; valid: {', '.join(sorted(valid))}"
            )
        role = _text(entry, "role", where)
        if role not in ROLES:
            raise ValueError(f"{where}: role must be one of {', '.join(ROLES)}, not {role!r}")
        out.append(ListMapping(key=key, category=cid, role=role))
    return tuple(out)


@cache
def categories() -> tuple[Category, ...]:
    """Every category, in display order (which is also bit order)."""
    return parse_categories(_read("categories.toml"))


@cache
def _by_id() -> dict[str, tuple[int, Category]]:
    return {c.id: (bit, c) for bit, c in enumerate(categories())}


def category_ids() -> tuple[str, ...]:
    """The category ids in display order."""
    return tuple(c.id for c in categories())


def _lookup(cid: str) -> tuple[int, Category]:
    try:
        return _by_id()[cid]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown category {cid!r}; valid ids: {', '.join(category_ids())}"
        ) from None


def category(cid: str) -> Category:
    """The category with this id; ``ValueError`` naming the valid ids if there is none."""
    return _lookup(cid)[1]


def category_bit(cid: str) -> int:
    """The stable bit index (0..63) of a category in category bitmasks."""
    return _lookup(cid)[0]


def category_mask(cids: Iterable[str]) -> int:
    """The bitmask with the bit of every given category set."""
    mask = 0
    for cid in cids:
        mask |= 1 << category_bit(cid)
    return mask


def default_blocked_ids() -> tuple[str, ...]:
    """Ids of the categories blocked by default for a young child, in display order."""
    return tuple(c.id for c in categories() if c.default_blocked)


@cache
def list_mappings() -> tuple[ListMapping, ...]:
    """Every known list mapping, in file order."""
    return parse_list_mappings(_read("list_categories.toml"), category_ids())


@cache
def _mapping_by_key() -> dict[str, ListMapping]:
    return {m.key: m for m in list_mappings()}


def list_mapping(key: str) -> ListMapping:
    """The mapping of a list key such as ``"hostsvn/adult"``.

    A key may also be given with its ``.txt.gz`` suffix, as in the manifest's ``file`` column.
    Unknown keys raise ``KeyError`` with a message saying what is known.
    """
    stem = key.removesuffix(".gz").removesuffix(".txt")
    found = _mapping_by_key().get(stem)
    if found is None:
        sources = sorted({k.split("/", 1)[0] for k in _mapping_by_key()})
        raise KeyError(
            f"no category mapping for list {key!r}: expected '<source>/<file stem>' as in "
            f"manifest.tsv, e.g. 'hostsvn/adult'; known sources: {', '.join(sources)} "
            "(add new lists to safegate/lists/data/list_categories.toml)"
        )
    return found
