"""Regex and wildcard entries: parsing adblock wildcards and ``/regex/`` lines, the bounds
a pattern must keep (with the reason each rejected line is reported under), the limit per
list, and how the index consults patterns: only when the hash walk allows nothing, allow
beating block, disabled lists ignored, a listed name winning over a pattern, and no cost
or change at all when no list has patterns."""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safegate.lists import parse
from safegate.lists.fetch import validate
from safegate.lists.index import DomainIndex, Hit, build_index
from safegate.lists.parse import (
    REGEX_FLAGS,
    Entry,
    ParseReport,
    iter_batches,
    iter_entries,
    parse_line,
    regex_problem,
    wildcard_regex,
)
from safegate.lists.psl import embedded_psl
from safegate.lists.sources import ListSpec, Match, Role
from safegate.policy.compiled import DefaultPolicy, compile_profile
from safegate.policy.decide import decide
from tests.helpers import index_hit


def parsed(*lines: str) -> tuple[list[Entry], ParseReport]:
    report = ParseReport()
    out = [entry for line in lines for entry in parse_line(line, report)]
    return out, report


def one(line: str) -> Entry:
    out, report = parsed(line)
    assert len(out) == 1 and not report.skipped, (out, report.skipped)
    return out[0]


def reason(line: str) -> str:
    out, report = parsed(line)
    assert out == [] and sum(report.skipped.values()) == 1, (out, report.skipped)
    return next(iter(report.skipped))


def matches(pattern: str, name: str) -> bool:
    return re.search(pattern, name, REGEX_FLAGS) is not None


# ------------------------------------------------------------------ parsing


def test_wildcard_host_rules_become_anchored_patterns() -> None:
    entry = one("||ads*.example.com^")
    assert entry == Entry("||ads*.example.com^", False, r"(?:^|\.)ads.*\.example\.com$")
    assert entry.pattern is not None
    for name in ("ads.example.com", "ads1.example.com", "x.ads-2.example.com",
                 "ads.cdn.example.com", "a.b.ads9.example.com"):
        assert matches(entry.pattern, name), name
    for name in ("bads.example.com", "ads1.example.com.evil.net", "example.com",
                 "ads1.example.co", "x.ads1.example.community"):
        assert not matches(entry.pattern, name), name
    # Without the trailing "^", and with a trailing "|", the rule is the same.
    assert one("||ads*.example.com").pattern == entry.pattern
    assert one("||ads*.example.com^|").pattern == entry.pattern


def test_leading_star_dot_is_a_plain_suffix_entry() -> None:
    assert one("||*.doubleclick.net^") == Entry("doubleclick.net")
    assert one("@@||*.good.example^") == Entry("good.example", allow=True)
    assert one("||*.*.x.example^") == Entry("x.example")


def test_exception_wildcards_and_stars_inside_the_name() -> None:
    entry = one("@@||*cdn*.example^")
    assert entry.allow and entry.domain == "@@||*cdn*.example^"
    assert entry.pattern is not None
    for name in ("cdn.example", "img.cdn1.example", "mycdn.example", "a.cdn.b.example"):
        assert matches(entry.pattern, name), name
    assert not matches(entry.pattern, "cdn.example.org")
    assert not matches(entry.pattern, "example")
    middle = one("||v.*.com^").pattern
    assert middle is not None
    assert matches(middle, "v.x.com") and matches(middle, "a.v.x.y.com")
    assert not matches(middle, "v.com") and not matches(middle, "xv.y.com")
    # Uppercase and repeated stars are normalised.
    assert one("||ADS**.Example.COM^").pattern == entry_pattern("ads*.example.com")


def entry_pattern(host: str) -> str:
    return wildcard_regex(host)


def test_regex_lines() -> None:
    entry = one(r"/^ad[0-9]+\.example\.com$/")
    assert entry == Entry(r"/^ad[0-9]+\.example\.com$/", False, r"^ad[0-9]+\.example\.com$")
    assert entry.pattern is not None
    assert matches(entry.pattern, "ad12.example.com")
    assert not matches(entry.pattern, "x.ad12.example.com")
    assert not matches(entry.pattern, "ad.example.com")
    allow = one(r"@@/^safe\d*\.example$/")
    assert allow.allow and allow.pattern == r"^safe\d*\.example$"
    # Unanchored regexes are searched anywhere in the name (AdGuard and Pi-hole do so).
    pihole = one(r"/(\.|^)doubleclick\.net$/")
    assert pihole.pattern is not None and matches(pihole.pattern, "ad.doubleclick.net")
    # Case-insensitive, like AdGuard: a leading (?i) is redundant; uppercase letters make
    # the pattern ignore case (only then: it is slower).
    upper = one("/(?i)^ADS\\./")
    assert upper.pattern == "(?i:^ADS\\.)" and matches(upper.pattern, "ads.example")
    assert one("/^[A-C]d/").pattern == "(?i:^[A-C]d)"
    assert one("/^\\Wad\\D/").pattern == "^\\Wad\\D"
    # A pattern with slashes inside: the last slash closes it.
    assert one(r"/^a\/b|^ads\./").pattern == r"^a\/b|^ads\."


def test_iter_entries_and_batches_keep_patterns(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    path.write_text("a.example\n||ads*.example^\n/^t[0-9]\\./\n@@||ok*.example^\n"
                    "b.example\n||ads*.example^\n")
    report = ParseReport()
    out = list(iter_entries(path, report))
    assert [e.domain for e in out] == ["a.example", "||ads*.example^", "/^t[0-9]\\./",
                                       "@@||ok*.example^", "b.example", "||ads*.example^"]
    assert [e.pattern is not None for e in out] == [False, True, True, True, False, True]
    assert (report.entries, report.allow_entries, report.patterns) == (5, 1, 4)
    batch_report = ParseReport()
    batches = list(iter_batches(path, batch_report))
    assert batch_report == report
    assert [e for b in batches for e in b.patterns] == [e for e in out if e.pattern]
    assert sorted(n for b in batches for n in b.names) == ["a.example", "b.example"]


def test_a_list_of_only_patterns_is_a_usable_list(tmp_path: Path) -> None:
    path = tmp_path / "regex.txt"
    path.write_text("! regex only\n/^ad[0-9]+\\./\n||track*.example^\n")
    report = validate(path)
    assert report.entries == 2 and report.patterns == 2


# ------------------------------------------------------------------ rejections


@pytest.mark.parametrize(("line", "why"), [
    ("||ads*.example.com^$third-party", parse.SKIP_MODIFIER),
    ("/^ads\\./$important", parse.SKIP_MODIFIER),
    ("||ads*.example.com/banner^", parse.SKIP_PATH),
    ("/banner/*", parse.SKIP_PATH),
    ("||a^b*.example^", parse.SKIP_NOT_HOST),
    ("||ads*..example^", parse.SKIP_WILDCARD),
    ("||ad s*.example^", parse.SKIP_WILDCARD),
    ("||bücher*.example^", parse.SKIP_WILDCARD),
    ("||*^", parse.SKIP_EVERYTHING),
    ("||*.*^", parse.SKIP_EVERYTHING),
    ("/./", parse.SKIP_EVERYTHING),
    ("/^/", parse.SKIP_EVERYTHING),
    ("/a*/", parse.SKIP_EVERYTHING),
    ("/[ads/", parse.SKIP_REGEX_INVALID),
    ("/ads(/", parse.SKIP_REGEX_INVALID),
    ("/(a)\\1/", parse.SKIP_REGEX_FEATURE),
    ("/(?P<x>ads)\\./", parse.SKIP_REGEX_FEATURE),
    ("/(a)?(?(1)b|c)/", parse.SKIP_REGEX_FEATURE),
    ("/ads(?i)x/", parse.SKIP_REGEX_FEATURE),
    ("/(a+)+$/", parse.SKIP_REGEX_NESTED),
    ("/^(a*)*b/", parse.SKIP_REGEX_NESTED),
    ("/^(\\w+\\.\\w+)*x$/", parse.SKIP_REGEX_NESTED),
    ("/^(.+\\.)+evil$/", parse.SKIP_REGEX_NESTED),
    ("/^([a-z]{1,20}){2,}$/", parse.SKIP_REGEX_NESTED),
    ("/(a|a)*b/", parse.SKIP_REGEX_SLOW),
    ("/^(a|aa)+$/", parse.SKIP_REGEX_SLOW),
    ("/.*a.*a.*a.*b/", parse.SKIP_REGEX_SLOW),
    ("/" + "a" * 257 + "/", parse.SKIP_REGEX_LONG),
])
def test_rejected_lines_are_reported_with_their_reason(line: str, why: str) -> None:
    assert reason(line) == why
    _, report = parsed(line)
    assert report.examples[why] == line[:120]


@pytest.mark.parametrize("source", [
    r"^(\w+\.)*evil\.com$",  # each repetition ends with a dot \w cannot match
    r"^(\.[a-z0-9-]+)+$",  # ... or starts with one
    r"^(.+[-_.])??adse?rv(er?|ice)?s?[0-9]*[-.]",  # Pi-hole examples
    r"^ad([sxv]?[0-9]*|[-.]?[sxv]?[0-9]*)\.",
    r"^(.+[-_.])??track(ing|er)?[0-9]*[-.]",
    r"(?=ads)ads[0-9]{1,5}\.",
    "a" * 256,
])
def test_well_behaved_regexes_are_accepted(source: str) -> None:
    assert regex_problem(source) is None


def test_bounds_hold_for_any_accepted_regex() -> None:
    """Whatever passes the checks answers quickly even on the longest names."""
    import time

    for source in (r"^(\w+\.)*evil\.com$", r"(\.|^)ad[sx]?[0-9]*\.", r"^(.+[-_.])??ads?[-.]"):
        compiled = re.compile(source, REGEX_FLAGS)
        for name in ("a" * 253, ("a." * 126)[:-1], "ads-" * 63, "w" * 252 + "!"):
            started = time.thread_time()  # CPU time: other work on the machine does not count
            compiled.search(name)
            assert time.thread_time() - started < 0.01, (source, name[:10])


def test_the_limit_per_list(tmp_path: Path) -> None:
    lines = [f"||ads{i}*.example^" for i in range(parse.MAX_PATTERNS + 5)]
    out, report = parsed("plain.example", *lines, "/^late\\./", "after.example")
    assert parse.MAX_PATTERNS == 1000
    assert report.patterns == 1000 and len([e for e in out if e.pattern]) == 1000
    assert report.skipped == Counter({parse.SKIP_REGEX_LIMIT: 6})
    assert report.examples[parse.SKIP_REGEX_LIMIT] == "||ads1000*.example^"
    # Plain names are not limited.
    assert [e.domain for e in out if not e.pattern] == ["plain.example", "after.example"]
    # The index keeps what the parser kept, and says how many.
    path = tmp_path / "many.txt"
    path.write_text("\n".join(lines) + "\n")
    index = build_index([ListSpec("many", path, "adult")], embedded_psl())
    loaded = index.lists[0]
    assert loaded.patterns == 1000 and loaded.entries == 1000
    assert loaded.skipped == {parse.SKIP_REGEX_LIMIT: 5}


def test_the_limit_can_be_lowered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "MAX_PATTERNS", 2)
    out, report = parsed("/^a\\./", "/^b\\./", "/(a+)+/", "/^c\\./")
    assert [e.pattern for e in out] == ["^a\\.", "^b\\."]
    # A rejected pattern counts nothing; the limit is checked before the pattern is.
    assert report.skipped == Counter({parse.SKIP_REGEX_LIMIT: 2})


def test_length_bound() -> None:
    assert regex_problem("a" * parse.MAX_PATTERN_LENGTH) is None
    assert regex_problem("a" * (parse.MAX_PATTERN_LENGTH + 1)) == parse.SKIP_REGEX_LONG


# ------------------------------------------------------------------ wildcard semantics


def glob_model(glob: str, name: str) -> bool:
    """Adblock ``||glob^`` over a host name: the glob matches the name from its start or
    from just after one of its dots, up to its end."""
    starts = [0] + [i + 1 for i, c in enumerate(name) if c == "."]
    return any(fnmatch.fnmatchcase(name[i:], glob) for i in starts)


@given(glob=st.text(alphabet="ab.*", min_size=1, max_size=10).filter(lambda g: "*" in g),
       names=st.lists(st.text(alphabet="ab.", max_size=12), max_size=20))
@settings(max_examples=300, deadline=None)
def test_wildcard_regex_matches_the_glob_model(glob: str, names: list[str]) -> None:
    """The atomic groups (no backtracking into earlier parts) never change the answer."""
    compiled = re.compile(wildcard_regex(glob), REGEX_FLAGS)
    for name in names:
        assert (compiled.search(name) is not None) == glob_model(glob, name), (glob, name)


def test_many_stars_stay_fast() -> None:
    import time

    compiled = re.compile(wildcard_regex("a*a*a*a*a*a*a*a*b"), REGEX_FLAGS)
    started = time.thread_time()
    assert compiled.search("a" * 253) is None
    assert compiled.search(("a." * 126)[:-1]) is None
    assert time.thread_time() - started < 0.05


# ------------------------------------------------------------------ the index


def write_lists(directory: Path, lists: Sequence[tuple[str, Iterable[str], Match, Role]],
                ) -> list[ListSpec]:
    specs = []
    for key, lines, match, role in lists:
        path = directory / f"{key}.txt"
        path.write_text("".join(f"{line}\n" for line in lines))
        specs.append(ListSpec(key, path, f"cat-{key}", match, role))
    return specs


def index_of(directory: Path, *lists: tuple[str, Iterable[str], Match, Role]) -> DomainIndex:
    return build_index(write_lists(directory, lists), embedded_psl())


hit = index_hit


def test_block_patterns_block_on_a_miss(tmp_path: Path) -> None:
    index = index_of(tmp_path, ("ads", ["||ads*.example.com^", r"/^ad[0-9]+\.example\.net$/",
                                        "plain.example"], "exact", "block"))
    assert hit(index, "ads1.example.com") == ("ads", "||ads*.example.com^", False)
    # The pattern decides subdomains itself, whatever the list's match mode.
    assert hit(index, "x.ads1.example.com") == ("ads", "||ads*.example.com^", False)
    assert hit(index, "ad7.example.net") == ("ads", r"/^ad[0-9]+\.example\.net$/", False)
    assert hit(index, "x.ad7.example.net") is None
    assert hit(index, "plain.example") == ("ads", "plain.example", False)
    assert hit(index, "www.plain.example") is None  # exact list
    assert hit(index, "example.com") is None
    loaded = index.lists[0]
    assert (loaded.entries, loaded.patterns) == (3, 2)
    # Grouped by the labels a matching name must end with.
    (patterns,) = index.patterns
    assert patterns.general is None
    assert {key: [s.pattern for s in group.searches]
            for key, group in patterns.by_suffix.items()} == {
        "example.com": [r"(?:^|\.)(?:ads.*\.example\.com$)"],
        "example.net": [r"(?:^ad[0-9]+\.example\.net$)"]}


def test_allow_patterns_beat_blocks_of_every_kind(tmp_path: Path) -> None:
    index = index_of(
        tmp_path,
        ("block", ["img.cdn1.example", "||*img*.example^"], "suffix", "block"),
        ("allow", ["@@||*cdn*.example^", "/^safe\\./"], "suffix", "allow"),
    )
    # A hash block loses to an allow pattern ...
    assert hit(index, "img.cdn1.example") == ("allow", "@@||*cdn*.example^", True)
    assert hit(index, "img.cdn1.example", [0]) == ("block", "img.cdn1.example", False)
    # ... and so does a block pattern.
    assert hit(index, "img.cdn2.example") == ("allow", "@@||*cdn*.example^", True)
    assert hit(index, "img.cdn2.example", [0]) == ("block", "||*img*.example^", False)
    assert hit(index, "safe.img.example") == ("allow", "/^safe\\./", True)
    assert hit(index, "img.other.example") == ("block", "||*img*.example^", False)


def test_an_allow_list_makes_every_pattern_an_allow(tmp_path: Path) -> None:
    index = index_of(
        tmp_path,
        ("block", ["kids.example"], "suffix", "block"),
        ("allow", ["||*kids*.example^"], "suffix", "allow"),
    )
    assert hit(index, "www.kids.example") == ("allow", "||*kids*.example^", True)


def test_disabled_lists_do_not_match(tmp_path: Path) -> None:
    index = index_of(
        tmp_path,
        ("adult", ["||porn*.example^"], "suffix", "block"),
        ("games", ["/^play[0-9]*\\./"], "suffix", "block"),
        ("kids", ["@@||*porn*.example^"], "suffix", "allow"),
    )
    assert hit(index, "porn1.example", []) is None
    assert hit(index, "porn1.example", [1]) is None
    assert hit(index, "porn1.example", [0]) == ("adult", "||porn*.example^", False)
    assert hit(index, "play2.example", [0]) is None
    assert hit(index, "play2.example", [1]) == ("games", "/^play[0-9]*\\./", False)
    assert hit(index, "porn1.example", [0, 2]) == ("kids", "@@||*porn*.example^", True)
    assert hit(index, "porn1.example", [0, 1]) == ("adult", "||porn*.example^", False)
    verdicts = index.verdicts([1])
    assert [p.list_id for p in verdicts.block_patterns] == [1]
    assert verdicts.allow_patterns == ()


def test_a_listed_name_wins_over_a_pattern(tmp_path: Path) -> None:
    index = index_of(
        tmp_path,
        ("patterns", ["||ads*.example^", "/tracker/"], "suffix", "block"),
        ("names", ["ads1.example", "tracker.example"], "exact", "block"),
        ("allow", ["ads2.example"], "suffix", "allow"),
    )
    # The exact hash hit decides and is the one explained, though list 0 comes first.
    assert hit(index, "ads1.example") == ("names", "ads1.example", False)
    assert hit(index, "tracker.example") == ("names", "tracker.example", False)
    assert hit(index, "ads3.example") == ("patterns", "||ads*.example^", False)
    # A hash allow beats a block pattern without searching it.
    assert hit(index, "ads2.example") == ("allow", "ads2.example", True)
    assert hit(index, "x.ads2.example") == ("allow", "ads2.example", True)


def test_pattern_lists_by_list_id_and_first_rule_in_file_order(tmp_path: Path) -> None:
    index = index_of(
        tmp_path,
        ("first", ["/^zz/", "/ads/", "||ads*.example^", "/ads/"], "suffix", "block"),
        ("second", ["/ads/"], "suffix", "block"),
    )
    assert hit(index, "ads1.example") == ("first", "/ads/", False)
    assert hit(index, "ads1.example", [1]) == ("second", "/ads/", False)
    assert index.lists[0].patterns == 3  # the repeated /ads/ is kept once
    assert len(index.patterns) == 2 and [p.list_id for p in index.patterns] == [0, 1]


@pytest.mark.parametrize(("pattern", "key"), [
    (wildcard_regex("ads*.example.com"), "example.com"),
    (wildcard_regex("ads*.a.b.example.co.uk"), "co.uk"),
    (wildcard_regex("*cdn*.example"), "example"),
    (wildcard_regex("*cdn.example"), "example"),  # "cdn" may end a longer label
    (r"(\.|^)doubleclick\.net$", "net"),
    (r"\.com$", "com"),
    (r"com$", None),
    (r"^ad[0-9]+\.", None),
    (wildcard_regex("ads.*"), None),
    (wildcard_regex("ads*.example.*"), None),
    (r"(?i:^ADS\.COM$)", None),
    (r"a\.com$|b\.com$", None),
    (r"x.com$", None),  # an unescaped dot is any character
])
def test_suffix_key(pattern: str, key: str | None) -> None:
    assert parse.suffix_key(pattern) == key


def test_groups_keep_the_first_rule_in_file_order(tmp_path: Path) -> None:
    index = index_of(
        tmp_path,
        ("general-first", ["/^ads/", "||ads*.example.com^", "||*.x.example.com^"],
         "suffix", "block"),
        ("keyed-first", ["||ads*.example.com^", "/^ads/", "||ads*.example.org^"],
         "suffix", "block"),
    )
    assert hit(index, "ads1.example.com", [0]) == ("general-first", "/^ads/", False)
    assert hit(index, "ads1.example.com", [1]) == ("keyed-first", "||ads*.example.com^", False)
    assert hit(index, "ads1.example.org", [1]) == ("keyed-first", "/^ads/", False)
    assert hit(index, "x.ads1.example.org", [1]) == ("keyed-first",
                                                     "||ads*.example.org^", False)
    assert hit(index, "x.example.com", [0]) == ("general-first", "x.example.com", False)
    assert hit(index, "ads", [1]) == ("keyed-first", "/^ads/", False)  # one label
    keyed = index.patterns[1]
    assert sorted(keyed.by_suffix) == ["example.com", "example.org"]
    assert keyed.general is not None and keyed.general.members == (1,)


def test_exceptions_in_a_block_list_are_reported_not_used(tmp_path: Path) -> None:
    index = index_of(tmp_path, ("block", ["||ads*.example^", "@@||ads1*.example^",
                                          "@@/^ads2/"], "suffix", "block"))
    assert hit(index, "ads1.example") == ("block", "||ads*.example^", False)
    loaded = index.lists[0]
    assert (loaded.entries, loaded.allow_entries, loaded.patterns) == (1, 0, 1)
    assert loaded.skipped == {"exception (@@) rule in a block list": 2}


def test_no_patterns_means_no_change_and_no_scan(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    index = index_of(
        tmp_path,
        ("block", ["example.com", "ads.example.net"], "suffix", "block"),
        ("allow", ["ok.example.com"], "suffix", "allow"),
    )
    assert index.patterns == ()
    verdicts = index.verdicts([0, 1])
    assert verdicts.allow_patterns == () and verdicts.block_patterns == ()

    def boom(*args: object) -> None:
        raise AssertionError("patterns searched without any pattern")

    monkeypatch.setattr(DomainIndex, "_pattern_lookup", staticmethod(boom))
    assert index.lookup("www.example.com", verdicts) == Hit(0, "example.com", False)
    assert index.lookup("ok.example.com", verdicts) == Hit(1, "ok.example.com", True)
    assert index.lookup("nothing.example", verdicts) is None
    # Patterns in a list the profile does not enable cost that profile nothing either.
    with_patterns = index_of(tmp_path, ("p", ["/ads/"], "suffix", "block"),
                             ("n", ["example.com"], "suffix", "block"))
    assert with_patterns.lookup("ads.example", with_patterns.verdicts([1])) is None


# ------------------------------------------------------------------ against a model

NAMES = ["ads.example.com", "ads1.example.com", "x.ads1.example.com", "example.com",
         "cdn.example.org", "img.cdn.example.org", "example.org", "play.kids.example",
         "kids.example"]
RULES = ["||ads*.example.com^", "@@||*cdn*.example.org^", "/^play\\./", "/example\\.org$/",
         "||*kids*.example^", "/ads/"]
MODEL_LIST = st.tuples(st.sets(st.sampled_from(NAMES), max_size=4),
                       st.sets(st.sampled_from(RULES), max_size=3),
                       st.sampled_from(["exact", "suffix"]), st.sampled_from(["block", "allow"]))


def model(lists: Sequence[tuple[set[str], set[str], str, str]], enabled: set[int],
          name: str) -> tuple[int, str, bool] | None:
    """Hash walk (names only, no public suffix in this universe), then allow patterns,
    then, if nothing was found, block patterns; each by list id, rules in file order."""
    labels = name.split(".")
    block = None
    for i in range(len(labels) - 1):
        cand = ".".join(labels[i:])
        found = [lid for lid, (names, _, match, _) in enumerate(lists)
                 if lid in enabled and cand in names and (i == 0 or match == "suffix")]
        allows = [lid for lid in found if lists[lid][3] == "allow"]
        if allows:
            return allows[0], cand, True
        blocks = [lid for lid in found if lists[lid][3] == "block"]
        if blocks and block is None:
            block = (blocks[0], cand, False)

    def first_rule(lid: int) -> str | None:
        for rule in sorted(lists[lid][1]):  # written to the file in sorted order
            if rule.startswith("@@") and lists[lid][3] == "block":
                continue
            if rule.startswith("/"):
                pattern = rule[1:-1]
            else:
                pattern = wildcard_regex(rule.removeprefix("@@").strip("|^"))
            if re.search(pattern, name, REGEX_FLAGS):
                return rule
        return None

    for role in ("allow", "block"):
        if role == "block" and block is not None:
            return block
        for lid in sorted(enabled):
            if lists[lid][3] == role and (rule := first_rule(lid)) is not None:
                return lid, rule, role == "allow"
    return block


@given(lists=st.lists(MODEL_LIST, min_size=1, max_size=5), data=st.data())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_lookup_with_patterns_matches_the_model(tmp_path_factory: pytest.TempPathFactory,
                                                lists: list[tuple[set[str], set[str], str,
                                                                  str]],
                                                data: st.DataObject) -> None:
    directory = tmp_path_factory.mktemp("lists")
    specs = []
    for lid, (names, rules, match, role) in enumerate(lists):
        path = directory / f"l{lid}.txt"
        path.write_text("".join(f"{line}\n" for line in [*sorted(names), *sorted(rules)]))
        specs.append(ListSpec(f"l{lid}", path, "adult", match, role))  # type: ignore[arg-type]
    index = build_index(specs, embedded_psl())
    for _ in range(3):
        enabled = data.draw(st.sets(st.integers(0, len(lists) - 1)))
        verdicts = index.verdicts(enabled)
        for name in [*NAMES, "z.play.kids.example", "nothing.example"]:
            found = index.lookup(name, verdicts)
            got = None if found is None else (found.list_id, found.entry, found.allow)
            assert got == model(lists, enabled, name), name


# ------------------------------------------------------------------ the decision


def test_decide_names_the_rule_and_the_guard_still_applies(tmp_path: Path) -> None:
    specs = write_lists(tmp_path, [
        ("ads", ["||*google*.com^", r"/^ad[0-9]+\./"], "suffix", "block"),
    ])
    specs = [ListSpec("test/ads", specs[0].path, "adult", "suffix", "block")]
    index = build_index(specs, embedded_psl())
    profile = compile_profile(index, profile_id=1, name="child",
                              policy=DefaultPolicy(blocked_categories=("adult",)))
    d = decide(profile, index, "ad12.example")
    assert (d.action, d.category, d.rule) == ("block", "adult", r"test/ads:/^ad[0-9]+\./")
    # play.google.com is on the never-block list: a category pattern cannot block it.
    guarded = decide(profile, index, "play.google.com")
    assert guarded.action == "allow" and guarded.category == "guard"
    assert decide(profile, index, "mail.google.com").action == "block"
    off = compile_profile(index, profile_id=2, name="adult",
                          policy=DefaultPolicy(blocked_categories=()))
    assert decide(off, index, "ad12.example").action == "allow"
