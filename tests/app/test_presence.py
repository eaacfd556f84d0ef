"""The "is this device protected?" answers that need no running gate: address matching, the
token digests the gate may know a device by, and the query-log answer used with several
workers (rows after the page opened, from the device's address, of its child)."""

from __future__ import annotations

from pathlib import Path

from safegate.app.core import App
from safegate.app.presence import in_network, probe_for, seen_in_log, token_keys
from safegate.config import load_settings
from safegate.policy.compiled import dot_label, token_key
from safegate.store.querylog import insert_query_logs
from tests.helpers import demo_data_dir


def test_addresses_inside_a_device_network() -> None:
    probe = probe_for(1, "192.168.1.0/24", None)
    assert in_network("192.168.1.20", probe.network)
    assert not in_network("192.168.2.20", probe.network)
    assert not in_network("fe80::1%eth0", probe.network)  # another family of address
    assert not in_network("not an address", probe.network)
    assert not in_network("192.168.1.20", probe_for(1, None, "t").network)


def test_a_token_is_known_by_its_doh_and_dot_digests() -> None:
    keys = token_keys("AbC_token-1")
    assert token_key("AbC_token-1") in keys and token_key(dot_label("AbC_token-1")) in keys
    assert token_keys(None) == frozenset()


def test_the_query_log_answer(tmp_path: Path) -> None:
    data = demo_data_dir(tmp_path / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    tablet = probe_for(1, "127.0.0.2", "token")
    insert_query_logs(app.engine, [(100.0, "127.0.0.2", 1, "early.example", 1, "allow", None, 1),
                                   (200.0, "127.0.0.3", 1, "other.example", 1, "allow", None, 1),
                                   (210.0, "127.0.0.2", 2, "binh.example", 1, "allow", None, 1)])
    assert not seen_in_log(app, tablet, 150.0)  # before the page opened; another address
    insert_query_logs(app.engine, [(220.0, "127.0.0.2", 1, "later.example", 1, "allow", None, 1)])
    assert seen_in_log(app, tablet, 150.0)
    assert not seen_in_log(app, probe_for(1, None, "token"), 0.0)  # token only: not in the log
    app.close()
