"""The one access check: an object of another organisation is not found, one of the caller's
own organisation is forbidden when the role may not do that, and everything else passes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from safegate.app.access import Forbidden, check, decide
from safegate.app.accounts import Caller, add_user, authenticate
from safegate.app.core import App
from safegate.app.explain import NotFound
from safegate.app.family import add_child, add_device, add_org
from safegate.app.requests import create
from safegate.config import load_settings
from safegate.store.models import ClassMember, ClassTeacher, SchoolClass

PASSWORD = "mật khẩu dài 2026"


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    for org, child in (("Nhà Trần", "An"), ("Nhà Lê", "Bảo")):
        add_org(made, org)
        add_child(made, child, 2016, org=org)
        add_device(made, f"id:{_child_id(made, org)}", "Máy tính bảng", ip=None)
    yield made
    made.close()


def _child_id(app: App, org: str) -> int:
    from safegate.app.family import list_children

    return list_children(app, org)[0].id


def _caller(app: App, org: str, role: str, login: str) -> Caller:
    add_user(app, login, PASSWORD, org=org, role=role)
    return authenticate(app, login, PASSWORD)


def test_another_familys_objects_are_not_found_and_own_ones_pass(app: App) -> None:
    tran = _caller(app, "Nhà Trần", "parent", "tran@example.vn")
    mine, theirs = _child_id(app, "Nhà Trần"), _child_id(app, "Nhà Lê")
    req = create(app, f"id:{theirs}", "roblox.com")
    own = create(app, f"id:{mine}", "roblox.com")
    assert check(app, tran, "child", mine, "change").profile_id == mine
    assert check(app, tran, "request", own.id, "change").profile_id == mine
    for kind, oid in (("child", theirs), ("request", req.id), ("device", 2),
                      ("child", 999), ("alert", 1), ("log", 1)):
        for action in ("read", "change"):
            with pytest.raises(NotFound):
                check(app, tran, kind, oid, action)
    assert check(app, tran, "device", 1).profile_id == mine


def test_roles_and_read_only_tokens_are_forbidden_to_change(app: App) -> None:
    mine = _child_id(app, "Nhà Trần")
    teacher = _caller(app, "Nhà Trần", "teacher", "gv@example.vn")
    partner = _caller(app, "Nhà Trần", "partner", "dt@example.vn")
    with pytest.raises(NotFound):  # a teacher sees the children of their classes only
        check(app, teacher, "child", mine)
    with app.sessions().begin() as session:
        row = SchoolClass(org_id=teacher.org_id, name="1A", school_year="2026-2027")
        session.add(row)
        session.flush()
        session.add_all([ClassMember(profile_id=mine, class_id=row.id),
                         ClassTeacher(class_id=row.id, account_id=teacher.account_id)])
    assert check(app, teacher, "child", mine).profile_id == mine
    with pytest.raises(Forbidden):
        check(app, teacher, "child", mine, "change")
    with pytest.raises(Forbidden):
        check(app, partner, "child", mine)
    parent = _caller(app, "Nhà Trần", "parent", "pa@example.vn")
    reader = Caller(parent.account_id, parent.org_id, "parent", "x", "x", "vi", scope="read")
    assert decide(reader, "child", "read", parent.org_id) == "ok"
    with pytest.raises(Forbidden):
        check(app, reader, "child", mine, "change")
    operator = Caller(1, -1, "operator", "op", "op", "vi")
    assert check(app, operator, "child", _child_id(app, "Nhà Lê"), "change")


def test_a_childs_page_checks_the_caller_in_its_own_transaction(app: App) -> None:
    """overview.child_page with the caller: another family's child is not found and leaves
    no trace of a view; the own child's page is shown and its view is audited."""
    from sqlalchemy import func, select

    from safegate.app.overview import child_page
    from safegate.store.models import AuditLog

    tran = _caller(app, "Nhà Trần", "parent", "tran@example.vn")
    mine, theirs = _child_id(app, "Nhà Trần"), _child_id(app, "Nhà Lê")

    def views() -> int:
        with app.sessions()() as session:
            return int(session.scalar(select(func.count()).select_from(AuditLog)
                                      .where(AuditLog.action == "child.view")) or 0)

    before = views()
    for other in (theirs, 999, "abc"):
        with pytest.raises(NotFound):
            child_page(app, other, tran)
    assert views() == before
    assert child_page(app, mine, tran).summary.name == "An"
    assert views() == before + 1
