"""The breach register on SQLite and PostgreSQL: the 72-hour clock from the earlier of
occurrence and detection, the children affected found by name and from the audit log, the
notification drafts (vi/en) with the facts Decree 13 asks for, every step audited, personal
data redacted from the operator's texts; and the command line's messages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from safegate.app.breach import (
    BreachError,
    list_breaches,
    notify_breach,
    record_breach,
    update_breach,
)
from safegate.app.core import App
from safegate.app.family import add_child, add_org
from safegate.cli import main
from safegate.config import load_settings
from safegate.privacy import audit
from safegate.store.models import AuditLog, Breach, Profile

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    add_org(made, "Trường Tiểu học Hòa Bình")
    for name in ("Lan Anh", "Minh", "Bảo"):
        add_child(made, name, 2015, now=NOW - timedelta(days=3), actor="cli:admin")
    yield made
    made.close()


def _subject(app: App, name: str) -> str:
    with app.sessions()() as session:
        return str(session.scalars(select(Profile.subject).where(Profile.name == name)).one())


def test_record_list_update_notify(app: App) -> None:
    # A stolen account read two children's data: the audit log names them.
    stolen_window = (NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    with app.sessions().begin() as session:
        for name in ("Lan Anh", "Minh"):
            audit.append(session, actor="web:teacher7", action="alert.view",
                         object_type="alert", subject=_subject(app, name), now=NOW)
        audit.append(session, actor="web:other", action="alert.view", object_type="alert",
                     subject=_subject(app, "Bảo"), now=NOW)

    view = record_breach(
        app, "Tài khoản giáo viên bị lộ mật khẩu, gọi cho chị Nguyễn Thị Hoa 0912345678",
        detected_at=NOW + timedelta(hours=2), occurred_at=NOW, data_classes=["alerts,profile"],
        risk="high", audit_from=stolen_window[0], audit_to=stolen_window[1],
        audit_actor="web:teacher7", actor="cli:dpo", now=NOW + timedelta(hours=3))
    assert view.children_count == 2
    assert set(view.children) == {_subject(app, "Lan Anh"), _subject(app, "Minh")}
    assert view.due_at == NOW + timedelta(hours=72)  # from occurrence, the earlier time
    assert view.data_classes == ["profile", "alerts"]
    assert "0912345678" not in view.description and "Hoa" not in view.description

    soon = list_breaches(app, now=NOW + timedelta(hours=70))[0].to_dict()
    assert soon["authority"] == "2h 00m left" and not soon["overdue"]
    late = list_breaches(app, now=NOW + timedelta(hours=75, minutes=30))[0]
    assert late.overdue and late.authority == "overdue by 3h 30m"

    updated = update_breach(app, view.id, actor="cli:dpo", status="contained",
                            measures="Đã khóa tài khoản, đổi mật khẩu", children=["Bảo"],
                            data_classes=["messages"], now=NOW + timedelta(hours=4))
    assert updated.children_count == 3 and updated.status == "contained"
    assert updated.data_classes == ["profile", "alerts", "messages"]
    with pytest.raises(BreachError, match="nothing to change"):
        update_breach(app, view.id, actor="cli:dpo", status="contained")

    vi = notify_breach(app, view.id, to="authority", language="vi", actor="cli:dpo",
                       now=NOW + timedelta(hours=5))["draft"]
    assert "Bộ Công an" in vi and "A05" in vi and "Trường Tiểu học Hòa Bình" in vi
    assert "Số trẻ bị ảnh hưởng: 3" in vi and "Đã khóa tài khoản" in vi
    assert "Lý do thông báo chậm" not in vi  # not late yet
    en = notify_breach(app, view.id, to="subjects", language="en", actor="cli:dpo",
                       now=NOW + timedelta(hours=80))["draft"]
    assert "families of the children affected" in en and "Children affected: 3" in en
    for name in ("Lan Anh", "Minh", "Bảo"):
        assert name not in vi + en
    late_draft = notify_breach(app, view.id, to="authority", language="en", actor="cli:dpo",
                               sent=True, now=NOW + timedelta(hours=80))
    assert "Reason for the late notification" in late_draft["draft"]
    done = list_breaches(app, now=NOW + timedelta(hours=81))[0]
    assert done.authority == "done (late)" and done.subjects == "overdue by 9h 00m"

    with app.sessions()() as session:
        assert audit.verify(session).ok
        actions = session.scalars(select(AuditLog.action).where(
            AuditLog.object_type == "breach").order_by(AuditLog.seq)).all()
        row = session.get_one(Breach, view.id)
    assert actions == ["breach.record", "breach.update", "breach.draft", "breach.draft",
                       "breach.notified"]
    assert row.authority_notified_at == NOW + timedelta(hours=80)

    update_breach(app, view.id, actor="cli:dpo", status="closed")
    assert list_breaches(app) == [] and len(list_breaches(app, everything=True)) == 1


def test_the_data_classes_come_from_the_audit_window_too(app: App) -> None:
    with app.sessions().begin() as session:
        audit.append(session, actor="web:x", action="device.view", object_type="profile",
                     subject=_subject(app, "Minh"), now=NOW)
        audit.append(session, actor="web:x", action="request.view",
                     object_type="unblock_request", subject=_subject(app, "Bảo"), now=NOW)
    view = record_breach(app, "session token leaked", detected_at=NOW, data_classes=[],
                         risk="medium", audit_actor="web:x", actor="cli:dpo", now=NOW)
    assert view.data_classes == ["devices", "messages"] and view.children_count == 2
    with pytest.raises(ValueError, match="at least one data class"):
        record_breach(app, "x", detected_at=NOW, data_classes=[], risk="low",
                      actor="cli:dpo", now=NOW)


def test_bad_input_is_refused(app: App) -> None:
    with pytest.raises(ValueError, match="data class secrets is not one of"):
        record_breach(app, "x", detected_at=NOW, data_classes=["secrets"], risk="low",
                      actor="cli:dpo", now=NOW)
    with pytest.raises(BreachError, match="future"):
        record_breach(app, "x", detected_at=NOW + timedelta(hours=1), data_classes=["alerts"],
                      risk="low", actor="cli:dpo", now=NOW)
    with pytest.raises(BreachError, match="no breach 99"):
        notify_breach(app, 99, to="authority", language="vi", actor="cli:dpo")


def test_the_command_line(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    runner = CliRunner()
    assert runner.invoke(main, ["migrate", "--data-dir", data]).exit_code == 0
    bad = runner.invoke(main, ["breach", "record", "lost laptop", "--data", "alerts",
                               "--risk", "medium", "--detected", "yesterday",
                               "--data-dir", data])
    assert bad.exit_code == 2 and "is not a time like" in bad.output
    done = runner.invoke(main, ["breach", "record", "lost laptop", "--data", "query_log",
                                "--risk", "medium", "--occurred", "2026-01-02T08:00", "--json",
                                "--data-dir", data])
    assert done.exit_code == 0, done.output
    bid = json.loads(done.output)["id"]
    # a time without an offset is Vietnam time; the deadline is shown in UTC
    assert json.loads(done.output)["due_at"] == "2026-01-05T01:00:00+00:00"
    listed = runner.invoke(main, ["breach", "list", "--data-dir", data])
    assert listed.exit_code == 0 and "due 2026-01-05 01:00 UTC" in listed.output
    assert "authority: overdue by" in listed.output and "OVERDUE" in listed.output
    out = tmp_path / "draft.txt"
    drafted = runner.invoke(main, ["breach", "notify", str(bid), "--to", "authority", "--out",
                                   str(out), "--data-dir", data])
    assert drafted.exit_code == 0 and out.stat().st_mode & 0o777 == 0o600
    assert "Bộ Công an" in out.read_text(encoding="utf-8")
    missing = runner.invoke(main, ["breach", "update", "7", "--status", "closed",
                                   "--data-dir", data])
    assert missing.exit_code == 1 and "no breach 7" in missing.output
    assert "Traceback" not in missing.output
