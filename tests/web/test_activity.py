"""The activity page and API over real HTTP against a real `safegate serve`: each filter
(child, device, category, blocked only, time range, search), pages, the retention notice,
the right to read the log, another family's child refused, and every view audited."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from safegate.app.accounts import add_user
from safegate.app.consent import withdraw_consent
from safegate.app.core import App
from safegate.app.family import add_child, add_org, list_children, list_devices
from safegate.config import load_settings
from safegate.store.models import AuditLog
from safegate.store.querylog import insert_query_logs
from tests.helpers import (
    DEMO_LOGIN,
    demo_data_dir,
    signed_in_client,
    web_served,
)

OTHER_LOGIN, OTHER_PASSWORD = "0912345678", "mật khẩu của nhà Lê"
TEACHER_LOGIN = "codao@example.vn"
DAY = 86400.0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = demo_data_dir(tmp_path_factory.mktemp("activity") / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    kids = {c.name: c.id for c in list_children(app)}
    an, binh = kids["An"], kids["Bình"]
    tablet = next(d.id for d in list_devices(app, "An") if d.ip_cidr == "127.0.0.2")
    withdraw_consent(app, "Bình", "full_query_log", actor="test")
    add_org(app, "Nhà Lê")
    bao = add_child(app, "Bảo", 2015, org="Nhà Lê")
    add_user(app, OTHER_LOGIN, OTHER_PASSWORD, org="Nhà Lê")
    add_user(app, TEACHER_LOGIN, OTHER_PASSWORD, role="teacher", org="Gia đình Nguyễn (demo)")
    now = time.time()
    insert_query_logs(app.engine, [
        (now - 2 * DAY, "127.0.0.2", an, "tiktok.com", 1, "block", "social:test/tiktok.com", 3),
        (now - 60, "192.168.1.20", an, "vi.wikipedia.org", 1, "allow", None, 2),
        (now - 50, "127.0.0.2", an, "m.tiktok.com", 1, "block", "social:test/tiktok.com", 1),
        (now - 40, "127.0.0.3", binh, "casino.example", 1, "block",
         "gambling:test/casino.example", 5),
        (now - 30, "127.0.0.9", bao.id, "secret-of-bao.example", 1, "allow", None, 1),
    ])
    app.close()
    config = data / "web.toml"
    config.write_text("[web]\nlogin_attempts_per_minute = 1000\n")
    with web_served("--config", str(config), "--demo", "--no-default-lists", "--data-dir",
                    str(data)) as served:
        yield {"served": served, "an": an, "binh": binh, "bao": bao.id, "data": data,
               "tablet": tablet}


def names(client: httpx.Client, **params: Any) -> list[str]:
    answer = client.get("/api/v1/activity", params=params)
    assert answer.status_code == 200, answer.text
    return [r["qname"] for r in answer.json()["rows"]]


def test_every_filter_narrows_the_log(world: dict[str, Any], parent: httpx.Client) -> None:
    assert names(parent) == ["casino.example", "m.tiktok.com", "vi.wikipedia.org",
                             "tiktok.com"]  # newest first, never another family's
    assert names(parent, child=world["binh"]) == ["casino.example"]
    assert names(parent, blocked="true") == ["casino.example", "m.tiktok.com", "tiktok.com"]
    assert names(parent, category="social") == ["m.tiktok.com", "tiktok.com"]
    assert names(parent, device=world["tablet"]) == ["m.tiktok.com", "tiktok.com"]
    assert names(parent, q="wiki") == ["vi.wikipedia.org"]
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 3600))  # Hà Nội
    assert "tiktok.com" not in names(parent, **{"from": today})
    first = parent.get("/api/v1/activity", params={"per_page": 2}).json()
    second = parent.get("/api/v1/activity", params={"per_page": 2, "page": 2}).json()
    assert first["more"] and not second["more"]
    assert [r["qname"] for r in second["rows"]] == ["vi.wikipedia.org", "tiktok.com"]
    row = first["rows"][1]
    assert row["device"] == "Máy tính bảng của An" and row["category"] == "social"


def test_the_page_shows_the_rows_and_what_is_kept(world: dict[str, Any],
                                                  parent: httpx.Client) -> None:
    page = parent.get("/activity", params={"child": world["an"], "blocked": "1"})
    assert page.status_code == 200, page.text
    assert page.text.count('class="log-row"') == 2 and "wikipedia" not in page.text
    assert "30 ngày" in page.text  # querylog.retention_days, in Vietnamese by default
    assert "10" in page.text and 'class="needs-consent"' not in page.text  # consented
    assert "Mạng xã hội" in page.text  # the category's name, not the list
    assert "test/tiktok.com" not in page.text
    binh = parent.get("/activity", params={"child": world["binh"]})
    assert 'class="needs-consent"' in binh.text  # full log set, the consent withdrawn


def test_bad_input_and_other_families(world: dict[str, Any], parent: httpx.Client) -> None:
    bad = parent.get("/api/v1/activity", params={"from": "yesterday"})
    assert bad.status_code == 400 and "from" in bad.json()["error"]
    assert parent.get("/api/v1/activity", params={"child": world["bao"]}).status_code == 404
    assert parent.get("/activity", params={"child": world["bao"]}).status_code == 404
    other = signed_in_client(world["served"].base, OTHER_LOGIN, OTHER_PASSWORD)
    assert names(other) == ["secret-of-bao.example"]
    other.close()
    teacher = signed_in_client(world["served"].base, TEACHER_LOGIN, OTHER_PASSWORD)
    assert teacher.get("/api/v1/activity").status_code == 403
    teacher.close()


def test_viewing_is_audited(world: dict[str, Any], parent: httpx.Client) -> None:
    parent.get("/api/v1/activity", params={"child": world["binh"]})
    app = App(load_settings(env={}, overrides={"server.data_dir": str(world["data"])}))
    with app.sessions()() as session:
        entries = list(session.scalars(select(AuditLog).where(
            AuditLog.action == "querylog.view").order_by(AuditLog.id.desc())))
    app.close()
    assert entries and entries[0].actor == DEMO_LOGIN
    assert entries[0].detail["filter"]["child"] == world["binh"]
