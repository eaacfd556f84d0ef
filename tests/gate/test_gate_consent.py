"""Consent reaches a running gate: the demo household consented to full query logs; a
withdrawn consent turns An's log into hourly aggregates without addresses, through the
change bus (the poll interval is a minute, so only the announcement can apply it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from safegate.app.consent import give_consent, withdraw_consent
from tests.helpers import ask, wait_until

AN = "127.0.0.2"


def test_withdrawing_full_query_log_consent_stops_addresses_being_logged(
        make_gate: Any) -> None:
    g = make_gate({"adult": ["bad.example"]}, demo=True,
                  **{"querylog.flush_interval": 0.1, "server.change_poll_interval": 60.0})
    g.gate.querylog.window = 0.2

    def logged(name: str) -> list[Any]:
        with g.runtime.engine.connect() as conn:
            return list(conn.execute(text("select client_ip from query_log where qname = :n"),
                                     {"n": name}))

    def level() -> str:
        return str(g.gate.snapshot.by_ip[AN].log_level)

    assert level() == "full"
    ask(g.port, "before.example", source=AN)
    assert wait_until(lambda: bool(logged("before.example")), 5)
    assert logged("before.example")[0][0] == AN

    withdraw_consent(g.runtime.app, "An", "full_query_log", by="child", actor="child:An")
    assert wait_until(lambda: level() == "domains", 5)
    ask(g.port, "after.example", source=AN)
    assert wait_until(lambda: bool(logged("after.example")), 5)
    assert logged("after.example")[0][0] == ""  # aggregates: no address

    give_consent(g.runtime.app, "An", "full_query_log", by="child", actor="child:An")
    assert wait_until(lambda: level() == "full", 5)
