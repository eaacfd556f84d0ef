"""The activity filter's parsing and local-day ranges, and the search on SQLite and
PostgreSQL (literal % and _, a device's network, pages, one audit entry per search)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from safegate.app.activity import local_range, parse_filter, search_log
from safegate.app.core import App
from safegate.app.family import add_child, add_device, add_org, list_children, list_orgs
from safegate.config import load_settings
from safegate.policy.decide import category_of
from safegate.store.models import AuditLog
from safegate.store.querylog import insert_query_logs


def test_a_filter_from_query_parameters() -> None:
    flt = parse_filter({"child": "3", "device": "", "category": " social ", "blocked": "on",
                        "from": "2026-12-01", "to": "2026-12-05", "q": "TikTok",
                        "page": "2", "per_page": "20"})
    assert (flt.child_id, flt.device_id, flt.category, flt.blocked_only) == \
        (3, None, "social", True)
    assert (flt.day_from, flt.day_to, flt.search, flt.page, flt.per_page) == \
        (date(2026, 12, 1), date(2026, 12, 5), "tiktok", 2, 20)
    empty = parse_filter({})
    assert empty.page == 1 and empty.per_page == 50 and not empty.blocked_only


@pytest.mark.parametrize(("values", "field"), [
    ({"child": "An"}, "child"), ({"page": "0"}, "page"), ({"per_page": "1000"}, "per_page"),
    ({"from": "05/12/2026"}, "from"), ({"from": "2026-12-05", "to": "2026-12-01"}, "to")])
def test_bad_filters_name_their_field(values: dict[str, str], field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        parse_filter(values)  # type: ignore[arg-type]


def test_local_days_and_categories() -> None:
    start, end = local_range("Asia/Ho_Chi_Minh", date(2026, 12, 5), date(2026, 12, 5))
    assert start == datetime(2026, 12, 4, 17, tzinfo=UTC).timestamp()  # midnight in Hà Nội
    assert end == start + 86400
    assert local_range("Asia/Ho_Chi_Minh", None, None) == (None, None)
    assert category_of("social:list/tiktok.com") == "social" and category_of(None) is None
    assert category_of("pause") is None


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    add_org(made, "Nhà Trần")
    add_child(made, "An", 2016, org="Nhà Trần")
    yield made
    made.close()


def test_the_search_on_each_store(app: App) -> None:
    org = list_orgs(app)[0].id
    an = list_children(app)[0].id
    laptop = add_device(app, "An", "Laptop", ip="10.0.0.0/24")
    add_device(app, "An", "Điện thoại", ip="10.1.0.5")
    insert_query_logs(app.engine, [
        (100.0, "10.0.0.7", an, "50%off.example", 1, "block", "shopping:l/50%off.example", 1),
        (200.0, "10.1.0.5", an, "500off.example", 1, "block", "shop_x:l/500off.example", 2),
        (300.0, "10.0.0.8", an, "hoc.example", 1, "allow", None, 3)])

    def names(**values: str) -> list[str]:
        found = search_log(app, org, parse_filter(values), actor="test")
        return [r.qname for r in found.rows]

    assert names() == ["hoc.example", "500off.example", "50%off.example"]
    assert names(q="50%") == ["50%off.example"]  # a literal %, not a wildcard
    assert names(category="shop_") == []  # a literal _, not a wildcard
    assert names(device=str(laptop.id)) == ["hoc.example", "50%off.example"]
    assert names(blocked="1", per_page="1", page="2") == ["50%off.example"]
    with app.sessions()() as session:
        viewed = session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "querylog.view"))
    assert viewed == 5
