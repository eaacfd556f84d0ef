"""Signals in a device's DNS queries: trying to get around the filter, and looking infected.

Pure: no database, no clock, no files. :class:`Detector` is fed :class:`Event` s (the gate's
query-log rows: when, which child, which client address, which name, the decision's category,
how many queries) and returns the :class:`Signal` s to raise as alerts.

* **Bypass attempt** (``bypass_attempt``): blocked queries for names of the ``bypass`` category
  (DoH resolvers, VPNs, proxies) or for the canaries the gate answers itself
  (``use-application-dns.net``, Apple's ``mask.icloud.com`` relay names), at least
  ``bypass_attempts`` of them from one device within ``bypass_window``.
* **Infected device** (``infected_device``): blocked queries for names of the
  :data:`INFECTION_CATEGORIES` (``malware``: ransomware, cryptojacking, stalkerware, command and
  control), at least ``infection_attempts`` within ``infection_window`` and spread over at least
  ``infection_spread`` (malware calls home again and again; one page load of a bad advert is a
  burst of a few seconds). Phishing (``scam``) is a page a child opened, not an infection: it is
  not counted.

Rate limit: after a signal, the same (child, device, kind) raises nothing for ``cooldown``;
its counting starts afresh. Only blocked queries count: a parent who switched bypass protection
off, or unblocked a category, has said those names are fine.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from safegate.config import Settings
from safegate.policy.decide import CANARY, PRIVATE_RELAY, category_of

__all__ = [
    "BYPASS",
    "CANARIES",
    "INFECTED",
    "INFECTION_CATEGORIES",
    "Detector",
    "Event",
    "Signal",
    "Thresholds",
    "describe",
    "event_from_row",
    "kind_of",
    "may_count",
]

Kind = Literal["bypass_attempt", "infected_device"]
BYPASS: Final = "bypass_attempt"
INFECTED: Final = "infected_device"
CANARIES: Final = frozenset({CANARY, *PRIVATE_RELAY})
BYPASS_CATEGORY: Final = "bypass"
INFECTION_CATEGORIES: Final = frozenset({"malware"})
MAX_DOMAINS: Final = 5  # names a signal carries, the most queried first
MAX_TRACKED: Final = 20_000  # (child, device, kind) keys kept; the least recently fed go


@dataclass(frozen=True, slots=True)
class Thresholds:
    bypass_attempts: int = 5
    bypass_window: float = 600.0  # seconds
    infection_attempts: int = 10
    infection_window: float = 3600.0
    infection_spread: float = 300.0  # first to last counted query, at least
    cooldown: float = 3600.0  # one signal per (child, device, kind) per this long

    def __post_init__(self) -> None:
        if min(self.bypass_attempts, self.infection_attempts) < 1:
            raise ValueError("attempt thresholds must be at least 1")
        if min(self.bypass_window, self.infection_window, self.cooldown) <= 0:
            raise ValueError("windows and the cooldown must be positive")
        if not 0 <= self.infection_spread <= self.infection_window:
            raise ValueError("infection_spread must be within the infection window")

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        """The ``signals.*`` settings (checked together when they were loaded)."""
        return cls(settings["signals.bypass_attempts"], settings["signals.bypass_window"],
                   settings["signals.infection_attempts"],
                   settings["signals.infection_window"], settings["signals.infection_spread"],
                   settings["signals.cooldown"])


@dataclass(frozen=True, slots=True)
class Event:
    """Queries of one client for one name, at one time (a query-log row)."""

    at: float  # unix seconds
    profile_id: int
    client: str  # the client address; "" when the child's log level keeps none
    qname: str
    action: str  # the query log's action: allow, block, rewrite, …
    category: str | None  # the decision's category (None: no category)
    count: int = 1


@dataclass(frozen=True, slots=True)
class Signal:
    """An alert to raise: ``attempts`` counted queries within ``window`` seconds up to ``at``,
    for ``domains`` (at most :data:`MAX_DOMAINS`, the most queried first)."""

    kind: Kind
    profile_id: int
    client: str
    at: float
    attempts: int
    window: float
    domains: tuple[str, ...]
    canaries: bool  # some of the names were the gate's own canaries


# The categories of blocked queries that count towards a signal (see ``kind_of``).
COUNTED_CATEGORIES: Final = frozenset({BYPASS_CATEGORY, *INFECTION_CATEGORIES})


def may_count(qname: str, reason: str | None) -> bool:
    """Whether a blocked query-log row for ``qname`` with ``reason`` can count towards a
    signal: what ``kind_of`` looks at, read from the row before an event is made of it."""
    return qname in CANARIES or category_of(reason) in COUNTED_CATEGORIES


def kind_of(event: Event) -> Kind | None:
    """Which signal a query counts towards, if any (blocked queries only)."""
    if event.action != "block":
        return None
    if event.qname in CANARIES or event.category == BYPASS_CATEGORY:
        return BYPASS
    if event.category in INFECTION_CATEGORIES:
        return INFECTED
    return None


def event_from_row(at: float, client: str, profile_id: int | None, qname: str, action: str,
                   reason: str | None, count: int) -> Event | None:
    """An event from a query-log row; None for a row without a child (no profile). The
    category is the reason's first part (``malware:shadowwhisperer/malware:x.example``); a
    schedule's reason (``schedule:…``) names the window, not a list category."""
    if profile_id is None:
        return None
    return Event(at, profile_id, client, qname, action, category_of(reason), count)


Key = tuple[int, str, str]


class Detector:
    """Counts each (child, device, kind)'s queries in a sliding window and says when to alert.

    Events may arrive slightly out of order (rows of a 10-second window); the window slides to
    the newest time seen for the key.
    """

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self._seen: OrderedDict[Key, deque[tuple[float, str, int]]] = OrderedDict()
        self._raised: dict[Key, float] = {}

    def _limits(self, kind: Kind) -> tuple[int, float, float]:
        t = self.thresholds
        if kind == BYPASS:
            return t.bypass_attempts, t.bypass_window, 0.0
        return t.infection_attempts, t.infection_window, t.infection_spread

    def feed(self, events: Iterable[Event]) -> list[Signal]:
        """The signals these events complete, at most one per (child, device, kind)."""
        touched: dict[Key, Kind] = {}
        for event in events:
            kind = kind_of(event)
            if kind is None or event.count < 1:
                continue
            key = (event.profile_id, event.client, kind)
            window = self._seen.pop(key, None)
            if window is None:
                window = deque()
                while len(self._seen) >= MAX_TRACKED:
                    old, _ = self._seen.popitem(last=False)
                    self._raised.pop(old, None)
            self._seen[key] = window
            window.append((event.at, event.qname, event.count))
            touched[key] = kind
        return [s for key, kind in touched.items()
                if (s := self._check(key, kind)) is not None]

    def _check(self, key: Key, kind: Kind) -> Signal | None:
        attempts_needed, span, spread = self._limits(kind)
        window = self._seen[key]
        newest = max(at for at, _, _ in window)
        kept = [e for e in window if e[0] > newest - span]
        if len(kept) != len(window):
            window.clear()
            window.extend(kept)
        raised = self._raised.get(key)
        if raised is not None and newest - raised < self.thresholds.cooldown:
            return None
        attempts = sum(n for _, _, n in window)
        first = min(at for at, _, _ in window)
        if attempts < attempts_needed or newest - first < spread:
            return None
        names: Counter[str] = Counter()
        for _, qname, n in window:
            names[qname] += n
        domains = tuple(name for name, _ in names.most_common(MAX_DOMAINS))
        self._raised[key] = newest
        window.clear()  # counting starts afresh after the cooldown
        profile_id, client, _ = key
        return Signal(kind, profile_id, client, newest, attempts, span, domains,
                      any(name in CANARIES for name in names))

    def tracked(self) -> int:
        """How many (child, device, kind) keys are counted now (for tests and stats)."""
        return len(self._seen)


def describe(signal: Signal, device: str) -> str:
    """The evidence as the alert shows it (encrypted like a snippet): who, how many, which
    names. Domain names only, never a child's words."""
    minutes = max(1, round(signal.window / 60))
    what = ("names used to get around the filter" if signal.kind == BYPASS
            else "malware names")
    names = ", ".join(signal.domains)
    return f"{device}: {signal.attempts} blocked lookups of {what} within {minutes} min: {names}"

