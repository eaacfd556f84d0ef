"""`safegate check DOMAIN --profile P`: what the gate would answer for a name, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safegate.app.core import App
from safegate.lists.index import DomainIndex
from safegate.lists.parse import normalise_domain
from safegate.lists.services import services_for_domain
from safegate.policy import safe_search
from safegate.policy.compiled import CompiledProfile
from safegate.policy.decide import Decision, decide

# Decisions whose rule names no list entry.
NOT_A_LIST = ("service", "monitor", "guard", "allow_list_only", safe_search.CATEGORY)


class NotFound(LookupError):
    """A name that is no domain, or a profile that does not exist (the message says which)."""


@dataclass(frozen=True, slots=True)
class Explanation:
    domain: str
    profile: CompiledProfile
    decision: Decision
    services: tuple[str, ...]

    @property
    def setting(self) -> str | None:
        return setting_in_words(self.decision, self.profile.name)

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
        out["services"] = list(self.services)
        out["setting"] = self.setting
        return out


def explain(app: App, domain: str, profile: str | None = None) -> Explanation:
    """The decision for ``domain`` under a profile (by name; None: the operator default),
    with the lists and profiles the gate would load now."""
    name = normalise_domain(domain)
    if name is None:
        raise NotFound(f"{domain!r} is not a domain name")
    index = app.load_index()
    compiled = compiled_profile(app, index, profile)
    return Explanation(name, compiled, decide(compiled, index, name),
                       tuple(services_for_domain(name)))


def compiled_profile(app: App, index: DomainIndex, name: str | None) -> CompiledProfile:
    """A child's compiled profile by name (None: the operator default) against ``index``."""
    snapshot = app.build_snapshot(index)
    if not name:
        return snapshot.default
    found = snapshot.profile_by_name(name)
    if found is None:
        names = ", ".join(p.name for p in snapshot.profiles.values()) or "none"
        raise NotFound(f"no profile named {name!r} (profiles: {names})")
    return found


def setting_in_words(decision: Decision, profile: str) -> str | None:
    """The policy setting behind a verdict, in words."""
    rule = decision.rule or ""
    if decision.category == safe_search.CATEGORY:
        engine, _, mode = rule.partition(":")
        if decision.action != "rewrite":
            mode = "blocked"
        return f"profile {profile!r} {safe_search.setting_in_words(engine, mode or 'on')}"
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
