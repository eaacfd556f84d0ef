"""Consents from the web app, against a real `safegate serve`: a parent reads each text and
records the parent's consent and, with the box that says the child read the child's
wording, the child's; the report that needed them is then made, and withdrawing one through
the API refuses it again. Each step is in the audit log as recorded on the web; another
family's parent finds nothing, and a counsellor (who may read, not change) is refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from safegate.app.accounts import add_user
from safegate.app.audit import audit_entries
from safegate.app.core import App
from safegate.app.family import add_child, add_org, list_children
from safegate.config import load_settings
from tests.helpers import demo_data_dir, signed_in_client, web_served

OTHER_LOGIN, COUNSELLOR_LOGIN = "0912345678", "tuvan@example.vn"
PASSWORD = "mật khẩu của bố 2026"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = demo_data_dir(tmp_path_factory.mktemp("consents") / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    kids = {c.name: c.id for c in list_children(app)}
    add_user(app, COUNSELLOR_LOGIN, PASSWORD, org="Gia đình Nguyễn (demo)", role="counsellor")
    add_org(app, "Nhà Lê")
    add_child(app, "Bảo", 2015, org="Nhà Lê")
    add_user(app, OTHER_LOGIN, PASSWORD, org="Nhà Lê")
    app.close()
    config = data / "web.toml"
    config.write_text("[web]\nlogin_attempts_per_minute = 1000\n")
    with web_served("--config", str(config), "--demo", "--no-default-lists", "--data-dir",
                    str(data)) as served:
        yield {"served": served, "binh": kids["Bình"], "data": data}


def _form(client: httpx.Client, child: int, **fields: str) -> httpx.Response:
    return client.post(f"/children/{child}/consents",
                       data={"csrf": client.csrf, **fields})  # type: ignore[attr-defined]


def test_a_parent_records_both_consents_and_the_report_is_made(
        world: dict[str, Any], parent: httpx.Client) -> None:
    binh = world["binh"]
    report = f"/api/v1/children/{binh}/report"
    assert parent.get(report).status_code == 403
    page = parent.get(f"/children/{binh}/consents")
    assert page.status_code == 200, page.text
    assert "Báo cáo" in page.text and 'id="give-reports-child"' in page.text
    assert parent.get(f"/children/{binh}/report").text.count('id="consent-link"') == 1
    assert _form(parent, binh, purpose="reports", by="parent", action="give").status_code == 303
    assert parent.get(report).status_code == 403  # Bình is 14: the child consents too
    refused = _form(parent, binh, purpose="reports", by="child", action="give")
    assert refused.status_code == 400 and 'id="consent-error"' in refused.text
    assert _form(parent, binh, purpose="reports", by="child", action="give",
                 child_read="1").status_code == 303
    assert parent.get(report).status_code == 200
    shown = parent.get(f"/children/{binh}/consents").text
    assert 'id="withdraw-reports-parent"' in shown and 'id="withdraw-reports-child"' in shown
    listed = parent.get(f"/api/v1/children/{binh}/consents").json()
    assert {(c["purpose"], c["given_by"], c["method"], c["active"]) for c in listed} >= {
        ("reports", "parent", "web", True), ("reports", "child", "web", True)}
    gone = parent.delete(f"/api/v1/children/{binh}/consents/reports", params={"by": "child"},
                         headers={"X-CSRF-Token": parent.csrf})  # type: ignore[attr-defined]
    assert gone.status_code == 200 and [c["given_by"] for c in gone.json()] == ["child"]
    assert parent.get(report).status_code == 403
    again = parent.put(f"/api/v1/children/{binh}/consents/reports",
                       json={"by": "child", "language": "en"},
                       headers={"X-CSRF-Token": parent.csrf})  # type: ignore[attr-defined]
    assert again.status_code == 200 and again.json()["language"] == "en"
    assert parent.get(report).status_code == 200
    bad = parent.put(f"/api/v1/children/{binh}/consents/reports", json={"by": "granny"},
                     headers={"X-CSRF-Token": parent.csrf})  # type: ignore[attr-defined]
    assert bad.status_code == 400 and "by:" in bad.json()["error"]
    app = App(load_settings(env={}, overrides={"server.data_dir": str(world["data"])}))
    try:
        entries = audit_entries(app, f"id:{binh}", actor="test")
    finally:
        app.close()
    gives = [e for e in entries if e["action"] == "consent.give"]
    assert len(gives) == 3 and all(e["detail"]["method"] == "web" for e in gives)
    assert {e["actor"] for e in gives} == {"phuhuynh@example.vn"}


def test_another_family_and_a_reader_cannot_record_a_consent(world: dict[str, Any]) -> None:
    binh = world["binh"]
    other = signed_in_client(world["served"].base, OTHER_LOGIN, PASSWORD)
    counsellor = signed_in_client(world["served"].base, COUNSELLOR_LOGIN, PASSWORD)
    try:
        assert other.get(f"/children/{binh}/consents").status_code == 404
        assert _form(other, binh, purpose="alerts", by="parent",
                     action="give").status_code == 404
        assert other.get(f"/api/v1/children/{binh}/consents").status_code == 404
        assert counsellor.get(f"/children/{binh}/consents").status_code == 200
        assert 'id="give-alerts-parent"' not in counsellor.get(
            f"/children/{binh}/consents").text
        assert _form(counsellor, binh, purpose="alerts", by="parent",
                     action="give").status_code == 403
    finally:
        other.close()
        counsellor.close()
