"""DNS signals: the pure detector (thresholds, windows, cooldown, canaries and list names) and
storing its signals as alerts on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from safegate.config import ConfigError, load_settings
from safegate.privacy.crypto import Keyring
from safegate.protect.dns_alerts import device_name, store_signals
from safegate.protect.monitor import list_alerts
from safegate.protect.signals import (
    BYPASS,
    INFECTED,
    Detector,
    Event,
    Signal,
    Thresholds,
    event_from_row,
    kind_of,
)
from safegate.store.db import session_factory
from safegate.store.models import Alert, Device, Profile
from safegate.store.repo import create_demo_household

T0 = 1_800_000_000.0


def blocked(at: float, qname: str, category: str | None, *, client: str = "10.0.0.2",
            profile: int = 1, count: int = 1, action: str = "block") -> Event:
    return Event(T0 + at, profile, client, qname, action, category, count)


# --- what counts ------------------------------------------------------------------------------


def test_canaries_and_bypass_list_names_count_as_bypass_malware_as_infection() -> None:
    assert kind_of(blocked(0, "use-application-dns.net", "bypass")) == BYPASS
    assert kind_of(blocked(0, "mask.icloud.com", "bypass")) == BYPASS
    assert kind_of(blocked(0, "doh.example", "bypass")) == BYPASS
    # A canary counts by its name, whatever category a schedule's block gave it.
    assert kind_of(blocked(0, "mask-h2.icloud.com", "schedule")) == BYPASS
    assert kind_of(blocked(0, "c2.example", "malware")) == INFECTED
    # Phishing is a page a child opened, not an infection; other categories count for nothing.
    for category in ("scam", "adult", "custom", None):
        assert kind_of(blocked(0, "x.example", category)) is None
    # Only blocked queries count: bypass protection off or the category unblocked = allowed.
    assert kind_of(blocked(0, "use-application-dns.net", None, action="allow")) is None
    assert kind_of(blocked(0, "c2.example", "malware", action="allow")) is None


def test_events_from_query_log_rows() -> None:
    e = event_from_row(T0, "10.0.0.2", 3, "c2.example", "block",
                       "malware:shadowwhisperer/malware:c2.example", 4)
    assert e == Event(T0, 3, "10.0.0.2", "c2.example", "block", "malware", 4)
    canary = event_from_row(T0, "", 3, "use-application-dns.net", "block",
                            "bypass:builtin:use-application-dns.net", 1)
    assert canary is not None and canary.category == "bypass" and canary.client == ""
    assert event_from_row(T0, "10.0.0.2", None, "c2.example", "block", "malware:x:y", 1) is None
    assert event_from_row(T0, "10.0.0.2", 3, "a.example", "allow", None, 1) is not None


# --- bypass: thresholds, window, cooldown -----------------------------------------------------


def test_bypass_needs_the_threshold_within_the_window() -> None:
    d = Detector(Thresholds(bypass_attempts=5, bypass_window=600))
    # four attempts: nothing yet
    assert d.feed([blocked(i * 10, "doh.example", "bypass") for i in range(4)]) == []
    # the fifth within ten minutes of the first: a signal naming the device and the names
    [signal] = d.feed([blocked(100, "use-application-dns.net", "bypass")])
    assert (signal.kind, signal.profile_id, signal.client, signal.attempts) == \
        (BYPASS, 1, "10.0.0.2", 5)
    assert signal.domains == ("doh.example", "use-application-dns.net")  # most queried first
    assert signal.canaries and signal.at == T0 + 100


def test_bypass_attempts_spread_wider_than_the_window_do_not_add_up() -> None:
    d = Detector(Thresholds(bypass_attempts=5, bypass_window=600))
    # one attempt every three minutes: never five within ten minutes
    assert d.feed([blocked(i * 180, "vpn.example", "bypass") for i in range(20)]) == []
    # counts of aggregated rows add up: one row of 5 queries is enough
    [signal] = d.feed([blocked(5000, "vpn.example", "bypass", count=5)])
    assert signal.attempts == 5 and not signal.canaries


def test_one_signal_per_device_and_kind_per_cooldown() -> None:
    d = Detector(Thresholds(bypass_attempts=3, bypass_window=600, cooldown=3600))
    assert len(d.feed([blocked(0, "doh.example", "bypass", count=3)])) == 1
    # more attempts within the hour: nothing, even many
    for minute in range(1, 60, 5):
        assert d.feed([blocked(minute * 60, "doh.example", "bypass", count=10)]) == []
    # another device of the same child, and another child, are counted on their own
    assert len(d.feed([blocked(120, "doh.example", "bypass", count=3,
                               client="10.0.0.3")])) == 1
    assert len(d.feed([blocked(120, "doh.example", "bypass", count=3, profile=2)])) == 1
    # the hour over: the next attempts that reach the threshold signal again
    [again] = d.feed([blocked(3600, "doh.example", "bypass", count=3)])
    assert again.at == T0 + 3600
    # one feed with many events gives one signal per key
    d2 = Detector(Thresholds(bypass_attempts=2))
    assert len(d2.feed([blocked(i, "doh.example", "bypass") for i in range(10)])) == 1


def test_bypass_and_infection_are_counted_apart() -> None:
    d = Detector(Thresholds(bypass_attempts=3, infection_attempts=3, infection_spread=0))
    events = [blocked(0, "doh.example", "bypass"), blocked(1, "c2.example", "malware"),
              blocked(2, "doh.example", "bypass"), blocked(3, "c2.example", "malware")]
    assert d.feed(events) == []
    signals = d.feed([blocked(4, "c2.example", "malware")])
    assert [s.kind for s in signals] == [INFECTED]


# --- infection: persistence -------------------------------------------------------------------


def test_infection_needs_repeated_queries_spread_over_time() -> None:
    t = Thresholds(infection_attempts=10, infection_window=3600, infection_spread=300)
    d = Detector(t)
    # a burst of 30 malware-listed advert lookups in a minute (one page load): no alert
    assert d.feed([blocked(i * 2, "ads.bad.example", "malware") for i in range(30)]) == []
    # the same device calling home every minute for ten minutes: an alert
    d = Detector(t)
    found: list[Signal] = []
    for minute in range(11):
        found += d.feed([blocked(minute * 60, "c2.example", "malware"),
                         blocked(minute * 60 + 1, "beacon.c2.example", "malware")])
    [signal] = found
    assert signal.kind == INFECTED and signal.attempts >= 10
    assert set(signal.domains) == {"c2.example", "beacon.c2.example"}
    assert not signal.canaries


def test_a_signal_names_at_most_five_domains_and_old_events_leave_the_window() -> None:
    d = Detector(Thresholds(bypass_attempts=8, bypass_window=600))
    assert d.feed([blocked(0, f"vpn{i}.example", "bypass") for i in range(7)]) == []
    [signal] = d.feed([blocked(1, "vpn0.example", "bypass")])
    assert len(signal.domains) == 5 and signal.domains[0] == "vpn0.example"
    d = Detector(Thresholds(bypass_attempts=3, bypass_window=600))
    d.feed([blocked(0, "a.example", "bypass", count=2)])
    assert d.feed([blocked(601, "a.example", "bypass")]) == []  # the first two expired


def test_thresholds_are_checked() -> None:
    for bad in ({"bypass_attempts": 0}, {"cooldown": 0},
                {"infection_spread": 7200, "infection_window": 3600}):
        with pytest.raises(ValueError):
            Thresholds(**bad)  # type: ignore[arg-type]


# --- into the alert store ---------------------------------------------------------------------


def test_device_names_by_address_most_specific_network_first() -> None:
    devices = [("School wifi", "10.0.0.0/24"), ("Tablet", "10.0.0.2"), ("Phone", None),
               ("v6", "2001:db8::/64")]
    assert device_name(devices, "10.0.0.2") == "Tablet"
    assert device_name(devices, "10.0.0.9") == "School wifi"
    assert device_name(devices, "2001:db8::5") == "v6"
    assert device_name(devices, "192.0.2.1") is None
    assert device_name(devices, "") is None


@pytest.fixture
def an(engine: Engine) -> Iterator[int]:
    with session_factory(engine).begin() as session:
        create_demo_household(session)
    with session_factory(engine)() as session:
        yield session.scalars(select(Profile.id).where(Profile.name == "An")).one()


def test_signals_become_encrypted_deduplicated_alerts(engine: Engine, an: int,
                                                      tmp_path: Path) -> None:
    key = Keyring.generate()
    with session_factory(engine)() as session:
        tablet = session.scalars(select(Device).where(Device.profile_id == an,
                                                      Device.kind == "tablet")).one()
    ip = str(tablet.ip_cidr).split("/")[0]
    signal = Signal(BYPASS, an, ip, T0, 6, 600, ("use-application-dns.net", "doh.example"),
                    True)
    [created] = store_signals(engine, [signal], key)
    assert created.action == "create"
    # an hour later the detector signals again: the same alert, its count grows
    [merged] = store_signals(engine, [Signal(BYPASS, an, ip, T0 + 3600, 5, 600,
                                             ("doh.example",), False)], key)
    assert merged.action == "merge"
    infected = Signal(INFECTED, an, "192.0.2.77", T0, 12, 3600, ("c2.example",), False)
    assert store_signals(engine, [infected], key)[0].action == "create"
    with session_factory(engine)() as session:
        raw = session.scalars(select(Alert.snippet)).all()
        assert not any("doh.example" in s or "c2.example" in s for s in raw)  # ciphertext
        rows = {a.category: a for a in list_alerts(session, an, key)}
    bypass = rows["bypass_attempt"]
    assert (bypass.severity, bypass.found_by, bypass.guidance, bypass.count) == \
        ("warning", "dns", "bypass_attempt", 2)
    assert bypass.conversation == f"dns:{tablet.name}"
    assert bypass.snippet is not None and tablet.name in bypass.snippet
    assert "use-application-dns.net" in bypass.snippet and "6 blocked lookups" in bypass.snippet
    assert bypass.created_at == datetime.fromtimestamp(T0, UTC)
    infection = rows["infected_device"]
    assert infection.conversation == "dns:192.0.2.77"  # no device of An has this address
    assert infection.snippet is not None and "c2.example" in infection.snippet
    # a child deleted since the query: nothing stored, nothing raised
    assert store_signals(engine, [Signal(BYPASS, 99_999, ip, T0, 5, 600, ("x.example",),
                                         False)], key) == []


def test_thresholds_come_from_the_settings_and_contradictions_are_refused() -> None:
    settings = load_settings(env={"SAFEGATE_SIGNALS__BYPASS_ATTEMPTS": "2",
                                  "SAFEGATE_SIGNALS__BYPASS_WINDOW": "60"})
    detector = Detector(Thresholds.from_settings(settings))
    vpn = "vpn.example"
    assert detector.feed([blocked(0.0, vpn, "bypass")]) == []
    assert [s.kind for s in detector.feed([blocked(30.0, vpn, "bypass")])] == [BYPASS]
    late = Detector(Thresholds.from_settings(settings))
    assert late.feed([blocked(0.0, vpn, "bypass"), blocked(61.0, vpn, "bypass")]) == []
    with pytest.raises(ConfigError, match="signals.infection_spread.*infection_window"):
        load_settings(env={"SAFEGATE_SIGNALS__INFECTION_SPREAD": "7200"})
