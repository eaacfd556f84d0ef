"""The group commit of view entries (app/view_audit.py) on SQLite and PostgreSQL: views that
arrive while a commit runs share the next one and keep one verifiable chain; a failed commit
fails every view of it and writes none of them; an entry that cannot be hashed fails alone;
the child's page is audited through it before it returns."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from safegate.app import overview
from safegate.app.accounts import Caller
from safegate.app.audit import verify_audit
from safegate.app.core import App
from safegate.app.family import add_child, add_org
from safegate.app.view_audit import ViewAudit
from safegate.config import load_settings
from safegate.store.models import AuditLog


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    yield made
    made.close()


def entries(engine: Engine, action: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(AuditLog)
                               .where(AuditLog.action == action)) or 0)


def held_first(app: App, release: threading.Event,
               entered: threading.Event | None = None) -> ViewAudit:
    """A ViewAudit on the app's real sessions whose first transaction waits for ``release``
    before it writes (``entered`` is set then): the views that arrive meanwhile queue."""
    calls = []

    @contextmanager
    def begin() -> Iterator[Session]:
        calls.append(1)
        if len(calls) == 1:
            if entered is not None:
                entered.set()
            assert release.wait(10)
        with app.sessions().begin() as session:
            yield session

    def factory() -> AbstractContextManager[Session]:
        return begin()

    return ViewAudit(factory)


def view_threads(views: ViewAudit, n: int, errors: list[BaseException]) -> list[threading.Thread]:
    def one(i: int) -> None:
        try:
            views.record(actor=f"parent:{i}", action="test.view", object_type="profile",
                         object_id=i, detail={"shown": ["summary"]})
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            errors.append(exc)

    return [threading.Thread(target=one, args=(i,)) for i in range(n)]


def wait_queued(views: ViewAudit, n: int) -> None:
    deadline = time.monotonic() + 10
    while views.waiting < n:
        assert time.monotonic() < deadline, f"only {views.waiting} of {n} views queued"
        time.sleep(0.005)


def test_views_during_a_commit_share_the_next_one(app: App, engine: Engine) -> None:
    release, entered = threading.Event(), threading.Event()
    views = held_first(app, release, entered)
    errors: list[BaseException] = []
    threads = view_threads(views, 8, errors)
    threads[0].start()
    assert entered.wait(10)  # the first view's transaction is open and held
    for t in threads[1:]:
        t.start()
    wait_queued(views, 7)
    release.set()
    for t in threads:
        t.join(10)
    assert not errors
    assert (views.commits, views.entries) == (2, 8)  # one alone, then seven together
    assert entries(engine, "test.view") == 8
    result = verify_audit(app)
    assert result.ok, result.problem


def test_a_failed_commit_fails_every_view_in_it_and_writes_none(app: App,
                                                                 engine: Engine) -> None:
    before = verify_audit(app).entries
    release, entered = threading.Event(), threading.Event()
    views = held_first(app, release, entered)
    errors: list[BaseException] = []
    threads = view_threads(views, 4, errors)
    with engine.begin() as conn:  # the log's table gone while the views wait: a real failure
        conn.exec_driver_sql("ALTER TABLE audit_log RENAME TO audit_log_away")
    try:
        threads[0].start()
        assert entered.wait(10)
        for t in threads[1:]:
            t.start()
        wait_queued(views, 3)
        release.set()
        for t in threads:
            t.join(10)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE audit_log_away RENAME TO audit_log")
    assert len(errors) == 4 and len({id(e) for e in errors}) == 4  # one object per thread
    assert len({type(e) for e in errors}) == 1 and all(e.__cause__ for e in errors)
    assert views.entries == 0
    views.record(actor="parent:later", action="test.view", object_type="profile")
    result = verify_audit(app)
    assert result.ok and result.entries == before + 1, result.problem


def test_an_entry_that_cannot_be_hashed_fails_alone(app: App, engine: Engine) -> None:
    with pytest.raises(TypeError):
        app.view_audit.record(actor="parent:1", action="test.view", object_type="profile",
                              detail={"when": object()})
    assert app.view_audit.waiting == 0
    app.view_audit.record(actor="parent:1", action="test.view", object_type="profile")
    assert entries(engine, "test.view") == 1 and verify_audit(app).ok


def test_the_child_page_is_audited_before_it_returns(app: App, engine: Engine) -> None:
    org = add_org(app, "Nhà Lan")
    child = add_child(app, "Minh", 2015, actor="cli:lan")
    parent = Caller(1, org.id, "parent", "Lan", "lan@example.com", "vi")
    page = overview.child_page(app, child.id, parent)
    assert page.summary.name == "Minh"
    with engine.connect() as conn:
        row = conn.execute(select(AuditLog.action, AuditLog.actor, AuditLog.detail)
                           .order_by(AuditLog.seq.desc()).limit(1)).one()
    assert row[0] == "child.view" and row[1] == parent.actor
    assert row[2] == {"shown": ["summary", "policy", "requests"], "requests": 0}
    assert verify_audit(app).ok
