"""The query log: the hot path appends two references (the client address and the
answer's log record, or the memoised answer that carries it) to an in-memory batch; a
background task on the same event loop folds the batch into per-window counts and
writes one row per (client, name, type, action) and window from a worker thread.

Keeping logs minimal is a privacy rule here, and it is also what keeps logging cheap:
a row says "in the 10 seconds from 10:42:10 this device asked for tiktok.com 3 times and
was blocked", never one row per packet. A slow or broken store never slows or stops the
gate: a full batch drops new records, a failed write drops its rows, and both are counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

# (window start, client ip, profile id, qname, qtype, action, reason, count)
Row = tuple[float, str, int | None, str, int, str, str | None, int]
# A record: (profile id, qname, qtype, action, reason, log level), built once per
# memoised answer, not once per query. The batch holds ip, item, ip, item, … where an
# item is a record or an object with a ``record`` attribute (a memoised answer, hashed by
# identity). A window counts (ip, item) pairs as they come, in C; the records are looked
# up once per pair and window when its rows are made, not once per pair and flush.
Item = tuple[str, Any]


def window_rows(window_start: float, counts: Counter[Item]) -> list[Row]:
    """Rows for one window, applying each profile's log level: ``domains`` keeps no
    client address and only the hour; ``off`` keeps nothing (and is never appended).
    ``counts`` is the window's own (it is changed: memoised answers become their records).

    A ``full`` row is one (client, record) key (equal records are one key, and the level is
    part of the record): it needs no more merging. Only the keys of memoised answers (few:
    one per answer and client, however often it was served) are re-keyed by their record,
    so a window of distinct names is turned into rows in two passes that run in C."""
    memoised = [key for key in counts if type(key[1]) is not tuple]
    for key in memoised:
        n = counts.pop(key)
        by_record = (key[0], key[1].record)
        counts[by_record] = counts.get(by_record, 0) + n
    rows: list[Row] = [(window_start, ip, record[0], record[1], record[2], record[3],
                        record[4], n)
                       for (ip, record), n in counts.items() if record[5] == "full"]
    if len(rows) < len(counts):
        # ``domains`` rows drop the client and the minutes, so several keys can make one row.
        hour = window_start - window_start % 3600
        merged: Counter[tuple[Any, ...]] = Counter()
        for (_, (profile_id, qname, qtype, action, reason, level)), n in counts.items():
            if level == "domains":
                merged[(hour, "", profile_id, qname, qtype, action, reason)] += n
        rows.extend((*key, n) for key, n in merged.items())
    return rows


class _WriteFailed(Exception):
    """The sink refused a window's ``rows`` rows (the cause is the sink's error)."""

    def __init__(self, rows: int) -> None:
        super().__init__(rows)
        self.rows = rows


class QueryLog:
    def __init__(
        self,
        sink: Callable[[Sequence[Row]], int] | None,
        ring_size: int,
        flush_interval: float,
        window: float = 10.0,
    ) -> None:
        self.batch: list[Any] = []  # never replaced: the hot path keeps its append method
        self.capacity = ring_size
        self.sink = sink
        self.flush_interval = flush_interval
        self.window = max(window, flush_interval)
        self.dropped = 0  # records refused because the batch was full, or rows not written
        self.written = 0
        self.queries = 0
        self._counts: Counter[Item] = Counter()
        self._window_start = time.time()
        self._task: asyncio.Task[None] | None = None
        self._last_error_log = 0.0

    def add(self, ip: str, record: tuple[Any, ...]) -> None:
        """What the slow path calls; the hot path appends the same two items itself."""
        self.batch.append(ip)
        self.batch.append(record)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._fold()
        await self._write(force=True)  # the last window on orderly shutdown

    def _fold(self) -> None:
        """Count the batch into the current window. Runs on the event loop, so the hot
        path never sees a half-emptied batch."""
        batch = self.batch
        items = batch[:]
        batch.clear()
        limit = 2 * self.capacity
        if len(items) > limit:  # more than a flush interval can hold: drop the newest
            self.dropped += (len(items) - limit) // 2
            del items[limit:]
        self.queries += len(items) // 2
        if self.sink is None or not items:
            return
        it = iter(items)
        self._counts.update(zip(it, it, strict=False))

    async def _write(self, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._window_start < self.window:
            return
        counts, self._counts = self._counts, Counter()
        start, self._window_start = self._window_start, now
        if not counts or self.sink is None:
            return
        window_start = start - start % self.window if self.window >= 1 else start
        try:
            # The rows are made in the worker thread too: a window of many distinct names
            # would otherwise hold up the event loop while they are made.
            written = await asyncio.get_running_loop().run_in_executor(
                None, self._write_window, window_start, counts)
            self.written += written
        except Exception as exc:  # the store is down or full: count, keep serving
            self.dropped += exc.rows if isinstance(exc, _WriteFailed) else 0
            cause = exc.__cause__ if isinstance(exc, _WriteFailed) else exc
            if now - self._last_error_log > 30:
                self._last_error_log = now
                log.error("query log write failed (%d records dropped so far): %s",
                          self.dropped, cause)

    def _write_window(self, window_start: float, counts: Counter[Item]) -> int:
        """The window's rows through the sink (in a worker thread); how many it wrote."""
        rows = window_rows(window_start, counts)
        if not rows:
            return 0
        assert self.sink is not None
        try:
            return self.sink(rows)
        except Exception as exc:
            raise _WriteFailed(len(rows)) from exc

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            self._fold()
            await self._write()
