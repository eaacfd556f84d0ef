"""The child's page (app/overview.child_page) on SQLite and PostgreSQL: it reads the child, its
household and its policy as columns, and what it shows must be what the ORM paths show (the
policy as `show_policy` gives it, the summary as `child_summary` gives it), for a child with a
full policy and for one whose policy row is missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete

from safegate.app import overview
from safegate.app.accounts import Caller
from safegate.app.budgets import set_budget
from safegate.app.core import App
from safegate.app.family import (
    PolicyChange,
    add_child,
    add_device,
    add_org,
    set_policy,
    show_policy,
)
from safegate.config import load_settings
from safegate.store.models import Policy


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    yield made
    made.close()


def parent_of(org_id: int) -> Caller:
    return Caller(1, org_id, "parent", "Lan", "lan@example.com", "vi")


def test_the_page_shows_what_the_orm_paths_show(app: App) -> None:
    org = add_org(app, "Nhà Lan")
    child = add_child(app, "Minh", 2014, actor="cli:lan")
    add_device(app, "Minh", "Điện thoại", ip="192.0.2.7", actor="cli:lan")
    add_device(app, "Minh", "Máy tính", ip="192.0.2.8", actor="cli:lan")
    set_policy(app, "Minh", PolicyChange(block_categories=("gambling",), deny=("a.example",),
                                         allow=("b.example",), block_services=("tiktok",),
                                         youtube_mode="strict", block_mode="nxdomain"))
    set_budget(app, "Minh", "group:games", 45)
    set_budget(app, "Minh", "youtube", 30)

    page = overview.child_page(app, child.id, parent_of(org.id))
    assert page.policy == show_policy(app, "Minh")
    assert page.policy["budgets"] == {"group:games": 45, "youtube": 30}
    assert page.policy["deny"] == ["a.example"] and page.policy["block_mode"] == "nxdomain"
    assert page.summary == overview.child_summary(app, child.id)
    assert [d.name for d in page.summary.devices] == ["Điện thoại", "Máy tính"]
    assert page.summary.devices[0].ip_cidr == "192.0.2.7"


def test_a_child_without_a_policy_row_gets_the_defaults(app: App, engine: Engine) -> None:
    org = add_org(app, "Nhà Lan")
    child = add_child(app, "Minh", 2014, actor="cli:lan")
    with engine.begin() as conn:
        conn.execute(delete(Policy).where(Policy.profile_id == child.id))
    page = overview.child_page(app, child.id, parent_of(org.id))
    assert page.policy == show_policy(app, "Minh")
    assert page.policy["blocked_categories"] == [] and page.policy["log_level"] == "full"
