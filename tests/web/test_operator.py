"""Operator pages over real HTTP against a real `safegate serve`: list sources with their
health, the running gate's counters moving with real DNS queries, the deadlines of data
requests and breach reports (seen, audited), organisations and accounts (listed, added,
unlocked, audited), /metrics in the Prometheus text format (operator
token or loopback without a proxy header), /readyz; parents refused."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from safegate.app.accounts import add_token, add_user
from safegate.app.breach import record_breach
from safegate.app.core import App
from safegate.app.dsr import open_request
from safegate.app.family import add_org
from safegate.app.notices import raise_notices
from safegate.app.sources import subscribe
from safegate.config import load_settings
from safegate.store.demo import DEMO_ORG_NAME
from safegate.store.models import AuditLog
from tests.helpers import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    ListServer,
    demo_data_dir,
    query,
    signed_in_client,
    wait_until,
    web_served,
)

OPERATOR_LOGIN, OPERATOR_PASSWORD = "vanhanh@example.vn", "mật khẩu vận hành 2026"
SAMPLE = re.compile(r'^[a-z_]+(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? (NaN|-?[0-9.e+-]+)$')


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = demo_data_dir(tmp_path_factory.mktemp("operator") / "data")
    lists = ListServer()
    broken = ListServer()
    broken.status = 500
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    subscribe(app, "good-list", lists.url, "gambling", "suffix", 86400)
    subscribe(app, "broken-list", broken.url, "malware", "suffix", 86400)
    add_org(app, "SafeGate vận hành", kind="operator")
    add_user(app, OPERATOR_LOGIN, OPERATOR_PASSWORD, role="operator", org="SafeGate vận hành")
    _, token = add_token(app, OPERATOR_LOGIN, "prometheus", "read")
    _, parent_token = add_token(app, DEMO_LOGIN, "dashboard", "read")
    # A data request due in about 12 hours and a breach report overdue by about 8.
    now = datetime.now(UTC)
    request = open_request(app, "An", "access", by="parent", actor="test",
                           now=now - timedelta(hours=60))
    breach = record_breach(app, "a laptop with an export was lost", actor="test",
                           detected_at=now - timedelta(hours=80), data_classes=["profile"],
                           risk="medium", now=now - timedelta(hours=80))
    raise_notices(app)
    app.close()
    config = data / "web.toml"
    config.write_text("[web]\nlogin_attempts_per_minute = 1000\n")
    try:
        with web_served("--config", str(config), "--demo", "--no-default-lists", "--data-dir",
                        str(data)) as served:
            yield {"served": served, "token": token, "parent_token": parent_token,
                   "request": request.id, "breach": breach.id, "data": data}
    finally:
        lists.close()
        broken.close()


def test_the_operator_sees_sources_and_the_gate(world: dict[str, Any]) -> None:
    served = world["served"]
    operator = signed_in_client(served.base, OPERATOR_LOGIN, OPERATOR_PASSWORD)
    first = operator.get("/api/v1/operator/status").json()
    for _ in range(5):
        query(served.dns_port, "bad.example", source="127.0.0.2")  # on the good list
        query(served.dns_port, "news.example", source="127.0.0.2")
    status = operator.get("/api/v1/operator/status").json()
    assert status["gate"]["blocked"] >= first["gate"]["blocked"] + 1
    assert status["gate"]["memo_entries"] >= 1 and status["gate"]["index_names"] >= 2
    assert status["gate"]["upstreams"][0]["healthy"] is True
    assert status["gate"]["qps"] is not None  # a second reading
    sources = {s["name"]: s for s in status["sources"]}
    assert sources["good-list"]["entries"] == 2 and sources["good-list"]["last_error"] is None
    assert sources["broken-list"]["last_error"] and sources["broken-list"]["entries"] == 0
    page = operator.get("/operator")
    assert page.status_code == 200, page.text
    assert "good-list" in page.text and 'class="source-row bad"' in page.text
    assert 'id="nav-operator"' in operator.get("/household").text
    operator.close()


def test_parents_get_no_operator_page(world: dict[str, Any]) -> None:
    parent = signed_in_client(world["served"].base, DEMO_LOGIN, DEMO_PASSWORD)
    assert parent.get("/operator").status_code == 403
    assert parent.get("/api/v1/operator/status").status_code == 403
    parent.close()


def parse(text: str) -> dict[str, float]:
    """Sample lines of the Prometheus text format by name and labels; every line checked."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("# "):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ .+$", line), line
            continue
        assert SAMPLE.match(line), line
        key, value = line.rsplit(" ", 1)
        samples[key] = float(value)
    return samples


def test_metrics_from_loopback_or_with_an_operator_token(world: dict[str, Any]) -> None:
    base = world["served"].base
    local = httpx.get(base + "/metrics")
    assert local.status_code == 200 and local.headers["content-type"].startswith("text/plain")
    samples = parse(local.text)
    assert samples['safegate_ready{check="gate"}'] == 1
    assert samples['safegate_list_entries{source="good-list"}'] == 2
    assert samples['safegate_list_error{source="broken-list"}'] == 1
    assert samples["safegate_queries_total"] >= 0
    proxied = {"X-Forwarded-For": "203.0.113.7"}
    assert httpx.get(base + "/metrics", headers=proxied).status_code == 401
    parent = {**proxied, "Authorization": f"Bearer {world['parent_token']}"}
    assert httpx.get(base + "/metrics", headers=parent).status_code == 401
    operator = {**proxied, "Authorization": f"Bearer {world['token']}"}
    assert httpx.get(base + "/metrics", headers=operator).status_code == 200


def test_readyz(world: dict[str, Any]) -> None:
    ready = httpx.get(world["served"].base + "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {"gate": True, "upstream": True,
                                                      "store": True}}


def test_the_api_is_in_the_openapi_schema_and_the_probes_are_not(world: dict[str, Any]) -> None:
    paths = httpx.get(world["served"].base + "/api/openapi.json").json()["paths"]
    assert {"/api/v1/operator/status", "/api/v1/activity", "/api/v1/children/{child_id}/report",
            "/api/v1/devices/{device_id}/protected", "/api/v1/devices/{device_id}/setup"} \
        <= set(paths)
    assert not {"/metrics", "/readyz", "/operator"} & set(paths)


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _scrape(base: str) -> Samples:
    """Every sample of /metrics, through prometheus_client's own parser (a malformed
    exposition raises)."""
    answer = httpx.get(base + "/metrics")
    assert answer.status_code == 200
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_move_with_real_dns_queries_and_http_requests(world: dict[str, Any]) -> None:
    served = world["served"]
    before = _scrape(served.base)
    tag = uuid.uuid4().hex[:8]
    for i in range(3):  # fresh names: decided on the slow path, never from a memo
        query(served.dns_port, f"n{i}-{tag}.bad.example", source="127.0.0.2")  # gambling
        query(served.dns_port, f"n{i}-{tag}.news.example", source="127.0.0.2")  # upstream
    for _ in range(2):
        assert httpx.get(served.base + "/healthz").status_code == 200
    assert httpx.get(served.base + f"/no-such-page-{tag}").status_code == 404
    # A method the HTTP parser knows and no route takes reaches the app (405, counted below
    # as "other"); a made-up one is refused by the parser (httptools) before it.
    assert httpx.request("PROPFIND", served.base + "/healthz").status_code == 405
    assert httpx.request(f"BREW{tag}", served.base + "/healthz").status_code == 400
    assert wait_until(lambda: _value(_scrape(served.base), "safegate_queries_total")
                      >= _value(before, "safegate_queries_total") + 6)
    after = _scrape(served.base)

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert moved("safegate_blocked_by_category_total", category="gambling") == 3
    assert moved("safegate_blocked_total") >= 3
    assert moved("safegate_cache_misses_total") >= 3
    assert moved("safegate_upstream_latency_seconds_count") >= 3
    assert moved("safegate_upstream_latency_seconds_bucket", le="+Inf") >= 3
    assert moved("safegate_upstream_latency_seconds_sum") > 0
    assert ("safegate_querylog_dropped_total", frozenset()) in after
    assert moved("safegate_http_requests_total", method="GET", route="/healthz",
                 status="200") == 2
    assert moved("safegate_http_request_duration_seconds_count", method="GET",
                 route="/healthz") == 2
    # A path no route matches is counted under one label, never its own.
    assert moved("safegate_http_requests_total", method="GET", route="unmatched",
                 status="404") == 1
    # Nor is a method no HTTP client uses.
    assert moved("safegate_http_requests_total", method="other", route="/healthz",
                 status="405") == 1
    assert not any(tag in value for _, labels in after for _, value in labels)
    # Scrapes count too: at least the one before and the ones while waiting.
    assert moved("safegate_http_requests_total", method="GET", route="/metrics",
                 status="200") >= 1


def test_the_operator_sees_the_deadlines_and_marks_them_seen(world: dict[str, Any]) -> None:
    served = world["served"]
    operator = signed_in_client(served.base, OPERATOR_LOGIN, OPERATOR_PASSWORD)
    front = operator.get("/operator").text
    assert 'id="notices-link"' in front and "2 chưa xem" in front
    page = operator.get("/operator/notices")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Một yêu cầu dữ liệu đến hạn trong vòng một ngày" in text  # the request, in 12 h
    assert "Một báo cáo sự cố đã quá hạn" in text  # the breach, 8 h late
    assert re.search(r"còn 1[12] giờ \d\d phút", text) and re.search(r"đã quá hạn [78] giờ", text)
    assert text.index("báo cáo sự cố") < text.index("yêu cầu dữ liệu đến hạn")  # earliest first
    listed = operator.get("/api/v1/operator/notices").json()
    assert [(n["object_type"], n["object_id"]) for n in listed] == [
        ("breach", world["breach"]), ("dsr", world["request"])]
    assert listed[1]["org"] == DEMO_ORG_NAME  # the child's household
    breach_notice = listed[0]["id"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', text).group(1)  # type: ignore[union-attr]
    assert operator.post(f"/operator/notices/{breach_notice}/seen").status_code == 403
    done = operator.post(f"/operator/notices/{breach_notice}/seen", data={"csrf": csrf},
                         follow_redirects=False)
    assert done.status_code == 303
    left = operator.get("/api/v1/operator/notices").json()
    assert [n["object_type"] for n in left] == ["dsr"]
    everything = operator.get("/operator/notices", params={"everything": "true"}).text
    assert f"{OPERATOR_LOGIN} đã xem" in everything
    assert operator.post("/api/v1/operator/notices/999999/seen",
                         headers={"X-CSRF-Token": csrf}).status_code == 404
    # A read-only token sees them but marks nothing; parents see nothing.
    reader = {"Authorization": f"Bearer {world['token']}"}
    assert httpx.get(served.base + "/api/v1/operator/notices", headers=reader,
                     timeout=30).status_code == 200
    assert httpx.post(served.base + f"/api/v1/operator/notices/{left[0]['id']}/seen",
                      headers=reader, timeout=30).status_code == 403
    parent = signed_in_client(served.base, DEMO_LOGIN, DEMO_PASSWORD)
    assert parent.get("/operator/notices").status_code == 403
    assert parent.get("/api/v1/operator/notices").status_code == 403
    app = App(load_settings(env={}, overrides={"server.data_dir": str(world["data"])}))
    try:
        with app.sessions()() as session:
            seen = session.scalars(select(AuditLog).where(
                AuditLog.action == "notice.seen")).all()
    finally:
        app.close()
    assert [(e.actor, e.role, e.object_id) for e in seen] == [
        (OPERATOR_LOGIN, "operator", str(breach_notice))]
    operator.close()
    parent.close()


def _failed_sign_in(base: str, login: str) -> int:
    with httpx.Client(base_url=base, timeout=30) as client:
        form = client.get("/signin").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        return client.post("/signin", data={"csrf": csrf, "login": login,
                                            "password": "not the password"}).status_code


def test_the_operator_lists_adds_and_unlocks_organisations_and_accounts(
        world: dict[str, Any]) -> None:
    served = world["served"]
    operator = signed_in_client(served.base, OPERATOR_LOGIN, OPERATOR_PASSWORD)
    assert 'href="/operator/accounts"' in operator.get("/operator").text
    page = operator.get("/operator/accounts")
    assert page.status_code == 200, page.text
    orgs = operator.get("/api/v1/operator/organisations").json()
    demo = next(o for o in orgs if o["name"] == DEMO_ORG_NAME)
    assert demo["kind"] == "household" and demo["children"] == 2 and demo["accounts"] >= 1
    accounts = operator.get("/api/v1/operator/accounts").json()
    parent_row = next(a for a in accounts if a["login"] == DEMO_LOGIN)
    assert parent_row["role"] == "parent" and parent_row["org"] == DEMO_ORG_NAME
    assert parent_row["second_factor"] is False and parent_row["locked_until"] is None
    assert DEMO_LOGIN in page.text and DEMO_ORG_NAME in page.text
    assert "An" not in re.findall(r"<td>([^<]*)</td>", page.text)  # children are counted only
    csrf = operator.csrf  # type: ignore[attr-defined]
    school = f"Trường THCS {uuid.uuid4().hex[:6]}"
    assert operator.post("/operator/organisations",
                         data={"name": school, "kind": "school"}).status_code == 403
    made = operator.post("/operator/organisations", follow_redirects=False,
                         data={"csrf": csrf, "name": school, "kind": "school",
                               "timezone": "Asia/Ho_Chi_Minh"})
    assert made.status_code == 303
    school_id = next(o["id"] for o in operator.get("/api/v1/operator/organisations").json()
                     if o["name"] == school)
    bad = operator.post("/operator/organisations",
                        data={"csrf": csrf, "name": "Nowhere", "kind": "school",
                              "timezone": "Mars/Olympus"})
    assert bad.status_code == 400 and 'id="directory-error"' in bad.text
    assert "Nowhere" not in {o["name"] for o in
                             operator.get("/api/v1/operator/organisations").json()}
    admin = f"admin-{uuid.uuid4().hex[:6]}@example.vn"
    added = operator.post("/operator/accounts", follow_redirects=False,
                          data={"csrf": csrf, "login": admin, "password": "mật khẩu trường 1",
                                "role": "school_admin", "org_id": str(school_id),
                                "display_name": "Cô Hạnh", "locale": "vi"})
    assert added.status_code == 303
    again = operator.post("/operator/accounts",
                          data={"csrf": csrf, "login": admin, "password": "mật khẩu trường 1",
                                "role": "school_admin", "org_id": str(school_id)})
    assert again.status_code == 400 and "has an account already" in again.text
    short = operator.post("/api/v1/operator/accounts", headers={"X-CSRF-Token": csrf},
                          json={"login": "0912000111", "password": "short",
                                "role": "teacher", "org_id": school_id})
    assert short.status_code == 400 and "password" in short.json()["error"]
    # The new admin is locked out by wrong passwords, then unlocked by the operator.
    for _ in range(5):  # accounts.MAX_FAILURES
        _failed_sign_in(served.base, admin)
    row = next(a for a in operator.get("/api/v1/operator/accounts").json()
               if a["login"] == admin)
    assert row["role"] == "school_admin" and row["org"] == school and row["locked_until"]
    assert "Mở khóa" in operator.get("/operator/accounts").text
    unlocked = operator.post(f"/api/v1/operator/accounts/{row['id']}/unlock",
                             headers={"X-CSRF-Token": csrf})
    assert unlocked.json() == {"unlocked": True}
    signed = signed_in_client(served.base, admin, "mật khẩu trường 1")
    assert signed.get("/school").status_code == 200  # signed in again, as the school's admin
    signed.close()
    assert operator.post("/api/v1/operator/accounts/999999/unlock",
                         headers={"X-CSRF-Token": csrf}).status_code == 404
    # Parents see none of it; a read-only operator token lists but changes nothing.
    parent = signed_in_client(served.base, DEMO_LOGIN, DEMO_PASSWORD)
    assert parent.get("/operator/accounts").status_code == 403
    assert parent.get("/api/v1/operator/accounts").status_code == 403
    reader = {"Authorization": f"Bearer {world['token']}"}
    assert httpx.get(served.base + "/api/v1/operator/accounts", headers=reader,
                     timeout=30).status_code == 200
    assert httpx.post(served.base + "/api/v1/operator/organisations", headers=reader,
                      json={"name": "Read only", "kind": "household"},
                      timeout=30).status_code == 403
    parent.close()
    operator.close()
    app = App(load_settings(env={}, overrides={"server.data_dir": str(world["data"])}))
    try:
        with app.sessions()() as session:
            entries = {(e.action, e.actor) for e in session.scalars(select(AuditLog).where(
                AuditLog.action.in_(("account.list", "org.create", "account.create",
                                     "account.unlock"))))}
    finally:
        app.close()
    assert {("account.list", OPERATOR_LOGIN), ("org.create", OPERATOR_LOGIN),
            ("account.create", OPERATOR_LOGIN), ("account.unlock", OPERATOR_LOGIN)} <= entries
