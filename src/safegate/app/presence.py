"""Is a device protected yet? "Has the gate seen a query from this device since the set-up
page opened", answered cheaply from what the running gate already keeps.

The gate remembers each client in a table (by source address; DoH/DoT clients by address
and token digest) and admits a client again only when it is missing. :func:`arm` removes
the device's entries from those tables (on the event loop, between two queries: the gate
then simply admits the device again on its next query, nothing else is lost), so an entry
that is back later proves a query since. Nothing is added to the hot path.

With several worker processes (``gate.workers`` > 1) a query may reach another worker than
the page, so the answer comes from the query log instead: a row of the device's child from
the device's address in a window that began after the page opened (a few seconds later than
the table would say, and never for a child whose log level is ``off``, nor for a device known
by its token only).

:func:`arm` and :func:`seen_live` touch the gate's tables: call them on the gate's event loop
(an ``async`` handler of the web app), never from a worker thread.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from safegate.app.core import App
from safegate.store.models import QueryLog

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Probe:
    """What identifies one device to the gate: its child, address range and token."""

    profile_id: int
    network: Network | None
    token: str | None


def probe_for(profile_id: int, ip_cidr: str | None, token: str | None) -> Probe:
    network = ipaddress.ip_network(ip_cidr, strict=False) if ip_cidr else None
    return Probe(profile_id, network, token or None)


def in_network(ip: str, network: Network | None) -> bool:
    """``ip`` (a client address, maybe with an IPv6 zone) is inside ``network``. Pure."""
    if network is None:
        return False
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    return addr.version == network.version and addr in network


def token_keys(token: str | None) -> frozenset[bytes]:
    """The digests under which the gate may know the device's DoH token or DoT label."""
    if not token:
        return frozenset()
    from safegate.policy.compiled import dot_label, token_key

    label = dot_label(token)
    return frozenset({token_key(token), token_key(label), token_key(label.lower())})


def _address_entries(app: App, probe: Probe) -> list[str]:
    gate = app.live_gate
    if gate is None or probe.network is None:
        return []
    return [ip for ip, client in list(gate.clients.items())
            if in_network(ip, probe.network) and client.profile.id == probe.profile_id]


def _token_entries(app: App, probe: Probe) -> list[tuple[str, bytes]]:
    gate = app.live_gate
    keys = token_keys(probe.token)
    if gate is None or not keys:
        return []
    return [key for key in list(gate.token_clients) if key[1] in keys]


def live(app: App) -> bool:
    """The in-process answer applies: a gate runs here and is the only worker."""
    return app.live_gate is not None and int(app.settings["gate.workers"]) <= 1


def arm(app: App, probe: Probe) -> float:
    """Forget the device in the gate's client tables; the time to ask :func:`seen` about."""
    gate = app.live_gate
    if live(app) and gate is not None:
        for ip in _address_entries(app, probe):
            gate.clients.pop(ip, None)
        for key in _token_entries(app, probe):
            gate.token_clients.pop(key, None)
    return time.time()


def seen_live(app: App, probe: Probe) -> bool:
    """The gate admitted the device again since :func:`arm` (in-process answer)."""
    return bool(_address_entries(app, probe) or _token_entries(app, probe))


def seen_in_log(app: App, probe: Probe, since: float) -> bool:
    """A query-log row of the device's child, from its address, in a window that began at
    or after ``since`` (the multi-worker answer; a worker thread may call it)."""
    if probe.network is None:
        return False
    with app.sessions()() as session:
        ips: Iterable[str] = session.scalars(
            select(QueryLog.client_ip).where(QueryLog.profile_id == probe.profile_id,
                                             QueryLog.ts >= since).distinct().limit(1000))
        return any(in_network(ip, probe.network) for ip in ips)
