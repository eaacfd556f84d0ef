"""safegate.safety.nearcopy: which pairs of texts count as near-copies."""

from __future__ import annotations

from safegate.safety.nearcopy import grams, jaccard, key, near_copies


def test_key_drops_case_accents_punctuation_and_extra_spaces() -> None:
    assert key("  Đừng NÓI với   bố mẹ, nhé!! ") == "dung noi voi bo me nhe"


def test_a_reworded_copy_is_found_and_a_different_sentence_is_not() -> None:
    evaluation = ["Em không muốn sống nữa, mệt lắm rồi", "mai đi đá bóng ở sân trường nhé"]
    seeds = ["em khong muon song nua, met moi lam roi!",  # accents and one word
             "đừng nói với bố mẹ, xoá tin nhắn đi",  # same topic as nothing above
             "em không muốn đi học hôm nay"]  # shares a stock opening only
    found = near_copies(seeds, evaluation)
    assert [(f.text, f.other) for f in found] == [(seeds[0], evaluation[0])]
    assert 0.5 <= found[0].similarity < 1.0


def test_short_stock_phrases_are_not_compared() -> None:
    assert near_copies(["dạ vâng"], ["dạ vâng"]) == []
    assert jaccard(grams("dạ vâng"), grams("Dạ, vâng!")) == 1.0
