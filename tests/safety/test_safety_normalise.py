"""Normalisation: teencode, homoglyphs, leetspeak, spacing tricks, diacritics, offsets."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safegate.safety.normalise import (
    deaccent,
    has_diacritics,
    normalise,
    normalise_known,
    normalise_pair,
)


@pytest.mark.parametrize(("raw", "text"), [
    ("ko biết", "không biết"),
    ("k đc đâu", "không được đâu"),
    ("kh dc", "không được"),
    ("mk ko bít j", "mình không biết gì"),
    ("ae ơi", "anh em ơi"),
    ("đẹpppp quá", "đẹp quá"),
    ("soooo cute", "so cute"),
    ("Đ.ị.t", "địt"),
    ("s e x", "sex"),
    ("s-e-x chat", "sex chat"),
    ("đ ị t", "địt"),
    ("ѕ3х", "sex"),  # Cyrillic s and x, leet 3
    ("Ηοt", "hot"),  # Greek eta and omicron
    ("ｆｕｃｋ", "fuck"),  # full-width
    ("n\u200bg\u200bu", "ngu"),  # zero-width joiners
    ("d1t m4y", "dit may"),
    ("b4 8am", "b4 8am"),  # one letter, one digit: not leetspeak
    ("u r so cute", "you are so cute"),
])
def test_normalised_text(raw: str, text: str) -> None:
    assert normalise(raw).text == text
    assert normalise_pair(raw)[0] == text


@pytest.mark.parametrize("raw", [
    "lớp 7A1, 0912345678", "Giá 1.000.000đ", "email a@b.com", "có 5k không", "10a1",
    "a bit of fun", "@minh123",
])
def test_numbers_and_addresses_are_left_alone(raw: str) -> None:
    n = normalise(raw)
    assert re.sub(r"\d", "", n.text) == re.sub(r"\d", "", raw.lower()).replace("k không",
                                                                                 "k không")
    assert [c for c in n.text if c.isdigit()] == [c for c in raw if c.isdigit()]


def test_diacritics_removed_same_length() -> None:
    assert deaccent("Đường Nguyễn Huệ, quận 1") == "Duong Nguyen Hue, quan 1"
    n = normalise("Tiếng Việt có dấu")
    assert n.plain == "tieng viet co dau"
    assert len(n.plain) == len(n.text)
    assert n.diacritics
    assert not has_diacritics("tieng viet khong dau")


def test_decomposed_input_is_composed_with_offsets() -> None:
    raw = "Vie\u0302\u0323t Nam"  # NFD "Việt"
    n = normalise(raw)
    assert n.text == "việt nam"
    i = n.text.index("nam")
    a, b = n.span(i, i + 3)
    assert raw[a:b] == "Nam"
    a, b = n.span(0, 4)
    assert raw[a:b] == raw[:6]


def test_offsets_map_back_through_every_step() -> None:
    raw = "Ê mày, Đ.ị.t mẹ, ko đc đâuuuu"
    n = normalise(raw)
    for word, orig in (("địt", "Đ.ị.t"), ("không", "ko"), ("được", "đc"), ("đâu", "đâuuuu"),
                       ("mẹ", "mẹ")):
        i = n.text.index(word)
        a, b = n.span(i, i + len(word))
        assert raw[a:b] == orig


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aăâđeêioôơuưyáàảãạếềểễệ .-_0134@kdcvjKDC\u200bоѕ")),
               max_size=40))
def test_fast_and_explaining_paths_agree(raw: str) -> None:
    n = normalise(raw)
    assert normalise_pair(raw) == (n.text, n.plain)
    assert len(n.starts) == len(n.ends) == len(n.text)
    for a, b in zip(n.starts, n.ends, strict=True):
        assert 0 <= a <= b <= len(raw)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aăâđeêioôơuưyáàảãạếềểễệ .-_0134@kdcvjKDCẾĐ\u200bоѕ")),
               max_size=40))
def test_case_only_change_means_identity_offsets(raw: str) -> None:
    # The engine's shortcut: when normalising only lowered the case, offsets are unchanged.
    text, _ = normalise_pair(raw)
    if len(text) == len(raw) and text in (raw, raw.lower()):
        n = normalise(raw)
        assert list(n.starts) == list(range(len(raw)))
        assert list(n.ends) == list(range(1, len(raw) + 1))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aăâđeêioôơuưyáàảãạếềểễệ .-_0134@kdcvjKDCẾĐ\u200bоѕ")),
               max_size=40))
def test_known_fast_form_gives_the_same_map(raw: str) -> None:
    assert normalise_known(raw, normalise_pair(raw)[0]) == normalise(raw)
