"""The Public Suffix List: which part of a name is a public suffix.

A suffix-matching list entry never blocks at or above a public suffix: the gate's suffix
walk stops at the registrable domain (eTLD+1), so ``bologna.it`` in an adult list blocks
the name ``bologna.it`` itself but not every Italian site under it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path


def suffixes(name: str) -> list[str]:
    """Every suffix of ``name`` at a label boundary, longest first: the same strings as
    ``".".join(labels[i:])`` for ``labels = name.split(".")``, by slicing."""
    out = [name]
    dot = name.find(".")
    while dot >= 0:
        out.append(name[dot + 1:])
        dot = name.find(".", dot + 1)
    return out


@dataclass(frozen=True, slots=True)
class PublicSuffixList:
    rules: frozenset[str]
    wildcards: frozenset[str]  # "*.ck" stored as "ck"
    exceptions: frozenset[str]  # "!www.ck" stored as "www.ck"

    @classmethod
    def parse(cls, lines: Iterable[str]) -> PublicSuffixList:
        rules: set[str] = set()
        wildcards: set[str] = set()
        exceptions: set[str] = set()
        for raw in lines:
            line = raw.strip().split()[0] if raw.strip() else ""
            if not line or line.startswith("//"):
                continue
            try:
                ascii_rule = ".".join(
                    part if part in ("*", "!") or part.isascii() else part.encode("idna").decode()
                    for part in line.lower().split(".")
                )
            except UnicodeError:
                continue
            if ascii_rule.startswith("!"):
                exceptions.add(ascii_rule[1:])
            elif ascii_rule.startswith("*."):
                wildcards.add(ascii_rule[2:])
            else:
                rules.add(ascii_rule)
        return cls(frozenset(rules), frozenset(wildcards), frozenset(exceptions))

    def suffix_labels(self, labels: list[str]) -> int:
        """How many trailing labels of ``labels`` form the public suffix (at least 1)."""
        return self._suffix_count([".".join(labels[i:]) for i in range(len(labels))])

    def _suffix_count(self, candidates: list[str]) -> int:
        """``suffix_labels`` given every suffix of the name, longest first."""
        n = len(candidates)
        exceptions, rules, wildcards = self.exceptions, self.rules, self.wildcards
        for i in range(n):
            candidate = candidates[i]
            if candidate in exceptions:
                return n - i - 1
            if candidate in rules:
                return n - i
            if i + 1 < n and candidates[i + 1] in wildcards:
                return n - i
        return 1

    def registrable_labels(self, name: str) -> int:
        """Labels in the registrable domain of ``name`` (eTLD+1), or 0 if ``name`` is a
        public suffix itself (or shorter)."""
        return self.registrable_count(suffixes(name))

    def registrable_count(self, candidates: list[str]) -> int:
        """``registrable_labels`` of the name whose ``suffixes`` are ``candidates``."""
        suffix = self._suffix_count(candidates)
        return suffix + 1 if len(candidates) > suffix else 0

    def is_public_suffix(self, name: str) -> bool:
        return self.registrable_labels(name) == 0


@lru_cache(maxsize=1)
def embedded_psl() -> PublicSuffixList:
    """The copy shipped inside the package (MPL-2.0, see lists/data/psl/)."""
    text = resources.files("safegate.lists").joinpath("data/psl/public_suffix_list.dat")
    return PublicSuffixList.parse(text.read_text("utf-8").splitlines())


def load_psl(path: Path | None) -> PublicSuffixList:
    if path is None:
        return embedded_psl()
    return PublicSuffixList.parse(path.read_text("utf-8").splitlines())
