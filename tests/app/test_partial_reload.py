"""A change that names the children it touched is applied by recompiling only them
(safegate.app.bus.touches, App.patch_snapshot, safegate.policy.compiled.patch_snapshot): the
patched snapshot is the one a full build makes, the other children's compiled profiles are
kept (memoised answers and time state with them), and a running gate answers by it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from safegate.app.budgets import set_budget
from safegate.app.core import App
from safegate.app.family import (
    PolicyChange,
    add_child,
    add_device,
    add_org,
    delete_child,
    remove_device,
    rename_org,
    set_policy,
)
from safegate.app.schedules import WindowSpec, add_schedule, allow_for, pause
from safegate.config import load_settings
from safegate.policy.compiled import PolicySnapshot
from safegate.store.changes import since
from safegate.store.demo import DEMO_ORG_NAME
from safegate.store.models import Profile
from tests.helpers import answered

AN, BINH = "127.0.0.2", "127.0.0.4"  # the demo household's tablet of An and phone of Bình


def view(snapshot: PolicySnapshot) -> dict[str, Any]:
    """What decides an answer: each child's compiled rules and which child each device key
    leads to (compiled objects themselves differ between two builds)."""
    rules = {pid: (cp.id, cp.name, cp.blocked_categories, cp.allow, cp.deny, cp.deny_nets,
                   cp.services, cp.service_modes, cp.block_mode, cp.log_level,
                   cp.bypass_protection, cp.safe_search, cp.youtube_mode, cp.allow_list_only,
                   sorted(cp.rewrites), cp.unforceable, cp.time, cp.blocked_service_ids,
                   cp.budgets, cp.verdicts)
             for pid, cp in snapshot.profiles.items()}
    return {
        "order": list(snapshot.profiles),
        "rules": rules,
        "by_ip": {k: p.id for k, p in snapshot.by_ip.items()},
        "by_net": [(n, p.id) for n, p in snapshot.by_net],
        "by_mac": {k: p.id for k, p in snapshot.by_mac.items()},
        "by_token": {k: p.id for k, p in snapshot.by_token.items()},
    }


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    lists = tmp_path / "games.txt"
    lists.write_text("game.example\n")
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app"), "gate.default_lists": False,
        "gate.blocklists": [str(lists)]}))
    yield made
    made.close()


def _touched(app: App, after: int) -> tuple[int, set[int] | None]:
    """The newest version and the children the changes after ``after`` named (None: some
    change named none)."""
    with app.sessions()() as session:
        logged = since(session, after)
    out: set[int] | None = set()
    for change in logged:
        if change.profiles is None or out is None:
            out = None
        else:
            out.update(change.profiles)
    return logged[-1].version, out


def test_a_patched_snapshot_is_the_full_build_and_keeps_the_others(app: App) -> None:
    add_org(app, "Nhà Lê")
    for name, year in (("Lan", 2014), ("Minh", 2016), ("Hoa", 2012)):
        add_child(app, name, year, org="Nhà Lê")
    add_device(app, "Lan", "phone", ip="10.0.0.5")
    add_device(app, "Minh", "laptop", ip="10.0.1.0/24", mac="AA-BB-CC-00-11-22")
    add_device(app, "Hoa", "tablet", ip="10.0.0.9")
    index = app.load_index()
    old = app.build_snapshot(index)
    version = app.change_version()
    with app.sessions()() as session:
        ids = {p.name: p.id for p in session.scalars(select(Profile))}

    steps = [
        lambda: set_policy(app, "Lan", PolicyChange(deny=("tiktok.com",), safe_search=True,
                                                    block_categories=("games",))),
        lambda: add_device(app, "Lan", "tv", ip="10.0.2.0/23", mac="aa:bb:cc:00:11:33"),
        lambda: add_schedule(app, "Minh", WindowSpec("bedtime", "mon-sun", "21:00", "06:00",
                                                     block_all=True, allow=("school.vn",))),
        lambda: set_budget(app, "Hoa", "group:games", 30),
        lambda: pause(app, "Hoa", minutes=20),
        lambda: allow_for(app, "Minh", "game.example", 15),
        lambda: remove_device(app, "Hoa", "tablet"),
        lambda: add_device(app, "Minh", "phone", ip="10.0.0.5"),  # Lan's address as well
        lambda: delete_child(app, "Lan"),
        lambda: add_child(app, "Tú", 2019, org="Nhà Lê"),
    ]
    for step in steps:
        step()
        version_after, touched = _touched(app, version)
        assert touched is not None and len(touched) == 1, touched
        patched = app.patch_snapshot(old, touched)
        full = app.build_snapshot(index)
        assert view(patched) == view(full)
        for pid, compiled in old.profiles.items():
            if pid not in touched:
                assert patched.profiles[pid] is compiled  # kept, memo and all
        old, version = patched, version_after
    assert "Lan" not in {cp.name for cp in old.profiles.values()}
    assert old.by_ip["10.0.0.5"].id == ids["Minh"]

    rename_org(app, "Nhà Lê", "Nhà họ Lê")  # names no child: every gate builds everything
    assert _touched(app, version)[1] is None


def test_a_running_gate_recompiles_only_the_child_a_change_names(make_gate: Any) -> None:
    g = make_gate(demo=True)
    app = g.runtime.app
    before = g.gate.snapshot
    with app.sessions()() as session:
        ids = {p.name: p.id for p in session.scalars(select(Profile))}
    an, binh = before.profiles[ids["An"]], before.profiles[ids["Bình"]]
    assert answered(g.port, "example.org", AN) == ["192.0.2.1"]
    set_policy(app, "An", PolicyChange(deny=("example.org",)))
    deadline = time.monotonic() + 5
    while answered(g.port, "example.org", AN) != ["0.0.0.0"]:
        assert time.monotonic() < deadline, "the change never reached the gate"
        time.sleep(0.02)
    after = g.gate.snapshot
    assert after.generation > before.generation
    assert after.profiles[ids["Bình"]] is binh and after.profiles[ids["An"]] is not an
    assert answered(g.port, "example.org", BINH) == ["192.0.2.1"]

    rename_org(app, DEMO_ORG_NAME, "Nhà Nguyễn")
    deadline = time.monotonic() + 5
    while g.gate.snapshot.generation == after.generation:
        assert time.monotonic() < deadline, "the rename never reached the gate"
        time.sleep(0.02)
    assert g.gate.snapshot.profiles[ids["Bình"]] is not binh  # a full build
    assert answered(g.port, "example.org", AN) == ["0.0.0.0"]
