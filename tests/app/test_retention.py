"""Retention per data class on SQLite and PostgreSQL: full query-log rows at 30 days,
aggregates at a year, seen domains, fulfilled data requests and withdrawn consents; each
purge audited with its count; a running gate's jobs leader runs them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from safegate.app.consent import give_consent, withdraw_consent
from safegate.app.core import App
from safegate.app.dsr import fulfil_request, open_request
from safegate.app.family import add_child, add_org
from safegate.app.retention import retention_table, run_retention
from safegate.cli import main
from safegate.config import load_settings
from safegate.privacy import audit
from safegate.store.db import session_factory
from safegate.store.models import AuditLog, Consent, DataSubjectRequest, QueryLog, SeenDomain
from tests.helpers import wait_until

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAY = 86400.0


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    add_org(made, "Nhà Lan")
    add_child(made, "Minh", 2015, now=NOW)
    yield made
    made.close()


def _fill(app: App, now: datetime) -> None:
    ts = now.timestamp()
    with app.sessions().begin() as session:
        for age, ip in ((40, "192.0.2.1"), (10, "192.0.2.1"), (40, ""), (400, "")):
            session.add(QueryLog(ts=ts - age * DAY, client_ip=ip, profile_id=1,
                                 qname=f"d{age}{ip or 'agg'}.example", qtype=1, action="allow"))
        for age, name in ((100, "old.example"), (5, "new.example")):
            session.add(SeenDomain(domain=name, first_seen=ts - age * DAY,
                                   last_seen=ts - age * DAY, queries=1))
    long_ago = now - timedelta(days=1200)
    for kind in ("access", "correct"):
        req = open_request(app, "Minh", kind, by="parent", actor="p", now=long_ago)
        if kind == "correct":
            fulfil_request(app, req.id, actor="op", now=long_ago)
    give_consent(app, "Minh", "alerts", by="parent", actor="p", now=long_ago)
    give_consent(app, "Minh", "reports", by="parent", actor="p", now=long_ago)
    withdraw_consent(app, "Minh", "reports", actor="p", now=long_ago)


def test_each_class_is_purged_after_its_own_time(app: App, engine: Engine) -> None:
    _fill(app, NOW)
    counts = run_retention(app, NOW)
    assert counts == {"query log rows": 1, "query log aggregates": 1, "alerts": 0,
                      "seen domains": 1, "data requests": 1, "withdrawn consents": 1,
                      "audit entries": 0}
    with session_factory(engine)() as session:
        left = sorted(session.scalars(select(QueryLog.qname)))
        assert left == ["d10192.0.2.1.example", "d40agg.example"]
        assert session.scalars(select(SeenDomain.domain)).all() == ["new.example"]
        assert session.scalars(select(DataSubjectRequest.kind)).all() == ["access"]  # open
        assert session.scalars(select(Consent.purpose)).all() == ["alerts"]  # active
        purged = session.execute(select(AuditLog.object_type, AuditLog.detail).where(
            AuditLog.action == "retention.purge").order_by(AuditLog.seq)).all()
        assert [(t, d["count"]) for t, d in purged] == [("seen_domain", 1), ("dsr", 1),
                                                        ("consent", 1)]
        assert audit.verify(session).ok
    assert set(run_retention(app, NOW).values()) == {0}


def test_zero_keeps_forever_and_the_table_names_every_class(app: App, engine: Engine,
                                                           tmp_path: Path) -> None:
    forever = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "f"), "querylog.retention_days": 0,
        "retention.aggregates_days": 0, "alerts.retention_days": 0,
        "retention.seen_domains_days": 0, "retention.requests_days": 0,
        "retention.consents_days": 0, "audit.retention_days": 0}))
    _fill(app, NOW)
    assert run_retention(forever, NOW) == {}
    forever.close()
    table = {r["class"]: r["days"] for r in retention_table(app.settings)}
    assert table["query_log"] == 30 and table["aggregates"] == 365
    assert table["alerts"] == 90 and table["audit_log"] == 1825
    out = CliRunner().invoke(main, ["retention", "show", "--json", "--data-dir",
                                    str(tmp_path / "x")])
    assert out.exit_code == 0 and '"seen_domains"' in out.output


def test_a_running_gate_purges_the_new_classes(engine: Engine, tmp_path: Path,
                                               make_gate: Any) -> None:
    now = datetime.now(UTC)
    with session_factory(engine).begin() as session:
        session.add(SeenDomain(domain="stale.example", first_seen=now.timestamp() - 200 * DAY,
                               last_seen=now.timestamp() - 200 * DAY, queries=1))
        session.add(QueryLog(ts=now.timestamp() - 500 * DAY, client_ip="", profile_id=None,
                             qname="agg.example", qtype=1, action="allow"))
    url = engine.url.render_as_string(hide_password=False)
    make_gate(data_dir=tmp_path / "data", **{"server.database_url": url})

    def left() -> int:
        with session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(SeenDomain)) or 0) + \
                int(session.scalar(select(func.count()).select_from(QueryLog)) or 0)

    assert wait_until(lambda: left() == 0, 10)
