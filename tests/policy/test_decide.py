"""The per-query decision (pure): profile rules, services, lists, the false-positive guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from safegate.lists.index import build_index
from safegate.lists.psl import embedded_psl
from safegate.lists.sources import ListSpec, manifest_specs
from safegate.policy.compiled import DefaultPolicy, compile_profile
from safegate.policy.decide import decide
from tests.helpers import SHARED


def make_index(tmp_path: Path, lists: dict[str, tuple[str, list[str]]]):  # type: ignore[no-untyped-def]
    specs = []
    for key, (category, names) in lists.items():
        path = tmp_path / f"{key}.txt"
        path.write_text("\n".join(names) + "\n")
        specs.append(ListSpec(f"test/{key}", path, category, "suffix", "block"))
    return build_index(specs, embedded_psl())


def profile(index, categories=(), services=(), allow=(), deny=()):  # type: ignore[no-untyped-def]
    policy = DefaultPolicy(blocked_categories=tuple(categories), blocked_services=tuple(services),
                           allow=tuple(allow), deny=tuple(deny))
    return compile_profile(index, profile_id=1, name="child", policy=policy)


def test_rule_order(tmp_path: Path) -> None:
    index = make_index(tmp_path, {"adult": ("adult", ["bad.example", "mixed.example"]),
                                  "games": ("games", ["play.example"])})
    p = profile(index, ["adult"], allow=["ok.mixed.example"], deny=["homework-free.example"])
    assert decide(p, index, "x.bad.example").reason == "adult:test/adult:bad.example"
    assert decide(p, index, "ok.mixed.example").action == "allow"  # own allow beats list
    assert decide(p, index, "sub.homework-free.example").reason == (
        "custom:profile:homework-free.example")
    assert decide(p, index, "play.example").action == "allow"  # games not blocked here
    assert decide(profile(index, ["games"]), index, "play.example").category == "games"


def test_blocked_service_blocks_every_domain_of_the_app(tmp_path: Path) -> None:
    index = make_index(tmp_path, {})
    p = profile(index, services=["tiktok", "roblox"])
    for name in ("www.tiktok.com", "v16-webapp.tiktokv.com", "www.roblox.com"):
        d = decide(p, index, name)
        assert d.action == "block" and d.category == "service", name
    assert decide(p, index, "www.tiktok.com").rule == "service:tiktok:tiktok.com"
    assert decide(p, index, "www.youtube.com").action == "allow"
    # A parent's allow rule still wins over a blocked service.
    p2 = profile(index, services=["youtube"], allow=["youtube.com"])
    assert decide(p2, index, "www.youtube.com").action == "allow"


def test_guard_overrides_category_lists_but_not_a_parent(tmp_path: Path) -> None:
    index = make_index(tmp_path, {"games": ("games", ["play.google.com", "apps.apple.com"]),
                                  "chat": ("chat", ["teams.microsoft.com"])})
    p = profile(index, ["games", "chat"])
    for name in ("play.google.com", "apps.apple.com", "teams.microsoft.com"):
        d = decide(p, index, name)
        assert d.action == "allow" and d.category == "guard", name
    parent = profile(index, ["games"], deny=["play.google.com"])
    assert decide(parent, index, "play.google.com").action == "block"


def test_bypass_canaries_follow_the_profile_setting(tmp_path: Path) -> None:
    index = make_index(tmp_path, {})
    on = profile(index)
    assert decide(on, index, "use-application-dns.net").action == "nxdomain"
    off = compile_profile(index, profile_id=2, name="adult", policy=DefaultPolicy(
        blocked_categories=(), bypass_protection=False))
    assert decide(off, index, "use-application-dns.net").action == "allow"


@pytest.fixture(scope="module")
def shared_index():  # type: ignore[no-untyped-def]
    directory = SHARED / "blocklists"
    if not (directory / "manifest.tsv").exists():
        pytest.skip(f"{directory} not present (shared data exists only in development and CI)")
    return build_index(manifest_specs(directory), embedded_psl())


HAZARDS = ["archive.org", "pbs.org", "parity.io", "timeout.com", "play.google.com",
           "apps.apple.com", "drugs.com", "teams.microsoft.com", "skype.com"]


def test_known_false_positives_in_the_shared_lists_are_guarded(shared_index) -> None:  # type: ignore[no-untyped-def]
    from safegate.lists.taxonomy import category_ids

    everything = profile(shared_index, category_ids())
    for name in HAZARDS:
        raw = shared_index.lookup(name, everything.verdicts)
        assert raw is not None and not raw.allow, f"{name} is no longer in a shared list"
        d = decide(everything, shared_index, name)
        assert d.action == "allow" and d.category == "guard", (name, d)
    # The guard is narrow: real harm next to it stays blocked.
    assert decide(everything, shared_index, "pornhub.com").category == "adult"


def test_public_suffix_entries_never_block_a_zone(shared_index) -> None:  # type: ignore[no-untyped-def]
    from safegate.lists.taxonomy import category_ids

    everything = profile(shared_index, category_ids())
    assert decide(everything, shared_index, "bologna.it").action == "block"
    assert decide(everything, shared_index, "comune.bologna.it").action == "allow"
    assert decide(everything, shared_index, "myapp.amplifyapp.com").action == "allow"


# --- services modes and allow-list-only ----------------------------------------------------


def moded(index, categories=(), blocked=(), allowed=(), monitored=(), allow=(), deny=(),  # type: ignore[no-untyped-def]
          allow_list_only=False):
    policy = DefaultPolicy(blocked_categories=tuple(categories), blocked_services=tuple(blocked),
                           allowed_services=tuple(allowed), monitored_services=tuple(monitored),
                           allow=tuple(allow), deny=tuple(deny), allow_list_only=allow_list_only)
    return compile_profile(index, profile_id=1, name="child", policy=policy)


# (case, policy, name, action, reason)
MODE_CASES = [
    ("category blocks a service's domain", {"categories": ["video"]},
     "www.youtube.com", "block", "video:test/video:youtube.com"),
    ("an allowed service beats the category", {"categories": ["video"], "allowed": ["youtube"]},
     "www.youtube.com", "allow", "service:service:youtube:youtube.com"),
    ("the profile's deny beats an allowed service",
     {"allowed": ["youtube"], "deny": ["youtube.com"]},
     "www.youtube.com", "block", "custom:profile:youtube.com"),
    ("the profile's allow beats a blocked service",
     {"blocked": ["youtube"], "allow": ["youtube.com"]},
     "m.youtube.com", "allow", "allow:profile:youtube.com"),
    ("a monitored service is never blocked, and says so",
     {"categories": ["chat"], "monitored": ["zalo"]},
     "chat.zalo.me", "allow", "monitor:service:zalo:zalo.me"),
    ("a name of no service still follows the category", {"categories": ["chat"],
                                                          "monitored": ["zalo"]},
     "chat.example", "block", "chat:test/chat:chat.example"),
    ("the most specific service domain decides (Messenger monitored, Facebook blocked)",
     {"blocked": ["facebook"], "monitored": ["messenger"]},
     "edge-chat.facebook.com", "allow", "monitor:service:messenger:edge-chat.facebook.com"),
    ("... and the rest of Facebook stays blocked",
     {"blocked": ["facebook"], "monitored": ["messenger"]},
     "www.facebook.com", "block", "service:service:facebook:facebook.com"),
    ("allow-list-only blocks everything else", {"allow_list_only": True},
     "vnexpress.net", "block", "allow_list_only:profile:allow_list_only"),
    ("allow-list-only beats a list's allow entry too", {"allow_list_only": True},
     "ok.example", "block", "allow_list_only:profile:allow_list_only"),
    ("allow-list-only lets the allow rules through",
     {"allow_list_only": True, "allow": ["pbskids.org"]},
     "www.pbskids.org", "allow", "allow:profile:pbskids.org"),
    ("allow-list-only lets an allowed service through",
     {"allow_list_only": True, "allowed": ["youtube"], "categories": ["video"]},
     "www.youtube.com", "allow", "service:service:youtube:youtube.com"),
    ("allow-list-only does not let a monitored service through",
     {"allow_list_only": True, "monitored": ["zalo"]},
     "zalo.me", "block", "allow_list_only:profile:allow_list_only"),
    ("allow-list-only keeps the bypass canary", {"allow_list_only": True},
     "use-application-dns.net", "nxdomain", "bypass:builtin:use-application-dns.net"),
]


@pytest.mark.parametrize(("case", "policy", "name", "action", "reason"), MODE_CASES,
                         ids=[c[0] for c in MODE_CASES])
def test_service_modes_and_allow_list_only(tmp_path: Path, case: str, policy: dict[str, object],
                                           name: str, action: str, reason: str) -> None:
    index = make_index(tmp_path, {"video": ("video", ["youtube.com"]),
                                  "chat": ("chat", ["zalo.me", "chat.example"]),
                                  "ok": ("games", ["ok.example"])})
    # An allow list for ok.example, to show allow-list-only does not use list allows.
    allow_path = tmp_path / "allow.txt"
    allow_path.write_text("ok.example\n")
    specs = [loaded.spec for loaded in index.lists]
    index = build_index([*specs, ListSpec("test/allow", allow_path, "allow", "suffix", "allow")],
                        embedded_psl())
    d = decide(moded(index, **policy), index, name)  # type: ignore[arg-type]
    assert (d.action, d.reason) == (action, reason), case


def test_a_monitored_decision_is_forwarded_and_logged_as_monitor() -> None:
    from safegate.policy.decide import ALLOW, Decision

    d = Decision("allow", "monitor", "service:zalo:zalo.me")
    assert d.log_action == "allow" and d is not ALLOW and d.reason == "monitor:service:zalo:zalo.me"
