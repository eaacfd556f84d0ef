"""The decision with the time-dependent state (pure, ``now`` injected): the full order
temporary allow → allow rules → pause → bedtime → deny → services/categories with schedule
additions and lifts → lists; a pause ending, a temporary allow expiring, valid_until."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from safegate.lists.index import DomainIndex, build_index
from safegate.lists.psl import embedded_psl
from safegate.lists.sources import ListSpec
from safegate.policy.compiled import CompiledProfile, DefaultPolicy, compile_profile
from safegate.policy.decide import decide
from safegate.policy.schedule import Window
from safegate.policy.timestate import TimeRules, at, current, time_state

VN = ZoneInfo("Asia/Ho_Chi_Minh")
EVERY_DAY = 127


def ts(h: int, m: int, s: int = 0, day: int = 7) -> float:
    """Unix time of a local time in Hanoi on 2026-12-<day> (the 7th is a Monday)."""
    return datetime(2026, 12, day, h, m, s, tzinfo=VN).timestamp()


def make_index(tmp_path: Path) -> DomainIndex:
    lists = {"adult": ["bad.example"], "games": ["play.example", "play.google.com"],
             "video": ["watch.example"]}
    specs = []
    for cat, names in lists.items():
        path = tmp_path / f"{cat}.txt"
        path.write_text("\n".join(names) + "\n")
        specs.append(ListSpec(f"test/{cat}", path, cat, "suffix", "block"))
    return build_index(specs, embedded_psl())


def child(index: DomainIndex, rules: TimeRules, categories: tuple[str, ...] = ("adult", "video"),
          services: tuple[str, ...] = ("tiktok",)) -> CompiledProfile:
    policy = DefaultPolicy(blocked_categories=categories, blocked_services=services,
                           allow=("homework.example",), deny=("denied.example",))
    return compile_profile(index, profile_id=1, name="An", policy=policy, time=rules)


BEDTIME = Window("bedtime", EVERY_DAY, 21 * 60, 6 * 60, block_all=True,
                 allow=frozenset({"school.edu.vn"}))
SCHOOL = Window("school", 0b0011111, 7 * 60, 11 * 60, categories=frozenset({"games"}),
                services=frozenset({"youtube"}))
FUN = Window("fun", EVERY_DAY, 17 * 60, 19 * 60, action="allow",
             categories=frozenset({"video", "adult"}), services=frozenset({"tiktok"}))
RULES = TimeRules("Asia/Ho_Chi_Minh", (BEDTIME, SCHOOL, FUN))

# (local time on Monday 2026-12-07, name, action, reason)
CASES = [
    # Outside every window: the profile's own policy.
    (ts(12, 0), "watch.example", "block", "video:test/video:watch.example"),
    (ts(12, 0), "play.example", "allow", None),
    (ts(12, 0), "www.youtube.com", "allow", None),
    (ts(12, 0), "www.tiktok.com", "block", "service:service:tiktok:tiktok.com"),
    # Bedtime: everything blocked but its allow list (and subdomains) and the allow rules.
    (ts(21, 0), "example.org", "block", "schedule:schedule:bedtime"),
    (ts(5, 59, 59), "example.org", "block", "schedule:schedule:bedtime"),
    (ts(6, 0), "example.org", "allow", None),
    (ts(23, 0), "www.school.edu.vn", "allow", None),
    (ts(23, 0), "homework.example", "allow", "allow:profile:homework.example"),
    (ts(23, 0), "denied.example", "block", "schedule:schedule:bedtime"),
    # School hours: games and youtube added, named after the window; the guard still wins.
    (ts(7, 0), "play.example", "block", "schedule:schedule:school:test/games:play.example"),
    (ts(7, 0), "www.youtube.com", "block",
     "schedule:schedule:school:service:youtube:youtube.com"),
    (ts(7, 0), "play.google.com", "allow", "guard:never_block:play.google.com (over test/games)"),
    (ts(7, 0), "denied.example", "block", "custom:profile:denied.example"),
    (ts(11, 0), "play.example", "allow", None),
    # Recreation: video and tiktok lifted; adult never; deny rules never.
    (ts(17, 0), "watch.example", "allow", None),
    (ts(17, 0), "www.tiktok.com", "allow", None),
    (ts(17, 0), "bad.example", "block", "adult:test/adult:bad.example"),
    (ts(17, 0), "denied.example", "block", "custom:profile:denied.example"),
    (ts(19, 0), "watch.example", "block", "video:test/video:watch.example"),
]


@pytest.mark.parametrize(("now", "name", "action", "reason"), CASES)
def test_schedule_decisions(tmp_path: Path, now: float, name: str, action: str,
                            reason: str | None) -> None:
    index = make_index(tmp_path)
    profile = child(index, RULES)
    d = decide(profile, index, name, at(profile, index, now))
    assert (d.action, d.reason) == (action, reason)


def test_a_window_name_with_a_colon_is_still_a_bedtime(tmp_path: Path) -> None:
    """What a block closes is part of the decision, not read back from its rule text (a
    window named 'bed:time' used to look like a category block to the CNAME check and to
    `check`)."""
    from safegate.app.explain import setting_in_words

    index = make_index(tmp_path)
    bed = Window("bed:time", EVERY_DAY, 21 * 60, 6 * 60, block_all=True)
    school = Window("a:b", EVERY_DAY, 7 * 60, 11 * 60, services=frozenset({"youtube"}))
    profile = child(index, TimeRules("Asia/Ho_Chi_Minh", (bed, school)))
    night = decide(profile, index, "example.org", at(profile, index, ts(22, 0)))
    assert (night.rule, night.window, night.blanket) == ("schedule:bed:time", "bed:time", True)
    assert "blocks everything but its allow list" in str(setting_in_words(night, "An"))
    day = decide(profile, index, "www.youtube.com", at(profile, index, ts(8, 0)))
    assert (day.window, day.blanket) == ("a:b", False)
    assert setting_in_words(day, "An") == (
        "schedule 'a:b' of profile 'An' blocks the service 'youtube'")


def test_a_block_window_beats_an_allow_window_for_the_same_category(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    lift = Window("lift", EVERY_DAY, 7 * 60, 8 * 60, action="allow",
                  categories=frozenset({"games"}))
    profile = child(index, TimeRules("Asia/Ho_Chi_Minh", (SCHOOL, lift)))
    d = decide(profile, index, "play.example", at(profile, index, ts(7, 30)))
    assert d.reason == "schedule:schedule:school:test/games:play.example"


def test_pause_blocks_all_but_allow_rules_until_it_ends(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    profile = child(index, TimeRules(paused_until=ts(12, 30)))
    live = at(profile, index, ts(12, 0))
    assert live.valid_until == ts(12, 30)
    assert decide(profile, index, "example.org", live).reason == "pause:pause"
    assert decide(profile, index, "homework.example", live).action == "allow"
    after = at(profile, index, ts(12, 30))
    assert after.valid_until == math.inf
    assert decide(profile, index, "example.org", after).action == "allow"


def test_temporary_allow_beats_pause_bedtime_deny_and_lists_then_expires(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    rules = TimeRules("Asia/Ho_Chi_Minh", (BEDTIME,), paused_until=ts(23, 30),
                      temporary=(("denied.example", ts(22, 10)), ("bad.example", ts(22, 20))))
    profile = child(index, rules)
    live = at(profile, index, ts(22, 0))
    assert live.valid_until == ts(22, 10)
    for name in ("www.denied.example", "bad.example"):
        d = decide(profile, index, name, live)
        assert d.action == "allow" and d.rule.startswith("temporary:"), name  # type: ignore
    later = at(profile, index, ts(22, 10))
    assert decide(profile, index, "denied.example", later).reason == "pause:pause"
    assert later.valid_until == ts(22, 20)
    end = at(profile, index, ts(23, 30))
    assert decide(profile, index, "denied.example", end).reason == "schedule:schedule:bedtime"
    assert end.valid_until == ts(6, 0, day=8)


def test_valid_until_is_the_first_of_all_boundaries() -> None:
    rules = TimeRules("Asia/Ho_Chi_Minh", (SCHOOL,), paused_until=ts(6, 50),
                      temporary=(("a.example", ts(6, 40)), ("b.example", ts(5, 0))))
    state = time_state(rules, ts(6, 0))
    assert state.valid_until == ts(6, 40)
    assert dict(state.temporary) == {"a.example": ts(6, 40)}  # b expired
    assert time_state(rules, ts(6, 45)).valid_until == ts(6, 50)
    assert time_state(rules, ts(6, 55)).valid_until == ts(7, 0)
    assert time_state(TimeRules(), ts(6, 0)).valid_until == math.inf


def test_current_recomputes_at_the_boundary_and_empties_the_memo(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    profile = child(index, RULES)
    live = current(profile, index, ts(20, 59, 59))
    assert live.valid_until == ts(21, 0)
    profile.memo[b"q"] = "answer"
    assert current(profile, index, ts(20, 59, 59) + 0.999) is live and profile.memo
    current(profile, index, ts(21, 0))
    assert not profile.memo
    assert decide(profile, index, "example.org", live).reason == "schedule:schedule:bedtime"
    # A clock set back is outside the interval too.
    current(profile, index, ts(20, 0))
    assert decide(profile, index, "example.org", live).action == "allow"


def test_without_time_rules_nothing_changes(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    profile = child(index, TimeRules())
    live = current(profile, index, ts(23, 0))
    assert live.valid_until == math.inf
    assert live.verdicts is profile.verdicts and live.services is profile.services
    assert decide(profile, index, "watch.example", live) == decide(profile, index,
                                                                    "watch.example")
