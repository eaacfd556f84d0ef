"""The hand-written seed files: well-formed, and no held-out text among the training seeds."""

from __future__ import annotations

import unicodedata
from importlib import resources

import pytest

from safegate.safety.types import CATEGORIES

SEEDS = resources.files("safegate.safety") / "seeds"
HELD_OUT = ("heldout.tsv", "heldout_urgent.tsv", "heldout_urgent_3.tsv", "heldout_urgent_4.tsv",
            "heldout_other_5.tsv")


def _rows(name: str) -> list[tuple[str, str, str]]:
    rows = []
    for number, line in enumerate((SEEDS / name).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        assert len(fields) == 3, f"{name}:{number}: want labels<TAB>lang<TAB>text"
        rows.append((fields[0], fields[1], fields[2]))
    return rows


def _key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).lower().split()).strip(" .!?")


@pytest.mark.parametrize("name", ["train.tsv", *HELD_OUT])
def test_seed_files_are_well_formed(name: str) -> None:
    rows = _rows(name)
    assert len(rows) >= 100
    for labels, lang, text in rows:
        assert lang in ("vi", "en"), (name, text)
        assert text.strip(), name
        if labels != "none":
            assert set(labels.split(",")) <= set(CATEGORIES), (name, labels)


def test_no_held_out_text_is_a_training_seed() -> None:
    train = {_key(text) for _, _, text in _rows("train.tsv")}
    for name in HELD_OUT:
        shared = sorted(_key(text) for _, _, text in _rows(name) if _key(text) in train)
        assert not shared, f"{name} texts also in train.tsv: {shared[:5]}"


def test_held_out_sets_do_not_share_texts() -> None:
    seen: dict[str, str] = {}
    for name in HELD_OUT:
        for _, _, text in _rows(name):
            assert seen.setdefault(_key(text), name) == name, (name, text)


@pytest.mark.parametrize("name", ["conversations_heldout.jsonl", "conversations_heldout_2.jsonl",
                                  "conversations_heldout_3.jsonl"])
def test_held_out_conversations_are_well_formed(name: str) -> None:
    import json

    lines = [x for x in (SEEDS / name).read_text(encoding="utf-8").splitlines() if x]
    assert len(lines) >= 10
    for line in lines:
        chat = json.loads(line)
        assert set(chat) == {"label", "lang", "messages"}
        assert chat["label"] in ("grooming", "benign", "none") and chat["lang"] in ("vi", "en")
        assert all(len(m) == 2 and all(isinstance(x, str) and x for x in m)
                   for m in chat["messages"])
