"""The link a child can hold, in the app layer (SQLite and PostgreSQL): a new link opens the
child's own notice and nothing else, only its hash is stored, a new link replaces the old one,
a stopped link is deleted, a stopped or unknown token gives nothing, every step and every view
is audited, and deleting the child deletes its link. The command line makes, shows and stops
one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from safegate.app.child_link import (
    PREFIX,
    ChildLinkError,
    child_link,
    end_child_link,
    link_url,
    make_child_link,
    notice_by_link,
)
from safegate.app.core import App
from safegate.app.family import add_child, add_org, delete_child
from safegate.app.schedules import ScheduleError
from safegate.config import load_settings
from safegate.privacy.audit import verify
from safegate.store.models import AuditLog, ChildLink
from tests.helpers import cli, demo_data_dir

T0 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    add_org(made, "Nhà Trần")
    add_child(made, "Mai", 2016, org="Nhà Trần")
    add_child(made, "Khoa", 2012, org="Nhà Trần")
    yield made
    made.close()


def _actions(app: App) -> list[tuple[str, str, str | None, dict[str, object]]]:
    with app.sessions()() as session:
        return [(e.action, e.actor, e.role, dict(e.detail or {})) for e in session.scalars(
            select(AuditLog).where(AuditLog.action.in_(("child.link_make", "child.link_end",
                                                        "child.notice_view")))
            .order_by(AuditLog.seq))]


def _rows(app: App) -> int:
    with app.sessions()() as session:
        return int(session.scalar(select(func.count()).select_from(ChildLink)) or 0)


def test_a_link_opens_its_childs_notice_and_only_its_hash_is_kept(app: App) -> None:
    token, view = make_child_link(app, "Mai", actor="me@example.vn", role="parent",
                                  language="en", now=T0)
    assert token.startswith(PREFIX) and len(token) > 40
    assert view.child == "Mai" and view.language == "en" and view.last_opened_at is None
    with app.sessions()() as session:
        stored = session.scalars(select(ChildLink)).one()
    assert token not in (stored.token_hash, stored.created_by) and len(stored.token_hash) == 64

    notice = notice_by_link(app, token, now=T0 + timedelta(minutes=5))
    assert notice is not None and notice["language"] == "en"  # the link's words
    assert notice["child_id"] == stored.profile_id and notice["band"] == "7-10"  # Mai is 10
    seen = child_link(app, "Mai")
    assert seen is not None and seen.last_opened_at == T0 + timedelta(minutes=5)
    other = notice_by_link(app, token, "vi", "14-17", now=T0 + timedelta(days=2))
    assert other is not None and (other["language"], other["band"]) == ("vi", "14-17")
    assert child_link(app, "Mai").last_opened_at == T0 + timedelta(days=2)  # type: ignore[union-attr]
    assert child_link(app, "Khoa") is None


def test_a_new_link_ends_the_old_one_and_ended_or_unknown_tokens_give_nothing(
        app: App) -> None:
    first, _ = make_child_link(app, "Mai", actor="me@example.vn", now=T0)
    second, _ = make_child_link(app, "Mai", actor="me@example.vn", now=T0 + timedelta(hours=1))
    assert notice_by_link(app, first) is None
    assert notice_by_link(app, second) is not None
    assert _rows(app) == 1  # the old link is gone, not kept
    assert end_child_link(app, "Mai", actor="me@example.vn") is True
    assert end_child_link(app, "Mai", actor="me@example.vn") is False  # nothing left
    assert notice_by_link(app, second) is None and child_link(app, "Mai") is None
    assert _rows(app) == 0
    for token in ("", "sgc_", PREFIX + "x" * 43, second[:-1], "sgt_" + second[4:],
                  PREFIX + "é" * 200):
        assert notice_by_link(app, token) is None
    # Mai's link never opened Khoa's page: Khoa's own link is a different token.
    khoa, _ = make_child_link(app, "Khoa", actor="me@example.vn")
    assert notice_by_link(app, khoa)["facts"]["devices"] == []  # type: ignore[index]


def test_every_step_and_view_is_audited_without_the_token(app: App) -> None:
    token, view = make_child_link(app, "Mai", actor="me@example.vn", role="parent")
    notice_by_link(app, token)
    make_child_link(app, "Mai", actor="me@example.vn", role="parent")
    end_child_link(app, "Mai", actor="cli:root")
    got = _actions(app)
    assert [(a, who, role) for a, who, role, _ in got] == [
        ("child.link_make", "me@example.vn", "parent"),
        ("child.notice_view", f"child-link:{view.id}", "child"),
        ("child.link_end", "me@example.vn", "parent"),
        ("child.link_make", "me@example.vn", "parent"),
        ("child.link_end", "cli:root", None),
    ]
    assert got[2][3] == {"link": view.id, "replaced": True}
    assert token not in json.dumps([d for *_, d in got])
    with app.sessions()() as session:
        assert verify(session).problem is None


def test_bad_input_is_refused_and_a_deleted_child_takes_its_links(app: App) -> None:
    with pytest.raises(ChildLinkError, match="language: 'fr'"):
        make_child_link(app, "Mai", actor="me", language="fr")
    with pytest.raises(ScheduleError, match="no child named 'Lan'"):
        make_child_link(app, "Lan", actor="me")
    token, _ = make_child_link(app, "Mai", actor="me")
    delete_child(app, "Mai")
    assert notice_by_link(app, token) is None
    assert _rows(app) == 0


def test_the_url_is_under_the_public_address_when_there_is_one(tmp_path: Path) -> None:
    plain = App(load_settings(env={}, overrides={"server.data_dir": str(tmp_path / "a")}))
    public = App(load_settings(env={}, overrides={"server.data_dir": str(tmp_path / "b"),
                                                  "notify.base_url": "https://sg.example.vn/"}))
    try:
        assert link_url(plain, "sgc_x") == "/me/sgc_x"
        assert link_url(plain, "sgc_x", "http://10.0.0.1:8080/") == \
            "http://10.0.0.1:8080/me/sgc_x"
        assert link_url(public, "sgc_x", "http://10.0.0.1:8080/") == \
            "https://sg.example.vn/me/sgc_x"
    finally:
        plain.close()
        public.close()


def test_the_command_line_makes_shows_and_stops_a_link(tmp_path: Path) -> None:
    data = demo_data_dir(tmp_path / "data")
    made = cli("child", "link", "An", "--language", "en", "--json", "--data-dir", str(data))
    assert made.returncode == 0, made.stderr
    body = json.loads(made.stdout)
    assert body["token"].startswith(PREFIX) and body["url"] == "/me/" + body["token"]
    assert body["link"]["language"] == "en" and body["link"]["created_by"].startswith("cli:")
    shown = cli("child", "link", "An", "--show", "--json", "--data-dir", str(data))
    assert json.loads(shown.stdout)["link"]["id"] == body["link"]["id"]
    assert body["token"] not in shown.stdout
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    try:
        assert notice_by_link(app, body["token"]) is not None
        ended = cli("child", "link", "An", "--end", "--data-dir", str(data))
        assert ended.returncode == 0 and "stopped" in ended.stdout
        assert notice_by_link(app, body["token"]) is None
    finally:
        app.close()
    missing = cli("child", "link", "Nobody", "--data-dir", str(data))
    assert missing.returncode == 1 and "no child named 'Nobody'" in missing.stderr
    assert "Traceback" not in missing.stderr
