"""The child notice's words: every band and language has every sentence, the band follows the
age, the facts fill the words (an alert count, never content), bad input is one line."""

from __future__ import annotations

import pytest

from safegate.privacy.child_notice import BANDS, ChildFacts, band_for, compose, notice_texts

FACTS = ChildFacts(name="An", age=12, devices=("Laptop",), log_level="full", log_days=30,
                   alerts=3, alert_days=90, consents=(("alerts", "child", "2026-12"),),
                   requests=(("erase", "fulfilled", "2026-11-30"),))


def test_every_band_and_language_has_the_same_sentences() -> None:
    for words in notice_texts().values():
        keys = {frozenset(words[lang][band]) for lang in ("vi", "en") for band in BANDS}
        assert len(keys) == 1


@pytest.mark.parametrize(("age", "band"), [(6, "7-10"), (7, "7-10"), (10, "7-10"),
                                           (11, "11-13"), (13, "11-13"), (14, "14-17"),
                                           (17, "14-17"), (None, "11-13")])
def test_the_band_follows_the_age(age: int | None, band: str) -> None:
    assert band_for(age) == band


def test_the_facts_fill_the_words() -> None:
    notice = compose(FACTS, "en")
    assert notice["band"] == "11-13" and not notice["below_seven"]
    text = {s["id"]: s for s in notice["sections"]}
    assert "Laptop" in text["devices"]["text"] and "30 days" in text["log"]["text"]
    assert "3 alerts" in text["alerts"]["text"] and "90 days" in text["alerts"]["text"]
    assert text["consents"]["items"][0].endswith("(you; 2026-12)")
    assert text["requests"]["items"] == ["delete the information (done, 2026-11-30)"]
    off = compose(ChildFacts("Bé", 6, (), "off", 0, 0, 90), "vi")
    assert off["below_seven"] and off["band"] == "7-10"
    assert {s["id"]: s["text"] for s in off["sections"]}["log"].startswith("SafeGate không")


@pytest.mark.parametrize("bad", [{"language": "fr"}, {"band": "18+"}, {"version": "1999"}])
def test_bad_input_is_one_line(bad: dict[str, str]) -> None:
    args = {"language": "vi", **bad}
    with pytest.raises(ValueError, match=r"^(language|band|version): "):
        compose(FACTS, **args)
