"""The hand-written seed files: well-formed, and no evaluation text (nor a near-copy of one)
among the training seeds."""

from __future__ import annotations

import json
import unicodedata
from importlib import resources

import pytest

from safegate.safety.nearcopy import THRESHOLD, near_copies
from safegate.safety.types import CATEGORIES

SEEDS = resources.files("safegate.safety") / "seeds"
# Every evaluation set: development sets (dev_*, they guided choices) and held-out ones.
HELD_OUT = tuple(sorted(p.name for p in SEEDS.iterdir()
                        if p.name.endswith(".tsv") and p.name.startswith(("dev_", "heldout_"))))
CHATS = tuple(sorted(p.name for p in SEEDS.iterdir()
                     if p.name.endswith(".jsonl") and p.name.startswith(("dev_", "heldout_"))))


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


def test_the_evaluation_sets_are_found() -> None:
    assert len(HELD_OUT) >= 5 and len(CHATS) >= 3
    assert "train.tsv" not in HELD_OUT


def _chat_texts(name: str) -> list[str]:
    lines = [x for x in (SEEDS / name).read_text(encoding="utf-8").splitlines() if x]
    return [m[1] for line in lines for m in json.loads(line)["messages"]]


def test_no_training_seed_is_a_near_copy_of_an_evaluation_line() -> None:
    evaluation = [text for name in HELD_OUT for _, _, text in _rows(name)]
    evaluation += [text for name in CHATS for text in _chat_texts(name)]
    found = near_copies([text for _, _, text in _rows("train.tsv")], evaluation)
    assert not found, (f"{len(found)} training seeds are near-copies (4-gram Jaccard >= "
                       f"{THRESHOLD}) of evaluation lines, e.g. {found[:3]}")


@pytest.mark.parametrize("name", CHATS)
def test_held_out_conversations_are_well_formed(name: str) -> None:
    lines = [x for x in (SEEDS / name).read_text(encoding="utf-8").splitlines() if x]
    assert len(lines) >= 10
    for line in lines:
        chat = json.loads(line)
        assert set(chat) == {"label", "lang", "messages"}
        assert chat["label"] in ("grooming", "benign", "none") and chat["lang"] in ("vi", "en")
        assert all(len(m) == 2 and all(isinstance(x, str) and x for x in m)
                   for m in chat["messages"])
