"""The native answer to a memo miss of a listed blocked name (``_fastblock.c``).

A cold mix (every list name once, what an ISP's resolver sees all day) misses the memo on
every query, and the Python pipeline (parse, decide, build, count, log, memoise) was most
of what such a query cost. For a profile whose state makes ``policy.decide`` answer those
names from the lists alone (``list_blocks_decide``), ``table_for`` builds a ``Table`` that
does the same work in C for one query at a time, and leaves everything it is not sure of
to the pipeline (see the C file's header). A table belongs to one profile and one
computation of its time-dependent state; its ``answer`` returns False once that state has
been recomputed, and the gate builds the next one.

Without the compiled module (no C compiler when the package was installed) ``NATIVE`` is
False, ``table_for`` returns None and the pipeline answers every query, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from safegate.gate import answers, wire
from safegate.lists.guard import guard_names
from safegate.lists.index import NO_LIST, DomainIndex
from safegate.policy.compiled import CompiledProfile
from safegate.policy.decide import CANARY, PRIVATE_RELAY, claimed, list_blocks_decide
from safegate.policy.timestate import Live

try:
    from safegate.gate._fastblock import Table as _Table
except ImportError:  # built without a C compiler: the pipeline answers everything
    _Table = None  # type: ignore[assignment,misc]

Table: type[_Table] | None = _Table
NATIVE = Table is not None
SPECIAL = frozenset({CANARY, *PRIVATE_RELAY})  # names with rules before the lists
KINDS = (wire.TYPE_A, wire.TYPE_AAAA, 0)  # the bodies' order: A, AAAA, any other type

Answer = Callable[[bytes, str], "bytes | bool | None"]


def _list_info(index: DomainIndex) -> tuple[tuple[str, str, bool] | None, ...]:
    """By list id: the reason's prefix (the reason is the prefix and the name), the key its
    blocks are counted under, and whether the never-block guard applies (what
    ``decide`` and ``Gate._blocked`` make of a block by that list)."""
    out: list[tuple[str, str, bool] | None] = []
    for loaded in index.lists:
        spec = loaded.spec
        category = spec.category
        prefix = f"{spec.key}:" if category is None else f"{category}:{spec.key}:"
        out.append((prefix, category or "other", category != "custom"))
    return tuple(out)


def _blocks(verdicts: Any) -> tuple[np.ndarray, np.ndarray]:
    """By combo: the list whose entry blocks the name itself, and the suffix list whose entry
    blocks the names under it; -1 where an allow list decides or no enabled list has it."""
    def masked(block: tuple[int, ...], allow: tuple[int, ...]) -> np.ndarray:
        blocks, allows = np.asarray(block, dtype=np.int32), np.asarray(allow, dtype=np.int32)
        return np.where(allows == NO_LIST, blocks, NO_LIST).astype(np.int32)

    return (masked(verdicts.block_exact, verdicts.allow_exact),
            masked(verdicts.block_suffix, verdicts.allow_suffix))


def table_for(profile: CompiledProfile, live: Live, index: DomainIndex, *,
              style: answers.BlockStyle, stats: Any, batch: list[Any], fixed: type,
              memo_size: int, memo_seconds: float, shared: dict[Any, Any]) -> Answer | None:
    """The native answer for ``profile`` in the state ``live`` holds now (computed: see
    ``policy.timestate.current``), or None without the native module. It answers nothing
    (returns None for every query) when the state is not ``list_blocks_decide``, and still
    reports (False) when that state is recomputed. ``shared``: what tables of the same
    snapshot share (the lists' reasons, the blocks of each ``Verdicts``, equal sets of
    claimed names), kept by the caller and emptied with the snapshot."""
    if Table is None:
        return None
    enabled = list_blocks_decide(profile, live)
    verdicts = live.verdicts if live.verdicts is not None else profile.verdicts
    lists = shared.get(id(index))
    if lists is None or lists[0] is not index:
        lists = shared[id(index)] = (index, _list_info(index))
    blocks = shared.get(id(verdicts))
    if blocks is None or blocks[0] is not verdicts:
        blocks = shared[id(verdicts)] = (verdicts, _blocks(verdicts))
    names = claimed(profile, live)
    names = shared.setdefault(names, names)  # children with the same rules share one set
    shift, offset, starts, hashes, combos = index.probe
    mode = profile.block_mode or "null"
    bodies = tuple(answers.block_body(style, mode, kind) for kind in KINDS)
    table = Table(
        starts=starts, hashes=hashes, combos=combos, shift=shift, offset=offset,
        blocks=blocks[1][0].data, parent_blocks=blocks[1][1].data,
        psl_rules=index.psl.rules, psl_wildcards=index.psl.wildcards,
        psl_exceptions=index.psl.exceptions, lists=lists[1], guard=guard_names(),
        special=SPECIAL, claimed=names, live=live,
        valid_from=live.valid_from, valid_until=live.valid_until, enabled=enabled,
        bodies=bodies, memo=profile.memo, memo_limit=memo_size, memo_seconds=memo_seconds,
        batch=batch, profile_id=profile.id,
        level=None if profile.log_level == "off" else profile.log_level, stats=stats,
        by_category=stats.blocked_by_category, fixed=fixed,
        udp_payload=wire.DEFAULT_UDP_PAYLOAD, max_size=wire.MIN_UDP_PAYLOAD)
    answer: Answer = table.answer
    return answer
