"""The hash-chained audit log on SQLite and PostgreSQL: entries written by the operations in
their own transaction, naming children by pseudonym; `audit verify` (the function and the
command) finds an edited, removed or reordered entry after real tampering with the table;
concurrent writers keep one chain; entries from before migration 0009 are chained by it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, text

from safegate.app.audit import audit_entries, verify_audit
from safegate.app.consent import give_consent
from safegate.app.core import App
from safegate.app.family import add_child, add_device, add_org, delete_child
from safegate.cli import main
from safegate.config import load_settings
from safegate.privacy import audit
from safegate.store.db import session_factory
from safegate.store.models import AuditLog, Profile
from tests.helpers import _alembic

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    add_org(made, "Nhà Lan")
    add_child(made, "Minh", 2015, now=NOW, actor="cli:lan")
    add_device(made, "Minh", "Điện thoại", ip="192.0.2.7", actor="cli:lan")
    give_consent(made, "Minh", "alerts", by="parent", actor="parent:Lan")
    give_consent(made, "Minh", "alerts", by="child", actor="child:Minh")
    yield made
    made.close()


def test_operations_write_chained_entries_without_names(app: App, engine: Engine) -> None:
    with session_factory(engine)() as session:
        subject = session.scalars(select(Profile.subject)).one()
        rows = list(session.scalars(select(AuditLog).order_by(AuditLog.seq)))
    assert [r.action for r in rows] == ["child.add", "device.add", "consent.give",
                                        "consent.give"]
    assert {r.subject for r in rows} == {subject} and subject and len(subject) == 32
    for prev, row in zip(rows, rows[1:], strict=False):
        assert row.prev_hash == prev.hash
    assert all("Minh" not in repr(r.detail) + r.actor.replace("child:Minh", "") for r in rows)
    entries = audit_entries(app, "Minh", actor="cli:t")
    assert [e["action"] for e in entries][0] == "consent.give" and len(entries) == 4
    result = verify_audit(app)
    assert result.ok and result.entries == 5  # the four, and the reading just recorded


def _swap_ids(engine: Engine, a: int, b: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET id = -1 WHERE id = :a"), {"a": a})
        conn.execute(text("UPDATE audit_log SET id = :a WHERE id = :b"), {"a": a, "b": b})
        conn.execute(text("UPDATE audit_log SET id = :b WHERE id = -1"), {"b": b})


TAMPERING = {
    "edited": ("UPDATE audit_log SET actor = 'someone else' WHERE seq = 2", "was changed"),
    "detail edited": ("UPDATE audit_log SET detail = '{\"device_id\": 99}' WHERE seq = 2",
                      "was changed"),
    "removed": ("DELETE FROM audit_log WHERE seq = 2", "removed or reordered"),
    "last removed": ("DELETE FROM audit_log WHERE seq = 4", "last entries were removed"),
    "reordered": (None, "number 3 where number 2 belongs"),
}


@pytest.mark.parametrize("how", TAMPERING)
def test_verify_finds_tampering(app: App, engine: Engine, how: str) -> None:
    assert verify_audit(app).ok
    sql, says = TAMPERING[how]
    with engine.connect() as conn:
        ids = conn.execute(select(AuditLog.id).order_by(AuditLog.seq)).scalars().all()
    if sql is None:
        _swap_ids(engine, ids[1], ids[2])
    else:
        if engine.dialect.name == "postgresql":
            sql = sql.replace("'{\"device_id\": 99}'", "'{\"device_id\": 99}'::jsonb")
        with engine.begin() as conn:
            conn.execute(text(sql))
    result = verify_audit(app)
    assert not result.ok and says in (result.problem or ""), result
    out = CliRunner(env={"SAFEGATE_DATABASE_URL": engine.url.render_as_string(
        hide_password=False)}).invoke(main, ["audit", "verify", "--json",
                                             "--data-dir", str(app.data_dir)])
    assert out.exit_code == 1 and '"ok": false' in out.output and says in out.output


def _purge_first(engine: Engine, through: int) -> int:
    """Purge the entries up to place ``through`` (their time is the cutoff's business)."""
    with session_factory(engine).begin() as session:
        cut = session.scalars(select(AuditLog.ts).where(AuditLog.seq == through + 1)).one()
        session.execute(text("UPDATE audit_log SET ts = :t WHERE seq <= :n"),
                        {"t": datetime(2020, 1, 1, tzinfo=UTC), "n": through})
        # the rewritten times break those entries' hashes, which the purge removes anyway
        return audit.purge(session, min(cut, datetime(2021, 1, 1, tzinfo=UTC)))


def test_a_purge_leaves_a_checkpoint_the_chain_verifies_from(app: App,
                                                              engine: Engine) -> None:
    assert _purge_first(engine, 2) == 2
    result = verify_audit(app)
    assert result.ok and result.since == 2, result
    with session_factory(engine)() as session:
        seqs = session.scalars(select(AuditLog.seq).order_by(AuditLog.seq)).all()
        point = session.scalars(select(AuditLog).where(
            AuditLog.action == audit.CHECKPOINT)).one()
    assert seqs[0] == 3 and point.seq == seqs[-1]
    assert point.detail["purged"] == 2 and point.detail["through_seq"] == 2
    give_consent(app, "Minh", "reports", by="parent", actor="parent:Lan")
    assert _purge_first(engine, 4) == 2  # a second purge takes the first checkpoint's place
    assert verify_audit(app).ok and verify_audit(app).since == 4
    out = CliRunner(env={"SAFEGATE_DATABASE_URL": engine.url.render_as_string(
        hide_password=False)}).invoke(main, ["audit", "verify", "--json",
                                             "--data-dir", str(app.data_dir)])
    assert out.exit_code == 0 and '"since": 4' in out.output, out.output


def test_a_purge_takes_only_a_run_from_the_start_of_the_chain(app: App,
                                                               engine: Engine) -> None:
    old = datetime(2020, 1, 1, tzinfo=UTC)
    with session_factory(engine).begin() as session:  # a late entry with an early time
        late = audit.append(session, actor="import", action="x", object_type="y", now=old)
    with session_factory(engine).begin() as session:
        assert audit.purge(session, datetime(2021, 1, 1, tzinfo=UTC)) == 0
    with session_factory(engine)() as session:
        assert late in session.scalars(select(AuditLog.seq)).all()
        assert audit.verify(session).ok


AFTER_PURGE = {
    "oldest left removed": ("DELETE FROM audit_log WHERE seq = 3", "number 4 where number 3"),
    "checkpoint removed": (f"DELETE FROM audit_log WHERE action = '{audit.CHECKPOINT}'",
                           "number 3 where number 1 belongs"),
    "checkpoint edited": ("UPDATE audit_log SET actor = 'x' "
                          f"WHERE action = '{audit.CHECKPOINT}'", "was changed"),
    "entry edited": ("UPDATE audit_log SET actor = 'someone else' WHERE seq = 4",
                     "was changed"),
}


@pytest.mark.parametrize("how", AFTER_PURGE)
def test_tampering_after_a_purge_is_found(app: App, engine: Engine, how: str) -> None:
    _purge_first(engine, 2)
    assert verify_audit(app).ok
    sql, says = AFTER_PURGE[how]
    with engine.begin() as conn:
        conn.execute(text(sql))
    result = verify_audit(app)
    assert not result.ok and says in (result.problem or ""), result


def test_views_of_child_data_are_recorded(app: App, engine: Engine) -> None:
    from safegate.app.family import list_children, list_devices, show_policy

    show_policy(app, "Minh", actor="cli:lan")
    list_devices(app, "Minh", actor="cli:lan")
    list_children(app, actor="cli:lan")
    with session_factory(engine)() as session:
        rows = session.execute(select(AuditLog.action, AuditLog.subject, AuditLog.detail)
                               .order_by(AuditLog.seq.desc()).limit(3)).all()
        subject = session.scalars(select(Profile.subject)).one()
    assert [(a, s) for a, s, _ in rows] == [("child.view", None), ("device.view", subject),
                                            ("policy.view", subject)]
    assert rows[0][2]["count"] == 1 and rows[1][2]["count"] == 1
    assert verify_audit(app).ok


def test_a_child_erased_by_delete_leaves_only_pseudonymous_entries(app: App,
                                                                   engine: Engine) -> None:
    delete_child(app, "Minh", actor="cli:lan")
    with engine.connect() as conn:
        dumped = " ".join(str(tuple(r)) for r in conn.execute(select(AuditLog)))
    assert "Minh" not in dumped.replace("child:Minh", "")  # the giver's own actor string
    assert "192.0.2.7" not in dumped and verify_audit(app).ok


def test_concurrent_writers_keep_one_chain(app: App, engine: Engine) -> None:
    def write(n: int) -> None:
        sessions = session_factory(engine)
        for i in range(15):
            with sessions.begin() as session:
                audit.append(session, actor=f"writer:{n}", action="test.write",
                             object_type="test", object_id=i)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = verify_audit(app)
    assert result.ok and result.entries == 4 + 45


def test_entries_from_before_0009_are_chained_by_the_migration(engine: Engine) -> None:
    _alembic(engine, "downgrade", "0007")
    with engine.begin() as conn:
        for i in range(3):
            conn.execute(text(
                "INSERT INTO audit_log (actor, action, object_type, object_id, detail, ts) "
                "VALUES ('old', 'alert.view', 'alert', :i, :d, :ts)"),
                {"i": str(i), "d": f'{{"count": {i}}}',
                 "ts": datetime(2026, 1, 1, i, tzinfo=UTC).replace(tzinfo=None)})
    _alembic(engine, "upgrade", "head")
    with session_factory(engine)() as session:
        assert audit.verify(session).to_dict() == {"ok": True, "entries": 3, "problem": None,
                                                    "at_id": None, "since": 0}
    with session_factory(engine).begin() as session:
        audit.append(session, actor="new", action="x", object_type="y")
    with session_factory(engine)() as session:
        assert audit.verify(session).entries == 4 and audit.verify(session).ok
