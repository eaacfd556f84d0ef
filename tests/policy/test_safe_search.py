"""Safe search in the per-query decision (pure): which names are rewritten to which enforced
endpoint, what wins over a rewrite, and which engines are blocked."""

from __future__ import annotations

from typing import Any

import pytest

from safegate.lists.index import DomainIndex, build_index
from safegate.lists.psl import embedded_psl
from safegate.lists.sources import ListSpec
from safegate.policy import safe_search
from safegate.policy.compiled import CompiledProfile, DefaultPolicy, compile_profile
from safegate.policy.decide import decide


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> DomainIndex:
    root = tmp_path_factory.mktemp("lists")
    specs = []
    for key, category, names in [("video", "video", ["youtube.com"]),
                                 ("adult", "adult", ["bad.example"])]:
        path = root / f"{key}.txt"
        path.write_text("\n".join(names) + "\n")
        specs.append(ListSpec(f"test/{key}", path, category, "suffix", "block"))
    return build_index(specs, embedded_psl())


def profile(index: DomainIndex, *, safe: bool = True, youtube: str = "off",
            categories: tuple[str, ...] = (), **rules: Any) -> CompiledProfile:
    policy = DefaultPolicy(blocked_categories=categories, safe_search=safe, youtube_mode=youtube,
                           **{k: tuple(v) for k, v in rules.items()})
    return compile_profile(index, profile_id=1, name="child", policy=policy)


GOOGLE = "forcesafesearch.google.com"
STRICT = "restrict.youtube.com"
MODERATE = "restrictmoderate.youtube.com"

# (settings, name, expected (action, category, rule, target))
CASES: list[tuple[dict[str, Any], str, tuple[str, str | None, str | None, str | None]]] = [
    # Search engines follow the safe_search switch.
    ({}, "www.google.com", ("rewrite", "safe_search", "google", GOOGLE)),
    ({}, "www.google.com.vn", ("rewrite", "safe_search", "google", GOOGLE)),
    ({}, "www.google.co.uk", ("rewrite", "safe_search", "google", GOOGLE)),
    ({}, "www.bing.com", ("rewrite", "safe_search", "bing", "strict.bing.com")),
    ({}, "duckduckgo.com", ("rewrite", "safe_search", "duckduckgo", "safe.duckduckgo.com")),
    ({}, "www.duckduckgo.com", ("rewrite", "safe_search", "duckduckgo", "safe.duckduckgo.com")),
    ({"safe": False}, "www.google.com", ("allow", None, None, None)),
    ({"safe": False}, "www.bing.com", ("allow", None, None, None)),
    # Exact hostnames only: other Google, Bing and DuckDuckGo names are untouched.
    ({}, "mail.google.com", ("allow", None, None, None)),
    ({}, "google.com", ("allow", None, None, None)),
    ({}, "images.www.google.com", ("allow", None, None, None)),
    ({}, "bing.com", ("allow", None, None, None)),
    ({}, "www.google.example", ("allow", None, None, None)),
    ({}, "forcesafesearch.google.com", ("allow", None, None, None)),  # the target itself
    # YouTube follows youtube_mode, not safe_search.
    ({"youtube": "strict"}, "www.youtube.com", ("rewrite", "safe_search", "youtube:strict",
                                                STRICT)),
    ({"youtube": "moderate"}, "m.youtube.com", ("rewrite", "safe_search", "youtube:moderate",
                                                MODERATE)),
    ({"youtube": "strict", "safe": False}, "youtubei.googleapis.com",
     ("rewrite", "safe_search", "youtube:strict", STRICT)),
    ({"youtube": "moderate"}, "youtube.googleapis.com",
     ("rewrite", "safe_search", "youtube:moderate", MODERATE)),
    ({"youtube": "strict"}, "www.youtube-nocookie.com",
     ("rewrite", "safe_search", "youtube:strict", STRICT)),
    ({"youtube": "off"}, "www.youtube.com", ("allow", None, None, None)),
    ({"youtube": "strict"}, "music.youtube.com", ("allow", None, None, None)),
    ({"youtube": "strict"}, "googleapis.com", ("allow", None, None, None)),
    # A parent's deny rule, a blocked service and a blocked category still win.
    ({"youtube": "strict", "deny": ["youtube.com"]}, "www.youtube.com",
     ("block", "custom", "profile:youtube.com", None)),
    ({"youtube": "strict", "blocked_services": ["youtube"]}, "www.youtube.com",
     ("block", "service", "service:youtube:youtube.com", None)),
    ({"youtube": "strict", "categories": ("video",)}, "www.youtube.com",
     ("block", "video", "test/video:youtube.com", None)),
    ({"deny": ["www.google.com"]}, "www.google.com",
     ("block", "custom", "profile:www.google.com", None)),
    # An allow rule never lifts safe search: the allowed name is still rewritten.
    ({"youtube": "moderate", "categories": ("video",), "allow": ["youtube.com"]},
     "www.youtube.com", ("rewrite", "safe_search", "youtube:moderate", MODERATE)),
    # Engines that cannot be forced are blocked only while safe search is on.
    ({}, "search.yahoo.com", ("block", "safe_search", "yahoo:search.yahoo.com", None)),
    ({}, "images.search.yahoo.com", ("block", "safe_search", "yahoo:search.yahoo.com", None)),
    ({}, "www.startpage.com", ("block", "safe_search", "startpage:startpage.com", None)),
    ({}, "mail.yahoo.com", ("allow", None, None, None)),
    ({"safe": False}, "search.yahoo.com", ("allow", None, None, None)),
    ({"safe": False}, "www.startpage.com", ("allow", None, None, None)),
    # ... and a parent's allow rule lets one through.
    ({"allow": ["startpage.com"]}, "www.startpage.com",
     ("allow", "allow", "profile:startpage.com", None)),
    # Lists keep working next to safe search.
    ({"categories": ("adult",)}, "x.bad.example", ("block", "adult", "test/adult:bad.example",
                                                   None)),
]


@pytest.mark.parametrize(("settings", "name", "expected"), CASES,
                         ids=[f"{n}-{s}" for s, n, _ in CASES])
def test_safe_search_decisions(index: DomainIndex, settings: dict[str, Any], name: str,
                               expected: tuple[str, str | None, str | None, str | None]) -> None:
    d = decide(profile(index, **settings), index, name)
    assert (d.action, d.category, d.rule, d.target) == expected


def test_rewrite_is_logged_as_rewrite_with_its_reason(index: DomainIndex) -> None:
    d = decide(profile(index, youtube="strict"), index, "www.youtube.com")
    assert (d.log_action, d.reason) == ("rewrite", "safe_search:youtube:strict")


def test_the_table_covers_every_google_country_domain_once() -> None:
    table = safe_search.table()
    google = table.engine("google")
    assert len(google.hosts) == len(set(google.hosts)) > 180
    for host in ("www.google.com", "www.google.com.vn", "www.google.de", "www.google.co.jp"):
        assert host in google.hosts
    youtube = table.engine("youtube")
    assert set(youtube.hosts) == {"www.youtube.com", "m.youtube.com", "youtubei.googleapis.com",
                                  "youtube.googleapis.com", "www.youtube-nocookie.com"}
    assert youtube.targets == {"strict": STRICT, "moderate": MODERATE}
    # No name is both forced and blocked.
    blocked = {d for e in table.unforceable for d in e.domains}
    assert not blocked & {h for e in table.engines for h in e.hosts}


@pytest.mark.parametrize(("text", "message"), [
    ('[[engine]]\nid="x"\nsetting="loud"\ntarget="a.example"\nhosts=["b.example"]',
     "unknown setting"),
    ('[[engine]]\nid="x"\nsetting="safe_search"\ntarget="a.example"\nhosts=["B.example"]',
     "not a lowercase hostname"),
    ('[[engine]]\nid="x"\nsetting="safe_search"\ntarget="a.example"\nhosts=[]', "no hosts"),
    ('[[engine]]\nid="x"\nsetting="safe_search"\ntarget="a.example"\nhosts=["b.example"]\n'
     '[[engine]]\nid="y"\nsetting="safe_search"\ntarget="c.example"\nhosts=["b.example"]',
     "listed twice"),
])
def test_a_broken_table_is_refused_with_the_entry_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        safe_search.parse_table(text)


def test_the_setting_in_words() -> None:
    assert safe_search.setting_in_words("youtube", "strict") == (
        "has YouTube Restricted Mode set to strict")
    assert safe_search.setting_in_words("google", "on") == "has safe search on"
    assert "yahoo cannot be forced" in safe_search.setting_in_words("yahoo", "blocked")


def test_the_doc_lists_every_engine_and_google_domain_of_the_table() -> None:
    from tests.helpers import REPO

    doc = (REPO / "docs" / "safe-search.md").read_text(encoding="utf-8")
    table = safe_search.table()
    listed = next(line for line in doc.splitlines() if line.startswith("`ad`, "))
    tlds = {item.strip("` ") for item in listed.split(",")}
    assert tlds == {h.removeprefix("www.google.") for h in table.engine("google").hosts}
    for engine in table.engines:
        for target in engine.targets.values():
            assert f"`{target}`" in doc, target
    for blocked in table.unforceable:
        for domain in blocked.domains:
            assert f"`{domain}`" in doc, domain
