"""The shared answer cache: TTL-respecting, negative caching (RFC 2308), serve-stale
(RFC 8767) and bounded in size (oldest inserted entry evicted first)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from safegate.gate import wire
from safegate.gate.wire import Scanned

CacheKey = tuple[bytes, bool, bool]  # (lowercased question bytes, DO, CD)
NO_SOA_NEGATIVE_TTL = 5  # RFC 2308 §5: without an SOA, cache only briefly


@dataclass(slots=True)
class CacheEntry:
    scanned: Scanned
    stored: float  # monotonic time of insertion
    ttl: int  # seconds the entry is fresh

    @property
    def expires(self) -> float:
        """Monotonic time at which the entry stops being fresh."""
        return self.stored + self.ttl

    def tail_at(self, now: float, ahead: int = 0) -> bytes:
        """Answer sections with TTLs reduced by the time spent in the cache, and by
        ``ahead`` more seconds for an answer that will be served for that long."""
        s = self.scanned
        return wire.with_ttls(s.tail, s.ttl_offsets, s.ttls, int(now - self.stored) + ahead)

    @property
    def refresh_interval(self) -> int:
        """How long a memoised copy of this answer may be served before its TTLs are
        aged again: 1 s for short TTLs, up to TTL/60 for long ones (under 2 % early)."""
        ttl = self.scanned.min_ttl if self.scanned.min_ttl is not None else self.ttl
        return max(1, ttl // 60)


def cache_ttl(scanned: Scanned, max_ttl: int, max_negative_ttl: int) -> int:
    """Seconds an upstream answer may be cached; 0 means do not cache."""
    rcode = scanned.rcode
    if rcode == wire.RCODE_NXDOMAIN or (rcode == wire.RCODE_NOERROR and not scanned.counts[0]):
        neg = scanned.negative_ttl if scanned.negative_ttl is not None else NO_SOA_NEGATIVE_TTL
        return max(0, min(neg, max_negative_ttl))
    if rcode != wire.RCODE_NOERROR or scanned.flags & wire.FLAG_TC:
        return 0
    ttl = scanned.min_ttl if scanned.min_ttl is not None else 0
    return max(0, min(ttl, max_ttl))


class AnswerCache:
    def __init__(self, max_entries: int, stale_max_age: int) -> None:
        self.max_entries = max_entries
        self.stale_max_age = stale_max_age
        # An OrderedDict, not a dict: evicting a dict's first key again and again makes
        # every eviction scan the deleted slots at its front (34 µs at 100k entries).
        self._entries: OrderedDict[CacheKey, CacheEntry] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.stale_served = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def fresh(self, key: CacheKey, now: float) -> CacheEntry | None:
        entry = self._entries.get(key)
        if entry is not None and now < entry.expires:
            self.hits += 1
            return entry
        self.misses += 1
        return None

    def stale(self, key: CacheKey, now: float) -> CacheEntry | None:
        """An expired entry still inside the serve-stale window, if any."""
        entry = self._entries.get(key)
        if entry is None or now > entry.expires + self.stale_max_age:
            return None
        self.stale_served += 1
        return entry

    def put(self, key: CacheKey, entry: CacheEntry) -> None:
        if self.max_entries <= 0:
            return
        entries = self._entries
        entries.pop(key, None)
        while len(entries) >= self.max_entries:
            entries.popitem(last=False)
            self.evictions += 1
        entries[key] = entry
