"""The compiled domain index: every list entry as a 64-bit hash in one sorted array.

Each distinct name is stored once: an ``int64`` hash (8 bytes) and a ``uint16`` *combo*
id (2 bytes) naming the set of lists that contain it. A profile compiles, per combo, which
of its enabled lists blocks or allows the name (``Verdicts``), so a lookup is a few hash
probes along the name's suffix walk and a tuple index, with no per-profile copy of the
lists. Hashes are Python's ``hash(str)``: the index is built in the process that uses it
and never persisted, so the per-process hash seed does not matter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from safegate.lists.parse import ListFileError, ParseReport, iter_entries
from safegate.lists.psl import PublicSuffixList
from safegate.lists.sources import ListSpec

log = logging.getLogger(__name__)

NO_LIST = -1


@dataclass(frozen=True, slots=True)
class LoadedList:
    """A list as it went into the index, with what happened to its lines."""

    spec: ListSpec
    entries: int
    allow_entries: int
    skipped: dict[str, int]
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """Why a name matched: the list, the entry that matched and whether it blocks."""

    list_id: int
    entry: str
    allow: bool


@dataclass(frozen=True, slots=True)
class Verdicts:
    """One profile's view of the index: for each combo, the list that decides.

    ``block_exact[c]`` is the first enabled block list in combo ``c`` (any match mode),
    used when the entry equals the queried name; ``block_suffix[c]`` only considers
    suffix-matching lists, used for parent names. Likewise for allow lists.
    """

    block_exact: tuple[int, ...]
    block_suffix: tuple[int, ...]
    allow_exact: tuple[int, ...]
    allow_suffix: tuple[int, ...]


@dataclass(frozen=True)
class DomainIndex:
    hashes: np.ndarray  # int64, sorted, unique
    combos: np.ndarray  # uint16 (or uint32), parallel to hashes
    combo_lists: tuple[tuple[int, ...], ...]
    lists: tuple[LoadedList, ...]
    psl: PublicSuffixList
    build_seconds: float = 0.0

    @property
    def size(self) -> int:
        return int(self.hashes.shape[0])

    def memory_bytes(self) -> int:
        return int(self.hashes.nbytes + self.combos.nbytes)

    def find(self, name: str) -> int:
        """Combo id of ``name`` if it is in any list, else -1."""
        h = hash(name)
        arr = self.hashes
        i = int(np.searchsorted(arr, h))
        if i < arr.shape[0] and arr[i] == h:
            return int(self.combos[i])
        return -1

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
        return Verdicts(tuple(be), tuple(bs), tuple(ae), tuple(als))

    def lookup(self, name: str, verdicts: Verdicts) -> Hit | None:
        """The deciding hit for ``name`` under ``verdicts``: an allow anywhere on the
        suffix walk beats a block; among blocks the most specific name wins.

        The walk goes from the full name up to its registrable domain and never to a
        public suffix, so a list entry that is a public suffix only matches itself.
        """
        labels = name.split(".")
        stop = self.psl.registrable_labels(name)
        last = len(labels) - stop if stop else 0
        block: Hit | None = None
        arr = self.hashes
        n = arr.shape[0]
        for i in range(last + 1):
            cand = name if i == 0 else ".".join(labels[i:])
            h = hash(cand)
            pos = int(np.searchsorted(arr, h))
            if pos >= n or arr[pos] != h:
                continue
            combo = int(self.combos[pos])
            if i == 0:
                a, b = verdicts.allow_exact[combo], verdicts.block_exact[combo]
            else:
                a, b = verdicts.allow_suffix[combo], verdicts.block_suffix[combo]
            if a != NO_LIST:
                return Hit(a, cand, True)
            if b != NO_LIST and block is None:
                block = Hit(b, cand, False)
        return block

    def names_of(self, list_id: int) -> str:
        return self.lists[list_id].spec.key


def build_index(specs: Sequence[ListSpec], psl: PublicSuffixList) -> DomainIndex:
    """Read every list (streaming) and compile the index. A list that cannot be read is
    recorded with its error and contributes nothing; the others still load."""
    started = time.perf_counter()
    chunks_h: list[np.ndarray] = []
    chunks_l: list[np.ndarray] = []
    loaded: list[LoadedList] = []
    for lid, spec in enumerate(specs):
        report = ParseReport()
        hashes: list[int] = []
        try:
            for entry in iter_entries(spec.path, report):
                if entry.allow and spec.role != "allow":
                    report.skip("exception (@@) rule in a block list", entry.domain)
                    continue
                hashes.append(hash(entry.domain))
        except ListFileError as exc:
            log.error("list %s not loaded: %s", spec.key, exc)
            loaded.append(LoadedList(spec, 0, 0, dict(report.skipped), str(exc)))
            continue
        arr = np.fromiter(hashes, dtype=np.int64, count=len(hashes))
        del hashes
        chunks_h.append(arr)
        chunks_l.append(np.full(arr.shape[0], lid, dtype=np.uint16))
        loaded.append(
            LoadedList(spec, report.entries, report.allow_entries, dict(report.skipped))
        )
    if chunks_h:
        all_h = np.concatenate(chunks_h)
        all_l = np.concatenate(chunks_l)
    else:
        all_h = np.zeros(0, dtype=np.int64)
        all_l = np.zeros(0, dtype=np.uint16)
    del chunks_h, chunks_l
    order = np.lexsort((all_l, all_h))
    all_h = all_h[order]
    all_l = all_l[order]
    del order
    # Each run of equal hashes becomes one entry; its set of lists becomes a combo.
    starts = np.flatnonzero(np.r_[True, all_h[1:] != all_h[:-1]]) if all_h.size else all_h
    uniq = all_h[starts] if all_h.size else all_h
    combo_ids = np.zeros(uniq.shape[0], dtype=np.uint32)
    combo_table: dict[tuple[int, ...], int] = {}
    single = np.r_[starts[1:] - starts[:-1], all_h.size - starts[-1]] == 1 if all_h.size else starts
    # Fast path: names in exactly one list map to the combo (list,).
    for lid in range(len(specs)):
        combo_table.setdefault((lid,), len(combo_table))
    if all_h.size:
        single_lists = all_l[starts[single]]
        lut = np.array([combo_table[(lid,)] for lid in range(len(specs))], dtype=np.uint32)
        combo_ids[single] = lut[single_lists]
        for k in np.flatnonzero(~single):
            s = starts[k]
            e = starts[k + 1] if k + 1 < starts.shape[0] else all_h.size
            key = tuple(sorted(set(all_l[s:e].tolist())))
            cid = combo_table.get(key)
            if cid is None:
                cid = combo_table[key] = len(combo_table)
            combo_ids[k] = cid
    dtype = np.uint16 if len(combo_table) < 65536 else np.uint32
    combos = combo_ids.astype(dtype)
    del all_h, all_l, combo_ids
    combo_lists = tuple(sorted(combo_table, key=combo_table.__getitem__))
    index = DomainIndex(
        hashes=np.ascontiguousarray(uniq),
        combos=combos,
        combo_lists=combo_lists,
        lists=tuple(loaded),
        psl=psl,
        build_seconds=time.perf_counter() - started,
    )
    log.info("index: %d names from %d lists in %.2f s", index.size, len(specs),
             index.build_seconds)
    return index
