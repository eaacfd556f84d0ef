"""The compiled domain index: every list entry as a 64-bit hash in one sorted array.

Each distinct name is stored once: an ``int64`` hash (8 bytes) and a ``uint16`` *combo*
id (2 bytes) naming the set of lists that contain it. A profile compiles, per combo, which
of its enabled lists blocks or allows the name (``Verdicts``), so a lookup is a few hash
probes along the name's suffix walk and a tuple index, with no per-profile copy of the
lists. Hashes are Python's ``hash(str)``: the index is built in the process that uses it
and never persisted, so the per-process hash seed does not matter.

Regex and wildcard entries (see ``safegate.lists.parse``) sit beside the hash arrays, one
``PatternSet`` per list, its patterns compiled once per build into a few alternations
(grouped by the last labels a matching name must have). They are searched only when the
hash walk allows nothing: allow patterns when it found no entry or
only a block (an allow beats a block, whatever kind), block patterns only when it found
no entry at all (a listed name beats a pattern). A profile whose lists have no patterns
pays nothing for them.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from safegate.lists.parse import (
    REGEX_FLAGS,
    WILDCARD_PREFIX,
    Entry,
    ListFileError,
    ParseReport,
    iter_batches,
    suffix_key,
)
from safegate.lists.psl import PublicSuffixList, suffixes
from safegate.lists.sources import ListSpec

log = logging.getLogger(__name__)

SKIP_NETWORK_IN_ALLOW_LIST = "address rule in an allow list (not supported)"
SKIP_TOO_MANY_NETWORKS = "too many address rules in one list"

NO_LIST = -1
MAX_NETWORKS_PER_LIST = 10_000  # address rules are scanned per answer: keep them few
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class LoadedList:
    """A list as it went into the index, with what happened to its lines."""

    spec: ListSpec
    entries: int  # block entries (names and patterns)
    allow_entries: int
    skipped: dict[str, int]
    error: str | None = None
    patterns: int = 0  # regex and wildcard entries among the entries (distinct)


class Hit(NamedTuple):
    """Why a name matched: the list, the entry that matched and whether it blocks.
    A tuple: a cache miss of a listed name makes one per query (a frozen dataclass cost
    as much as the rest of the lookup to build)."""

    list_id: int
    entry: str
    allow: bool


_new_hit = tuple.__new__  # Hit(...) without NamedTuple's Python-level __new__


def _searches(sources: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    """At most two alternations that together match what any of ``sources`` matches:
    the wildcard rules with their common start ``(?:^|\\.)`` factored out (``re`` then
    tries them only at label starts, and skips one whose first character differs at
    once), and the other patterns."""
    wild = [s[len(WILDCARD_PREFIX):] for s in sources if s.startswith(WILDCARD_PREFIX)]
    other = [f"(?:{s})" for s in sources if not s.startswith(WILDCARD_PREFIX)]
    out = []
    if wild:
        out.append(f"{WILDCARD_PREFIX}(?:{'|'.join(wild)})")
    if other:
        out.append("|".join(other))
    return tuple(re.compile(s, REGEX_FLAGS) for s in out)


@dataclass(frozen=True, slots=True)
class PatternGroup:
    """Patterns searched together: their alternations and their indices in the list."""

    searches: tuple[re.Pattern[str], ...]
    members: tuple[int, ...]

    def found(self, name: str) -> bool:
        return any(search.search(name) is not None for search in self.searches)


@dataclass(frozen=True, eq=False)
class PatternSet:
    """The regex and wildcard entries of one list, compiled once per index build.

    Patterns that only match names ending with given labels (``suffix_key``: most
    wildcard rules, ``||ads*.example.com^``) are grouped by those labels; the others form
    one group searched for every name. A lookup is then two dict probes and a search or
    two per group that applies, however many patterns the list has. ``rules`` (the rule
    as written and its own pattern, in file order) name the entry that matched.
    """

    list_id: int
    allow: bool
    general: PatternGroup | None
    by_suffix: dict[str, PatternGroup]
    rules: tuple[tuple[str, re.Pattern[str]], ...]

    @classmethod
    def compile(cls, list_id: int, allow: bool, entries: Sequence[Entry]) -> PatternSet:
        first: dict[str, str] = {}  # pattern -> the first rule that gave it
        for entry in entries:
            if entry.pattern is not None:
                first.setdefault(entry.pattern, entry.domain)
        sources = list(first)
        keyed: dict[str | None, list[int]] = {}
        for i, source in enumerate(sources):
            keyed.setdefault(suffix_key(source), []).append(i)

        def group(members: list[int]) -> PatternGroup:
            return PatternGroup(_searches([sources[i] for i in members]), tuple(members))

        general = keyed.get(None)
        return cls(list_id, allow, group(general) if general else None,
                   {key: group(members) for key, members in keyed.items() if key is not None},
                   tuple((rule, re.compile(source, REGEX_FLAGS))
                         for source, rule in first.items()))

    def match(self, name: str) -> str | None:
        """The first rule (in file order) whose pattern is found in ``name``, or None."""
        hits = []
        if self.general is not None and self.general.found(name):
            hits.append(self.general)
        if self.by_suffix:
            dot = name.rfind(".")
            if dot > 0:
                for key in (name[dot + 1:], name[name.rfind(".", 0, dot) + 1:]):
                    found = self.by_suffix.get(key)
                    if found is not None and found.found(name):
                        hits.append(found)
        if not hits:
            return None
        for i in sorted(i for group in hits for i in group.members):
            rule, pattern = self.rules[i]
            if pattern.search(name) is not None:
                return rule
        return None  # pragma: no cover - a group matched, so one of its rules does


@dataclass(frozen=True, slots=True)
class Verdicts:
    """One profile's view of the index: for each combo, the list that decides.

    ``block_exact[c]`` is the first enabled block list in combo ``c`` (any match mode),
    used when the entry equals the queried name; ``block_suffix[c]`` only considers
    suffix-matching lists, used for parent names. Likewise for allow lists.
    ``allow_patterns`` and ``block_patterns`` are the pattern sets of the enabled lists,
    by list id (empty when those lists have no regex or wildcard entries).
    """

    block_exact: tuple[int, ...]
    block_suffix: tuple[int, ...]
    allow_exact: tuple[int, ...]
    allow_suffix: tuple[int, ...]
    allow_patterns: tuple[PatternSet, ...] = ()
    block_patterns: tuple[PatternSet, ...] = ()
    block_networks: tuple[tuple[int, tuple[Network, ...]], ...] = ()
    # Whether any combo has an allow list (derived): without one a lookup stops at a block.
    any_allow: bool = field(init=False, default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "any_allow", any(
            lid != NO_LIST for lid in (*self.allow_exact, *self.allow_suffix)))


@dataclass(frozen=True)
class DomainIndex:
    hashes: np.ndarray  # int64, sorted, unique
    combos: np.ndarray  # uint16 (or uint32), parallel to hashes
    combo_lists: tuple[tuple[int, ...], ...]
    lists: tuple[LoadedList, ...]
    psl: PublicSuffixList
    build_seconds: float = 0.0
    patterns: tuple[PatternSet, ...] = ()  # by list id; only lists that have some
    networks: tuple[tuple[int, tuple[Network, ...]], ...] = ()  # (list id, address rules)
    # Derived, for ``_combo_of``: where each bucket of hashes (by their top bits) starts in
    # ``hashes`` (uint32, about 1.2 bytes per name), and views that index to Python ints.
    _starts: memoryview = field(init=False, repr=False, compare=False)
    _hash_view: memoryview = field(init=False, repr=False, compare=False)
    _combo_view: memoryview = field(init=False, repr=False, compare=False)
    _shift: int = field(init=False, default=63, repr=False, compare=False)
    _offset: int = field(init=False, default=1, repr=False, compare=False)
    # (shift, offset, starts, hash view, combo view): what ``lookup`` reads, in one tuple.
    _probe: tuple[int, int, memoryview, memoryview, memoryview] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Buckets of about four names: a probe reads one bucket, not a binary search's
        # scattered cache lines over the whole array.
        bits = max(8, min(24, (int(self.hashes.shape[0]) // 4).bit_length()))
        shift, offset = 64 - bits, 1 << (bits - 1)
        hashes = np.ascontiguousarray(self.hashes, dtype=np.int64)
        top = (hashes >> shift) + offset  # 0 … 2**bits - 1, ascending with the hashes
        starts = np.searchsorted(top, np.arange((1 << bits) + 1)).astype(np.uint32)
        setattr_ = object.__setattr__
        setattr_(self, "_shift", shift)
        setattr_(self, "_offset", offset)
        setattr_(self, "_starts", starts.data)
        setattr_(self, "_hash_view", hashes.data)
        setattr_(self, "_combo_view", np.ascontiguousarray(self.combos).data)
        setattr_(self, "_probe", (shift, offset, self._starts, self._hash_view,
                                  self._combo_view))

    @property
    def probe(self) -> tuple[int, int, memoryview, memoryview, memoryview]:
        """(shift, offset, bucket starts, hashes, combos): how ``lookup`` finds a name's hash,
        for the gate's native answer to exactly listed names (gate/fastblock.py)."""
        return self._probe

    def _combo_of(self, h: int) -> int:
        """The combo id of the name whose hash is ``h``, or -1 (``find`` by hash)."""
        bucket = (h >> self._shift) + self._offset
        starts, view = self._starts, self._hash_view
        end = starts[bucket + 1]
        pos = bisect_left(view, h, starts[bucket], end)
        if pos < end and view[pos] == h:  # past the bucket: a hash with other top bits
            return int(self._combo_view[pos])
        return -1

    @property
    def size(self) -> int:
        return int(self.hashes.shape[0])

    def memory_bytes(self) -> int:
        return int(self.hashes.nbytes + self.combos.nbytes)

    def find(self, name: str) -> int:
        """Combo id of ``name`` if it is in any list, else -1."""
        return self._combo_of(hash(name))

    def verdicts(self, enabled: Iterable[int]) -> Verdicts:
        """Compile which lists decide for a profile that enables list ids ``enabled``."""
        on = frozenset(enabled)
        be: list[int] = []
        bs: list[int] = []
        ae: list[int] = []
        als: list[int] = []
        for members in self.combo_lists:
            first_be = first_bs = first_ae = first_as = NO_LIST
            for lid in members:
                if lid not in on:
                    continue
                spec = self.lists[lid].spec
                if spec.role == "allow":
                    if first_ae == NO_LIST:
                        first_ae = lid
                    if spec.match == "suffix" and first_as == NO_LIST:
                        first_as = lid
                else:
                    if first_be == NO_LIST:
                        first_be = lid
                    if spec.match == "suffix" and first_bs == NO_LIST:
                        first_bs = lid
            be.append(first_be)
            bs.append(first_bs)
            ae.append(first_ae)
            als.append(first_as)
        enabled_patterns = [ps for ps in self.patterns if ps.list_id in on]
        return Verdicts(tuple(be), tuple(bs), tuple(ae), tuple(als),
                        tuple(ps for ps in enabled_patterns if ps.allow),
                        tuple(ps for ps in enabled_patterns if not ps.allow),
                        tuple(item for item in self.networks if item[0] in on))

    @staticmethod
    def lookup_address(raw: bytes, verdicts: Verdicts) -> Hit | None:
        """The enabled block list whose address rule covers an answer's A/AAAA data."""
        if not verdicts.block_networks:
            return None
        addr = ipaddress.ip_address(raw)
        for list_id, nets in verdicts.block_networks:
            for net in nets:
                if addr.version == net.version and addr in net:
                    return Hit(list_id, str(net), False)
        return None

    def lookup(self, name: str, verdicts: Verdicts,
               names: list[str] | None = None) -> Hit | None:
        """The deciding hit for ``name`` under ``verdicts``: an allow anywhere on the
        suffix walk beats a block; among blocks the most specific name wins.

        The walk goes from the full name up to its registrable domain and never to a
        public suffix, so a list entry that is a public suffix only matches itself.
        Patterns (regex and wildcard entries) match the whole name; they are searched
        only when the walk allowed nothing: allow patterns, then (when the walk found no
        block either) block patterns, each by list id. ``names``: ``psl.suffixes(name)``
        when the caller has it already.
        """
        block: Hit | None = None
        combo_of = self._combo_of
        # ``_combo_of(hash(name))``, inline: most lookups of a blocked name end here.
        shift, offset, starts, view, combo_view = self._probe
        h = hash(name)
        bucket = (h >> shift) + offset
        end = starts[bucket + 1]
        pos = bisect_left(view, h, starts[bucket], end)
        if pos < end and view[pos] == h:
            combo = combo_view[pos]
            a = verdicts.allow_exact[combo]
            if a != NO_LIST:
                return _new_hit(Hit, (a, name, True))
            b = verdicts.block_exact[combo]
            if b != NO_LIST:
                if not verdicts.any_allow and not verdicts.allow_patterns:
                    return _new_hit(Hit, (b, name, False))  # nothing could beat it
                block = _new_hit(Hit, (b, name, False))
        # Parents can only add an allow, or a block when none was found yet: without any
        # allow list enabled, the walk ends at the first block.
        if (block is None or verdicts.any_allow) and "." in name:
            if names is None:
                names = suffixes(name)
            stop = self.psl.registrable_count(names)
            last = len(names) - stop if stop else 0
            for i in range(1, last + 1):
                cand = names[i]
                combo = combo_of(hash(cand))
                if combo < 0:
                    continue
                a = verdicts.allow_suffix[combo]
                if a != NO_LIST:
                    return _new_hit(Hit, (a, cand, True))
                if block is None:
                    b = verdicts.block_suffix[combo]
                    if b != NO_LIST:
                        block = _new_hit(Hit, (b, cand, False))
                        if not verdicts.any_allow:
                            break
        if verdicts.allow_patterns or (block is None and verdicts.block_patterns):
            return self._pattern_lookup(name, verdicts, block)
        return block

    @staticmethod
    def _pattern_lookup(name: str, verdicts: Verdicts, block: Hit | None) -> Hit | None:
        for patterns in verdicts.allow_patterns:
            rule = patterns.match(name)
            if rule is not None:
                return Hit(patterns.list_id, rule, True)
        if block is not None:
            return block
        for patterns in verdicts.block_patterns:
            rule = patterns.match(name)
            if rule is not None:
                return Hit(patterns.list_id, rule, False)
        return None

    def names_of(self, list_id: int) -> str:
        return self.lists[list_id].spec.key


def _distinct_sorted(values: np.ndarray) -> np.ndarray:
    """``values`` sorted (in place: pass an array nobody else uses), without repeats;
    ``np.unique`` without its hashing overhead or extra copy."""
    values.sort()
    if values.shape[0] < 2:
        return values
    keep = np.empty(values.shape[0], dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values if keep.all() else values[keep]


SKIP_ALLOW_IN_BLOCK_LIST = "exception (@@) rule in a block list"


def _read_list(spec: ListSpec, report: ParseReport) -> tuple[np.ndarray, list[Entry]]:
    """The sorted, distinct hashes of one list's names and its pattern and address entries
    (``ListFileError`` if unreadable). In a block list, "@@" exceptions are reported and
    not used; in an allow list every entry allows."""
    parts: list[np.ndarray] = []
    patterns: list[Entry] = []
    network_count = 0
    for names, allow_names, batch_patterns in iter_batches(spec.path, report):
        if allow_names and spec.role != "allow":
            report.allow_entries -= len(allow_names)
            for name in allow_names:
                report.skip(SKIP_ALLOW_IN_BLOCK_LIST, name)
            allow_names = []
        for entry in batch_patterns:
            if entry.network is not None:
                if spec.role == "allow":
                    report.entries -= 1
                    report.skip(SKIP_NETWORK_IN_ALLOW_LIST, entry.domain)
                elif network_count >= MAX_NETWORKS_PER_LIST:
                    report.entries -= 1
                    report.skip(SKIP_TOO_MANY_NETWORKS, entry.domain)
                else:
                    network_count += 1
                    patterns.append(entry)
            elif entry.allow and spec.role != "allow":
                report.allow_entries -= 1
                report.patterns -= 1
                report.skip(SKIP_ALLOW_IN_BLOCK_LIST, entry.domain)
            else:
                patterns.append(entry)
        for batch in (names, allow_names):
            if batch:
                parts.append(np.fromiter(map(hash, batch), dtype=np.int64, count=len(batch)))
    if not parts:
        return np.zeros(0, dtype=np.int64), patterns
    return _distinct_sorted(np.concatenate(parts) if len(parts) > 1 else parts[0]), patterns


def _unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and, for each value, its position among them."""
    distinct = _distinct_sorted(values.copy())
    return distinct, np.searchsorted(distinct, values)


def _combos(uniq: np.ndarray, lists: Sequence[np.ndarray]) -> tuple[
        np.ndarray, tuple[tuple[int, ...], ...]]:
    """The combo id of every name in ``uniq`` (sorted distinct hashes) given each list's
    sorted distinct hashes, and the table of combos: combo ``i < len(lists)`` is ``(i,)``;
    sets of several lists follow, ordered by their bitmask.

    Vectorised: a name's set of lists is a bitmask (one uint64 word per 64 lists) set by
    one ``searchsorted`` per list; the distinct masks are found by sorting.
    """
    n_lists = len(lists)
    words = max(1, (n_lists + 63) // 64)
    masks = np.zeros((words, uniq.shape[0]), dtype=np.uint64)
    for lid, hashes in enumerate(lists):
        if hashes.shape[0]:
            masks[lid // 64, np.searchsorted(uniq, hashes)] |= np.uint64(1 << (lid % 64))
    # Each word's distinct values, and one small integer key per distinct whole mask.
    word_values: list[np.ndarray] = []
    key = np.zeros(uniq.shape[0], dtype=np.int64)
    for w in range(words):
        values, inverse = _unique_inverse(masks[w])
        word_values.append(values)
        key = key * values.shape[0] + inverse
    del masks
    keys, key = _unique_inverse(key)
    table: list[tuple[int, ...]] = [(lid,) for lid in range(n_lists)]
    lut = np.zeros(keys.shape[0], dtype=np.uint32)
    for u, k in enumerate(keys.tolist()):
        members: list[int] = []
        for w in range(words - 1, -1, -1):  # the key holds the last word's index lowest
            k, index = divmod(k, word_values[w].shape[0])
            bits = int(word_values[w][index])
            members += [w * 64 + b for b in range(64) if bits >> b & 1]
        members.sort()
        if len(members) == 1:
            lut[u] = members[0]
        else:
            lut[u] = len(table)
            table.append(tuple(members))
    return lut[key], tuple(table)


def build_index(specs: Sequence[ListSpec], psl: PublicSuffixList) -> DomainIndex:
    """Read every list (streaming) and compile the index. A list that cannot be read is
    recorded with its error and contributes nothing; the others still load."""
    started = time.perf_counter()
    lists: list[np.ndarray] = []
    loaded: list[LoadedList] = []
    pattern_sets: list[PatternSet] = []
    network_sets: list[tuple[int, tuple[Network, ...]]] = []
    for lid, spec in enumerate(specs):
        report = ParseReport()
        try:
            hashes, patterns = _read_list(spec, report)
        except ListFileError as exc:
            log.error("list %s not loaded: %s", spec.key, exc)
            loaded.append(LoadedList(spec, 0, 0, dict(report.skipped), str(exc)))
            hashes = np.zeros(0, dtype=np.int64)
        else:
            pattern_set = None
            nets = tuple(ipaddress.ip_network(e.network) for e in patterns if e.network)
            if nets:
                network_sets.append((lid, nets))
                patterns = [e for e in patterns if e.network is None]
            if patterns:
                pattern_set = PatternSet.compile(lid, spec.role == "allow", patterns)
                pattern_sets.append(pattern_set)
            loaded.append(LoadedList(
                spec, report.entries, report.allow_entries, dict(report.skipped), None,
                len(pattern_set.rules) if pattern_set else 0))
        lists.append(hashes)
    uniq = _distinct_sorted(np.concatenate(lists)) if lists else np.zeros(0, dtype=np.int64)
    combo_ids, combo_lists = _combos(uniq, lists)
    del lists
    dtype = np.uint16 if len(combo_lists) < 65536 else np.uint32
    index = DomainIndex(
        hashes=np.ascontiguousarray(uniq),
        combos=combo_ids.astype(dtype),
        combo_lists=combo_lists,
        lists=tuple(loaded),
        psl=psl,
        build_seconds=time.perf_counter() - started,
        patterns=tuple(pattern_sets),
        networks=tuple(network_sets),
    )
    log.info("index: %d names from %d lists in %.2f s", index.size, len(specs),
             index.build_seconds)
    return index
