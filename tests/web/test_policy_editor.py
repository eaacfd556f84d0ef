"""The policy editor over real HTTP against a real `safegate serve`: a schedule window added
on the page changes the child's real DNS answer while it covers now (and turning it off or
removing it lifts it), a window changed in place on the page and through the API (the DNS
answer follows, a bad change refused with the form kept), the weekly grid draws a window over
midnight on both days, a bad time is refused in the page's language with the form kept, the
schedule and budget API with its access checks, budgets against today's used minutes, the
service filter, and pauses, temporary allows, schedules and budgets audited as the account
that changed them (the command line as its OS user)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from safegate.app.accounts import add_user
from safegate.app.audit import audit_entries, verify_audit
from safegate.app.core import App
from safegate.app.family import add_child, add_org, list_children
from safegate.config import load_settings
from safegate.store.budgets import DatabaseCounter
from tests.helpers import (
    DEMO_LOGIN,
    addresses,
    cli,
    demo_data_dir,
    query,
    signed_in_client,
    wait_until,
    web_served,
)

EN_LOGIN, OTHER_PASSWORD = "bo@example.vn", "mật khẩu của bố 2026"
OTHER_LOGIN = "0912345678"
COUNSELLOR_LOGIN = "tuvan@example.vn"  # reads the household's children, changes nothing
AN = "127.0.0.2"  # the demo tablet of An
ALLOWED, BLOCKED = ["192.0.2.1"], ["0.0.0.0"]
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")  # the demo household's time zone


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = demo_data_dir(tmp_path_factory.mktemp("policyweb") / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    kids = {c.name: c.id for c in list_children(app)}
    add_user(app, EN_LOGIN, OTHER_PASSWORD, org="Gia đình Nguyễn (demo)", locale="en")
    add_user(app, COUNSELLOR_LOGIN, OTHER_PASSWORD, org="Gia đình Nguyễn (demo)",
             role="counsellor")
    add_org(app, "Nhà Lê")
    bao = add_child(app, "Bảo", 2015, org="Nhà Lê")
    add_user(app, OTHER_LOGIN, OTHER_PASSWORD, org="Nhà Lê")
    today = datetime.now(HANOI).date().isoformat()
    DatabaseCounter(app.engine).add([(kids["An"], "group:games", today, m) for m in range(25)])
    app.close()
    config = data / "web.toml"
    config.write_text("[web]\nlogin_attempts_per_minute = 1000\n")
    with web_served("--config", str(config), "--demo", "--no-default-lists", "--data-dir",
                    str(data)) as served:
        yield {"served": served, "an": kids["An"], "bao": bao.id, "data": data}


def hhmm(when: datetime) -> str:
    return when.strftime("%H:%M")


def test_a_window_added_on_the_page_changes_the_dns_answer(world: dict[str, Any],
                                                            parent: httpx.Client) -> None:
    dns, an = world["served"].dns_port, world["an"]
    assert addresses(query(dns, "example.org", AN)) == ALLOWED
    now = datetime.now(HANOI)
    form = {"csrf": parent.csrf, "name": "giờ ngủ", "start": hhmm(now - timedelta(hours=1)),  # type: ignore[attr-defined]
            "end": hhmm(now + timedelta(hours=1)), "kind": "block_all",
            "allow": "school.example",
            "day": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    added = parent.post(f"/children/{an}/schedules", data=form)
    assert added.status_code == 303, added.text
    assert wait_until(lambda: addresses(query(dns, "example.org", AN)) == BLOCKED, 5)
    assert addresses(query(dns, "school.example", AN)) == ALLOWED  # its allow list
    page = parent.get(f"/children/{an}/schedules")
    assert "giờ ngủ" in page.text and "đang áp dụng" in page.text  # in force now
    off = parent.post(f"/children/{an}/schedules/enable",
                      data={"csrf": parent.csrf, "name": "giờ ngủ", "enabled": "off"})  # type: ignore[attr-defined]
    assert off.status_code == 303
    assert wait_until(lambda: addresses(query(dns, "example.org", AN)) == ALLOWED, 5)
    on = parent.post(f"/children/{an}/schedules/enable",
                     data={"csrf": parent.csrf, "name": "giờ ngủ", "enabled": "on"})  # type: ignore[attr-defined]
    assert on.status_code == 303
    assert wait_until(lambda: addresses(query(dns, "example.org", AN)) == BLOCKED, 5)
    gone = parent.post(f"/children/{an}/schedules/remove",
                       data={"csrf": parent.csrf, "name": "giờ ngủ"})  # type: ignore[attr-defined]
    assert gone.status_code == 303
    assert wait_until(lambda: addresses(query(dns, "example.org", AN)) == ALLOWED, 5)
    assert parent.get(f"/api/v1/children/{an}/schedules").json() == []


def test_the_grid_draws_a_window_over_midnight_on_both_days(world: dict[str, Any],
                                                            parent: httpx.Client) -> None:
    an = world["an"]
    body = {"name": "late", "days": "sun", "start": "22:00", "end": "02:00",
            "block_categories": ["games"]}
    added = parent.post(f"/api/v1/children/{an}/schedules", json=body,
                        headers={"X-CSRF-Token": parent.csrf})  # type: ignore[attr-defined]
    assert added.status_code == 201, added.text
    try:
        page = parent.get(f"/children/{an}/schedules").text
        covered = set(re.findall(r'class="cell on[^"]*" data-day="(\w+)" data-hour="(\d+)"',
                                 page))
        assert covered == {("sun", "22"), ("sun", "23"), ("mon", "0"), ("mon", "1")}
        # Each hour is named (day, hour, and whether a window covers it) without any script.
        assert 'data-hour="23" aria-label="Chủ Nhật 23:00–24:00, khung giờ' in page
        assert 'data-day="tue" data-hour="9" aria-label="Thứ Ba 09:00–10:00' in page
        assert "chặn Trò chơi" in page  # what it blocks, in Vietnamese
    finally:
        parent.delete(f"/api/v1/children/{an}/schedules/late",
                      headers={"X-CSRF-Token": parent.csrf})  # type: ignore[attr-defined]


def test_a_bad_time_is_refused_in_the_page_language_and_the_form_kept(
        world: dict[str, Any], parent: httpx.Client) -> None:
    an = world["an"]
    form = {"csrf": parent.csrf, "name": "học bài", "start": "25:00", "end": "21:00",  # type: ignore[attr-defined]
            "kind": "block", "category": "games", "day": ["mon", "wed"]}
    refused = parent.post(f"/children/{an}/schedules", data=form)
    assert refused.status_code == 400
    assert "&#39;25:00&#39; không phải là giờ trong ngày" in refused.text
    assert 'value="học bài"' in refused.text and 'value="25:00"' in refused.text
    assert re.search(r'id="win-day-wed" name="day" value="wed" checked', refused.text)
    english = signed_in_client(world["served"].base, EN_LOGIN, OTHER_PASSWORD)
    en = english.post(f"/children/{an}/schedules", data={**form, "csrf": english.csrf})
    assert en.status_code == 400 and "not a time of day: &#39;25:00&#39;" in en.text
    none = parent.post(f"/children/{an}/schedules", data={**form, "start": "20:00",
                                                          "day": []})
    assert none.status_code == 400 and "chưa chọn ngày nào" in none.text
    assert parent.get(f"/api/v1/children/{an}/schedules").json() == []  # nothing added


def test_the_schedule_api_and_its_checks(world: dict[str, Any], parent: httpx.Client) -> None:
    an, bao = world["an"], world["bao"]
    head = {"X-CSRF-Token": parent.csrf}  # type: ignore[attr-defined]
    body = {"name": "school", "days": "mon-fri", "start": "07:00", "end": "11:30",
            "block_services": ["tiktok"]}
    bad = parent.post(f"/api/v1/children/{an}/schedules", json={**body, "end": "7h"},
                      headers=head)
    assert bad.status_code == 400 and "not a time of day" in bad.json()["error"]
    made = parent.post(f"/api/v1/children/{an}/schedules", json=body, headers=head)
    assert made.status_code == 201 and made.json()["services"] == ["tiktok"]
    twice = parent.post(f"/api/v1/children/{an}/schedules", json=body, headers=head)
    assert twice.status_code == 400 and "already has a schedule" in twice.json()["error"]
    off = parent.patch(f"/api/v1/children/{an}/schedules/school", json={"enabled": False},
                       headers=head)
    assert off.status_code == 200 and off.json()["enabled"] is False
    [listed] = parent.get(f"/api/v1/children/{an}/schedules").json()
    assert listed["days"] == "mon-fri" and listed["enabled"] is False
    no_token = parent.delete(f"/api/v1/children/{an}/schedules/school")
    assert no_token.status_code == 403
    other = signed_in_client(world["served"].base, OTHER_LOGIN, OTHER_PASSWORD)
    assert other.get(f"/api/v1/children/{an}/schedules").status_code == 404
    assert other.delete(f"/api/v1/children/{an}/schedules/school",
                        headers={"X-CSRF-Token": other.csrf}).status_code == 404
    assert other.get(f"/children/{an}/schedules").status_code == 404
    assert parent.get(f"/api/v1/children/{bao}/schedules").status_code == 404
    gone = parent.delete(f"/api/v1/children/{an}/schedules/school", headers=head)
    assert gone.status_code == 200
    assert parent.get(f"/api/v1/children/{an}/schedules").json() == []


def test_budgets_show_todays_minutes_and_can_be_set_and_removed(
        world: dict[str, Any], parent: httpx.Client) -> None:
    an = world["an"]
    bad = parent.post(f"/children/{an}/budgets",
                      data={"csrf": parent.csrf, "target": "group:games", "minutes": "một giờ"})  # type: ignore[attr-defined]
    assert bad.status_code == 400 and "không phải là số nguyên" in bad.text
    assert 'value="một giờ"' in bad.text
    saved = parent.post(f"/children/{an}/budgets",
                        data={"csrf": parent.csrf, "target": "group:games", "minutes": "60"})  # type: ignore[attr-defined]
    assert saved.status_code == 303, saved.text
    page = parent.get(f"/children/{an}/budgets").text
    assert "25 / 60 phút" in page and "Tất cả: Trò chơi" in page
    listed = parent.get(f"/api/v1/children/{an}/budgets").json()
    [games] = [b for b in listed["budgets"] if b["target"] == "group:games"]
    assert games["used"] == 25 and games["left"] == 35 and games["minutes"] == 60
    head = {"X-CSRF-Token": parent.csrf}  # type: ignore[attr-defined]
    put = parent.put(f"/api/v1/children/{an}/budgets/tiktok", json={"minutes": 30},
                     headers=head)
    assert put.status_code == 200 and put.json()["minutes"] == 30
    other = signed_in_client(world["served"].base, OTHER_LOGIN, OTHER_PASSWORD)
    assert other.get(f"/api/v1/children/{an}/budgets").status_code == 404
    assert other.put(f"/api/v1/children/{an}/budgets/tiktok", json={"minutes": 5},
                     headers={"X-CSRF-Token": other.csrf}).status_code == 404
    removed = parent.post(f"/children/{an}/budgets/remove",
                          data={"csrf": parent.csrf, "target": "group:games"})  # type: ignore[attr-defined]
    assert removed.status_code == 303
    assert parent.delete(f"/api/v1/children/{an}/budgets/tiktok", headers=head).status_code \
        == 200
    assert parent.get(f"/api/v1/children/{an}/budgets").json()["budgets"] == []
    again = parent.delete(f"/api/v1/children/{an}/budgets/tiktok", headers=head)
    assert again.status_code == 400 and "has no budget" in again.json()["error"]


def test_the_service_filter_works_without_script(world: dict[str, Any],
                                                  parent: httpx.Client) -> None:
    an = world["an"]
    found = parent.get(f"/children/{an}", params={"svc": "lien quan"}).text
    options = re.findall(r'<option value="(\w+)" data-search=', found)
    assert options == ["lien_quan"]
    every = parent.get(f"/children/{an}").text
    assert len(re.findall(r'data-search=', every)) > 20
    nothing = parent.get(f"/children/{an}", params={"svc": "zzzz"}).text
    assert not re.findall(r'data-search=', nothing)
    assert re.search(r'<p id="svc-none" role="status">', nothing)


def test_a_role_that_only_reads_sees_the_schedule_and_budgets_but_changes_nothing(
        world: dict[str, Any]) -> None:
    an = world["an"]
    reader = signed_in_client(world["served"].base, COUNSELLOR_LOGIN, OTHER_PASSWORD)
    page = reader.get(f"/children/{an}/schedules")
    assert page.status_code == 200 and 'id="week-grid"' in page.text
    assert 'id="window-form"' not in page.text  # no form to add a window
    budgets = reader.get(f"/children/{an}/budgets")
    assert budgets.status_code == 200 and "Đặt giới hạn thời gian" not in budgets.text
    form = {"csrf": reader.csrf, "name": "x", "start": "20:00", "end": "21:00",
            "kind": "block_all", "day": ["mon"]}
    assert reader.post(f"/children/{an}/schedules", data=form).status_code == 403
    assert reader.post(f"/children/{an}/budgets", data={
        "csrf": reader.csrf, "target": "tiktok", "minutes": "5"}).status_code == 403
    head = {"X-CSRF-Token": reader.csrf}
    assert reader.post(f"/api/v1/children/{an}/schedules", headers=head, json={
        "name": "x", "days": "mon", "start": "20:00", "end": "21:00",
        "block_all": True}).status_code == 403
    assert reader.put(f"/api/v1/children/{an}/budgets/tiktok", headers=head,
                      json={"minutes": 5}).status_code == 403
    assert reader.get(f"/api/v1/children/{an}/schedules").json() == []


def test_a_window_changed_in_place_changes_the_dns_answer(world: dict[str, Any],
                                                         parent: httpx.Client) -> None:
    dns, an = world["served"].dns_port, world["an"]
    head = {"X-CSRF-Token": parent.csrf}  # type: ignore[attr-defined]
    now = datetime.now(HANOI)
    later = {"name": "học bài", "days": "daily", "start": hhmm(now + timedelta(hours=3)),
             "end": hhmm(now + timedelta(hours=4)), "block_all": True,
             "allow": ["school.example"]}
    made = parent.post(f"/api/v1/children/{an}/schedules", json=later, headers=head)
    assert made.status_code == 201, made.text
    other = parent.post(f"/api/v1/children/{an}/schedules", headers=head, json={
        "name": "khác", "days": "sun", "start": "01:00", "end": "02:00",
        "block_categories": ["games"]})
    assert other.status_code == 201, other.text
    try:
        assert addresses(query(dns, "example.org", AN)) == ALLOWED
        page = parent.get(f"/children/{an}/schedules", params={"edit": "học bài"}).text
        assert f'action="/children/{an}/schedules/edit"' in page
        assert 'name="original" value="học bài"' in page
        assert re.search(r'id="win-day-wed" name="day" value="wed" checked', page)
        assert f'value="{later["start"]}"' in page and 'value="school.example"' in page
        assert re.search(r'id="win-kind-block_all" name="kind" value="block_all" checked',
                         page)
        form = {"csrf": parent.csrf, "original": "học bài", "name": "giờ học",  # type: ignore[attr-defined]
                "start": hhmm(now - timedelta(hours=1)), "end": hhmm(now + timedelta(hours=1)),
                "kind": "block_all", "allow": "school.example",
                "day": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
        bad = parent.post(f"/children/{an}/schedules/edit", data={**form, "end": "25:00"})
        assert bad.status_code == 400
        assert "&#39;25:00&#39; không phải là giờ trong ngày" in bad.text
        assert 'name="original" value="học bài"' in bad.text and 'value="giờ học"' in bad.text
        taken = parent.post(f"/children/{an}/schedules/edit", data={**form, "name": "khác"})
        assert taken.status_code == 400 and "đã có một lịch tên là" in taken.text
        assert addresses(query(dns, "example.org", AN)) == ALLOWED  # nothing changed
        changed = parent.post(f"/children/{an}/schedules/edit", data=form)
        assert changed.status_code == 303, changed.text
        assert wait_until(lambda: addresses(query(dns, "example.org", AN)) == BLOCKED, 5)
        assert addresses(query(dns, "school.example", AN)) == ALLOWED
        names = {w["name"]: w for w in parent.get(f"/api/v1/children/{an}/schedules").json()}
        assert set(names) == {"giờ học", "khác"} and names["giờ học"]["in_force"]
        # The API replaces the whole window: later again, and blocking games only.
        moved = parent.put(f"/api/v1/children/{an}/schedules/giờ học", headers=head, json={
            **later, "name": "giờ học", "block_all": False, "allow": [],
            "block_categories": ["games"]})
        assert moved.status_code == 200, moved.text
        assert moved.json()["categories"] == ["games"] and not moved.json()["in_force"]
        assert wait_until(lambda: addresses(query(dns, "example.org", AN)) == ALLOWED, 5)
        missing = parent.put(f"/api/v1/children/{an}/schedules/nothing", headers=head,
                             json=later)
        assert missing.status_code == 400 and "has no schedule named" in \
            missing.json()["error"]
        stranger = signed_in_client(world["served"].base, OTHER_LOGIN, OTHER_PASSWORD)
        assert stranger.put(f"/api/v1/children/{an}/schedules/giờ học", json=later,
                            headers={"X-CSRF-Token": stranger.csrf}).status_code == 404
        reader = signed_in_client(world["served"].base, COUNSELLOR_LOGIN, OTHER_PASSWORD)
        assert reader.put(f"/api/v1/children/{an}/schedules/giờ học", json=later,
                          headers={"X-CSRF-Token": reader.csrf}).status_code == 403
        assert reader.post(f"/children/{an}/schedules/edit",
                           data={**form, "csrf": reader.csrf,
                                 "original": "giờ học"}).status_code == 403
        assert 'name="original"' not in reader.get(f"/children/{an}/schedules",
                                                   params={"edit": "giờ học"}).text
    finally:
        for name in ("học bài", "giờ học", "khác"):
            parent.delete(f"/api/v1/children/{an}/schedules/{name}", headers=head)
    assert parent.get(f"/api/v1/children/{an}/schedules").json() == []


def test_time_rules_changed_on_the_web_are_audited_as_the_account(
        world: dict[str, Any], parent: httpx.Client) -> None:
    an, data = world["an"], world["data"]
    head = {"X-CSRF-Token": parent.csrf}  # type: ignore[attr-defined]
    token = {"csrf": parent.csrf}  # type: ignore[attr-defined]
    steps = [
        parent.post(f"/children/{an}/pause", data={**token, "minutes": "30"}),
        parent.post(f"/children/{an}/resume", data=token),
        parent.post(f"/api/v1/children/{an}/pause", json={"minutes": 5}, headers=head),
        parent.post(f"/api/v1/children/{an}/resume", headers=head),
        parent.post(f"/children/{an}/allow-for",
                    data={**token, "domain": "game.example", "minutes": "20"}),
        parent.post(f"/api/v1/children/{an}/allow-for", headers=head,
                    json={"domain": "video.example", "minutes": 10}),
        parent.post(f"/api/v1/children/{an}/schedules", headers=head, json={
            "name": "kiểm tra", "days": "sat", "start": "08:00", "end": "09:00",
            "block_all": True}),
        parent.put(f"/api/v1/children/{an}/schedules/kiểm tra", headers=head, json={
            "name": "kiểm tra", "days": "sun", "start": "08:00", "end": "09:30",
            "block_all": True}),
        parent.post(f"/children/{an}/schedules/enable",
                    data={**token, "name": "kiểm tra", "enabled": "off"}),
        parent.post(f"/children/{an}/schedules/remove", data={**token, "name": "kiểm tra"}),
        parent.post(f"/children/{an}/budgets",
                    data={**token, "target": "tiktok", "minutes": "15"}),
        parent.delete(f"/api/v1/children/{an}/budgets/tiktok", headers=head),
    ]
    assert [r.status_code for r in steps] == [303, 303, 200, 200, 303, 200, 201, 200, 303,
                                              303, 303, 200], [r.text for r in steps]
    assert cli("pause", f"id:{an}", "--minutes", "5", "--data-dir", str(data)).returncode == 0
    assert cli("resume", f"id:{an}", "--data-dir", str(data)).returncode == 0
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    try:
        entries = audit_entries(app, f"id:{an}", actor="test", limit=200)
        assert verify_audit(app).ok
    finally:
        app.close()
    mine = [(e["action"], e["actor"]) for e in reversed(entries)
            if e["action"].split(".")[0] in ("child", "schedule", "budget")
            and e["action"] not in ("child.view",)]
    web = [a for a, who in mine if who == DEMO_LOGIN]
    assert web[-12:] == [
        "child.pause", "child.resume", "child.pause", "child.resume", "child.allow_for",
        "child.allow_for", "schedule.add", "schedule.change", "schedule.disable",
        "schedule.remove", "budget.set", "budget.remove"], mine
    assert [(a, who.startswith("cli:")) for a, who in mine[-2:]] == [
        ("child.pause", True), ("child.resume", True)]
    edit = next(e for e in entries if e["action"] == "schedule.change")  # the newest
    assert edit["detail"]["fields"] == ["days", "end_minute"] and edit["subject"]
    [allowed] = [e for e in entries if e["action"] == "child.allow_for"
                 and e["detail"]["domain"] == "video.example"]
    assert allowed["object_type"] == "profile" and allowed["subject"] == edit["subject"]


def test_a_long_rule_list_shows_its_first_rules_and_a_link_to_all(
        world: dict[str, Any], parent: httpx.Client) -> None:
    """35 deny rules: the child's page lists 30 with "Show all 35", and ?rules=all lists
    every one; the allow list, shorter, has no such link. The rules are taken back after."""
    an = world["an"]
    names = [f"rule{i:02d}.example" for i in range(35)]
    head = {"X-CSRF-Token": parent.csrf}  # type: ignore[attr-defined]
    assert parent.patch(f"/api/v1/children/{an}/policy", json={"deny": names},
                        headers=head).status_code == 200
    try:
        page = parent.get(f"/children/{an}").text
        shown = re.findall(r'name="domain" value="(rule\d\d\.example)"', page)
        assert len(shown) == 30 and 'id="deny-all"' in page and "Xem tất cả 35" in page
        assert 'id="allow-all"' not in page
        every = parent.get(f"/children/{an}", params={"rules": "all"}).text
        assert sorted(re.findall(r'name="domain" value="(rule\d\d\.example)"', every)) == names
        assert 'id="deny-all"' not in every
    finally:
        assert parent.patch(f"/api/v1/children/{an}/policy", json={"undeny": names},
                            headers=head).status_code == 200
