"""The compiled domain index: match semantics, the PSL stop, allow over block, per-profile
verdicts, combos, lists that fail to load, a model-based property test, and the real
shared lists with the hazards their README names."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import cast

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safegate.lists.index import NO_LIST, DomainIndex, Hit, build_index
from safegate.lists.psl import PublicSuffixList, embedded_psl, suffixes
from safegate.lists.sources import ListSpec, Match, Role, manifest_specs
from tests.helpers import SHARED, index_hit

SHARED_LISTS = SHARED / "blocklists"


def make_specs(directory: Path, lists: Sequence[tuple[str, Iterable[str], Match, Role]],
               ) -> list[ListSpec]:
    specs = []
    for key, names, match, role in lists:
        path = directory / (key.replace("/", "_") + ".txt")
        path.write_text("".join(f"{name}\n" for name in names))
        specs.append(ListSpec(key, path, f"cat-{key}", match, role))
    return specs


def index_of(directory: Path, *lists: tuple[str, Iterable[str], Match, Role],
             ) -> tuple[DomainIndex, list[ListSpec]]:
    specs = make_specs(directory, lists)
    return build_index(specs, embedded_psl()), specs


def everything(index: DomainIndex) -> object:
    return index.verdicts(range(len(index.lists)))


hit = index_hit


# ------------------------------------------------------------------ semantics


def test_exact_and_suffix_lists(tmp_path: Path) -> None:
    index, _ = index_of(
        tmp_path,
        ("exact", ["ads.example.com", "tracker.example.net"], "exact", "block"),
        ("suffix", ["adult.example", "sub.casino.example"], "suffix", "block"),
    )
    assert hit(index, "ads.example.com") == ("exact", "ads.example.com", False)
    assert hit(index, "x.ads.example.com") is None  # exact: subdomains are not listed
    assert hit(index, "example.com") is None
    assert hit(index, "adult.example") == ("suffix", "adult.example", False)
    assert hit(index, "www.adult.example") == ("suffix", "adult.example", False)
    assert hit(index, "a.b.c.adult.example") == ("suffix", "adult.example", False)
    assert hit(index, "notadult.example") is None
    assert hit(index, "casino.example") is None  # a parent of an entry is not blocked
    assert hit(index, "x.sub.casino.example") == ("suffix", "sub.casino.example", False)


def test_public_suffix_entries_block_only_themselves(tmp_path: Path) -> None:
    index, _ = index_of(
        tmp_path,
        ("adult", ["bologna.it", "sex.pl", "tochigi.jp", "co.uk", "com"], "suffix", "block"),
        ("malware", ["amplifyapp.com", "mysynology.net", "servebeer.com"], "suffix", "block"),
        ("gambling", ["bet.br", "real.bet.br"], "suffix", "block"),
    )
    for name in ("bologna.it", "sex.pl", "tochigi.jp", "amplifyapp.com", "servebeer.com",
                 "bet.br", "co.uk", "com"):
        assert hit(index, name) is not None, name
    for name in ("x.bologna.it", "www.comune.bologna.it", "shop.sex.pl", "foo.amplifyapp.com",
                 "main.d1.amplifyapp.com", "nas.mysynology.net", "me.servebeer.com",
                 "x.bet.br", "bbc.co.uk", "example.com"):
        assert hit(index, name) is None, name
    # Below a public suffix, a registrable entry still blocks its subdomains.
    assert hit(index, "www.real.bet.br") == ("gambling", "real.bet.br", False)


def test_allow_beats_block_at_any_level(tmp_path: Path) -> None:
    index, _ = index_of(
        tmp_path,
        ("block", ["example.com", "ads.example.com", "x.ads.example.com"], "suffix", "block"),
        ("allow", ["example.com"], "suffix", "allow"),
        ("allow-deep", ["good.ads.example.com"], "suffix", "allow"),
        ("allow-exact", ["exact.example.org"], "exact", "allow"),
        ("block2", ["example.org"], "suffix", "block"),
    )
    # The allow is on the parent, the blocks are more specific: the allow still wins.
    assert hit(index, "x.ads.example.com") == ("allow", "example.com", True)
    assert hit(index, "a.good.ads.example.com") == ("allow-deep", "good.ads.example.com", True)
    # Without the parent allow list, the most specific block decides.
    assert hit(index, "x.ads.example.com", [0, 2]) == ("block", "x.ads.example.com", False)
    assert hit(index, "y.ads.example.com", [0, 2]) == ("block", "ads.example.com", False)
    # An exact allow list only allows the name itself.
    assert hit(index, "exact.example.org") == ("allow-exact", "exact.example.org", True)
    assert hit(index, "sub.exact.example.org") == ("block2", "example.org", False)


def test_most_specific_block_wins(tmp_path: Path) -> None:
    index, _ = index_of(
        tmp_path,
        ("general", ["example.com"], "suffix", "block"),
        ("specific", ["cdn.example.com"], "suffix", "block"),
        ("exact", ["img.cdn.example.com"], "exact", "block"),
    )
    assert hit(index, "img.cdn.example.com") == ("exact", "img.cdn.example.com", False)
    assert hit(index, "x.img.cdn.example.com") == ("specific", "cdn.example.com", False)
    assert hit(index, "www.example.com") == ("general", "example.com", False)
    assert hit(index, "img.cdn.example.com", [0, 1]) == ("specific", "cdn.example.com", False)
    assert hit(index, "img.cdn.example.com", [0]) == ("general", "example.com", False)


def test_verdicts_follow_the_enabled_lists(tmp_path: Path) -> None:
    index, _ = index_of(
        tmp_path,
        ("adult", ["both.example", "adult.example"], "suffix", "block"),
        ("social", ["both.example", "social.example"], "exact", "block"),
        ("kids", ["both.example"], "suffix", "allow"),
    )
    assert hit(index, "social.example", []) is None
    assert hit(index, "social.example", [0]) is None
    assert hit(index, "social.example", [1]) == ("social", "social.example", False)
    assert hit(index, "both.example", [1]) == ("social", "both.example", False)
    assert hit(index, "both.example", [0, 1]) == ("adult", "both.example", False)
    assert hit(index, "www.both.example", [0, 1]) == ("adult", "both.example", False)
    assert hit(index, "www.both.example", [1]) is None  # social is exact
    assert hit(index, "both.example", [0, 1, 2]) == ("kids", "both.example", True)
    assert hit(index, "adult.example", [0, 1, 2]) == ("adult", "adult.example", False)
    verdicts = index.verdicts([1])
    assert all(b in (NO_LIST, 1) for b in verdicts.block_exact)
    assert all(b == NO_LIST for b in verdicts.block_suffix)


def test_combos_and_find(tmp_path: Path) -> None:
    index, _ = index_of(
        tmp_path,
        ("a", ["one.example", "ab.example", "abc.example", "dup.example", "dup.example"],
         "suffix", "block"),
        ("b", ["ab.example", "abc.example", "two.example"], "exact", "block"),
        ("c", ["abc.example"], "suffix", "allow"),
        ("empty", [], "suffix", "block"),
    )
    assert index.size == 5
    assert index.find("nothing.example") == -1
    assert index.find("www.one.example") == -1  # find is exact
    members = {name: index.combo_lists[index.find(name)]
               for name in ("one.example", "ab.example", "abc.example", "dup.example",
                            "two.example")}
    assert members == {"one.example": (0,), "ab.example": (0, 1), "abc.example": (0, 1, 2),
                       "dup.example": (0,), "two.example": (1,)}
    assert index.combo_lists[:4] == ((0,), (1,), (2,), (3,))
    assert index.combos.dtype.itemsize == 2
    assert index.memory_bytes() == 5 * 8 + 5 * 2
    assert [(x.entries, x.error) for x in index.lists] == [(5, None), (3, None), (1, None),
                                                           (0, None)]
    assert index.names_of(1) == "b"


def test_more_than_64_lists(tmp_path: Path) -> None:
    """Combo bitmasks span several 64-bit words."""
    lists: list[tuple[str, Iterable[str], Match, Role]] = []
    for i in range(150):
        names = [f"n{i}.example", "all.example"]
        names += ["even.example"] if i % 2 == 0 else []
        names += ["tail.example"] if i >= 120 else []
        names += ["pair.example"] if i in (3, 140) else []
        lists.append((f"l{i}", names, "suffix", "block"))
    index, _ = index_of(tmp_path, *lists)
    combo = {n: index.combo_lists[index.find(n)]
             for n in ("all.example", "even.example", "tail.example", "pair.example",
                       "n77.example")}
    assert combo == {"all.example": tuple(range(150)), "even.example": tuple(range(0, 150, 2)),
                     "tail.example": tuple(range(120, 150)), "pair.example": (3, 140),
                     "n77.example": (77,)}
    assert hit(index, "x.tail.example", range(100, 150)) == ("l120", "tail.example", False)


def test_unreadable_lists_are_recorded_and_the_rest_loads(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.txt.gz"
    packed = gzip.compress("".join(f"x{i}.example\n" for i in range(5000)).encode())
    damaged.write_bytes(packed[: len(packed) // 2])
    bad_block = bytearray(gzip.compress(b"y.example\n" * 1000))
    bad_block[10] = 0xFF
    (tmp_path / "badblock.gz").write_bytes(bytes(bad_block))
    good = tmp_path / "good.txt"
    good.write_text("good.example\n@@||exception.example^\n")
    specs = [
        ListSpec("missing", tmp_path / "nope.txt", "adult"),
        ListSpec("damaged", damaged, "adult"),
        ListSpec("badblock", tmp_path / "badblock.gz", "adult"),
        ListSpec("good", good, "adult"),
    ]
    index = build_index(specs, embedded_psl())
    missing, broken, bad, ok = index.lists
    assert missing.error and "nope.txt" in missing.error and missing.entries == 0
    assert broken.error and "damaged" in broken.error
    assert bad.error and "damaged" in bad.error
    assert ok.error is None and ok.entries == 1 and ok.allow_entries == 0
    assert ok.skipped == {"exception (@@) rule in a block list": 1}
    assert index.size == 1
    assert hit(index, "www.good.example") == ("good", "good.example", False)
    assert hit(index, "exception.example") is None


def test_no_lists_at_all() -> None:
    index = build_index([], embedded_psl())
    assert index.size == 0 and index.combo_lists == ()
    assert index.lookup("example.com", index.verdicts([])) is None
    assert index.find("example.com") == -1


# ------------------------------------------------------------------ against a model


UNIVERSE = ["com", "example.com", "www.example.com", "a.www.example.com", "co.uk",
            "example.co.uk", "x.example.co.uk", "bologna.it", "x.bologna.it",
            "comune.x.bologna.it", "amplifyapp.com", "app.amplifyapp.com",
            "b.app.amplifyapp.com", "q.org", "deep.q.org"]
LIST = st.tuples(st.sets(st.sampled_from(UNIVERSE), max_size=6),
                 st.sampled_from(["exact", "suffix"]), st.sampled_from(["block", "allow"]))


def model_lookup(lists: Sequence[tuple[set[str], str, str]], enabled: set[int],
                 psl: PublicSuffixList, name: str) -> Hit | None:
    """The documented semantics over plain sets: walk from the name to its registrable
    domain; the first enabled allow list wins at once, else the most specific block; at
    each level the lowest list id decides; exact lists match only the name itself."""
    labels = name.split(".")
    stop = psl.registrable_labels(name)
    levels = len(labels) - stop + 1 if stop else 1
    block: Hit | None = None
    for i in range(levels):
        candidate = ".".join(labels[i:])
        matching = [lid for lid, (names, match, _) in enumerate(lists)
                    if lid in enabled and candidate in names and (i == 0 or match == "suffix")]
        allows = [lid for lid in matching if lists[lid][2] == "allow"]
        if allows:
            return Hit(allows[0], candidate, True)
        blocks = [lid for lid in matching if lists[lid][2] == "block"]
        if blocks and block is None:
            block = Hit(blocks[0], candidate, False)
    return block


@given(lists=st.lists(LIST, min_size=1, max_size=6), data=st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_lookup_matches_the_model(tmp_path_factory: pytest.TempPathFactory,
                                  lists: list[tuple[set[str], str, str]],
                                  data: st.DataObject) -> None:
    directory = tmp_path_factory.mktemp("lists")
    specs = make_specs(directory, [(f"l{i}", sorted(names), cast(Match, match),
                                    cast(Role, role))
                                   for i, (names, match, role) in enumerate(lists)])
    index = build_index(specs, embedded_psl())
    psl = embedded_psl()
    for _ in range(3):
        enabled = data.draw(st.sets(st.integers(0, len(lists) - 1)))
        verdicts = index.verdicts(enabled)
        for name in [*UNIVERSE, "z.a.www.example.com", "nothing.example"]:
            assert index.lookup(name, verdicts) == model_lookup(lists, enabled, psl, name), name
            assert index.lookup(name, verdicts, suffixes(name)) == index.lookup(name, verdicts)
    for name in UNIVERSE:
        expected = tuple(lid for lid, (names, _, _) in enumerate(lists) if name in names)
        combo = index.find(name)
        assert (index.combo_lists[combo] if combo >= 0 else ()) == expected


# ------------------------------------------------------------------ the real shared lists


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[DomainIndex, list[ListSpec]]]:
    if not (SHARED_LISTS / "manifest.tsv").exists():
        pytest.skip(f"shared blocklists not found at {SHARED_LISTS}")
    specs = manifest_specs(SHARED_LISTS)
    yield build_index(specs, embedded_psl()), specs


def _lists_of(specs: list[ListSpec], *, category: str | None = None,
              role: str = "block") -> list[int]:
    return [i for i, s in enumerate(specs)
            if s.role == role and (category is None or s.category == category)]


def test_shared_lists_load_completely(shared: tuple[DomainIndex, list[ListSpec]]) -> None:
    index, specs = shared
    with open(SHARED_LISTS / "manifest.tsv", newline="", encoding="utf-8") as fh:
        counts = {row["file"].removesuffix(".txt.gz"): int(row["entries"])
                  for row in csv.DictReader(fh, delimiter="\t")}
    for loaded in index.lists:
        assert loaded.error is None, loaded.spec.key
        assert not loaded.skipped, (loaded.spec.key, loaded.skipped)
        assert loaded.entries == counts[loaded.spec.key], loaded.spec.key
    assert index.size > 800_000
    assert index.memory_bytes() <= 10 * index.size


def test_shared_public_suffix_hazards(shared: tuple[DomainIndex, list[ListSpec]]) -> None:
    """README "Caveats": suffix entries that are public suffixes must block only
    themselves, with every list enabled."""
    index, specs = shared

    def decide(name: str) -> tuple[str, str] | None:
        found = index.lookup(name, index.verdicts(range(len(specs))))
        if found is None or found.allow:
            return None
        return specs[found.list_id].category, found.entry

    assert decide("bologna.it") == ("adult", "bologna.it")
    assert decide("amplifyapp.com") is not None
    for name in ("x.bologna.it", "www.comune.bologna.it", "foo.amplifyapp.com",
                 "main.d2k3.amplifyapp.com", "shop.tochigi.jp", "x.sex.pl", "x.sex.hu",
                 "nas.mysynology.net", "x.myjino.ru", "me.servebeer.com", "x.kicks-ass.net",
                 "x.redirectme.net", "casino.bet.br"):
        assert decide(name) is None, name


def test_shared_categories(shared: tuple[DomainIndex, list[ListSpec]]) -> None:
    index, specs = shared
    adult = index.verdicts(_lists_of(specs, category="adult"))
    for name in ("pornhub.com", "www.pornhub.com", "de.pornhub.com", "x.y.pornhub.com"):
        found = index.lookup(name, adult)
        assert found is not None and specs[found.list_id].category == "adult", name
    assert index.lookup("google.com", index.verdicts(range(len(specs)))) is None
    assert index.lookup("facebook.com", adult) is None
    social = index.verdicts(_lists_of(specs, category="social"))
    found = index.lookup("www.facebook.com", social)
    assert found is not None and specs[found.list_id].category == "social"


def test_shared_allow_list_beats_block_lists(shared: tuple[DomainIndex, list[ListSpec]],
                                             ) -> None:
    """ut1/child-allowed exempts children's sites that ut1/games blocks."""
    index, specs = shared
    allow_ids = _lists_of(specs, role="allow")
    assert [specs[i].key for i in allow_ids] == ["ut1/child-allowed"]
    blocks = index.verdicts(_lists_of(specs))
    both = index.verdicts(range(len(specs)))
    for name in ("pbskids.org", "www.pbskids.org", "diep.io"):
        blocked = index.lookup(name, blocks)
        assert blocked is not None and specs[blocked.list_id].key == "ut1/games", name
        allowed = index.lookup(name, both)
        assert allowed is not None and allowed.allow, name


def test_verdicts_know_whether_any_allow_list_is_enabled(tmp_path: Path) -> None:
    index, _ = index_of(
        tmp_path,
        ("block", ["ads.example.com", "example.net"], "suffix", "block"),
        ("allow", ["good.example.net"], "exact", "allow"),
    )
    assert not index.verdicts([0]).any_allow
    assert index.verdicts([0, 1]).any_allow
    assert index.verdicts([0]) == index.verdicts([0])
    # Without allow lists the walk may stop at the first block; the answer is the same.
    assert hit(index, "x.ads.example.com", [0]) == ("block", "ads.example.com", False)
    assert hit(index, "good.example.net", [0]) == ("block", "example.net", False)
    assert hit(index, "good.example.net", [0, 1]) == ("allow", "good.example.net", True)


@pytest.mark.parametrize("size", [0, 1, 7, 5_000, 300_000])
def test_bucketed_probe_finds_what_a_binary_search_finds(size: int) -> None:
    rng = np.random.default_rng(size)
    extremes = np.array([-(2**63), 2**63 - 1, -1, 0], dtype=np.int64)[: min(size, 4)]
    values = np.concatenate([extremes, rng.integers(-(2**63), 2**63 - 1, size=size,
                                                    dtype=np.int64, endpoint=True)])
    hashes = np.unique(values)[:size] if size else np.zeros(0, dtype=np.int64)
    combos = (np.arange(hashes.shape[0]) % 7).astype(np.uint16)
    index = DomainIndex(hashes, combos, (), (), embedded_psl())
    probes = [int(h) for h in hashes[:: max(1, size // 2000)]]
    probes += [int(h) + 1 for h in hashes[:50]] + [int(h) - 1 for h in hashes[-50:]]
    probes += [int(x) for x in rng.integers(-(2**63), 2**63 - 1, size=2000, dtype=np.int64)]
    probes += [-(2**63), 2**63 - 1, 0]
    for h in probes:
        if not -(2**63) <= h < 2**63:
            continue
        i = int(np.searchsorted(hashes, h))
        expected = int(combos[i]) if i < hashes.shape[0] and hashes[i] == h else -1
        assert index._combo_of(h) == expected, h
