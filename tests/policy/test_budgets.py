"""Time budgets, pure: which minutes count, when a budget is used up, the reset at local
midnight, Decree 147's per-game and daily limits, and the budget step of the decision."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from safegate.lists.index import DomainIndex, build_index
from safegate.lists.psl import embedded_psl
from safegate.lists.sources import ListSpec
from safegate.policy.budgets import (
    BudgetError,
    UsageBoard,
    Used,
    budget_state,
    check_target,
    compile_budgets,
    exhausted,
    local_minute,
)
from safegate.policy.compiled import CompiledProfile, DefaultPolicy, compile_profile
from safegate.policy.decide import decide
from safegate.policy.schedule import Window
from safegate.policy.timestate import TimeRules, at

VN = ZoneInfo("Asia/Ho_Chi_Minh")
GAMES = [("group:games", 180)]


def ts(h: int, m: int, s: int = 0, day: int = 7, month: int = 12) -> float:
    """Unix time of a local time in Hà Nội (December 2026; the 7th is a Monday)."""
    return datetime(2026, month, day, h, m, s, tzinfo=VN).timestamp()


def minute_of(h: int, m: int) -> int:
    return h * 60 + m


def test_a_minute_counts_once_however_many_queries_and_devices() -> None:
    board = UsageBoard()
    clock = board.clock("Asia/Ho_Chi_Minh", ts(16, 0, 5))
    assert board.record(1, clock.day, clock.minute, ("roblox", "group:games")) == [
        "roblox", "group:games"]
    # More queries in the same minute, from the tablet and from the phone: nothing new.
    for _ in range(50):
        assert board.record(1, clock.day, clock.minute, ("roblox", "group:games")) == []
    assert board.used_on(1, clock.day) == {"roblox": Used(1, 960), "group:games": Used(1, 960)}
    assert len(board.take()) == 2 and board.take() == []
    later = board.clock("Asia/Ho_Chi_Minh", ts(16, 1, 0))
    assert board.record(1, later.day, later.minute, ("roblox",)) == ["roblox"]
    assert board.used_on(1, later.day)["roblox"] == Used(2, 961)
    assert board.used_on(2, later.day) == {}  # another child


def test_the_store_counts_replace_and_local_minutes_stay_on_top() -> None:
    board = UsageBoard()
    day = "2026-12-07"
    board.record(1, day, 600, ("youtube",))
    unsaved = board.take()  # handed to the store, whose read did not have it yet
    board.record(1, day, 601, ("youtube",))  # counted after the read began
    board.replace({(1, "youtube", day): (5, 599)}, unsaved)
    assert board.used_on(1, day)["youtube"] == Used(7, 601)
    board.replace({(1, "youtube", day): (7, 601)})  # the store caught up: no double count
    assert board.used_on(1, day)["youtube"] == Used(7, 601)


def test_used_up_from_the_minute_after_the_last_one_until_midnight() -> None:
    budgets = compile_budgets([("youtube", 2)])
    used = {"youtube": Used(2, minute_of(23, 58))}  # 23:57 and 23:58
    during = budget_state(budgets, used, ts(23, 58, 30))
    assert during.exhausted == frozenset()  # the minute that reached the budget is played out
    assert during.valid_until == ts(23, 59)  # … and the state ends with it
    at_2359 = budget_state(budgets, used, ts(23, 59, 0))
    assert at_2359.exhausted == {"youtube"} and at_2359.valid_until == ts(0, 0, day=8)
    assert budget_state(budgets, used, ts(23, 59, 59)).exhausted == {"youtube"}
    # 00:00 is a new local day: nothing used on it, nothing exhausted.
    board = UsageBoard()
    assert board.clock("Asia/Ho_Chi_Minh", ts(0, 0, day=8)).day == "2026-12-08"
    assert budget_state(budgets, board.used_on(1, "2026-12-08"), ts(0, 0, day=8)).exhausted \
        == frozenset()
    assert exhausted({"youtube": 2}, {"youtube": Used(1, 10)}, 11) == frozenset()
    assert exhausted({"youtube": 0}, {}, 0) == {"youtube"}  # 0 minutes: blocked all day


def test_asia_ho_chi_minh_has_no_dst_every_day_has_1440_minutes() -> None:
    for month, day in ((1, 1), (3, 29), (6, 21), (10, 25), (12, 31)):
        first = local_minute(ts(0, 0, day=day, month=month), "Asia/Ho_Chi_Minh")
        last = local_minute(ts(23, 59, 59, day=day, month=month), "Asia/Ho_Chi_Minh")
        assert first.minute == 0 and last.minute == 1439
        assert first.day_end - first.start == 86_400
        assert last.end == last.day_end
    noon = local_minute(datetime(2026, 12, 7, 5, 30, 10, tzinfo=ZoneInfo("UTC")).timestamp(),
                        "Asia/Ho_Chi_Minh")
    assert (noon.day, noon.minute) == ("2026-12-07", 12 * 60 + 30)  # UTC+7 all year
    # Short minutes (for tests): 2 seconds.
    short = local_minute(ts(0, 0, 5), "Asia/Ho_Chi_Minh", minute_seconds=2)
    assert short.minute == 2 and short.end - short.start == 2


def test_decree147_per_game_and_daily_limits_together() -> None:
    budgets = compile_budgets(GAMES, decree147=True)
    assert budgets.limits["group:games"] == 180
    assert budgets.limits["roblox"] == budgets.limits["minecraft"] == 60
    assert budgets.limits["lien_quan"] == 60 and "youtube" not in budgets.limits
    assert budgets.targets_for("www.roblox.com") == ("roblox", "group:games")
    # The most specific domain: Liên Quân's, not Garena's.
    assert budgets.targets_for("lienquan.garena.vn") == ("lien_quan", "group:games")
    noon = minute_of(12, 0)
    # 60 minutes of Roblox: Roblox closes, Minecraft is still open.
    used = {"roblox": Used(60, noon - 1), "group:games": Used(60, noon - 1)}
    assert budget_state(budgets, used, ts(12, 0)).exhausted == {"roblox"}
    # Then 60 of Minecraft and 60 of Liên Quân: 180 in all, every game closes.
    used = {"roblox": Used(60, 600), "minecraft": Used(60, 700), "lien_quan": Used(60, 718),
            "group:games": Used(180, noon - 1)}
    assert budget_state(budgets, used, ts(12, 0)).exhausted == {
        "roblox", "minecraft", "lien_quan", "group:games"}
    # A stricter parent budget stays; without the flag only the rows count.
    strict = compile_budgets([("group:games", 90), ("roblox", 20)], decree147=True)
    assert strict.limits["group:games"] == 90 and strict.limits["roblox"] == 20
    assert strict.decree147 >= {"minecraft"} and "roblox" not in strict.decree147
    assert compile_budgets(GAMES).limits == {"group:games": 180}
    # The flag holds even when the group's row is gone.
    assert compile_budgets([], decree147=True).limits["group:games"] == 180


def test_targets_are_checked() -> None:
    assert check_target("YouTube") == "youtube"
    assert check_target("group:games") == "group:games"
    with pytest.raises(BudgetError, match="unknown group"):
        check_target("group:nope")
    with pytest.raises(BudgetError, match="unknown service"):
        check_target("nope")


def _index(tmp_path: Path) -> DomainIndex:
    path = tmp_path / "games.txt"
    path.write_text("roblox.com\n")
    return build_index([ListSpec("test/games", path, "games", "suffix", "block")],
                       embedded_psl())


def _child(index: DomainIndex, rows: list[tuple[str, int]], *, decree: bool = False,
           windows: tuple[Window, ...] = (), categories: tuple[str, ...] = (),
           allow: tuple[str, ...] = ()) -> CompiledProfile:
    policy = DefaultPolicy(blocked_categories=categories, allow=allow,
                           allowed_services=("youtube",))
    return compile_profile(index, profile_id=1, name="An", policy=policy,
                           time=TimeRules(windows=windows),
                           budgets=compile_budgets(rows, decree147=decree))


def test_the_decision_blocks_a_used_up_target_like_a_blocked_service(tmp_path: Path) -> None:
    index = _index(tmp_path)
    p = _child(index, [("youtube", 30), *GAMES], decree=True, allow=("edu.roblox.com",))
    board = UsageBoard()
    now = ts(16, 0)
    day = board.clock("Asia/Ho_Chi_Minh", now).day
    board.replace({(1, "youtube", day): (30, 900), (1, "roblox", day): (60, 901),
                   (1, "group:games", day): (60, 901)})
    live = at(p, index, now, board)
    d = decide(p, index, "www.youtube.com", live)
    assert (d.action, d.category, d.rule) == ("block", "budget", "budget:youtube")
    assert decide(p, index, "m.roblox.com", live).rule == "budget:roblox"
    assert decide(p, index, "www.minecraft.net", live).action == "allow"
    # The child's allow rule beats a used-up budget; the reset comes at local midnight.
    assert decide(p, index, "edu.roblox.com", live).action == "allow"
    assert live.valid_until == ts(0, 0, day=8)
    assert decide(p, index, "www.youtube.com", at(p, index, ts(0, 0, day=8), board)).action \
        == "allow"
    # Without used minutes nothing is blocked (an allowed service stays allowed).
    fresh = at(p, index, now, UsageBoard())
    assert decide(p, index, "www.youtube.com", fresh).action == "allow"


def test_an_allow_window_does_not_lift_a_used_up_budget(tmp_path: Path) -> None:
    index = _index(tmp_path)
    fun = Window("fun", 0b1111111, 14 * 60, 18 * 60, "allow", categories=frozenset({"games"}),
                 services=frozenset({"roblox"}))
    p = _child(index, [("roblox", 10)], windows=(fun,), categories=("games",))
    board = UsageBoard()
    now = ts(16, 0)
    day = board.clock("Asia/Ho_Chi_Minh", now).day
    assert decide(p, index, "www.roblox.com", at(p, index, now, board)).action == "allow"
    board.replace({(1, "roblox", day): (10, 950)})
    d = decide(p, index, "www.roblox.com", at(p, index, now, board))
    assert (d.action, d.rule) == ("block", "budget:roblox")
