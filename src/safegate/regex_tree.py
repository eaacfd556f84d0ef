"""The stdlib's parsed form of a regular expression, and one way to walk it.

``re._parser`` (Python 3.11+) turns a pattern into a list of ``(opcode, argument)`` items; the
blocklist regex checks (:mod:`safegate.lists.parse`) and the text-safety rule prefilter
(:mod:`safegate.safety.rules`) both read that structure.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["REPEATS", "children", "sre"]

sre: Any = importlib.import_module("re._parser")

REPEATS = frozenset({sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT})


def children(op: Any, av: Any) -> list[Any]:
    """The parsed sub-sequences directly inside one item (groups, branches, repetitions,
    lookarounds, atomic groups, the two arms of a conditional)."""
    if op in REPEATS:
        return [av[2]]
    if op is sre.SUBPATTERN:
        return [av[3]]
    if op is sre.BRANCH:
        return list(av[1])
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return [av[1]]
    if op is sre.ATOMIC_GROUP:
        return [av]
    if op is sre.GROUPREF_EXISTS:
        return [x for x in av[1:] if x is not None]
    return []
