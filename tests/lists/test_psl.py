"""The Public Suffix List: where the index's suffix walk has to stop."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safegate.lists.guard import guarded
from safegate.lists.psl import PublicSuffixList, embedded_psl, load_psl, suffixes
from tests.helpers import SHARED

SHARED_PSL = SHARED / "psl" / (
    "public_suffix_list.dat")

# name → labels in its registrable domain (0: the name is a public suffix itself)
CASES = {
    "com": 0,
    "example.com": 2,
    "www.example.com": 2,
    "co.uk": 0,
    "example.co.uk": 3,
    "www.example.co.uk": 3,
    "a.b.www.example.co.uk": 3,
    # Wildcard "*.ck" with the exception "!www.ck".
    "ck": 0,
    "foo.ck": 0,
    "bar.foo.ck": 3,
    "www.ck": 2,
    "a.www.ck": 2,
    # Wildcard "*.kawasaki.jp" with "!city.kawasaki.jp".
    "x.kawasaki.jp": 0,
    "city.kawasaki.jp": 3,
    "www.city.kawasaki.jp": 3,
    # Private section: hosting and dynamic-DNS suffixes.
    "amplifyapp.com": 0,
    "main.d1abc.amplifyapp.com": 3,
    "servebeer.com": 0,
    "me.servebeer.com": 3,
    "kicks-ass.net": 0,
    "mysynology.net": 0,
    "github.io": 0,
    "user.github.io": 3,
    # Italian cities are public suffixes: bologna.it must never block all of .it under it.
    "bologna.it": 0,
    "comune.bologna.it": 3,
    "www.comune.bologna.it": 3,
    "bet.br": 0,
    "tochigi.jp": 0,
    "sex.pl": 0,
    # Vietnam.
    "vn": 0,
    "com.vn": 0,
    "vnexpress.net": 2,
    "tuoitre.com.vn": 3,
    # Unknown TLDs fall back to the default rule "*".
    "example.invalid-tld": 2,
    "a.b.example.invalid-tld": 2,
    "invalid-tld": 0,
    # IDNA rules are stored in their punycode form (中国 is xn--fiqs8s).
    "xn--fiqs8s": 0,
    "example.xn--fiqs8s": 2,
}


def _check(psl: PublicSuffixList) -> None:
    for name, expected in CASES.items():
        assert psl.registrable_labels(name) == expected, name
        assert psl.is_public_suffix(name) is (expected == 0), name


def test_embedded_copy() -> None:
    _check(embedded_psl())
    assert embedded_psl() is load_psl(None)


@pytest.mark.skipif(not SHARED_PSL.exists(), reason=f"no shared PSL at {SHARED_PSL}")
def test_shared_copy() -> None:
    _check(load_psl(SHARED_PSL))


def test_suffix_labels() -> None:
    psl = embedded_psl()
    assert psl.suffix_labels(["www", "example", "co", "uk"]) == 2
    assert psl.suffix_labels(["a", "www", "ck"]) == 1
    assert psl.suffix_labels(["a", "b", "foo", "ck"]) == 2
    assert psl.suffix_labels(["unknown"]) == 1


def test_parse_rules_comments_and_whitespace() -> None:
    psl = PublicSuffixList.parse([
        "// a comment",
        "",
        "   ",
        "example  trailing words are ignored",
        "*.wild.example",
        "!keep.wild.example",
        "公司.cn",
        "// ===BEGIN PRIVATE DOMAINS===",
        "Hosting.Example",
    ])
    assert psl.rules == frozenset({"example", "xn--55qx5d.cn", "hosting.example"})
    assert psl.wildcards == frozenset({"wild.example"})
    assert psl.exceptions == frozenset({"keep.wild.example"})
    assert psl.registrable_labels("a.b.wild.example") == 4
    assert psl.registrable_labels("x.keep.wild.example") == 3
    assert psl.is_public_suffix("site.hosting.example") is False
    assert psl.is_public_suffix("hosting.example")
    assert psl.registrable_labels("shop.xn--55qx5d.cn") == 3


NAME_PARTS = st.lists(st.sampled_from(["", "a", "www", "example", "co", "uk", "ck", "www.ck",
                                       "bologna", "it", "amplifyapp", "com", "x\\.y"]),
                      max_size=6)


@given(parts=NAME_PARTS)
def test_suffixes_and_registrable_labels_match_the_label_joins(parts: list[str]) -> None:
    """``suffixes`` slices what joining the split labels gives, and the registrable
    domain computed from them is the one ``suffix_labels`` gives for the labels."""
    name = ".".join(parts)
    labels = name.split(".")
    assert suffixes(name) == [".".join(labels[i:]) for i in range(len(labels))]
    psl = embedded_psl()
    suffix = psl.suffix_labels(labels)
    assert psl.registrable_labels(name) == (suffix + 1 if len(labels) > suffix else 0)


@given(parts=NAME_PARTS)
def test_guard_checks_the_name_and_its_parents_but_not_the_last_label(
        parts: list[str]) -> None:
    name = ".".join(parts)
    labels = name.split(".")
    table = frozenset({"www.ck", "ck", "example", "co.uk", "", "bologna.it", "x\\.y"})
    expected = next((".".join(labels[i:]) for i in range(len(labels) - 1)
                     if ".".join(labels[i:]) in table), None)
    assert guarded(name, table) == expected
