"""`budget set/list/remove` and `check` on a real store: the minutes used come from the same
counter the gates write (the database here, Redis when configured)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from safegate.app.budgets import counter, list_budgets, remove_budget, set_budget
from safegate.app.core import App
from safegate.app.explain import explain
from safegate.app.family import PolicyChange, set_policy
from safegate.config import load_settings
from safegate.policy.budgets import BudgetError, local_minute
from safegate.policy.schedule import ScheduleError

REDIS = os.environ.get("SAFEGATE_TEST_REDIS_URL")


def _app(tmp_path: Path, **overrides: object) -> App:
    app = App(load_settings(env={}, overrides={"server.data_dir": str(tmp_path / "data"),
                                               "gate.default_lists": False, **overrides}))
    app.migrate()
    app.create_demo_household(schedules=False)  # answers not by the hour
    return app


def _use(app: App, child_id: int, target: str, minutes: int, now: float) -> None:
    clock = local_minute(now, "Asia/Ho_Chi_Minh")
    store = counter(app)
    store.add([(child_id, target, clock.day, clock.minute - 1 - i) for i in range(minutes)])
    store.close()


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_budget_set_list_remove_and_check(tmp_path: Path, backend: str) -> None:
    if backend == "redis" and not REDIS:
        pytest.skip("SAFEGATE_TEST_REDIS_URL not set")
    app = _app(tmp_path, **({"budgets.redis_url": REDIS} if backend == "redis" else {}))
    if backend == "redis":  # a fresh household id space: clear what another run left
        import redis

        client = redis.Redis.from_url(REDIS or "")
        keys = client.keys("safegate:budget:*")
        if keys:
            client.delete(*keys)
    now = time.time()
    if local_minute(now, "Asia/Ho_Chi_Minh").minute < 40:
        pytest.skip("too close to local midnight for 30 used minutes today")
    remove_budget(app, "An", "group:games")  # the demo's 60 minutes: this test sets its own
    assert set_budget(app, "an", "YouTube", 30)["target"] == "youtube"
    with pytest.raises(BudgetError):
        set_budget(app, "An", "group:nope", 10)
    with pytest.raises(BudgetError):
        set_budget(app, "An", "youtube", 2000)
    with pytest.raises(ScheduleError):
        set_budget(app, "Nobody", "youtube", 10)
    an = list_budgets(app, "An")
    assert an["budgets"] == [{"target": "youtube", "minutes": 30, "used": 0, "left": 30,
                              "used_up": False, "decree147": False}]
    child_id = _child_id(app)
    _use(app, child_id, "youtube", 12, now)
    assert list_budgets(app, "An")["budgets"][0] == {
        "target": "youtube", "minutes": 30, "used": 12, "left": 18, "used_up": False,
        "decree147": False}
    assert explain(app, "www.youtube.com", "An").decision.action != "block"  # safe search
    _use(app, child_id, "youtube", 30, now)
    found = explain(app, "www.youtube.com", "An").to_dict()
    assert (found["action"], found["category"], found["rule"]) == ("block", "budget",
                                                                  "budget:youtube")
    assert found["budgets"][0]["used_up"] and found["budgets"][0]["left"] == 0
    assert "used up its daily time budget for 'youtube'" in found["setting"]
    assert "list" not in found
    # Decree 147: the per-game budgets appear while the flag is on, and stay without the row.
    set_policy(app, "An", PolicyChange(decree147=True))
    games = {b["target"]: b for b in list_budgets(app, "An")["budgets"]}
    assert games["group:games"]["minutes"] == 180 and games["roblox"]["minutes"] == 60
    assert games["roblox"]["decree147"]
    remove_budget(app, "An", "group:games")
    assert "group:games" in {b["target"] for b in list_budgets(app, "An")["budgets"]}
    remove_budget(app, "An", "youtube")
    with pytest.raises(BudgetError, match="no budget"):
        remove_budget(app, "An", "youtube")
    app.close()


def _child_id(app: App) -> int:
    from safegate.app.schedules import find_child

    with app.sessions()() as session:
        return find_child(session, "An").id
