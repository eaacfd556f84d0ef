"""The category taxonomy, the list -> category mapping and the generated docs/categories.md."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from types import ModuleType

import pytest

from safegate.lists import taxonomy
from safegate.lists.taxonomy import (
    Category,
    ListMapping,
    categories,
    category,
    category_bit,
    category_ids,
    category_mask,
    default_blocked_ids,
    list_mapping,
    list_mappings,
    parse_categories,
    parse_list_mappings,
)
from tests.helpers import REPO, load_script

SHARED_MANIFEST = REPO.parent / "shared" / "data" / "blocklists" / "manifest.tsv"
PACKAGE_MANIFEST = REPO / "src" / "safegate" / "lists" / "data" / "blocklists" / "manifest.tsv"

# Bit numbers are stored in compiled indexes and policies: they may only ever be appended to.
EXPECTED_BITS = {
    "adult": 0, "sex_education": 1, "gambling": 2, "drugs": 3, "violence": 4, "weapons": 5,
    "self_harm": 6, "hate": 7, "scam": 8, "malware": 9, "dating": 10, "social": 11, "chat": 12,
    "games": 13, "video": 14, "piracy": 15, "bypass": 16, "shortener": 17, "cults": 18,
    "hacking": 19, "custom": 20,
}
VIETNAMESE_LETTERS = set("ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")


def _manifest_keys(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [row["file"].removesuffix(".txt.gz") for row in csv.DictReader(fh, delimiter="\t")]


# --- categories ----------------------------------------------------------------------------------


def test_category_ids_are_exactly_the_taxonomy_in_display_order() -> None:
    assert category_ids() == tuple(EXPECTED_BITS)


def test_bits_are_stable_and_fit_in_64() -> None:
    for cid, bit in EXPECTED_BITS.items():
        assert category_bit(cid) == bit
    assert len(categories()) <= 64


def test_categories_are_cached_and_frozen() -> None:
    assert categories() is categories()
    adult = category("adult")
    assert isinstance(adult, Category)
    with pytest.raises(AttributeError):
        adult.id = "x"


@pytest.mark.parametrize("cat", categories(), ids=lambda c: c.id)
def test_every_category_is_complete_and_bilingual(cat: Category) -> None:
    for field in ("name_vi", "name_en", "description_vi", "description_en", "icon"):
        value = getattr(cat, field)
        assert value.strip() == value and value, f"{cat.id}.{field}"
    assert re.fullmatch(r"#[0-9a-f]{6}", cat.colour)
    assert set(cat.description_vi.lower()) & VIETNAMESE_LETTERS, f"{cat.id}: no diacritics"
    assert "\n" not in cat.description_vi and "\n" not in cat.description_en
    assert cat.description_vi != cat.description_en


def test_colours_are_distinct() -> None:
    colours = [c.colour for c in categories()]
    assert len(set(colours)) == len(colours)


def test_defaults_for_a_young_child() -> None:
    assert category("sex_education").default_blocked is False
    for cid in ("adult", "gambling", "drugs", "violence", "weapons", "self_harm", "hate",
                "scam", "malware", "bypass"):
        assert category(cid).default_blocked is True, cid
    assert "sex_education" not in default_blocked_ids()
    assert "adult" in default_blocked_ids()


def test_categories_without_open_sources_say_so() -> None:
    for cid in ("weapons", "self_harm", "hate"):
        note = category(cid).sources_note
        assert note is not None
        assert "content-safety engine" in note and "operators" in note
    assert category("adult").sources_note is None


def test_unknown_category_names_the_id_and_the_valid_ones() -> None:
    with pytest.raises(ValueError) as err:
        category("porn")
    message = str(err.value)
    assert "'porn'" in message and "adult" in message and "custom" in message
    with pytest.raises(ValueError):
        category_bit("nope")


def test_category_mask() -> None:
    assert category_mask([]) == 0
    assert category_mask(["adult", "gambling"]) == 0b101
    assert category_mask(["custom"]) == 1 << 20
    with pytest.raises(ValueError):
        category_mask(["adult", "nope"])


# --- parsing errors ------------------------------------------------------------------------------

_ONE = """
[[category]]
id = "{id}"
name_vi = "Tên"
name_en = "Name"
description_vi = "Mô tả"
description_en = "Description"
icon = "x"
colour = "{colour}"
default_blocked = true
"""


def test_parse_rejects_duplicates_bad_colours_and_too_many() -> None:
    assert parse_categories(_ONE.format(id="a", colour="#000000"))[0].sources_note is None
    with pytest.raises(ValueError, match="duplicate"):
        parse_categories(_ONE.format(id="a", colour="#000000") * 2)
    with pytest.raises(ValueError, match="colour"):
        parse_categories(_ONE.format(id="a", colour="red"))
    with pytest.raises(ValueError, match="snake_case"):
        parse_categories(_ONE.format(id="Bad-Id", colour="#000000"))
    many = "".join(_ONE.format(id=f"c{i}", colour="#000000") for i in range(65))
    with pytest.raises(ValueError, match="64"):
        parse_categories(many)


def test_parse_rejects_missing_fields_and_unknown_fields() -> None:
    text = _ONE.format(id="a", colour="#000000")
    with pytest.raises(ValueError, match="default_blocked"):
        parse_categories(text.replace("default_blocked = true", ""))
    with pytest.raises(ValueError, match="unknown field"):
        parse_categories(text + 'extra = "x"\n')
    with pytest.raises(ValueError, match="name_vi"):
        parse_categories(text.replace('name_vi = "Tên"', 'name_vi = ""'))


def test_parse_list_mappings_validates() -> None:
    ok = '[lists."src/name"]\ncategory = "a"\nrole = "block"\n'
    assert parse_list_mappings(ok, ["a"]) == (ListMapping("src/name", "a", "block"),)
    with pytest.raises(ValueError, match="unknown category"):
        parse_list_mappings(ok, ["b"])
    with pytest.raises(ValueError, match="role"):
        parse_list_mappings(ok.replace("block", "deny"), ["a"])
    with pytest.raises(ValueError, match="source"):
        parse_list_mappings(ok.replace("src/name", "noslash"), ["a"])


# --- list mappings -------------------------------------------------------------------------------


def test_mappings_use_known_categories_and_roles() -> None:
    keys = [m.key for m in list_mappings()]
    assert len(keys) == len(set(keys))
    for m in list_mappings():
        category(m.category)
        assert m.role in ("block", "allow")


@pytest.mark.parametrize(
    ("key", "cid", "role"),
    [
        ("hostsvn/adult", "adult", "block"),
        ("hostsvn/threat", "scam", "block"),
        ("blocklistproject/phishing", "scam", "block"),
        ("blocklistproject/ransomware", "malware", "block"),
        ("ut1/stalkerware", "malware", "block"),
        ("blocklistproject/vaping", "drugs", "block"),
        ("ut1/lingerie", "adult", "block"),
        ("ut1/adult-mixed", "adult", "block"),
        ("blocklistproject/torrent", "piracy", "block"),
        ("ut1/redirector", "bypass", "block"),
        ("ut1/shortener", "shortener", "block"),
        ("hagezi/nosafesearch", "bypass", "block"),
        ("dibdot/doh-active", "bypass", "block"),
        ("ut1/sect", "cults", "block"),
        ("ut1/dangerous-material", "weapons", "block"),
        ("sinfonietta/gore", "violence", "block"),
        ("blocklistproject/tiktok", "social", "block"),
        ("blocklistproject/whatsapp", "chat", "block"),
        ("blocklistproject/youtube", "video", "block"),
        ("blocklistproject/fortnite", "games", "block"),
        ("ut1/sexual-education", "sex_education", "block"),
        ("ut1/child-allowed", "custom", "allow"),
    ],
)
def test_mapping_choices(key: str, cid: str, role: str) -> None:
    assert list_mapping(key) == ListMapping(key, cid, role)


def test_list_mapping_accepts_the_manifest_file_name() -> None:
    assert list_mapping("hostsvn/adult.txt.gz") == list_mapping("hostsvn/adult")


def test_unknown_list_is_a_clear_key_error() -> None:
    with pytest.raises(KeyError) as err:
        list_mapping("nowhere/thing")
    message = str(err.value)
    assert "nowhere/thing" in message and "list_categories.toml" in message


def test_every_shipped_list_is_mapped() -> None:
    keys = _manifest_keys(PACKAGE_MANIFEST)
    assert keys
    for key in keys:
        list_mapping(key)


def test_shared_manifest_and_mapping_agree() -> None:
    if not SHARED_MANIFEST.exists():
        pytest.skip(f"shared blocklist manifest not found at {SHARED_MANIFEST}")
    manifest = _manifest_keys(SHARED_MANIFEST)
    mapped = {m.key for m in list_mappings()}
    assert sorted(set(manifest) - mapped) == [], "manifest rows without a category mapping"
    assert sorted(mapped - set(manifest)) == [], "mappings for lists not in the manifest"
    assert len(manifest) == len(set(manifest)) == len(mapped)


# --- generated doc -------------------------------------------------------------------------------


def load_generator() -> ModuleType:
    return load_script("gen_categories_doc")


def test_categories_doc_is_up_to_date() -> None:
    if not SHARED_MANIFEST.exists():
        pytest.skip(f"entry counts need the shared manifest at {SHARED_MANIFEST}")
    gen = load_generator()
    doc = REPO / "docs" / "categories.md"
    assert doc.exists(), "run: python scripts/gen_categories_doc.py"
    expected = gen.build(SHARED_MANIFEST)[gen.CATEGORIES_DOC]
    assert doc.read_text(encoding="utf-8") == expected, (
        "docs/categories.md is stale: run python scripts/gen_categories_doc.py"
    )


def test_categories_doc_content() -> None:
    gen = load_generator()
    text = gen.render_categories(
        {"hostsvn/adult": {"entries": "1234"}}, {"hostsvn/adult"}, None
    )
    assert "## How many of the top 100k names each category blocks" in text
    assert text.rstrip().endswith("Measured by `bench/lists`; not yet filled in.")
    assert "`hostsvn/adult` (1,234)" in text
    assert "`ut1/games`†" in text
    for cat in categories():
        assert f"`{cat.id}`" in text and cat.name_vi in text and cat.name_en in text
    # The measured section belongs to the benchmark: regenerating keeps what it wrote.
    filled = text.replace("Measured by `bench/lists`; not yet filled in.", "| adult | 1.2% |")
    again = gen.render_categories({"hostsvn/adult": {"entries": "1234"}}, {"hostsvn/adult"}, filled)
    assert again == filled


def test_module_exports_exist() -> None:
    for name in taxonomy.__all__:
        assert hasattr(taxonomy, name)
