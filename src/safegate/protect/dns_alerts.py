"""DNS signals (:mod:`.signals`) into the alert store, like the monitor's alerts.

Each signal becomes a ``bypass_attempt`` or ``infected_device`` alert of the child, found by
``dns``, its "conversation" the device (``dns:<device name>``, or ``dns:<address>`` for an
address no device of the child claims), its snippet the evidence text encrypted for the
profile. Detections of the same device and kind within :data:`LIMITS`' dedupe window (a day)
go into one alert whose count grows; new alerts share the profile's rate limit with the
other non-urgent alerts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from safegate.privacy.crypto import Keyring
from safegate.protect.alerts import Limits
from safegate.protect.monitor import CONVERSATION_MAX, StoreOutcome, seal_snippet, store_alert
from safegate.protect.signals import Signal, describe
from safegate.protect.spool import PendingAlert
from safegate.store.db import session_factory
from safegate.store.models import Device, Profile

__all__ = ["LIMITS", "device_name", "pending_alert", "store_signals"]

LIMITS = Limits(dedupe_window=timedelta(days=1))
ACTOR = "gate signals"


def device_name(devices: Sequence[tuple[str, str | None]], client: str) -> str | None:
    """The name of the device whose address or network holds ``client`` (the most specific
    network wins), or None."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return None
    best: tuple[int, str] | None = None
    for name, cidr in devices:
        if not cidr:
            continue
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            continue
        if address.version == net.version and address in net and (
                best is None or net.prefixlen > best[0]):
            best = (net.prefixlen, name)
    return None if best is None else best[1]


def pending_alert(signal: Signal, device: str, key: Keyring) -> PendingAlert:
    """The alert to store for ``signal`` seen on ``device`` (its snippet encrypted)."""
    text = describe(signal, device)
    return PendingAlert(
        profile_id=signal.profile_id, conversation=f"dns:{device}"[:CONVERSATION_MAX],
        category=signal.kind, severity="warning", score=1.0, guidance=signal.kind,
        found_by="dns", at=datetime.fromtimestamp(signal.at, UTC),
        snippet=seal_snippet(text, key, signal.profile_id),
    )


def _store(session: Session, signals: Sequence[Signal], key: Keyring) -> list[StoreOutcome]:
    out = []
    for signal in signals:
        if session.get(Profile, signal.profile_id) is None:
            continue  # the child was deleted since the query
        devices = [(d.name, d.ip_cidr) for d in session.scalars(
            select(Device).where(Device.profile_id == signal.profile_id))]
        name = device_name(devices, signal.client) or (
            signal.client if signal.client else "a device")
        out.append(store_alert(session, pending_alert(signal, name, key), key, limits=LIMITS,
                               actor=ACTOR))
    return out


def store_signals(engine: Engine, signals: Sequence[Signal], key: Keyring,
                  ) -> list[StoreOutcome]:
    """Store ``signals`` in one transaction (runs in a worker thread)."""
    if not signals:
        return []
    with session_factory(engine).begin() as session:
        return _store(session, signals, key)
