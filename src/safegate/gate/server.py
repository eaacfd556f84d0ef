"""The resolver: UDP and TCP listeners around one query pipeline.

A query's way (see ARCHITECTURE.md): identify the client → profile; look for a finished
response in the profile's memo (the hot path: one dict lookup, one concatenation, one
send, one ring append); otherwise parse, decide, answer from the shared cache or the
upstreams, check CNAME targets and answer addresses, and memoise the response.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import os
import socket
import struct
import time
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from safegate.gate import answers, fastblock, wire
from safegate.gate.answers import BlockStyle
from safegate.gate.cache import AnswerCache, CacheEntry, cache_ttl
from safegate.gate.querylog import QueryLog
from safegate.gate.upstream import UpstreamError, UpstreamPool
from safegate.gate.wire import Query, WireError
from safegate.policy.budgets import UsageBoard, budget_state
from safegate.policy.compiled import CompiledProfile, PolicySnapshot, normalise_mac, token_key
from safegate.policy.decide import ALLOW, Decision, decide, judge_answer
from safegate.policy.timestate import current

log = logging.getLogger(__name__)

BLOCK_MEMO_SECONDS = 3600.0  # block answers do not depend on upstream data
STALE_TTL = 30  # RFC 8767 §4: TTL of a stale answer
MAX_CLIENTS = 200_000
UDP_BUFFER_BYTES = 4 * 1024 * 1024
FAILURE_MEMO_SECONDS = 2.0
# Query types answered with the CNAME and the target's records (other types: the CNAME alone).
REWRITE_TYPES = frozenset({wire.TYPE_A, wire.TYPE_AAAA, wire.TYPE_HTTPS})
MAX_NEW_DOMAINS = 50_000  # per flush interval; beyond it new names wait for the next one
MAX_TCP_PIPELINE = 64  # queries of one TCP connection in flight; beyond it reading waits
TCP_CLOSE_SECONDS = 2.0  # a client that does not take its last answers is cut off after it


class TokenBucket:
    __slots__ = ("rate", "burst", "tokens", "last")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.last = time.monotonic()

    def _refill(self) -> float:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        return self.tokens

    def allow(self) -> bool:
        if self._refill() < 1.0:
            return False
        self.tokens -= 1.0
        return True

    def exhausted(self) -> bool:
        """True when the next query would be refused (nothing is taken from the bucket)."""
        return self._refill() < 1.0


class Client:
    """What the gate knows about one source address under the current snapshot."""

    __slots__ = ("ip", "profile", "memo", "limiter", "refused", "by_mac", "fast")

    def __init__(self, ip: str, profile: CompiledProfile, memo: OrderedDict[bytes, Any],
                 limiter: TokenBucket | None, refused: bool, by_mac: bool) -> None:
        self.ip = ip
        self.profile = profile
        self.memo = memo
        self.limiter = limiter
        self.refused = refused
        self.by_mac = by_mac
        # The native answer to memo misses of listed blocked names (fastblock.py),
        # for a client that answers from its profile's memo; set by ``Gate.admit``.
        self.fast: fastblock.Answer | None = None


class Memo:
    """A finished response for one exact query (bytes after the ID) and profile."""

    __slots__ = ("expires", "entry", "refresh_at", "response", "record", "prefix", "suffix")

    def __init__(self, expires: float, entry: CacheEntry | None, refresh_at: float,
                 response: bytes, record: tuple[Any, ...] | None, prefix: bytes,
                 suffix: bytes) -> None:
        self.expires = expires
        self.entry = entry  # the shared cache entry, to age TTLs each second
        self.refresh_at = refresh_at  # when the TTLs in ``response`` are a second old
        self.response = response  # the response without its first two bytes (the ID)
        self.record = record  # query-log tuple, None when the profile logs nothing
        self.prefix = prefix  # header after the ID + the client's question
        self.suffix = suffix  # our OPT record, if the client used EDNS


class FixedMemo(NamedTuple):
    """A memoised response whose bytes never change (a block or an answer made here): the
    fields the hot path reads of a ``Memo``, built as a tuple (a cache miss of a blocked name
    makes one per query). ``refresh_at`` is ``expires``, so it is never refreshed."""

    expires: float
    entry: None
    refresh_at: float
    response: bytes
    record: tuple[Any, ...] | None

    # Hashed and compared by identity, like ``Memo``: the query log counts memo hits by
    # (client, memo), and hashing the fields would cost a pass over them per hit.
    __hash__ = object.__hash__  # type: ignore[misc]
    __eq__ = object.__eq__  # type: ignore[misc]


_new_fixed = tuple.__new__  # FixedMemo(...) without NamedTuple's Python-level __new__


@dataclass(frozen=True, slots=True)
class Pending:
    """A query that waits for the upstreams (everything decided before asking them)."""

    data: bytes
    query: Query
    client: Client
    profile: CompiledProfile
    decision: Decision
    key: tuple[bytes, bool, bool]
    now: float
    max_size: int | None
    valid_until: float  # when the time-dependent state the decision used ends (wall clock)


@dataclass
class GateStats:
    slow_path: int = 0
    blocked: int = 0
    blocked_by_category: Counter[str] = field(default_factory=Counter)  # no category: "other"
    refused: int = 0
    rate_limited: int = 0
    formerr: int = 0
    servfail: int = 0
    stale: int = 0
    handler_errors: int = 0
    tcp_rejected: int = 0  # connections closed at once (refused, rate-limited, over a cap)


@dataclass(frozen=True)
class GateOptions:
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    rate_limit_qps: float
    rate_limit_burst: int
    max_ttl: int
    max_negative_ttl: int
    serve_stale: bool
    style: BlockStyle
    memo_size: int = 100_000
    exempt_loopback: bool = True  # local benchmarks measure the resolver, not the limiter
    tcp_idle_timeout: float = 10.0
    max_tcp_connections: int = 512
    max_tcp_per_address: int = 16
    # Forwarders (a dnsmasq router with add-mac) whose EDNS MAC option is believed.
    trusted_forwarders: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def in_networks(addr: ipaddress.IPv4Address | ipaddress.IPv6Address,
                networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    return any(addr.version == n.version and addr in n for n in networks)


def tcp_refusal(refused: bool, rate_limited: bool, from_address: int, total: int,
                options: GateOptions) -> str | None:
    """Why a new TCP connection is closed at once (None: it is served). Refused and
    rate-limited clients are turned away before they are counted, so they can never use
    up the connections that allowed clients need."""
    if refused:
        return "refused"
    if rate_limited:
        return "rate-limited"
    if from_address >= options.max_tcp_per_address:
        return "too many from this address"
    if total >= options.max_tcp_connections:
        return "too many connections"
    return None


class Gate:
    def __init__(self, snapshot: PolicySnapshot, pool: UpstreamPool, cache: AnswerCache,
                 querylog: QueryLog, options: GateOptions,
                 budgets: UsageBoard | None = None) -> None:
        self.snapshot = snapshot
        # Used minutes of time budgets: counted here, flushed and re-read by the runtime.
        self.budgets = budgets if budgets is not None else UsageBoard()
        self.pool = pool
        self.cache = cache
        self.querylog = querylog
        self.options = options
        self.clients: dict[str, Client] = {}
        # Clients of encrypted DNS (DoH/DoT), known by address and token digest.
        self.token_clients: dict[tuple[str, bytes], Client] = {}
        self.stats = GateStats()
        self._tasks: set[asyncio.Task[None]] = set()
        self.tcp_connections = 0
        self.tcp_per_address: dict[str, int] = {}
        # Registrable domains resolved that no list or rule knew: the queue for the
        # content-safety engine (flushed to the store by the runtime).
        self.new_domains: dict[str, int] = {}
        # Per profile (by identity, under this snapshot): its native answer (fastblock.py),
        # and what those answers' tables share.
        self._fast: dict[int, tuple[CompiledProfile, float, fastblock.Answer]] = {}
        self._fast_shared: dict[Any, Any] = {}

    # -- policy swaps ------------------------------------------------------------------

    def swap(self, snapshot: PolicySnapshot) -> None:
        """Atomically switch to a new snapshot: one reference assignment; queries in
        flight finish under the snapshot they started with. The client table is emptied
        in place (this runs on the event loop, between two queries)."""
        self.snapshot = snapshot
        self.clients.clear()
        self.token_clients.clear()
        self._fast.clear()
        self._fast_shared.clear()

    # -- clients -----------------------------------------------------------------------

    def admit(self, ip: str) -> Client:
        """The client at a source address (remembered for the next query from it)."""
        client = self._by_address(ip, believe_mac=True)
        if len(self.clients) >= MAX_CLIENTS:
            self.clients.clear()
        if not (client.refused or client.by_mac):
            client.fast = self.fast_answer(client.profile)
        self.clients[ip] = client
        return client

    def fast_answer(self, profile: CompiledProfile) -> fastblock.Answer | None:
        """The native answer for ``profile`` in its state now (gate/fastblock.py; None
        without the native module), shared by the clients of the profile and built again
        once that state has been recomputed."""
        if not fastblock.NATIVE:
            return None
        live = current(profile, self.snapshot.index, time.time(), self.budgets)
        held = self._fast.get(id(profile))
        if held is not None and held[0] is profile and held[1] == live.valid_from:
            return held[2]
        answer = fastblock.table_for(
            profile, live, self.snapshot.index, style=self.options.style, stats=self.stats,
            batch=self.querylog.batch, fixed=FixedMemo, memo_size=self.options.memo_size,
            memo_seconds=BLOCK_MEMO_SECONDS, shared=self._fast_shared)
        if answer is not None:
            self._fast[id(profile)] = (profile, live.valid_from, answer)
        return answer

    def _limiter(self, loopback: bool) -> TokenBucket | None:
        opts = self.options
        if opts.rate_limit_qps > 0 and not (loopback and opts.exempt_loopback):
            return TokenBucket(opts.rate_limit_qps, opts.rate_limit_burst)
        return None

    def _by_address(self, ip: str, *, believe_mac: bool) -> Client:
        opts = self.options
        try:
            addr = ipaddress.ip_address(ip.split("%", 1)[0])
            allowed = in_networks(addr, opts.allowed_networks)
            trusted = allowed and in_networks(addr, opts.trusted_forwarders)
            loopback = addr.is_loopback
        except ValueError:
            allowed = trusted = loopback = False
        snap = self.snapshot
        profile = snap.profile_for_ip(ip)
        # Only a trusted forwarder's MAC option is believed (from anyone else it would let
        # a device pick another's profile); there a known MAC beats the forwarder's address.
        by_mac = believe_mac and trusted and bool(snap.by_mac)
        if profile is None:
            profile = snap.default
        # A refused client gets a private memo that stays empty (refusals are never
        # memoised), so it can never read answers memoised for allowed clients.
        private = by_mac or not allowed
        memo: OrderedDict[bytes, Any] = OrderedDict() if private else profile.memo
        return Client(ip, profile, memo, self._limiter(loopback), not allowed, by_mac)

    def admit_token(self, ip: str, token: str | None) -> Client:
        """A DoH/DoT client: the device whose token (or DoT label) it presents, from any
        network (that is what the token is for). Without a known token it is whoever its
        address makes it: refused outside the allowed networks, else the address's profile
        or the operator default — never another device's profile."""
        key = token_key(token) if token else b""
        cached = self.token_clients.get((ip, key))
        if cached is not None:
            return cached
        profile = self.snapshot.profile_for_token(token) if token else None
        if profile is None:
            # DoH/DoT comes from the device itself, never through a router that adds a MAC
            # option: none is believed. All unknown tokens from an address share one entry,
            # so random tokens cannot flood the table.
            key = b""
            cached = self.token_clients.get((ip, key))
            if cached is not None:
                return cached
            client = self._by_address(ip, believe_mac=False)
        else:
            client = Client(ip, profile, profile.memo, self._limiter(_is_loopback(ip)), False,
                            False)
        if len(self.token_clients) >= MAX_CLIENTS:
            self.token_clients.clear()
        self.token_clients[(ip, key)] = client
        return client

    def _profile_for(self, client: Client, query: Query) -> CompiledProfile:
        """The client's profile, or for a trusted forwarder the profile of the device whose
        MAC it added to the query (EDNS Client Subnet is never used to identify anyone)."""
        if client.by_mac:
            raw = query.option(wire.OPTION_MAC_DNSMASQ)
            if raw:
                mac = _mac_from_option(raw)
                if mac is not None:
                    hit = self.snapshot.by_mac.get(mac)
                    if hit is not None:
                        return hit
        return client.profile

    # -- the pipeline --------------------------------------------------------------------

    async def answer(self, data: bytes, client: Client, max_size: int | None) -> bytes | None:
        """The response to one query (None: drop). ``max_size`` None means TCP."""
        done, result = self.answer_now(data, client, max_size)
        if done:
            return result  # type: ignore[return-value]
        return await self.answer_upstream(result)  # type: ignore[arg-type]

    def answer_now(self, data: bytes, client: Client,
                   max_size: int | None) -> tuple[bool, bytes | None | Pending]:
        """Everything that needs no upstream, without awaiting: (True, response) for
        malformed, refused, blocked, local and cached answers; (False, pending) when the
        upstreams must be asked (see ``answer_upstream``)."""
        stats = self.stats
        stats.slow_path += 1
        try:
            query = wire.parse_query(data)
        except WireError as exc:
            if exc.rcode is None:
                return True, None
            stats.formerr += 1
            return True, wire.error_response(data, exc.rcode)
        if client.refused:
            stats.refused += 1
            return True, answers.refused(data, query)
        profile = self._profile_for(client, query) if client.by_mac else client.profile
        # The time-dependent state (schedules, pause, temporary allows): recomputed only when
        # its boundary has passed, and then the profile's memo is emptied.
        index = self.snapshot.index
        live, wall = profile.live, time.time()
        if not live.valid_from <= wall < live.valid_until:  # ``current``'s test, inline
            live = current(profile, index, wall, self.budgets)
        decision = decide(profile, index, query.name, live)
        now = time.monotonic()
        action = decision.action
        if action == "block" or action == "nxdomain":
            return True, self._blocked(data, query, client, profile, decision, now, max_size,
                                       live.valid_until)
        if decision is ALLOW:
            self._note_unknown(query.name)
        end = query.question_end
        if action == "rewrite" and decision.target and query.qtype in REWRITE_TYPES:
            # Safe search: the answer is built from the target's records, which come through
            # the shared cache and the upstreams like any name's (see ``_rewritten``).
            question = wire.encode_name(decision.target) + data[end - 4 : end]
        elif action != "allow":
            return True, self._finish(data, query, client, profile, decision, None, now,
                                      max_size, live.valid_until)
        else:
            # Lowercase the name only: the type and class bytes must stay as they are.
            question = data[12 : end - 4].lower() + data[end - 4 : end]
        key = (question, query.do, query.cd)
        entry = self.cache.fresh(key, now)
        if entry is not None:
            return True, self._finish(data, query, client, profile, decision, entry, now,
                                      max_size, live.valid_until)
        return False, Pending(data, query, client, profile, decision, key, now, max_size,
                              live.valid_until)

    async def answer_upstream(self, p: Pending) -> bytes | None:
        """Ask the upstreams for a pending query, cache the answer and finish it."""
        question, do, cd = p.key
        try:
            upstream_data = await self.pool.resolve(question, do, cd)
            # The question asked may be a safe-search target, not the client's.
            scanned = wire.scan_response(upstream_data, 12 + len(question))
        except (UpstreamError, WireError) as exc:
            return self._failure(p.data, p.query, p.client, p.profile, p.key, p.now, exc,
                                 p.max_size, p.valid_until, p.decision)
        ttl = cache_ttl(scanned, self.options.max_ttl, self.options.max_negative_ttl)
        entry = CacheEntry(scanned, p.now, ttl)
        if ttl > 0:
            self.cache.put(p.key, entry)
        return self._finish(p.data, p.query, p.client, p.profile, p.decision, entry, p.now,
                            p.max_size, p.valid_until)

    def _finish(self, data: bytes, query: Query, client: Client, profile: CompiledProfile,
                decision: Decision, entry: CacheEntry | None, now: float,
                max_size: int | None, valid_until: float,
                memo_until: float | None = None) -> bytes:
        """Build, log and memoise the response for a decision (and, for allowed names,
        the upstream answer it is based on). ``valid_until`` is when the time-dependent state
        the decision was made under ends (it may have ended while the upstreams were asked:
        then nothing is memoised); ``memo_until`` shortens the memo."""
        expires = now + BLOCK_MEMO_SECONDS if memo_until is None else memo_until
        action = decision.action
        if entry is not None:
            # Either way the answer depends on upstream data: memoise it only that long.
            expires = entry.expires
            if action == "rewrite":
                # The target is the engine's enforced endpoint from our table, not a child's
                # choice: neither it nor its answer is checked against the lists.
                entry = self._rewritten(data, query, decision, entry)
                if entry is None:
                    expires = min(expires, now + FAILURE_MEMO_SECONDS)
            else:
                cloaked = self._check_answer(profile, entry)
                if cloaked is not None:
                    decision, entry = cloaked, None
        # Nothing memoised outlives the time-dependent state the decision was made under.
        if valid_until != math.inf:
            expires = min(expires, self._state_ends(valid_until, now))
        action = decision.action
        if action in ("allow", "rewrite") and not profile.budgets.empty:
            targets = profile.budgets.targets_for(query.name)
            if action == "allow" and entry is not None and entry.scanned.cnames:
                # A name that aliases a budgeted one (a game's own domain behind a CNAME)
                # is a minute of that game too.
                targets = profile.budgets.targets_for_all((query.name, *entry.scanned.cnames))
            if targets:
                # A minute of a budgeted target: counted, and memoised only to the minute's
                # end, so that the next minute's first query is counted too.
                expires = min(expires, self._count(profile, targets, now))
        if action in ("allow", "rewrite") and entry is not None:
            response = self._from_entry(data, query, entry, now)
        elif action == "rewrite":
            response = answers.rewrite_response(data, query, decision.target or "")
        elif action == "local":
            response = answers.local_response(data, query)
        else:
            self.stats.blocked += 1
            self.stats.blocked_by_category[decision.category or "other"] += 1
            mode = profile.block_mode if profile.block_mode else "null"
            response = answers.block_response(data, query, decision, mode, self.options.style)
        if max_size is not None:
            size = len(response)
            if size > max_size or size > wire.MIN_UDP_PAYLOAD:
                response = self._fit(response, query, max_size)  # else it fits in any case
        # Gate._record, inline.
        record = None if profile.log_level == "off" else (
            profile.id, query.name, query.qtype, decision.log_action, decision.reason,
            profile.log_level)
        if record is not None:
            batch = self.querylog.batch  # QueryLog.add, inline
            batch.append(client.ip)
            batch.append(record)
        if max_size is not None and expires > now and (entry is None or entry.ttl > 0):
            self._memoise(client, data, query, response, entry, record, expires, now)
        return response

    def _blocked(self, data: bytes, query: Query, client: Client, profile: CompiledProfile,
                 decision: Decision, now: float, max_size: int | None,
                 valid_until: float) -> bytes:
        """``_finish`` for a block or NXDOMAIN decision (no upstream entry, no budget to
        count): the same response, query-log record and memo entry, without the branches
        that only other answers need. A cache miss of a blocked name runs this."""
        expires = now + BLOCK_MEMO_SECONDS
        if valid_until != math.inf:
            expires = min(expires, self._state_ends(valid_until, now))
        stats = self.stats
        stats.blocked += 1
        stats.blocked_by_category[decision.category or "other"] += 1
        mode = profile.block_mode if profile.block_mode else "null"
        response = answers.block_response(data, query, decision, mode, self.options.style)
        if max_size is not None:
            size = len(response)
            if size > max_size or size > wire.MIN_UDP_PAYLOAD:
                response = self._fit(response, query, max_size)  # else it fits in any case
        level = profile.log_level
        if level == "off":
            record = None
        else:
            category = decision.category
            record = (profile.id, query.name, query.qtype, "block",
                      decision.rule if category is None else f"{category}:{decision.rule}",
                      level)
            batch = self.querylog.batch  # QueryLog.add, inline
            batch.append(client.ip)
            batch.append(record)
        if max_size is not None and expires > now:
            # _memoise of an answer made here, inline.
            memo = client.memo
            size, limit = len(memo), self.options.memo_size
            while size >= limit:
                memo.popitem(last=False)
                size -= 1
            memo[data[2:]] = _new_fixed(FixedMemo,
                                        (expires, None, expires, response[2:], record))
        return response

    @staticmethod
    def _rewritten(data: bytes, query: Query, decision: Decision,
                   target_entry: CacheEntry) -> CacheEntry | None:
        """The answer for a rewritten name as a cache entry of its own: a CNAME from the
        queried name to the target (TTL ``answers.REWRITE_TTL``, capped by the target's), then
        the target's records, re-encoded without compression so that they fit behind the
        client's question. It keeps the target entry's insertion time and lifetime, so its TTLs
        age with it (also in the memo). None if the target's records cannot be re-encoded."""
        target = decision.target or ""
        s = target_entry.scanned
        end = query.question_end
        try:
            target_question = wire.encode_name(target) + data[end - 4 : end]
            original = bytes(12) + target_question + s.tail
            records, _ = wire.expand_records(original, 12 + len(target_question),
                                             sum(s.counts))
            an, ns, ar = s.counts
            cname = answers.rewrite_cname(target,
                                          max(0, min(answers.REWRITE_TTL, target_entry.ttl)))
            header = struct.pack("!HHHHHH", 0, wire.FLAG_QR | wire.FLAG_RA | (s.rcode & 0xF), 1,
                                 an + 1, ns, ar)
            message = header + data[12:end] + cname + b"".join(records)
            scanned = wire.scan_response(message, end)
        except WireError as exc:
            log.debug("cannot rewrite %s to %s: %s", query.name, target, exc)
            return None
        return CacheEntry(scanned, target_entry.stored, target_entry.ttl)

    def _note_unknown(self, name: str) -> None:
        """Queue the registrable domain of a name nothing matched (bounded)."""
        labels = name.split(".")
        keep = self.snapshot.index.psl.registrable_labels(name)
        if not keep or len(name) > 253:
            return
        domain = ".".join(labels[-keep:])
        seen = self.new_domains
        if domain in seen:
            seen[domain] += 1
        elif len(seen) < MAX_NEW_DOMAINS:
            seen[domain] = 1

    def _count(self, profile: CompiledProfile, targets: tuple[str, ...], now: float) -> float:
        """Count this minute for the targets (in memory; the runtime flushes it); when that
        reaches a budget, the profile's state ends with the minute. The minute's end, on the
        monotonic clock of ``now``."""
        board, wall = self.budgets, time.time()
        clock = board.clock(profile.budgets.timezone, wall)
        new = board.record(profile.id or 0, clock.day, clock.minute, targets)
        if new:
            used, limits = board.used_on(profile.id, clock.day), profile.budgets.limits
            if any(used[t].count >= limits[t] for t in new):
                profile.live.valid_until = min(profile.live.valid_until, clock.end)
        return now + (clock.end - wall)

    def refresh_budgets(self, wall: float) -> int:
        """After the used minutes were re-read: every profile whose used-up budgets differ
        from its live state's (or that reaches a budget sooner) drops its live state and its
        memoised answers. How many did."""
        board, changed = self.budgets, 0
        for profile in self.snapshot.profiles.values():
            live = profile.live
            if profile.budgets.empty or live.valid_from == math.inf:
                continue  # no budgets, or not asked yet: the first query computes it
            clock = board.clock(profile.budgets.timezone, wall)
            state = budget_state(profile.budgets, board.used_on(profile.id, clock.day), wall,
                                 board.minute_seconds, clock)
            if state.exhausted != live.budget.exhausted or state.valid_until < live.valid_until:
                live.invalidate()
                profile.memo.clear()
                changed += 1
        if changed:
            for client in self.clients.values():
                if client.by_mac:
                    client.memo.clear()  # a forwarder's private memo mixes profiles
        return changed

    @staticmethod
    def _state_ends(valid_until: float, now: float) -> float:
        """``valid_until`` (wall clock) on the monotonic clock of ``now``."""
        return now + (valid_until - time.time())

    def _check_answer(self, profile: CompiledProfile, entry: CacheEntry) -> Decision | None:
        """A CNAME target or an answer address that the profile blocks blocks the name
        (``policy.decide.judge_answer``, which ``safegate check --resolve`` asks too)."""
        index = self.snapshot.index
        live = current(profile, index, time.time(), self.budgets)
        return judge_answer(profile, index, live, entry.scanned.cnames,
                            entry.scanned.addresses)

    def _from_entry(self, data: bytes, query: Query, entry: CacheEntry, now: float) -> bytes:
        s = entry.scanned
        flags = wire.response_flags(query.flags, s.rcode & 0xF)
        if s.flags & wire.FLAG_AD and (query.do or query.flags & wire.FLAG_AD):
            flags |= wire.FLAG_AD
        an, ns, ar = s.counts
        opt = wire.opt_record(do=query.do, ext_rcode=s.rcode) if query.edns else b""
        header = struct.pack("!HHHHHH", query.id, flags, 1, an, ns, ar + (1 if opt else 0))
        return header + data[12 : query.question_end] + entry.tail_at(now) + opt

    def _fit(self, response: bytes, query: Query, max_size: int | None) -> bytes:
        if max_size is None:
            return response
        limit = min(max(query.udp_size, wire.MIN_UDP_PAYLOAD), max_size)
        if len(response) <= limit:
            return response
        opt = wire.opt_record(do=query.do) if query.edns else b""
        return wire.truncated(response, query.question_end, opt)

    def _failure(self, data: bytes, query: Query, client: Client, profile: CompiledProfile,
                 key: Any, now: float, exc: Exception, max_size: int | None,
                 valid_until: float, decision: Decision = ALLOW) -> bytes:
        if self.options.serve_stale:
            stale = self.cache.stale(key, now)
            cloaked = None
            if stale is not None and decision.action == "rewrite":
                # The target's stale answer, behind the CNAME (not checked: see _finish).
                stale = self._rewritten(data, query, decision, stale)
            elif stale is not None:
                cloaked = self._check_answer(profile, stale)
            if cloaked is not None:
                # A stale answer passes the same checks as a fresh one (the policy may have
                # changed since it was cached). The block rests on old upstream data: it is
                # remembered only as long as a failure.
                return self._finish(data, query, client, profile, cloaked, None, now, max_size,
                                    valid_until, memo_until=now + FAILURE_MEMO_SECONDS)
            if stale is not None:
                self.stats.stale += 1
                s = stale.scanned
                tail = wire.with_fixed_ttl(s.tail, s.ttl_offsets, STALE_TTL)
                flags = wire.response_flags(query.flags, s.rcode & 0xF)
                an, ns, ar = s.counts
                opt = b""
                if query.edns:
                    opt = wire.opt_record(do=query.do, ext_rcode=s.rcode,
                                          options=(wire.ede_option(wire.EDE_STALE_ANSWER),))
                header = struct.pack("!HHHHHH", query.id, flags, 1, an, ns,
                                     ar + (1 if opt else 0))
                why = decision if decision.action == "rewrite" else ALLOW
                record = self._record(profile, query, "stale", why)
                if record is not None:
                    self.querylog.add(client.ip, record)
                return self._fit(header + data[12 : query.question_end] + tail + opt, query,
                                 max_size)
        self.stats.servfail += 1
        log.debug("SERVFAIL for %s: %s", query.name, exc)
        record = self._record(profile, query, "servfail", ALLOW)
        if record is not None:
            self.querylog.add(client.ip, record)
        response = answers.servfail(data, query, "no upstream answered")
        # RFC 9520: remember a failure briefly, so that retries do not pile onto upstreams
        # that are already struggling.
        self._memoise(client, data, query, response, None, record,
                      min(now + FAILURE_MEMO_SECONDS, self._state_ends(valid_until, now)), now)
        return response

    @staticmethod
    def _record(profile: CompiledProfile, query: Query, action: str,
                decision: Decision) -> tuple[Any, ...] | None:
        if profile.log_level == "off":
            return None
        return (profile.id, query.name, query.qtype, action, decision.reason, profile.log_level)

    def _memoise(self, client: Client, data: bytes, query: Query, response: bytes,
                 entry: CacheEntry | None, record: tuple[Any, ...] | None, expires: float,
                 now: float) -> None:
        memo = client.memo
        size, limit = len(memo), self.options.memo_size
        while size >= limit:
            memo.popitem(last=False)
            size -= 1
        if entry is None:  # a block or an answer made here: nothing to age
            memo[data[2:]] = _new_fixed(FixedMemo,
                                        (expires, None, expires, response[2:], record))
            return
        truncated = bool(response[2] & (wire.FLAG_TC >> 8))
        aged = None if truncated else entry
        # Only answers whose TTLs age need the pieces to rebuild them.
        prefix = response[2 : query.question_end] if aged is not None else b""
        suffix = b""
        if aged is not None and query.edns:
            suffix = wire.opt_record(do=query.do, ext_rcode=aged.scanned.rcode)
        refresh_at = expires if aged is None else float(int(now) + 1)
        memo[data[2:]] = Memo(expires, aged, refresh_at, response[2:], record, prefix, suffix)

    def refresh(self, memo: Memo, now: float) -> None:
        """Age the TTLs of a memoised answer (at most once per second per entry)."""
        entry = memo.entry
        assert entry is not None
        # Serve TTLs that are already ``interval`` seconds older than now, so that until
        # the next refresh no answer claims more time than the cache really has left.
        interval = entry.refresh_interval
        memo.refresh_at = float(int(now) + interval)
        memo.response = memo.prefix + entry.tail_at(now, interval) + memo.suffix

    # -- transports ----------------------------------------------------------------------

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)



def _mac_from_option(raw: bytes) -> str | None:
    """dnsmasq --add-mac sends the MAC as 6 raw bytes, or as base64/text variants."""
    try:
        if len(raw) == 6:
            return ":".join(f"{b:02x}" for b in raw)
        return normalise_mac(raw.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None


class UdpServer(asyncio.DatagramProtocol):
    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.transport: asyncio.DatagramTransport | None = None
        # Bound once: the hot path reads these without attribute chains.
        self.clients = gate.clients
        self.log = gate.querylog.batch.append
        self._sock: socket.socket | None = None
        self._sendto: Any = self._via_transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        # Answers go out through a duplicate of the listening socket's descriptor (the same
        # socket): uvloop's ``sendto`` converts each address through an LRU cache of 2,048
        # entries, so with more clients than that taking turns every answer missed it and
        # paid for a new conversion (a household of 3,000 devices did). A send the socket
        # refuses (full buffer, or an error) goes through the transport as before.
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.type == socket.SOCK_DGRAM:
            try:
                self._sock = socket.socket(sock.family, sock.type, sock.proto,
                                           os.dup(sock.fileno()))
            except OSError as exc:
                log.debug("udp: answers go through the transport (%s)", exc)
            else:
                self._sock.setblocking(False)
                self._sendto = self._direct

    def connection_lost(self, exc: Exception | None) -> None:
        self._sendto = self._via_transport
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _via_transport(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self.transport is not None:
            self.transport.sendto(data, addr)

    def _direct(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            self._sock.sendto(data, addr)  # type: ignore[union-attr]
        except OSError:
            self._via_transport(data, addr)  # it queues, or reports the error its way

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        # The hot path. Keep it short: every line here runs for every query.
        ip = addr[0]
        client = self.clients.get(ip)
        if client is None:
            client = self.gate.admit(ip)
        if client.limiter is not None and not client.limiter.allow():
            self.gate.stats.rate_limited += 1
            return
        memo = client.memo.get(data[2:])
        if memo is not None:
            now = time.monotonic()
            if now < memo.expires:
                if now >= memo.refresh_at:
                    self.gate.refresh(memo, now)
                self._sendto(data[:2] + memo.response, addr)
                if memo.record is not None:
                    append = self.log
                    append(ip)
                    append(memo)
                return
        gate = self.gate
        fast = client.fast
        if fast is not None:
            # A listed blocked name, answered natively (gate/fastblock.py); None:
            # the pipeline below answers; False: the profile's state changed since.
            try:
                response = fast(data, ip)
            except Exception:
                log.exception("native answer failed; the pipeline answers")
                response = client.fast = None
            if response:
                self._sendto(response, addr)
                return
            if response is False:
                client.fast = gate.fast_answer(client.profile)
        # A miss: answer at once when no upstream is needed (blocked, local, cached),
        # otherwise in a task that waits for the upstreams.
        try:
            done, result = gate.answer_now(data, client, wire.DEFAULT_UDP_PAYLOAD)
        except Exception:
            gate.stats.handler_errors += 1
            log.exception("error answering a query from %s", ip)
            done, result = True, wire.error_response(data, wire.RCODE_SERVFAIL)
        if not done:
            gate.spawn(self._upstream(result, addr))  # type: ignore[arg-type]
        elif result is not None:
            self._sendto(result, addr)

    async def _upstream(self, pending: Pending, addr: tuple[Any, ...]) -> None:
        try:
            response = await self.gate.answer_upstream(pending)
        except Exception:
            self.gate.stats.handler_errors += 1
            log.exception("error answering a query from %s", addr[0])
            response = wire.error_response(pending.data, wire.RCODE_SERVFAIL)
        if response is not None:
            self._sendto(response, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp error: %s", exc)


class TcpServer:
    """DNS over TCP (RFC 7766): length-prefixed messages, pipelined, idle timeout.

    Refused and rate-limited clients, and connections beyond the per-address or total
    caps, are closed at once without being counted. A connection is closed when it sends
    nothing whole for ``tcp_idle_timeout`` seconds, when its client goes over the rate
    limit, or when it leaves ``MAX_TCP_PIPELINE`` answers untaken that long."""

    def __init__(self, gate: Gate, token_of: Any = None) -> None:
        self.gate = gate
        # DoT (gate/dot.py): the device token the connection presented, from its writer.
        self.token_of = token_of

    def _client(self, ip: str, token: str | None) -> Client:
        if self.token_of is not None:
            return self.gate.admit_token(ip, token)
        return self.gate.clients.get(ip) or self.gate.admit(ip)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        gate = self.gate
        peer = writer.get_extra_info("peername")
        ip = peer[0] if peer else "?"
        token = self.token_of(writer) if self.token_of is not None else None
        client = self._client(ip, token)
        limited = client.limiter is not None and client.limiter.exhausted()
        counts = gate.tcp_per_address
        why = tcp_refusal(client.refused, limited, counts.get(ip, 0), gate.tcp_connections,
                          gate.options)
        if why is not None:
            gate.stats.tcp_rejected += 1
            log.debug("TCP connection from %s closed: %s", ip, why)
            writer.transport.abort()
            return
        gate.tcp_connections += 1
        counts[ip] = counts.get(ip, 0) + 1
        try:
            await self._serve(ip, token, reader, writer)
        finally:
            gate.tcp_connections -= 1
            left = counts.get(ip, 1) - 1
            if left > 0:
                counts[ip] = left
            else:
                counts.pop(ip, None)
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), TCP_CLOSE_SECONDS)
            except TimeoutError:
                writer.transport.abort()  # the client does not take what is left to send
            except Exception:  # noqa: BLE001 - the peer went away: nothing left to do
                pass

    async def _serve(self, ip: str, token: str | None, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        gate = self.gate
        idle = gate.options.tcp_idle_timeout
        lock = asyncio.Lock()
        pending: set[asyncio.Task[None]] = set()
        try:
            while True:
                if len(pending) >= MAX_TCP_PIPELINE:
                    done, _ = await asyncio.wait(pending, timeout=idle,
                                                 return_when=asyncio.FIRST_COMPLETED)
                    if not done:
                        break  # the client does not read its answers
                try:
                    async with asyncio.timeout(idle):
                        head = await reader.readexactly(2)
                        size = struct.unpack("!H", head)[0]
                        data = await reader.readexactly(size)
                except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                    break
                client = self._client(ip, token)
                if client.limiter is not None and not client.limiter.allow():
                    gate.stats.rate_limited += 1
                    break  # a rate-limited client holds no connection
                task = asyncio.get_running_loop().create_task(
                    self._one(data, client, writer, lock)
                )
                pending.add(task)
                task.add_done_callback(pending.discard)
        finally:
            if pending:
                _, late = await asyncio.wait(pending, timeout=5)
                for task in late:
                    task.cancel()

    async def _one(self, data: bytes, client: Client, writer: asyncio.StreamWriter,
                   lock: asyncio.Lock) -> None:
        try:
            response = await self.gate.answer(data, client, None)
        except Exception:
            self.gate.stats.handler_errors += 1
            log.exception("error answering a TCP query from %s", client.ip)
            response = wire.error_response(data, wire.RCODE_SERVFAIL)
        if response is None:
            return
        async with lock:
            try:
                writer.write(struct.pack("!H", len(response)) + response)
                await writer.drain()
            except ConnectionError:
                pass


async def start_listeners(gate: Gate, host: str, port: int, *,
                          reuse_port: bool = False) -> tuple[Sequence[Any], int]:
    """Bind UDP and TCP on the same port (port 0 picks a free one). Returns the transports
    and servers to close, and the bound port. With ``reuse_port`` several processes share
    the port and the kernel spreads queries over them."""
    attempts = 20 if port == 0 else 1
    for attempt in range(attempts):
        try:
            return await _bind(gate, host, port, reuse_port)
        except OSError:
            # With port 0 the UDP port is free but the same TCP port may not be: try again.
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _bind(gate: Gate, host: str, port: int,
                reuse_port: bool) -> tuple[Sequence[Any], int]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: UdpServer(gate), local_addr=(host, port), reuse_port=reuse_port or None
    )
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Room for bursts: a full receive buffer silently drops queries.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_BUFFER_BYTES)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, UDP_BUFFER_BYTES)
    bound = transport.get_extra_info("sockname")[1]
    try:
        tcp = await asyncio.start_server(TcpServer(gate).handle, host, bound,
                                         reuse_address=True, reuse_port=reuse_port or None)
    except OSError:
        transport.close()
        raise
    return [transport, tcp], bound
