"""The query log's batch → window → rows, through ``QueryLog`` and a sink that keeps them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from safegate.gate.querylog import QueryLog


class Memoised:
    """What the hot path appends for a memo hit: an object that carries the record."""

    def __init__(self, record: tuple[Any, ...]) -> None:
        self.record = record


def _rows(batch: list[tuple[str, Any]], window: float = 3600.0) -> list[tuple[Any, ...]]:
    kept: list[tuple[Any, ...]] = []

    def sink(rows: Sequence[Any]) -> int:
        kept.extend(rows)
        return len(rows)

    log = QueryLog(sink, 1000, 1.0, window=window)
    for ip, item in batch:
        log.batch.append(ip)
        log.batch.append(item)
    log._fold()
    asyncio.run(log._write(force=True))
    return kept


def test_full_rows_keep_each_client_and_count_repeats() -> None:
    blocked = (7, "bad.example", 1, "block", "adult:list:bad.example", "full")
    allowed = (7, "ok.example", 1, "allow", None, "full")
    memo = Memoised(blocked)
    again = Memoised(blocked)  # the same answer memoised anew (after an eviction)
    rows = _rows([("10.0.0.1", memo), ("10.0.0.1", memo), ("10.0.0.2", blocked),
                  ("10.0.0.1", allowed), ("10.0.0.1", blocked), ("10.0.0.1", again)])
    counts = {(r[1], r[3], r[5]): r[7] for r in rows}
    assert len(rows) == 3
    # Memoised records and an equal record built on a miss are the same row.
    assert counts == {("10.0.0.1", "bad.example", "block"): 4,
                      ("10.0.0.2", "bad.example", "block"): 1,
                      ("10.0.0.1", "ok.example", "allow"): 1}
    assert {r[0] for r in rows} == {rows[0][0]}  # every row carries the window's start
    assert all(r[2] == 7 and r[4] == 1 for r in rows)


def test_domains_rows_merge_clients_and_keep_only_the_hour() -> None:
    record = (8, "game.example", 1, "allow", None, "domains")
    full = (9, "game.example", 1, "allow", None, "full")
    rows = _rows([("10.0.0.1", record), ("10.0.0.2", Memoised(record)), ("10.0.0.3", record),
                  ("10.0.0.4", full)], window=10.0)
    by_profile = {r[2]: r for r in rows}
    assert len(rows) == 2
    merged = by_profile[8]
    assert merged[1] == "" and merged[7] == 3  # no client address, the three queries
    assert merged[0] % 3600 == 0  # the hour only
    assert by_profile[9][1] == "10.0.0.4" and by_profile[9][7] == 1


def test_off_records_are_never_written() -> None:
    rows = _rows([("10.0.0.1", (5, "x.example", 1, "allow", None, "off"))])
    assert rows == []
