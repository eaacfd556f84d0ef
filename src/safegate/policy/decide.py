"""The per-query decision: a pure function of a compiled profile, the index and a name."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from safegate.lists.guard import guarded
from safegate.lists.index import DomainIndex
from safegate.lists.psl import suffixes
from safegate.policy.budgets import CATEGORY as BUDGET
from safegate.policy.compiled import CompiledProfile
from safegate.policy.safe_search import CATEGORY as SAFE_SEARCH
from safegate.policy.timestate import Live, TimeState

# Names that tell browsers and Apple devices whether encrypted DNS / relays may bypass us.
CANARY = "use-application-dns.net"  # Firefox: NXDOMAIN disables its DoH
PRIVATE_RELAY = frozenset({"mask.icloud.com", "mask-h2.icloud.com", "mask-api.icloud.com"})
LOCAL_ZONE = "resolver.arpa"  # RFC 9462: answered by this resolver itself
_IN_LOCAL_ZONE = "." + LOCAL_ZONE


class Decision(NamedTuple):
    """What to do with a name and why. ``action``: allow, block, nxdomain, local or rewrite
    (answer with a CNAME to ``target``: safe search). Immutable; a tuple, because a cache miss
    makes one per query and a frozen dataclass costs three times as much to build."""

    action: str
    category: str | None = None
    rule: str | None = None  # the list and entry, or the profile rule, that decided
    target: str | None = None  # the CNAME target of a rewrite
    window: str | None = None  # the schedule window that blocked (category "schedule")
    # A block of everything but a few names (pause, bedtime, allow-list-only), not of this
    # name: a CNAME target blocked so does not block the name that was asked.
    blanket: bool = False

    @property
    def reason(self) -> str | None:
        if self.category is None:
            return self.rule
        return f"{self.category}:{self.rule}"

    @property
    def log_action(self) -> str:
        """The query log's word for it (an NXDOMAIN block is a block)."""
        return "block" if self.action == "nxdomain" else self.action


def category_of(reason: str | None) -> str | None:
    """The category a stored reason (``Decision.reason``) starts with
    (``social:list/entry`` → ``social``; a profile rule without a category → None). Pure."""
    return reason.split(":", 1)[0] if reason and ":" in reason else None


ALLOW = Decision("allow")
_new_decision = tuple.__new__  # Decision(...) without NamedTuple's Python-level __new__


ALLOW_LIST_ONLY = "allow_list_only"  # the category of a block by allow-list-only mode
_NOT_ON_ALLOW_LIST = Decision("block", ALLOW_LIST_ONLY, "profile:allow_list_only",
                              blanket=True)
_PAUSED = Decision("block", "pause", "pause", blanket=True)


def _timed(profile: CompiledProfile, state: TimeState, suffixes: list[str]) -> Decision | None:
    """The time-dependent steps before the profile's deny rules: a temporary allow, the
    profile's allow rules, the pause, then each block_all window in force (unless the name is
    on that window's allow list)."""
    for suffix in suffixes:
        if suffix in state.temporary:
            return Decision("allow", "allow", f"temporary:{suffix}")
    for suffix in suffixes:
        if suffix in profile.allow:
            return Decision("allow", "allow", f"profile:{suffix}")
    if state.paused_until is not None:
        return _PAUSED
    for window, allowed in state.schedule.block_all:
        if not any(suffix in allowed for suffix in suffixes):
            return Decision("block", "schedule", f"schedule:{window}", window=window,
                            blanket=True)
    return None


def decide(profile: CompiledProfile, index: DomainIndex, name: str,
           live: Live | None = None) -> Decision:
    """Allow, block, rewrite or answer locally; every block names its category and rule.

    Safe search changes how an allowed name is answered and never unblocks one: a name the
    rules below allow (by default, or by an allow rule, allow list or the guard) and that is
    one of the engine hostnames the profile forces (``profile.rewrites``) is rewritten to the
    engine's enforced endpoint; a deny rule, a blocked service or a list still blocks it.
    """
    decision = _rules(profile, index, name, live)
    if profile.rewrites and decision.action == "allow":
        forced = profile.rewrites.get(name)
        if forced is not None:
            return Decision("rewrite", SAFE_SEARCH, forced.rule, forced.target)
    return decision


def _rules(profile: CompiledProfile, index: DomainIndex, name: str,
           live: Live | None) -> Decision:
    """Allow, block or answer locally.

    Order: bypass canaries, the local zone; with ``live`` (the time-dependent state in force,
    policy/timestate.py): a temporary allow, the profile's allow rules, the pause, block_all
    windows (except their allow lists); then the profile's own allow rules, its own deny
    rules, its time budgets used up today (``live.budget``: no allow window lifts them), its
    services (the most specific domain decides: a blocked service — with the
    schedule's additions and allow-window lifts — blocks, an allowed one is allowed over any
    category, a monitored one is allowed and logged as ``monitor``), search engines that
    cannot be forced into safe search (while safe search is on), allow-list-only mode
    (everything else blocked), then the lists of its categories (with the schedule's
    additions and lifts), where an allow list beats a block list and the false-positive
    guard beats a category block.
    """
    if profile.bypass_protection and (name == CANARY or name in PRIVATE_RELAY):
        return Decision("nxdomain", "bypass", f"builtin:{name}")
    if name == LOCAL_ZONE or name.endswith(_IN_LOCAL_ZONE):
        return Decision("local", None, "builtin:resolver.arpa")
    verdicts, services = profile.verdicts, profile.services
    windows: Mapping[str, str] = {}
    names: list[str] | None = None  # the name and its parents, built once when needed
    if live is not None and live.verdicts is not None:
        verdicts, services = live.verdicts, live.services
        if live.active:
            names = suffixes(name)
            timed = _timed(profile, live.state, names)
            if timed is not None:
                return timed
            windows = live.category_windows
    budget = live.budget.exhausted if live is not None else None
    if profile.allow or profile.deny or services or profile.service_modes or budget:
        if names is None:
            names = suffixes(name)
        for suffix in names:
            if suffix in profile.allow:
                return Decision("allow", "allow", f"profile:{suffix}")
        for suffix in names:
            if suffix in profile.deny:
                return Decision("block", "custom", f"profile:{suffix}")
        if budget:
            # A used-up time budget: like a blocked service, and no allow window lifts it.
            for target in profile.budgets.targets_for(name):
                if target in budget:
                    return Decision("block", BUDGET, f"budget:{target}")
        for suffix in names:
            sid = services.get(suffix)
            if sid is not None:
                window = live.service_windows.get(sid) if live is not None else None
                if window is not None:
                    return Decision("block", "schedule",
                                    f"schedule:{window}:service:{sid}:{suffix}", window=window)
                return Decision("block", "service", f"service:{sid}:{suffix}")
            mode = profile.service_modes.get(suffix)
            if mode is not None:
                if mode[0] == "allow":
                    return Decision("allow", "service", f"service:{mode[1]}:{suffix}")
                if not profile.allow_list_only:
                    return Decision("allow", "monitor", f"service:{mode[1]}:{suffix}")
                break
    if profile.unforceable:
        for suffix in names if names is not None else suffixes(name):
            engine = profile.unforceable.get(suffix)
            if engine is not None:
                return Decision("block", SAFE_SEARCH, f"{engine}:{suffix}")
    if profile.allow_list_only:
        return _NOT_ON_ALLOW_LIST
    if names is None and verdicts.any_allow:
        names = suffixes(name)  # the walk will need them, and so may the guard
    hit = index.lookup(name, verdicts, names)
    if hit is None:
        return ALLOW
    list_id, entry, allow = hit
    spec = index.lists[list_id].spec
    if allow:
        return Decision("allow", "allow", f"{spec.key}:{entry}")
    category = spec.category
    if category != "custom":
        protected = guarded(name, None, names)
        if protected is not None:
            return Decision("allow", "guard", f"never_block:{protected} (over {spec.key})")
    if windows:
        window = windows.get(category)
        if window is not None:
            return Decision("block", "schedule", f"schedule:{window}:{spec.key}:{entry}",
                            window=window)
    # Decision("block", category, rule), built as a tuple (one per cache miss).
    return _new_decision(Decision, ("block", category, f"{spec.key}:{entry}", None, None,
                                    False))


def list_blocks_decide(profile: CompiledProfile, live: Live) -> bool:
    """Whether, under ``live``, ``decide`` can answer a name that an enabled block list covers
    (the name's own index entry blocks it, or else the nearest listed parent's entry in a
    suffix list, below the public suffix) with nothing but that list's block or, for a list
    with a category other than custom, the never-block guard's allow — provided
    the name is none of the names ``_rules`` handles first (the bypass canaries, the local
    zone) and none of its suffixes is ``claimed`` by the profile's rules.

    True when nothing else in ``_rules`` could apply: no time-dependent state in force (a
    pause, a window, a temporary allow), no used-up budget, no allow-list-only mode, and no
    allow list or allow pattern that could beat the block. gate/fastblock.py answers such
    names in C when this is True: a change to ``_rules`` that adds a rule before or beside
    the index lookup must be added here or to ``claimed`` too (tests/gate/test_fastblock.py
    compares the two answers). Pure."""
    verdicts = live.verdicts if live.verdicts is not None else profile.verdicts
    return not (live.active or live.budget.exhausted or profile.allow_list_only
                or verdicts.any_allow or verdicts.allow_patterns)


def claimed(profile: CompiledProfile, live: Live) -> frozenset[str]:
    """The names whose rules ``_rules`` applies, by suffix, before the lists: the profile's
    allow and deny rules, its blocked (now), allowed and monitored services' domains, and
    the search engines that safe search blocks. A name none of whose suffixes is here
    reaches the index lookup (see ``list_blocks_decide``). Pure."""
    services = live.services if live.verdicts is not None else profile.services
    return frozenset((*profile.allow, *profile.deny, *services, *profile.service_modes,
                      *profile.unforceable))


def judge_answer(profile: CompiledProfile, index: DomainIndex, live: Live,
                 cnames: Sequence[str], addresses: Sequence[bytes]) -> Decision | None:
    """The block that an upstream's answer for an allowed name earns, or None: a CNAME target
    the profile blocks, or an answer address on an enabled block list or among the profile's
    denied networks, blocks the name asked. A blanket block (allow-list-only, the pause, a
    bedtime) judges the name asked, not the CDN names it aliases: a name that passed it takes
    its CNAME chain with it; lists and rules still apply. Pure."""
    for target in cnames:
        d = decide(profile, index, target, live)
        if d.action in ("block", "nxdomain") and not d.blanket:
            return Decision("block", d.category, f"cname {target} → {d.rule}")
    verdicts = live.verdicts or profile.verdicts
    if verdicts.block_networks:
        for raw in addresses:
            hit = index.lookup_address(raw, verdicts)
            if hit is not None:
                spec = index.lists[hit.list_id].spec
                return Decision("block", spec.category, f"{spec.key}:{hit.entry} (answer address)")
    if profile.deny_nets:
        for raw in addresses:
            addr = ipaddress.ip_address(raw)
            for net in profile.deny_nets:
                if addr.version == net.version and addr in net:
                    return Decision("block", "custom", f"profile:{net} (answer address)")
    return None
