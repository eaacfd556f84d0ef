"""Compiled policy: frozen objects the gate reads on every query.

``compile_snapshot`` turns profile records from the store, the operator's default policy
and the domain index into a ``PolicySnapshot``. The gate swaps the whole snapshot in one
reference assignment, so a change never drops or half-applies a query.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from safegate.lists.index import DomainIndex, Verdicts
from safegate.policy import safe_search as ss
from safegate.policy.budgets import NO_BUDGETS, Budgets, compile_budgets
from safegate.policy.timestate import NO_RULES, Live, TimeRules, rules_of


class DeviceLike(Protocol):
    name: str
    ip_cidr: str | None
    mac: str | None


class PolicyLike(Protocol):
    @property
    def blocked_categories(self) -> Sequence[str]: ...
    @property
    def blocked_services(self) -> Sequence[str]: ...
    @property
    def allow(self) -> Sequence[str]: ...
    @property
    def deny(self) -> Sequence[str]: ...
    @property
    def block_mode(self) -> str: ...
    @property
    def log_level(self) -> str: ...
    @property
    def bypass_protection(self) -> bool: ...
    @property
    def safe_search(self) -> bool: ...
    @property
    def youtube_mode(self) -> str: ...
    @property
    def allowed_services(self) -> Sequence[str]: ...
    @property
    def monitored_services(self) -> Sequence[str]: ...
    @property
    def allow_list_only(self) -> bool: ...


class ProfileLike(Protocol):
    id: int
    name: str

    @property
    def policy(self) -> Any: ...

    @property
    def devices(self) -> Sequence[Any]: ...


@dataclass(frozen=True)
class CompiledProfile:
    """Everything the gate needs about one child (or the operator default), frozen."""

    id: int | None
    name: str
    blocked_categories: frozenset[str]
    verdicts: Verdicts
    allow: frozenset[str]
    deny: frozenset[str]
    deny_nets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    services: dict[str, str]  # domain of a blocked service → service id
    block_mode: str
    log_level: str
    bypass_protection: bool
    safe_search: bool
    youtube_mode: str
    # Domain of an allowed or monitored service → (mode, service id), mode "allow" or
    # "monitor"; the blocked services stay in ``services``.
    service_modes: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Only the allow rules and allowed services resolve; everything else is blocked.
    allow_list_only: bool = False
    # Safe search (policy/safe_search.py): exact hostname → its forced endpoint, and the
    # domains of search engines that cannot be forced (blocked while safe search is on).
    rewrites: dict[str, ss.Rewrite] = field(default_factory=dict, compare=False)
    unforceable: dict[str, str] = field(default_factory=dict, compare=False)
    # Per-snapshot memo of finished responses, keyed by the query bytes after the ID.
    # It belongs to this frozen object, so a policy swap starts with an empty memo.
    # Oldest entries are evicted first (OrderedDict.popitem: O(1), unlike a dict's first key).
    memo: OrderedDict[bytes, Any] = field(default_factory=OrderedDict, compare=False,
                                          repr=False)
    # Time-dependent rules (schedules, pause, temporary allows) and the state in force now,
    # which the gate refreshes when it expires (policy/timestate.py).
    time: TimeRules = NO_RULES
    blocked_service_ids: frozenset[str] = frozenset()
    verdict_cache: dict[frozenset[str], Verdicts] = field(default_factory=dict, compare=False,
                                                          repr=False)
    live: Live = field(default_factory=Live, compare=False, repr=False)
    # Daily time budgets (policy/budgets.py): limits and the domains that count.
    budgets: Budgets = NO_BUDGETS


@dataclass(frozen=True)
class PolicySnapshot:
    generation: int
    index: DomainIndex
    default: CompiledProfile
    profiles: dict[int, CompiledProfile]
    by_ip: dict[str, CompiledProfile]
    by_net: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, CompiledProfile], ...]
    by_mac: dict[str, CompiledProfile]
    # Device tokens (DoH path, DoT server name) → profile, keyed by ``token_key``: a lookup
    # compares digests, never the secret itself, so its timing tells nothing about a token.
    by_token: dict[bytes, CompiledProfile] = field(default_factory=dict)
    # Each child's device keys, by id: what ``patch_snapshot`` keeps, with ``profiles``, of
    # the children a change did not touch.
    device_keys: dict[int, DeviceKeys] = field(default_factory=dict, repr=False)

    def profile_for_token(self, token: str) -> CompiledProfile | None:
        """The profile of the device with this token or DoT label (None: nobody's)."""
        if not token or len(token) > 128:
            return None
        hit = self.by_token.get(token_key(token))
        if hit is None:
            # A DoT label is lowercase: a client may have lowercased the server name.
            hit = self.by_token.get(token_key(token.lower()))
        return hit

    def profile_for_ip(self, ip: str) -> CompiledProfile | None:
        hit = self.by_ip.get(ip)
        if hit is not None:
            return hit
        if self.by_net:
            try:
                addr = ipaddress.ip_address(ip.split("%", 1)[0])
            except ValueError:
                return None
            for net, profile in self.by_net:
                if addr.version == net.version and addr in net:
                    return profile
        return None

    def profile_by_name(self, name: str) -> CompiledProfile | None:
        for profile in self.profiles.values():
            if profile.name.casefold() == name.casefold():
                return profile
        return None


def token_key(token: str) -> bytes:
    """The key under which a device token (or its DoT label) is looked up."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def dot_label(token: str) -> str:
    """A device's DNS-over-TLS label: its token as one hostname label that Android accepts
    and that survives lowercasing (tokens are URL-safe base64: mixed case, ``_`` and ``-``):
    26 base32 characters of a digest of the token (130 bits)."""
    digest = hashlib.sha256(b"safegate-dot:" + token.encode()).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:26]


def normalise_mac(raw: str) -> str:
    hexdigits = "".join(c for c in raw.lower() if c in "0123456789abcdef")
    if len(hexdigits) != 12:
        raise ValueError(f"not a MAC address: {raw!r}")
    return ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2))


def enabled_lists(index: DomainIndex, categories: Iterable[str]) -> list[int]:
    """List ids a profile applies: block lists of its blocked categories, every custom
    list, and every allow list."""
    wanted = set(categories)
    out = []
    for lid, loaded in enumerate(index.lists):
        spec = loaded.spec
        if spec.role == "allow" or spec.category == "custom" or spec.category in wanted:
            out.append(lid)
    return out


def _is_network(item: str) -> bool:
    try:
        ipaddress.ip_network(item.strip(), strict=False)
    except ValueError:
        return False
    return True


def _domains(items: Iterable[str]) -> frozenset[str]:
    """Domain rules, normalised; IP/CIDR rules are kept apart (see ``_networks``)."""
    return frozenset(
        d.strip().strip(".").lower()
        for d in items
        if d and d.strip().strip(".") and not _is_network(d)
    )


def _networks(items: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(d.strip(), strict=False) for d in items if _is_network(d))


def service_domains(service_ids: Iterable[str]) -> dict[str, str]:
    """Domain → service id for the blocked services (unknown ids are ignored: the
    catalogue may have dropped one since the policy was saved)."""
    from safegate.lists.services import service

    out: dict[str, str] = {}
    for sid in service_ids:
        try:
            svc = service(sid)
        except ValueError:
            continue
        for domain in svc.domains:
            out.setdefault(domain, sid)
    return out




def service_modes(allowed: Iterable[str], monitored: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Domain → (mode, service id) for allowed and monitored services; where two services
    share a domain, allowing wins over monitoring (both let it through)."""
    out: dict[str, tuple[str, str]] = {}
    for mode, ids in (("allow", allowed), ("monitor", monitored)):
        for domain, sid in service_domains(ids).items():
            out.setdefault(domain, (mode, sid))
    return out


def compile_profile(
    index: DomainIndex,
    *,
    profile_id: int | None,
    name: str,
    policy: PolicyLike,
    verdict_cache: dict[frozenset[str], Verdicts] | None = None,
    time: TimeRules = NO_RULES,
    budgets: Budgets = NO_BUDGETS,
) -> CompiledProfile:
    cats = frozenset(policy.blocked_categories)
    cache = verdict_cache if verdict_cache is not None else {}
    verdicts = cache.get(cats)
    if verdicts is None:
        verdicts = cache[cats] = index.verdicts(enabled_lists(index, cats))
    forced, unforceable = ss.for_settings(policy.safe_search, policy.youtube_mode)
    return CompiledProfile(
        id=profile_id,
        name=name,
        blocked_categories=cats,
        verdicts=verdicts,
        allow=_domains(policy.allow),
        deny=_domains(policy.deny),
        deny_nets=_networks(policy.deny),
        services=service_domains(policy.blocked_services),
        block_mode=policy.block_mode,
        log_level=policy.log_level,
        bypass_protection=policy.bypass_protection,
        safe_search=policy.safe_search,
        youtube_mode=policy.youtube_mode,
        service_modes=service_modes(policy.allowed_services, policy.monitored_services),
        allow_list_only=policy.allow_list_only,
        rewrites=forced,
        unforceable=unforceable,
        time=time,
        blocked_service_ids=frozenset(policy.blocked_services),
        verdict_cache=cache,
        budgets=budgets,
    )


@dataclass(frozen=True, slots=True)
class DefaultPolicy:
    """The operator's policy for clients that are no known device."""

    blocked_categories: tuple[str, ...]
    blocked_services: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    block_mode: str = "null"
    log_level: str = "full"
    bypass_protection: bool = True
    safe_search: bool = False
    youtube_mode: str = "off"
    allowed_services: tuple[str, ...] = ()
    monitored_services: tuple[str, ...] = ()
    allow_list_only: bool = False


def budgets_of(record: Any) -> Budgets:
    """The compiled budgets of a profile record (its ``time_budget`` rows and the Decree 147
    flag; anything without the fields has none)."""
    rows = getattr(record, "budgets", ())
    decree = bool(getattr(getattr(record, "policy", None), "decree147", False))
    if not rows and not decree:
        return NO_BUDGETS
    from safegate.policy.timestate import DEFAULT_TIMEZONE, zone_ok

    return _budgets(tuple((str(target), int(minutes)) for target, minutes in rows), decree,
                    zone_ok(getattr(record, "timezone", DEFAULT_TIMEZONE)))


@lru_cache(maxsize=1024)
def _budgets(rows: tuple[tuple[str, int], ...], decree147: bool, timezone: str) -> Budgets:
    """``compile_budgets`` remembered by its inputs: the gate compiles a changed child again
    after every change, and its budgets rarely change with it (the result is read-only)."""
    return compile_budgets(rows, decree147=decree147, timezone=timezone)


@dataclass(frozen=True, slots=True)
class DeviceKeys:
    """How one child's devices are recognised: single addresses, networks, MAC addresses
    and token digests (``token_key`` of the token and of its DoT label)."""

    ips: tuple[str, ...] = ()
    nets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    macs: tuple[str, ...] = ()
    tokens: tuple[bytes, ...] = ()


def device_keys(devices: Iterable[Any]) -> DeviceKeys:
    ips: list[str] = []
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    macs: list[str] = []
    tokens: list[bytes] = []
    for device in devices:
        if device.ip_cidr:
            net = ipaddress.ip_network(device.ip_cidr, strict=False)
            if net.num_addresses == 1:
                ips.append(str(net.network_address))
            else:
                nets.append(net)
        if device.mac:
            macs.append(normalise_mac(device.mac))
        token = getattr(device, "token", None)
        if token:
            tokens += (token_key(token), token_key(dot_label(token)))
    return DeviceKeys(tuple(ips), tuple(nets), tuple(macs), tuple(tokens))


def compile_child(index: DomainIndex, record: Any,
                  verdict_cache: dict[frozenset[str], Verdicts]) -> CompiledProfile:
    """One child's compiled profile."""
    return compile_profile(
        index,
        profile_id=record.id,
        name=record.name,
        policy=record.policy,
        verdict_cache=verdict_cache,
        time=rules_of(record),
        budgets=budgets_of(record),
    )


def assemble(generation: int, index: DomainIndex, default: CompiledProfile,
             profiles: dict[int, CompiledProfile],
             keys: dict[int, DeviceKeys]) -> PolicySnapshot:
    """The snapshot of compiled children and the device maps made from their ``keys`` (in
    the order of ``profiles``, which decides between two devices with the same address:
    the later child wins)."""
    by_ip: dict[str, CompiledProfile] = {}
    nets: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, CompiledProfile]] = []
    by_mac: dict[str, CompiledProfile] = {}
    by_token: dict[bytes, CompiledProfile] = {}
    for pid, cp in profiles.items():
        child = keys[pid]
        for ip in child.ips:
            by_ip[ip] = cp
        for net in child.nets:
            nets.append((net, cp))
        for mac in child.macs:
            by_mac[mac] = cp
        for token in child.tokens:
            by_token[token] = cp
    nets.sort(key=lambda item: item[0].prefixlen, reverse=True)
    return PolicySnapshot(
        generation=generation,
        index=index,
        default=default,
        profiles=profiles,
        by_ip=by_ip,
        by_net=tuple(nets),
        by_mac=by_mac,
        by_token=by_token,
        device_keys=keys,
    )


def compile_snapshot(
    index: DomainIndex,
    profiles: Sequence[Any],
    default: DefaultPolicy,
    generation: int,
) -> PolicySnapshot:
    """Compile every profile and the device maps. Profiles sharing a category set share
    one ``Verdicts`` object."""
    verdict_cache: dict[frozenset[str], Verdicts] = {}
    default_profile = compile_profile(
        index, profile_id=None, name="default", policy=default, verdict_cache=verdict_cache
    )
    compiled = {r.id: compile_child(index, r, verdict_cache) for r in profiles}
    keys = {r.id: device_keys(r.devices) for r in profiles}
    return assemble(generation, index, default_profile, compiled, keys)


def patch_snapshot(old: PolicySnapshot, ids: Iterable[int], profiles: Sequence[Any],
                   generation: int) -> PolicySnapshot:
    """``old`` with the children ``ids`` recompiled from ``profiles`` (their records now; an
    id without a record is a child deleted or no longer applied) and every other child kept
    as compiled, memoised answers and time state included. The same snapshot as
    ``compile_snapshot`` of all the records, ordered by id, over ``old``'s index."""
    compiled, keys = dict(old.profiles), dict(old.device_keys)
    for pid in ids:
        compiled.pop(pid, None)
        keys.pop(pid, None)
    cache = old.default.verdict_cache
    for record in profiles:
        compiled[record.id] = compile_child(old.index, record, cache)
        keys[record.id] = device_keys(record.devices)
    return assemble(generation, old.index, old.default, dict(sorted(compiled.items())), keys)
