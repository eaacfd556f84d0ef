# The interface of gate/_fastblock.c (see gate/fastblock.py).
from collections import OrderedDict
from typing import Any

class Table:
    def __init__(self, *, starts: Any, hashes: Any, combos: Any, shift: int, offset: int,
                 blocks: Any, parent_blocks: Any, psl_rules: frozenset[str],
                 psl_wildcards: frozenset[str], psl_exceptions: frozenset[str],
                 lists: tuple[tuple[str, str, bool] | None, ...],
                 guard: frozenset[str], special: frozenset[str],
                 claimed: frozenset[str], live: Any,
                 valid_from: float, valid_until: float, enabled: bool,
                 bodies: tuple[tuple[int, bytes, int, int], ...],
                 memo: OrderedDict[bytes, Any], memo_limit: int, batch: list[Any],
                 memo_seconds: float, profile_id: int | None, level: str | None, stats: Any,
                 by_category: dict[str, int], fixed: type, udp_payload: int,
                 max_size: int) -> None: ...
    def answer(self, data: bytes, ip: str, /) -> bytes | bool | None: ...
