"""Everyday English: threats, violent descriptions and harassment aimed at a person; the
calibrated scores and the any-harm score; model-only insults as info below the alert line."""

from __future__ import annotations

import pytest

from safegate.safety import classify, classify_many
from safegate.safety.engine import MODEL_ALONE_WARNING, Engine, calibrate

THREATS = [
    "if you come near my sister again i will put you in the hospital",
    "next time i see him i'm breaking both his legs",
    "i hope someone shoots you on your way home",
    "you better sleep with one eye open",
    "we'll wait for you at the gate and make you regret it",
]
HARASSMENT = [
    "you're so pathetic it's actually sad",
    "nobody wants you here, just leave the group already",
    "why are you even alive, nobody likes you",
    "your face makes me want to throw up",
]
ORDINARY = [
    "i'm going to kill this exam tomorrow",
    "the boxing match last night was intense",
    "my mom is going to kill me for coming home late haha",
    "he punched the bag over and over at the gym",
    "you're crazy, that was the best idea ever",
    "the movie showed him beaten to death, so sad",
]


@pytest.mark.parametrize("text", THREATS)
def test_everyday_threats_are_urgent_violence(text: str) -> None:
    r = classify(text)
    assert "violence" in r.labels and r.levels["violence"] == "urgent", text
    assert any(s.source == "rule:violence_threat_en" for s in r.spans)


def test_a_violent_description_is_violence() -> None:
    r = classify("they dragged him out of the car and beat him with a bat")
    assert "violence" in r.labels
    assert any(s.source == "rule:violence_graphic_en" for s in r.spans)


@pytest.mark.parametrize("text", HARASSMENT)
def test_harassment_aimed_at_a_person_is_bullying(text: str) -> None:
    r = classify(text)
    assert "bullying" in r.labels and r.levels["bullying"] == "warning", text


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_english_is_not_flagged(text: str) -> None:
    r = classify(text)
    assert r.severity in ("none", "info"), (text, r.labels)


def test_calibrate_puts_every_threshold_at_one_half() -> None:
    assert calibrate(0.0, 0.4) == 0.0 and calibrate(1.0, 0.4) == 1.0
    assert calibrate(0.4, 0.4) == calibrate(0.75, 0.75) == 0.5
    assert calibrate(0.2, 0.4) == pytest.approx(0.25)
    assert calibrate(0.7, 0.4) == pytest.approx(0.75)
    xs = [i / 20 for i in range(21)]
    assert [calibrate(x, 0.69) for x in xs] == sorted(calibrate(x, 0.69) for x in xs)


def test_any_harm_is_the_largest_calibrated_score_and_labels_sit_above_one_half() -> None:
    texts = ["tao sẽ giết mày", "hôm nay trời đẹp", "you're so pathetic it's actually sad",
             "nobody would miss me if i was gone tomorrow"]
    for r in classify_many(texts):
        assert set(r.calibrated) == set(r.scores)
        assert r.any_harm == max(r.calibrated.values())
        for c in r.labels:
            assert r.calibrated[c] >= 0.5, (c, r.calibrated)
        for c, v in r.calibrated.items():
            if c not in r.labels and c != "grooming":  # grooming: a rule must fire
                assert v < 0.5 or c == "pii_disclosure", (c, v)
    harmful, clean = classify_many(texts[:2])
    assert harmful.any_harm > 0.5 > clean.any_harm


def test_a_model_only_insult_near_its_threshold_is_info_not_an_alert() -> None:
    engine = Engine(use_pii=False)
    # a rule-free Vietnamese comment the model calls an insult just past its threshold
    texts = ["Mặt nó lại ngáo 🤣", "Trẻ trâu đó =)))", "Tào lao là giỏi", "Động não:))🙂"]
    seen_info = False
    for r in engine.classify_many(texts):
        if "bullying" in r.labels and not any(s.source.startswith("rule:") for s in r.spans
                                               if s.category == "bullying"):
            want = "warning" if r.calibrated["bullying"] >= MODEL_ALONE_WARNING else "info"
            assert r.levels["bullying"] == want
            seen_info |= want == "info"
    assert seen_info, "expected one of these near-threshold comments to be labelled info"
