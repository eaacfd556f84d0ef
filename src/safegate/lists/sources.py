"""Where lists come from: the embedded default lists, and files an operator names."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

Match = Literal["exact", "suffix"]
Role = Literal["block", "allow"]


@dataclass(frozen=True, slots=True)
class ListSpec:
    """One list: its key (``source/name``), file, category, match semantics and role."""

    key: str
    path: Path
    category: str
    match: Match = "suffix"
    role: Role = "block"


def embedded_dir() -> Path:
    return Path(str(resources.files("safegate.lists").joinpath("data/blocklists")))


def _category_for(key: str, manifest_category: str) -> tuple[str, Role]:
    """Category and role of a list key, from the taxonomy's mapping when it knows it."""
    try:
        from safegate.lists.taxonomy import list_mapping
    except ImportError:  # pragma: no cover - taxonomy module not present
        return manifest_category, "block"
    try:
        mapping = list_mapping(key)
    except KeyError:
        return "custom", "block"
    role: Role = "allow" if mapping.role == "allow" else "block"
    return mapping.category, role


def manifest_specs(directory: Path) -> list[ListSpec]:
    """Specs for every list in a directory laid out like shared/data/blocklists
    (``manifest.tsv`` plus ``<source>/<name>.txt.gz``)."""
    specs = []
    with open(directory / "manifest.tsv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            key = row["file"].removesuffix(".txt.gz")
            category, role = _category_for(key, row["category"])
            match: Match = "exact" if row["match"] == "exact" else "suffix"
            specs.append(ListSpec(key, directory / row["file"], category, match, role))
    return specs


def embedded_specs() -> list[ListSpec]:
    """The lists shipped inside the package (permissive licences only)."""
    return manifest_specs(embedded_dir())


def custom_specs(paths: list[Path], category: str = "custom") -> list[ListSpec]:
    """Operator lists given by path: block for every client, suffix matching."""
    out = []
    for path in paths:
        stem = path.name.removesuffix(".gz").removesuffix(".txt")
        out.append(ListSpec(f"file/{stem}", path, category, "suffix", "block"))
    return out
