"""The false-positive guard: names that a category list never blocks.

Category lists are large and made by others; some contain infrastructure that a child's
device needs (app stores, OS updates, school platforms, sign-in). The guard overrides a
*category* block only: a parent's own deny rule or a blocked service still wins.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from safegate.lists.psl import suffixes


def parse_guard(text: str) -> frozenset[str]:
    names = set()
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip().lower().strip(".")
        if entry:
            names.add(entry)
    return frozenset(names)


@cache
def guard_names() -> frozenset[str]:
    path = resources.files("safegate.lists").joinpath("data/never_block.txt")
    return parse_guard(path.read_text("utf-8"))


def guarded(name: str, names: frozenset[str] | None = None,
            candidates: list[str] | None = None) -> str | None:
    """The guard entry covering ``name`` (the name itself or a parent), if any;
    ``candidates``: ``suffixes(name)`` when the caller has it already."""
    table = guard_names() if names is None else names
    if candidates is None:
        candidates = suffixes(name)
    for i in range(len(candidates) - 1):  # never the last label alone
        if candidates[i] in table:
            return candidates[i]
    return None
