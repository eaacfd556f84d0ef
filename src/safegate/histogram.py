"""A latency histogram in the shape Prometheus expects: counts per upper bound (seconds),
their sum and their count. Observing is one bisect and three additions, so the gate's
upstream pool and the web's request middleware can both afford it on every exchange.
Not locked: each instance is written from one thread only (the gate's event loop; the
web's middleware holds its own lock)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# From a cached answer (a millisecond) to an upstream timing out (seconds).
LATENCY_BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True, slots=True)
class Reading:
    """A histogram at one moment: ``buckets`` are (upper bound, observations at or below
    it), cumulative as in the Prometheus text format; +Inf is ``count``."""

    buckets: tuple[tuple[float, int], ...]
    sum: float
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"buckets": [[le, n] for le, n in self.buckets], "sum": self.sum,
                "count": self.count}


class Histogram:
    __slots__ = ("bounds", "counts", "sum", "count")

    def __init__(self, bounds: Sequence[float] = LATENCY_BOUNDS) -> None:
        if not bounds or list(bounds) != sorted(set(bounds)):
            raise ValueError("histogram bounds must be distinct and increasing")
        self.bounds = tuple(float(b) for b in bounds)
        self.counts = [0] * len(self.bounds)
        self.sum = 0.0
        self.count = 0

    def observe(self, seconds: float) -> None:
        i = bisect_left(self.bounds, seconds)  # a value equal to a bound is in its bucket
        if i < len(self.counts):
            self.counts[i] += 1
        self.sum += seconds
        self.count += 1

    def reading(self) -> Reading:
        """Safe to take from another thread than the writer's: it may miss the observation
        being made, but +Inf never falls below the last bucket."""
        running, buckets = 0, []
        for bound, n in zip(self.bounds, list(self.counts), strict=True):
            running += n
            buckets.append((bound, running))
        return Reading(tuple(buckets), self.sum, max(self.count, running))
