"""`safegate check DOMAIN --profile P`: what the gate would answer for a name, and why.

With ``resolve`` the name is also asked of the configured upstreams, as the gate asks them
for a name it allows, and the answer is judged as the gate judges it: a CNAME target or an
answer address the profile blocks blocks the name (``policy.decide.judge_answer``), and a
minute counts for the budgets of every name in the CNAME chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from safegate.app.core import App
from safegate.lists.index import DomainIndex
from safegate.lists.parse import normalise_domain
from safegate.lists.services import services_for_domain
from safegate.policy import safe_search
from safegate.policy.budgets import CATEGORY as BUDGET
from safegate.policy.budgets import summary
from safegate.policy.compiled import CompiledProfile
from safegate.policy.decide import Decision, decide, judge_answer
from safegate.policy.schedule import ScheduleError, zone
from safegate.policy.timestate import Live, at

# Decisions whose rule names no list entry.
NOT_A_LIST = ("service", "monitor", "guard", "allow_list_only", safe_search.CATEGORY, BUDGET)


class NotFound(LookupError):
    """A name that is no domain, or a profile that does not exist (the message says which)."""


@dataclass(frozen=True, slots=True)
class Explanation:
    domain: str
    profile: CompiledProfile
    decision: Decision
    services: tuple[str, ...]
    when: datetime = field(default_factory=lambda: datetime.now(UTC))
    live: Live | None = None
    # The time budgets the name counts towards: target, minutes, used, left, used_up.
    budgets: tuple[dict[str, Any], ...] = ()
    # With ``resolve``: the upstream's CNAME chain for the name, or why there is none.
    resolved: bool | None = None  # None: the upstreams were not asked
    cnames: tuple[str, ...] = ()
    resolve_error: str | None = None

    @property
    def setting(self) -> str | None:
        return setting_in_words(self.decision, self.profile.name, self.live)

    def time_dict(self) -> dict[str, Any]:
        """The moment asked about and the time-dependent state in force then."""
        tz = zone(self.profile.time.timezone)
        out: dict[str, Any] = {"at": self.when.astimezone(tz).isoformat(timespec="seconds"),
                               "timezone": self.profile.time.timezone,
                               "windows": [], "paused_until": None, "temporary_allows": {}}
        if self.live is not None:
            state = self.live.state
            out["windows"] = list(state.schedule.active)
            if state.paused_until is not None:
                out["paused_until"] = _local(state.paused_until, tz)
            out["temporary_allows"] = {d: _local(u, tz) for d, u in state.temporary.items()}
            out["state_until"] = None if state.valid_until == float("inf") else \
                _local(state.valid_until, tz)
        return out

    def to_dict(self) -> dict[str, Any]:
        d = self.decision
        out: dict[str, Any] = {
            "domain": self.domain, "profile": self.profile.name, "action": d.action,
            "category": d.category, "rule": d.rule, "target": d.target,
            "blocked_categories": sorted(self.profile.blocked_categories),
        }
        if d.rule and ":" in d.rule and d.category not in NOT_A_LIST:
            source, _, entry = d.rule.partition(":")
            out["list"] = source
            out["entry"] = entry
        if d.category in ("schedule", "pause") or (d.rule or "").startswith("temporary:"):
            out.pop("list", None)
            out.pop("entry", None)
        out["services"] = list(self.services)
        out["budgets"] = list(self.budgets)
        if self.resolved is not None:
            out["resolved"] = self.resolved
            out["cnames"] = list(self.cnames)
            out["resolve_error"] = self.resolve_error
        out["setting"] = self.setting
        out.update(self.time_dict())
        return out


def _local(unix: float, tz: Any) -> str:
    return datetime.fromtimestamp(unix, tz).isoformat(timespec="seconds")


def parse_at(text: str, timezone: str) -> datetime:
    """An ISO date and time; without an offset it is local time in ``timezone``."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise NotFound(f"--at {text!r} is not a date and time (e.g. 2026-12-01T22:30)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone(timezone))
    return when.astimezone(UTC)


def upstream_answer(app: App, name: str) -> tuple[tuple[str, ...], tuple[bytes, ...]]:
    """The CNAME chain and the addresses the configured upstreams give for ``name`` (type A),
    asked the way the gate asks them; UpstreamError or WireError when there is no usable
    answer."""
    import asyncio

    from safegate.gate import wire
    from safegate.gate.upstream import UpstreamPool

    s = app.settings
    question = wire.question(name, wire.TYPE_A)

    async def ask() -> bytes:
        pool = UpstreamPool(s["gate.upstreams"], s["gate.upstream_timeout"], 0,
                            head_start=s["gate.upstream_head_start"],
                            use_0x20=s["gate.upstream_0x20"])
        try:
            return await pool.resolve(question)
        finally:
            await pool.close()

    scanned = wire.scan_response(asyncio.run(ask()), 12 + len(question))
    return tuple(scanned.cnames), tuple(scanned.addresses)


def explain(app: App, domain: str, profile: str | None = None, *, when: str | None = None,
            device: str | None = None, resolve: bool = False) -> Explanation:
    """The decision for ``domain`` under a profile (by name, or the profile of a device by
    name; None: the operator default), with the lists and profiles the gate would load now,
    at the moment ``when`` (ISO; local time in the household's zone without an offset;
    None: now): the schedules in force then, the pause and the temporary allows. With
    ``resolve``, an allowed name's upstream answer is judged too (see the module)."""
    name = normalise_domain(domain)
    if name is None:
        raise NotFound(f"{domain!r} is not a domain name")
    # Inside `safegate serve` (the web app) the running gate's index; else built here.
    index = app.live_index if app.live_index is not None else app.load_index()
    compiled = compiled_profile(app, index, profile, device=device)
    try:
        instant = parse_at(when, compiled.time.timezone) if when else datetime.now(UTC)
    except ScheduleError as exc:
        raise NotFound(str(exc)) from None
    board = None
    counted: tuple[dict[str, Any], ...] = ()
    cnames: tuple[str, ...] = ()
    addresses: tuple[bytes, ...] = ()
    resolve_error = None
    if resolve:
        from safegate.gate.upstream import UpstreamError
        from safegate.gate.wire import WireError

        try:
            cnames, addresses = upstream_answer(app, name)
        except (UpstreamError, WireError) as exc:
            resolve_error = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    targets = compiled.budgets.targets_for_all((name, *cnames))
    if not compiled.budgets.empty and compiled.id is not None:
        from safegate.app.budgets import used_board

        board = used_board(app, compiled.budgets, compiled.id, instant.timestamp())
        clock = board.clock(compiled.budgets.timezone, instant.timestamp())
        counted = tuple(b for b in summary(compiled.budgets, board.used_on(compiled.id,
                                                                           clock.day),
                                           instant.timestamp(), board.minute_seconds)
                        if b["target"] in targets)
    live = at(compiled, index, instant.timestamp(), board)
    decision = decide(compiled, index, name, live)
    if decision.action == "allow" and (cnames or addresses):
        decision = judge_answer(compiled, index, live, cnames, addresses) or decision
    return Explanation(name, compiled, decision, tuple(services_for_domain(name)), instant,
                       live, counted, resolved=(resolve_error is None) if resolve else None,
                       cnames=cnames, resolve_error=resolve_error)


def compiled_profile(app: App, index: DomainIndex, name: str | None, *,
                     device: str | None = None) -> CompiledProfile:
    """A child's compiled profile against ``index``: by name or ``id:N``, or as the owner of a
    device (by name); neither: the operator default. Names are looked up in the store, so
    two children of the same name in different households are told apart (by id)."""
    live = app.live_snapshot
    # Inside `safegate serve`: the policy the running gate answers with (compiling every
    # profile of every organisation for one question would cost an ISP seconds).
    snapshot = live if live is not None and index is app.live_index else \
        app.build_snapshot(index)
    if not name and not device:
        return snapshot.default
    pid = profile_id(app, name, device)
    found = snapshot.profiles.get(pid)
    if found is None:
        raise NotFound(f"profile id:{pid} is restricted (a data request): its devices get "
                       "the operator default, which `safegate check` without a profile shows")
    return found


def profile_id(app: App, name: str | None, device: str | None) -> int:
    """The id of the child named ``name`` (or ``id:N``) and/or owning the device ``device``
    (NotFound when there is none, or several)."""
    from sqlalchemy import select

    from safegate.store.models import Device, Profile

    rows: list[tuple[int, str]] = []
    devices: list[tuple[str, int]] = []
    if app.has_store:
        with app.sessions()() as session:
            rows = [(i, n) for i, n in session.execute(
                select(Profile.id, Profile.name).order_by(Profile.id))]
            if device is not None:
                devices = [(d, i) for d, i in session.execute(
                    select(Device.name, Device.profile_id))]
    names = dict(rows)
    by_name: set[int] | None = None
    if name:
        wanted = name.strip()
        if wanted.lower().startswith("id:") and wanted[3:].strip().isdigit():
            by_name = {int(wanted[3:])} & set(names)
        else:
            by_name = {i for i, n in rows if n.casefold() == wanted.casefold()}
        if not by_name:
            listed = ", ".join(names.values()) or "none"
            raise NotFound(f"no profile named {name!r} (profiles: {listed})")
    if device is None:
        assert by_name is not None
        if len(by_name) > 1:
            ids = ", ".join(f"id:{i}" for i in sorted(by_name))
            raise NotFound(f"several profiles are named {name!r}: use one of {ids}")
        return next(iter(by_name))
    owners = {i for d, i in devices if d.casefold() == device.casefold()}
    if by_name is not None:
        mine = owners & by_name
        if not mine and owners:
            theirs = ", ".join(sorted(names[i] for i in owners))
            raise NotFound(f"device {device!r} belongs to {theirs}, not {name!r}")
        owners = mine or owners
    if len(owners) != 1:
        if not owners:
            raise NotFound(f"no device named {device!r}")
        theirs = ", ".join(sorted(f"{names[i]} (id:{i})" for i in owners))
        raise NotFound(f"devices named {device!r} belong to several profiles: {theirs}")
    return next(iter(owners))


def setting_in_words(decision: Decision, profile: str, live: Live | None = None) -> str | None:
    """The policy setting behind a verdict, in words."""
    rule = decision.rule or ""
    if decision.category == safe_search.CATEGORY:
        engine, _, mode = rule.partition(":")
        if decision.action != "rewrite":
            mode = "blocked"
        return f"profile {profile!r} {safe_search.setting_in_words(engine, mode or 'on')}"
    if decision.category == BUDGET:
        return (f"profile {profile!r} has used up its daily time budget for "
                f"{rule.split(':', 1)[1]!r} (blocked until local midnight)")
    if decision.category == "pause":
        return f"profile {profile!r} is paused"
    if decision.category == "schedule":
        window = decision.window
        if decision.blanket:
            return f"schedule {window!r} of profile {profile!r} blocks everything but its " \
                   "allow list"
        what = rule.removeprefix(f"schedule:{window}:").split(":")
        return f"schedule {window!r} of profile {profile!r} blocks " + (
            f"the service {what[1]!r}" if what[0] == "service" else "this category")
    if rule.startswith("temporary:"):
        return f"profile {profile!r} allows {rule.split(':', 1)[1]!r} for a while"
    if decision.category == "guard":
        return "built-in never-block guard (category lists only)"
    if decision.category == "service":
        sid = rule.split(":")[1]
        if decision.action == "allow":
            return f"profile {profile!r} allows the service {sid!r} (over its categories)"
        return f"profile {profile!r} blocks the service {sid!r}"
    if decision.category == "monitor":
        return (f"profile {profile!r} monitors the service {rule.split(':')[1]!r}: "
                "allowed, and logged for the parent")
    if decision.category == "allow_list_only":
        return (f"profile {profile!r} is in allow-list-only mode: only its allow rules and "
                "allowed services resolve")
    if rule.startswith("profile:"):
        kind = "allow" if decision.action == "allow" else "deny"
        return f"profile {profile!r} has the {kind} rule {rule.split(':', 1)[1]!r}"
    if decision.category == "bypass":
        return f"profile {profile!r} has bypass protection on"
    if decision.action == "block" and decision.category == "custom":
        return "operator list (applies to every profile)"
    if decision.action == "block":
        return f"profile {profile!r} blocks the category {decision.category!r}"
    if decision.category == "allow":
        return "allow list"
    return None
