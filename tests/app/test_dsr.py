"""Data-subject requests on SQLite and PostgreSQL: the 72-hour clock, access (a ZIP with JSON
and an HTML report in the requester's language, alerts decrypted), erasure searched for in
every table (reflected, not listed by hand) and every file of the data directory, and a
restriction applied by a running gate."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, select, text

from safegate.app.breach import record_breach
from safegate.app.consent import give_consent
from safegate.app.core import App
from safegate.app.dsr import (
    DsrError,
    fulfil_request,
    lift_restriction,
    list_requests,
    open_request,
)
from safegate.app.family import add_child, add_device, add_org
from safegate.app.requests import create as create_unblock_request
from safegate.config import load_settings
from safegate.privacy import audit
from safegate.privacy.consent import ConsentError
from safegate.privacy.crypto import encrypt_text
from safegate.protect.monitor import snippet_context
from safegate.protect.spool import PendingAlert, Spool
from safegate.store.db import session_factory
from safegate.store.models import Alert, AuditLog, Profile, QueryLog
from tests.helpers import ask, wait_until

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CHILD = "Khôi Nguyên"
DEVICE = "Máy tính bảng Khôi"
IP = "192.0.2.77"
MAC = "02:00:00:00:00:77"
CONVERSATION = "nhóm lớp 5A Khôi"
SNIPPET = "Khôi ơi tối nay ra công viên nhé"
MESSAGE = "con cần trang này để làm bài tập về nhà"


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    add_org(made, "Nhà Lan")
    add_child(made, CHILD, 2015, now=NOW, actor="cli:lan")
    add_child(made, "Bé Na", 2016, now=NOW, actor="cli:lan")
    add_device(made, CHILD, DEVICE, ip=IP, mac=MAC, actor="cli:lan")
    add_device(made, "Bé Na", "Điện thoại Na", ip="192.0.2.88", actor="cli:lan")
    give_consent(made, CHILD, "alerts", by="parent", actor="parent:Lan")
    yield made
    made.close()


def _fill(app: App) -> dict[str, Any]:
    """An alert (encrypted), an unblock request with a message, query-log rows by profile and
    by address only, a waiting alert in the spool: everything a child leaves behind."""
    key = app.keyring()
    with app.sessions().begin() as session:
        profile = session.scalars(select(Profile).where(Profile.name == CHILD)).one()
        pid, token, subject = profile.id, profile.devices[0].token, profile.subject
        session.add(Alert(profile_id=pid, last_seen_at=NOW, conversation=CONVERSATION,
                          category="grooming", severity="urgent", score=0.9,
                          snippet=encrypt_text(SNIPPET, key, context=snippet_context(pid)),
                          guidance="grooming"))
        session.add(QueryLog(ts=1.0, client_ip=IP, profile_id=pid, qname="hoc.example",
                             qtype=1, action="allow"))
        session.add(QueryLog(ts=2.0, client_ip=IP, profile_id=None, qname="early.example",
                             qtype=1, action="allow"))
    create_unblock_request(app, CHILD, "vi.wikipedia.org", device=DEVICE, message=MESSAGE,
                           actor="cli:lan")
    Spool(app.data_dir).append(PendingAlert(
        profile_id=pid, conversation=CONVERSATION, category="bullying", severity="warning",
        score=0.5, guidance="bullying", found_by="rules", at=NOW,
        snippet=encrypt_text(SNIPPET, key, context=snippet_context(pid))))
    return {"pid": pid, "token": token, "subject": subject}


def test_the_72_hour_clock(app: App) -> None:
    view = open_request(app, CHILD, "access", by="parent", actor="cli:lan", now=NOW)
    assert view.due_at == NOW + timedelta(hours=72) and not view.overdue
    later = list_requests(app, now=NOW + timedelta(hours=70))
    assert [v.id for v in later] == [view.id]
    assert later[0].to_dict()["time_left"] == "2h 00m left"
    late = list_requests(app, now=NOW + timedelta(hours=73, minutes=5))[0]
    assert late.overdue and late.to_dict()["time_left"] == "overdue by 1h 05m"
    with pytest.raises(ConsentError, match="themselves from 7"):
        add_child(app, "Tí", 2023, now=NOW)
        open_request(app, "Tí", "erase", by="child", actor="child", now=NOW)
    with pytest.raises(DsrError, match="kind"):
        open_request(app, CHILD, "sell", by="parent", actor="p")


def test_access_gives_a_zip_with_json_and_a_report_in_the_requesters_language(
        app: App) -> None:
    ids = _fill(app)
    record_breach(app, "laptop stolen", detected_at=NOW, data_classes=["alerts"], risk="high",
                  children=[CHILD], actor="cli:dpo", now=NOW)
    record_breach(app, "other child only", detected_at=NOW, data_classes=["alerts"],
                  risk="low", children=["Bé Na"], actor="cli:dpo", now=NOW)
    req = open_request(app, CHILD, "access", by="child", actor="cli:lan", language="en")
    result = fulfil_request(app, req.id, actor="cli:operator")
    path = Path(result["zip"])
    assert path.stat().st_mode & 0o077 == 0  # private file
    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("data.json"))
        report = archive.read("report.html").decode()
    assert data["profile"]["name"] == CHILD and data["profile"]["pseudonym"] == ids["subject"]
    assert [a["snippet"] for a in data["tables"]["alert"]] == [SNIPPET]  # decrypted
    assert data["tables"]["unblock_request"][0]["message"] == MESSAGE
    assert data["tables"]["device"][0]["ip_cidr"] == IP
    assert ids["token"] not in json.dumps(data)  # the device's credential is withheld
    assert {e["action"] for e in data["audit"]} >= {"child.add", "consent.give", "dsr.open",
                                                   "dsr.access"}
    assert [c["purpose"] for c in data["tables"]["consent"]] == ["alerts"]
    assert [b["description"] for b in data["tables"]["breach"]] == ["laptop stolen"]
    assert "The data SafeGate holds about" in report and SNIPPET in report
    assert "Data breaches that concerned the child" in report
    assert "Bé Na" not in json.dumps(data, ensure_ascii=False) + report
    with pytest.raises(DsrError, match="fulfilled already"):
        fulfil_request(app, req.id, actor="x")


def _everything(engine: Engine) -> dict[str, str]:
    """Every row of every table in the database (reflected), as text per table."""
    meta = MetaData()
    meta.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            out[table.name] = "\n".join(str(tuple(r)) for r in conn.execute(select(table)))
    return out


def test_erasure_leaves_nothing_but_a_tombstone(app: App, engine: Engine) -> None:
    ids = _fill(app)
    earlier = fulfil_request(app, open_request(app, CHILD, "access", by="parent",
                                               actor="cli:lan").id, actor="cli:op")
    assert Path(earlier["zip"]).exists()
    req = open_request(app, CHILD, "erase", by="parent", actor="cli:lan")
    result = fulfil_request(app, req.id, actor="cli:operator",
                            why="mẹ gọi từ 0912 345 678 xin xoá")
    assert result["rows"]["alert"] == 1 and result["rows"]["query_log"] == 2
    assert result["files"] == 2  # the spool's alert and the earlier export

    secrets = [CHILD, "Khôi", DEVICE, IP, MAC, ids["token"], CONVERSATION, SNIPPET, MESSAGE]
    tables = _everything(engine)
    assert len(tables) >= 20
    for name, dump in tables.items():
        for secret in secrets:
            assert secret not in dump, (name, secret)
        if name != "audit_log":
            assert ids["subject"] not in dump, name
    files = [p for p in app.data_dir.rglob("*") if p.is_file()]
    if engine.dialect.name == "sqlite":  # the database file and its log, byte by byte
        database = Path(str(engine.url.database))
        files += [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
        assert database in files
    for path in files:
        raw = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in raw, (path.name, secret)
    # The audit chain keeps its entries (pseudonym only) and ends with the tombstone.
    with session_factory(engine)() as session:
        assert audit.verify(session).ok
        last = session.scalars(select(AuditLog).order_by(AuditLog.seq.desc()).limit(1)).one()
        assert (last.action, last.subject) == ("dsr.erase", ids["subject"])
        assert last.detail["rows"]["device"] == 1
        assert last.why is not None and "345" not in last.why and "[PHONE]" in last.why
        others = session.scalars(select(Profile.name)).all()
    assert others == ["Bé Na"]  # the other child is untouched
    assert "192.0.2.88" in tables["device"]


def test_restriction_gives_the_childs_devices_the_operator_default(make_gate: Any) -> None:
    g = make_gate({"adult": ["bad.example"]}, demo=True,
                  **{"server.change_poll_interval": 60.0})
    an = "127.0.0.2"  # An's tablet: safe search forced for An, not by the operator default

    def google() -> list[str]:
        return [rr.to_text() for rrset in ask(g.port, "www.google.com", source=an).answer
                for rr in rrset]

    assert google()[0].rstrip(".") == "forcesafesearch.google.com"
    req = open_request(g.runtime.app, "An", "restrict", by="parent", actor="cli:test")
    assert fulfil_request(g.runtime.app, req.id, actor="cli:op")["restricted"] is True
    assert wait_until(lambda: google() == ["192.0.2.1"], 5)
    with g.runtime.engine.connect() as conn:  # nothing deleted
        assert conn.execute(text("select count(*) from device where name like '%An%'")
                            ).scalar_one() == 2
    # Lifted: the one-minute poll cannot be what applies it, the change bus does.
    assert lift_restriction(g.runtime.app, "An", actor="cli:op")["restricted"] is False
    assert wait_until(lambda: google()[0].rstrip(".") == "forcesafesearch.google.com", 5)
    with pytest.raises(DsrError, match="is not restricted"):
        lift_restriction(g.runtime.app, "An", actor="cli:op")
    with g.runtime.app.sessions()() as session:
        assert session.scalars(select(AuditLog.action).order_by(AuditLog.seq.desc())
                               .limit(1)).one() == "dsr.lift"
