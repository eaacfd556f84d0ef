"""The block page's questions: which child's device is asking (by its address, the way the
gate knows it: identity from the store, never from the browser), what was blocked and why
(the category, never the parent's rule text), and "ask my parent" (an unblock request)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy import select

from safegate.app import requests as unblock
from safegate.app.core import App
from safegate.app.explain import NotFound, explain
from safegate.lists.parse import normalise_domain
from safegate.store.db import reading
from safegate.store.models import Device, Profile

# Reasons that are not a category of sites, said in words of their own on the page.
TIME_REASONS = ("schedule", "pause", "budget")


@dataclass(frozen=True, slots=True)
class Blocked:
    domain: str
    child_id: int
    device_id: int
    birth_year: int | None
    blocked: bool
    category: str | None  # a category id, or a time reason (schedule, pause, budget)


def device_for_address(app: App, address: str) -> tuple[int, int, int | None] | None:
    """(device id, child id, birth year) of the device at ``address`` (an exact address wins
    over the narrowest network that contains it), or None."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    best: tuple[int, tuple[int, int, int | None]] | None = None
    with reading(app.sessions()) as session:
        rows = session.execute(select(Device.id, Device.ip_cidr, Profile.id, Profile.birth_year)
                               .join(Profile, Profile.id == Device.profile_id)
                               .where(Device.ip_cidr.is_not(None)))
        for device_id, cidr, profile_id, birth_year in rows:
            try:
                net = ipaddress.ip_network(str(cidr), strict=False)
            except ValueError:
                continue
            if ip.version == net.version and ip in net and \
                    (best is None or net.prefixlen > best[0]):
                best = (net.prefixlen, (device_id, profile_id, birth_year))
    return None if best is None else best[1]


def blocked_for(app: App, address: str, host: str) -> Blocked | None:
    """What the device at ``address`` gets for ``host`` now; None for an unknown device or
    a name that is not a domain."""
    found = device_for_address(app, address)
    domain = normalise_domain(host.split(":")[0]) if host else None
    if found is None or domain is None:
        return None
    device_id, child_id, birth_year = found
    try:
        verdict = explain(app, domain, f"id:{child_id}")
    except NotFound:
        return None
    decision = verdict.decision
    blocked = decision.action in ("block", "nxdomain")
    return Blocked(domain, child_id, device_id, birth_year, blocked,
                   decision.category if blocked else None)


def ask_parent(app: App, address: str, host: str, message: str | None) -> unblock.RequestView:
    """The child's unblock request for ``host`` from the device at ``address``."""
    found = blocked_for(app, address, host)
    if found is None:
        raise NotFound("this device is not one of a child's")
    return unblock.create(app, f"id:{found.child_id}", found.domain,
                          device=f"id:{found.device_id}", message=message, actor="block page")
