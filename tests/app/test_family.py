"""Parental control operations on SQLite and PostgreSQL: organisations, children, devices,
policies, presets, Decree 147, and export/import."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from safegate.app.core import App
from safegate.app.family import (
    FamilyError,
    PolicyChange,
    add_child,
    add_device,
    add_org,
    apply_preset,
    delete_child,
    delete_org,
    list_children,
    list_devices,
    list_orgs,
    remove_device,
    rename_child,
    rename_device,
    rename_org,
    set_policy,
    show_policy,
)
from safegate.app.family_file import ImportProblems, export_org, import_org, to_toml
from safegate.config import load_settings
from safegate.store import make_engine, migrate, sqlite_url
from safegate.store.errors import StoreError
from safegate.store.models import (
    Alert,
    AuditLog,
    BudgetUsage,
    Device,
    Organisation,
    Policy,
    Profile,
    QueryLog,
    Schedule,
    TemporaryAllow,
    TimeBudget,
    UnblockRequest,
)
from safegate.store.values import utcnow
from tests.helpers import postgresql_schema

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def make_app(url: str, data_dir: Path) -> App:
    return App(load_settings(env={}, overrides={"server.database_url": url,
                                                "server.data_dir": str(data_dir)}))


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = make_app(engine.url.render_as_string(hide_password=False), tmp_path / "app")
    yield made
    made.close()


@contextmanager
def empty_app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    """Another migrated, empty database on the same kind of server."""
    if engine.dialect.name == "sqlite":
        url = sqlite_url(tmp_path / "other")
        other = make_engine(url)
        migrate(other)
        other.dispose()
        made = make_app(url, tmp_path / "other")
        yield made
        made.close()
        return
    with postgresql_schema("PostgreSQL import tests") as url:
        other = make_engine(url)
        migrate(other)
        other.dispose()
        made = make_app(url, tmp_path / "other")
        yield made
        made.close()


def household(app: App) -> None:
    add_org(app, "Nhà Trần")
    add_child(app, "An", 2018, now=NOW)  # 8 this year
    add_child(app, "Bé", 2022, now=NOW)  # 4
    add_device(app, "An", "Tablet", kind="tablet", ip="192.168.1.20")
    add_device(app, "An", "Laptop", kind="laptop", ip="10.0.0.0/24", mac="AA-BB-CC-DD-EE-FF")
    add_device(app, "Bé", "Phone", kind="phone")


def counts(app: App) -> dict[str, int]:
    with app.sessions()() as session:
        return {m.__tablename__: int(session.scalar(select(func.count()).select_from(m)) or 0)
                for m in (Organisation, Profile, Device, Policy, Schedule, TimeBudget)}


# ---------------------------------------------------------------- organisations


def test_organisations_add_list_rename_delete(app: App) -> None:
    view = add_org(app, "Trường Tiểu học Kim Đồng", "school", "Asia/Bangkok")
    assert (view.kind, view.timezone, view.children) == ("school", "Asia/Bangkok", 0)
    assert add_org(app, "Nhà Lê").timezone == "Asia/Ho_Chi_Minh"
    assert [o.name for o in list_orgs(app)] == ["Trường Tiểu học Kim Đồng", "Nhà Lê"]
    rename_org(app, "nhà lê", "Nhà Lê Văn")
    with pytest.raises(StoreError, match="exists already"):
        add_org(app, "NHÀ LÊ VĂN")
    add_child(app, "Chi", 2016, org="Nhà Lê Văn", now=NOW)
    with pytest.raises(StoreError, match="has 1 child"):
        delete_org(app, "Nhà Lê Văn")
    assert delete_org(app, "Nhà Lê Văn", force=True) == 1
    assert [o.name for o in list_orgs(app)] == ["Trường Tiểu học Kim Đồng"]
    assert counts(app)["profile"] == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "X", "timezone": "Mars/Olympus"}, "timezone: 'Mars/Olympus' is not an IANA"),
    ({"name": "X", "kind": "club"}, "kind: 'club' is not one of household"),
    ({"name": "  "}, "name: '  ' is not a name"),
])
def test_bad_organisations_are_refused_naming_the_field(app: App, kwargs: dict[str, str],
                                                        message: str) -> None:
    with pytest.raises(FamilyError, match=message):
        add_org(app, **kwargs)
    assert list_orgs(app) == []


# ---------------------------------------------------------------- children


def test_a_child_gets_the_preset_of_its_age_in_the_households_zone(app: App) -> None:
    add_org(app, "Nhà Trần")
    # 31 December 2025, 20:00 UTC is already 2026 in Hà Nội: born 2019, the child is 7.
    new_year = datetime(2025, 12, 31, 20, 0, tzinfo=UTC)
    assert add_child(app, "An", 2019, now=new_year).preset == "age_7_10"
    assert add_child(app, "Bé", 2022, now=NOW).preset == "age_under_7"
    policy = show_policy(app, "Bé")
    assert policy["allow_list_only"] is True and "pbskids.org" in policy["allow"]
    assert "games" in show_policy(app, "An")["blocked_categories"]
    with pytest.raises(FamilyError, match="birth_year: 2000 gives the age 26"):
        add_child(app, "Old", 2000, now=NOW)
    with pytest.raises(StoreError, match="has a child named 'an' already"):
        add_child(app, "an", 2015, now=NOW)


def test_children_rename_list_and_preset(app: App) -> None:
    household(app)
    rename_child(app, "An", "Minh An")
    assert [c.name for c in list_children(app)] == ["Minh An", "Bé"]
    set_policy(app, "Minh An", PolicyChange(allow=("hoc.example",), deny=("bad.example",),
                                            unblock_categories=("games",)))
    view = apply_preset(app, "Minh An", "16_17")
    assert view.preset == "age_16_17"
    policy = show_policy(app, "Minh An")
    assert "games" not in policy["blocked_categories"]
    assert policy["youtube_mode"] == "off"
    assert (policy["allow"], policy["deny"]) == (["hoc.example"], ["bad.example"])
    assert apply_preset(app, "Minh An", now=NOW).preset == "age_7_10"  # back to its age
    with pytest.raises(StoreError, match=r"no child 'Nobody' in 'Nhà Trần' \(childs: Minh An"):
        rename_child(app, "Nobody", "X")


def test_deleting_a_child_deletes_everything_of_theirs_and_nothing_else(app: App) -> None:
    household(app)
    with app.sessions().begin() as session:
        ids = {p.name: p.id for p in session.scalars(select(Profile))}
        device_id = session.scalar(select(Device.id).where(Device.name == "Tablet"))
        for pid in ids.values():
            session.add_all([
                Schedule(profile_id=pid, name="bed", days=127, start_minute=1260,
                         end_minute=390, action="block", block_all=True),
                TimeBudget(profile_id=pid, target="group:games", minutes_per_day=60),
                BudgetUsage(profile_id=pid, target="group:games", day="2026-06-01", minute=3),
                TemporaryAllow(profile_id=pid, domain="x.example",
                               until=utcnow() + timedelta(hours=1)),
                UnblockRequest(profile_id=pid, device_id=device_id, domain="y.example"),
                Alert(profile_id=pid, last_seen_at=utcnow(), conversation="c",
                      category="bullying", severity="warning", score=0.9, snippet="x",
                      guidance="g"),
                QueryLog(ts=1.0, client_ip="192.168.1.20", profile_id=pid,
                         qname="a.example", qtype=1, action="allow"),
            ])
    assert delete_child(app, "An") == "An"
    with app.sessions()() as session:
        for model in (Device, Policy, Schedule, TimeBudget, BudgetUsage, TemporaryAllow,
                      UnblockRequest, Alert, QueryLog):
            left = {row.profile_id for row in session.scalars(select(model))}
            assert left == {ids["Bé"]}, model.__tablename__
    assert [c.name for c in list_children(app)] == ["Bé"]


# ---------------------------------------------------------------- devices


def test_devices_by_ip_network_mac_or_token_only(app: App) -> None:
    household(app)
    devices = {d.name: d for d in list_devices(app)}
    assert (devices["Laptop"].ip_cidr, devices["Laptop"].mac) == ("10.0.0.0/24",
                                                                  "aa:bb:cc:dd:ee:ff")
    assert devices["Phone"].ip_cidr is None and len(devices["Phone"].token) >= 16
    assert "token" not in devices["Phone"].to_dict()
    assert devices["Phone"].to_dict(show_token=True)["token"] == devices["Phone"].token
    rename_device(app, "An", "Tablet", "iPad", actor="lan@example.vn")
    assert [d.name for d in list_devices(app, "An")] == ["iPad", "Laptop"]
    with app.sessions()() as session:
        [renamed] = session.scalars(select(AuditLog).where(
            AuditLog.action == "device.rename")).all()
        assert (renamed.actor, renamed.detail) == ("lan@example.vn",
                                                   {"device_id": devices["Tablet"].id})
    assert remove_device(app, "An", f"id:{devices['Laptop'].id}") == "Laptop"
    assert [d.name for d in list_devices(app, "An")] == ["iPad"]
    for kwargs, message in ((dict(ip="300.1.1.1"), "ip: '300.1.1.1' is not an IP address"),
                            (dict(ip="10.0.0.1/24"), "ip: '10.0.0.1/24' is not an IP"),
                            (dict(mac="zz"), "mac: 'zz' is not a MAC address"),
                            (dict(kind="toaster"), "kind: 'toaster' is not one of phone")):
        with pytest.raises(FamilyError, match=message):
            add_device(app, "An", "Bad", **kwargs)  # type: ignore[arg-type]
    assert len(list_devices(app)) == 2


# ---------------------------------------------------------------- policy


def test_a_service_has_one_mode_and_domains_are_normalised(app: App) -> None:
    household(app)
    p = set_policy(app, "An", PolicyChange(allow_services=("youtube",),
                                           monitor_services=("zalo",),
                                           deny=("WWW.Example.COM.",), log_level="domains",
                                           bypass_protection=False, allow_list_only=True))
    assert (p["allowed_services"], p["monitored_services"]) == (["youtube"], ["zalo"])
    assert (p["deny"], p["log_level"], p["bypass_protection"], p["allow_list_only"]) == (
        ["www.example.com"], "domains", False, True)
    p = set_policy(app, "An", PolicyChange(block_services=("youtube", "zalo")))
    assert p["blocked_services"][-2:] == ["youtube", "zalo"]  # after the preset's
    assert p["allowed_services"] == p["monitored_services"] == []
    p = set_policy(app, "An", PolicyChange(default_services=("zalo",), undeny=("www.example.com",)))
    assert (p["blocked_services"][-1], p["deny"]) == ("youtube", [])
    assert "zalo" not in p["blocked_services"]
    for change, message in ((PolicyChange(block_categories=("nope",)), "block_category"),
                            (PolicyChange(block_services=("myspace",)), "block_service"),
                            (PolicyChange(deny=("not a domain",)), r"deny\[0\]"),
                            (PolicyChange(log_level="loud"), "log_level")):
        with pytest.raises(FamilyError, match=message):
            set_policy(app, "An", change)
    assert show_policy(app, "An")["blocked_services"][-1] == "youtube"


def test_decree147_sets_a_daily_games_budget_and_keeps_a_stricter_one(app: App) -> None:
    household(app)
    assert set_policy(app, "An", PolicyChange(decree147=True))["budgets"] == {"group:games": 180}
    assert set_policy(app, "An", PolicyChange(decree147=False))["budgets"] == {}
    with app.sessions().begin() as session:
        pid = session.scalar(select(Profile.id).where(Profile.name == "Bé"))
        session.add(TimeBudget(profile_id=pid, target="group:games", minutes_per_day=30))
    p = set_policy(app, "Bé", PolicyChange(decree147=True))
    assert (p["decree147"], p["budgets"]) == (True, {"group:games": 30})
    assert set_policy(app, "Bé", PolicyChange(decree147=False))["budgets"] == {"group:games": 30}


def test_a_policy_change_reaches_the_compiled_snapshot(app: App) -> None:
    from safegate.policy.decide import decide

    household(app)
    index = app.load_index([])
    before = app.change_version()
    set_policy(app, "An", PolicyChange(block_services=("roblox",)))
    assert app.change_version() == before + 1
    compiled = app.build_snapshot(index).profile_by_name("An")
    assert compiled is not None
    assert decide(compiled, index, "www.roblox.com").reason == (
        "service:service:roblox:roblox.com")


# ---------------------------------------------------------------- export and import


def rich_household(app: App) -> None:
    household(app)
    set_policy(app, "An", PolicyChange(allow_services=("youtube",), monitor_services=("zalo",),
                                       deny=("bad.example",), decree147=True))
    with app.sessions().begin() as session:
        pid = session.scalar(select(Profile.id).where(Profile.name == "An"))
        session.add_all([
            Schedule(profile_id=pid, name="Giờ ngủ", days=0b0011111, start_minute=21 * 60,
                     end_minute=6 * 60 + 30, action="block", block_all=True,
                     allow=["hoc.example"]),
            Schedule(profile_id=pid, name="Cuối tuần", days=0b1100000, start_minute=9 * 60,
                     end_minute=11 * 60, action="allow", categories=["games"],
                     services=["roblox"], enabled=False),
            TimeBudget(profile_id=pid, target="youtube", minutes_per_day=45),
        ])


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_export_then_import_into_an_empty_database_gives_the_same_export(
        app: App, engine: Engine, tmp_path: Path, fmt: str) -> None:
    rich_household(app)
    exported = export_org(app, with_tokens=True)
    text = to_toml(exported) if fmt == "toml" else json.dumps(exported, ensure_ascii=False)
    doc = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    an = doc["children"][0]
    assert an["schedules"][0] == {
        "name": "Giờ ngủ", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "21:00",
        "end": "06:30", "action": "block", "block_all": True, "categories": [],
        "services": [], "allow": ["hoc.example"], "enabled": True}
    assert an["budgets"] == [{"target": "group:games", "minutes_per_day": 180},
                             {"target": "youtube", "minutes_per_day": 45}]
    assert "token" not in export_org(app)["children"][0]["devices"][0]
    with empty_app(engine, tmp_path) as other:
        summary = import_org(other, doc)
        assert summary == {"organisation": "Nhà Trần", "children": 2, "devices": 3}
        assert export_org(other, with_tokens=True) == exported
        with pytest.raises(StoreError, match="exists already; use --replace"):
            import_org(other, doc)
        import_org(other, doc, replace=True)
        assert export_org(other, with_tokens=True) == exported


def test_an_import_with_three_bad_fields_names_them_all_and_changes_nothing(app: App) -> None:
    rich_household(app)
    doc = export_org(app)
    before, exported_before = counts(app), export_org(app, with_tokens=True)
    doc["children"][1]["devices"][0]["ip"] = "300.1.1.1"
    doc["children"][0]["policy"]["blocked_categories"].append("nope")
    doc["children"][0]["schedules"][1]["start"] = "25:00"
    with pytest.raises(ImportProblems) as caught:
        import_org(app, doc, replace=True)
    position = len(doc["children"][0]["policy"]["blocked_categories"]) - 1
    assert caught.value.problems == [
        f"children[0].policy.blocked_categories[{position}]: 'nope' is not a category "
        + caught.value.problems[0].split("is not a category ", 1)[1],
        "children[0].schedules[1].start: '25:00' is not a time HH:MM (00:00 to 23:59)",
        "children[1].devices[0].ip: '300.1.1.1' is not an IP address or CIDR",
    ]
    assert counts(app) == before
    assert export_org(app, with_tokens=True) == exported_before


def test_an_import_that_fails_while_applying_changes_nothing(app: App, engine: Engine,
                                                             tmp_path: Path) -> None:
    rich_household(app)
    doc = export_org(app, with_tokens=True)
    doc["organisation"]["name"] = "Nhà khác"  # same device tokens as Nhà Trần's devices
    before = counts(app)
    with pytest.raises(StoreError, match="token: another device has this token"):
        import_org(app, doc)
    assert counts(app) == before


def test_an_import_refuses_windows_that_schedule_add_refuses(app: App) -> None:
    """A window that blocks nothing, or allows and blocks everything at once, would be kept
    and never act: the import applies the rules of `safegate schedule add`."""
    rich_household(app)
    doc = export_org(app)
    window = {"name": "idle", "days": ["mon"], "start": "08:00", "end": "09:00",
              "action": "block"}
    doc["children"][0]["schedules"] = [window, {**window, "name": "odd", "action": "allow",
                                                "block_all": True}]
    with pytest.raises(ImportProblems) as caught:
        import_org(app, doc, replace=True)
    assert [p.split(":", 1)[0] for p in caught.value.problems] == [
        "children[0].schedules[0]", "children[0].schedules[1]"]
    assert "say what the window does" in caught.value.problems[0]
    assert "either blocks or allows" in caught.value.problems[1]


def test_an_imported_preset_is_the_base_and_the_documents_policy_goes_on_top(
        app: App) -> None:
    """A child imported with only a preset gets that preset's policy (it used to block
    nothing); fields in the document's policy table override the preset's."""
    doc = {"organisation": {"name": "Trường Hoa Sen", "kind": "school"},
           "children": [{"name": "Bé", "preset": "age_under_7"},
                        {"name": "Minh", "preset": "age_11_13",
                         "policy": {"allow_list_only": True, "allow": ["hoc.example"]}}]}
    import_org(app, doc)
    be = show_policy(app, "Bé", org="Trường Hoa Sen")
    assert be["allow_list_only"] is True and "pbskids.org" in be["allow"]
    assert "adult" in be["blocked_categories"]
    minh = show_policy(app, "Minh", org="Trường Hoa Sen")
    assert minh["allow_list_only"] is True and minh["allow"] == ["hoc.example"]
    assert "gambling" in minh["blocked_categories"]  # from the preset


def test_check_tells_two_children_of_the_same_name_apart(app: App) -> None:
    """Two households each have an An: `check --profile An` says which ids to use, and a
    device's owner is found by the device, not by its owner's name."""
    from safegate.app.explain import NotFound, explain

    add_org(app, "Nhà Trần")
    add_child(app, "An", 2018, org="Nhà Trần", now=NOW)
    add_org(app, "Nhà Lê")
    second = add_child(app, "An", 2018, org="Nhà Lê", now=NOW)
    add_device(app, "An", "Máy của An Lê", ip="192.168.9.9", org="Nhà Lê")
    set_policy(app, "An", PolicyChange(deny=("le-only.example",)), org="Nhà Lê")
    with pytest.raises(NotFound, match="several profiles are named 'An'"):
        explain(app, "le-only.example", "An")
    by_device = explain(app, "le-only.example", device="Máy của An Lê")
    by_id = explain(app, "le-only.example", f"id:{second.id}")
    assert (by_device.profile.id, by_device.decision.action) == (second.id, "block")
    assert (by_id.profile.id, by_id.decision.action) == (second.id, "block")
