"""Grooming in one message: secrecy, platform moves, gifts and top-ups, meetings, age, photos.

Two signals in one message (or secrecy about the contact itself) label ``grooming`` as
urgent, in Vietnamese with and without diacritics, in teen spelling and in English; a parent,
a teacher or friends saying ordinary things with the same words get no ``grooming`` label.
"""

from __future__ import annotations

import pytest

from safegate.safety import classify
from safegate.safety.normalise import deaccent

GROOMING = [
    "delete this chat so your mom won't see it and let's move to telegram",  # secrecy + move
    "delete our chat after you read this, your mom doesn't need to see it",
    "let's talk on telegram instead, nobody reads it there",                 # move, for privacy
    "don't tell your parents i'm sending you money for skins",               # secret contact
    "ur parents dont have to know we talk",
    "i'll get you the battle pass, just add me on snap",                     # gift + channel
    "can we meet somewhere, just the two of us? don't bring anyone",         # meet + secrecy
    "are you home alone right now? i could come by",                         # home alone + meet
    "download whatsapp so we can talk privately",
    "i'll pay for your phone credit if you send a selfie",                   # gift + photo
    "let's move this to another app where it's safer",
    "xóa tin nhắn đi em, đừng để mẹ đọc được",
    "xoa het tin nhan di nha e, dung cho bo me biet",
    "a nạp kim cương cho e nha, kb zalo a đi",                               # top-up + channel
    "chú tặng cháu skin mới nhé, nhớ giữ bí mật",                            # gift + secrecy
    "chuyen qua app khac noi chuyen di e, o day bo me e doc dc",             # move, parents read
    "e bn tuoi r, co ny chua",                                               # age + romance
    "dung noi voi ai la a cho e tien nha",
    "a mua cho e dien thoai moi, chi can e ra gap a",                        # gift + meet
    "em gửi anh tấm ảnh em mặc váy ngủ đi",                                  # sexual photo
    "e đừng kể cho bố mẹ chuyện mình nhắn tin nha",
]

LOOKALIKES = [
    "send me a photo of your homework so i can check it",
    "mom here, send me a pic when you get to school",
    "wanna meet at the park after school? bring your ball",
    "let's meet at the library at 4, sarah is coming too",
    "don't tell mom i broke the vase lol",
    "delete that meme from the group chat, it's cringe",
    "we moved the class group to telegram, join with this link",
    "i'll buy you a new skin for your birthday, love dad",
    "keep the surprise party a secret from dad ok?",
    "con gửi mẹ ảnh bài tập để mẹ xem nhé",
    "các em chụp bài làm gửi cô qua zalo nhóm lớp nhé",
    "mai gặp nhau ở cổng trường lúc 7h nhé cả nhóm",
    "đừng nói với mẹ là tớ làm vỡ cốc nha, tớ sợ bị mắng",
    "xóa tin nhắn nhầm nhóm đi m, ngại quá",
    "mẹ nạp thẻ điện thoại cho con rồi nhé",
    "lớp mình chuyển sang nhóm zalo mới nhé, cô gửi link",
    "giữ bí mật vụ tổ chức sinh nhật cho cô nhé cả lớp",
]


@pytest.mark.parametrize("text", GROOMING)
def test_grooming_signals_in_one_message_are_urgent(text: str) -> None:
    r = classify(text)
    assert "grooming" in r.labels, (text, r.scores["grooming"])
    assert r.levels["grooming"] == "urgent"
    assert any(s.category == "grooming" and s.source.startswith("rule:grooming")
               for s in r.spans), "a rule names the signal"


@pytest.mark.parametrize("text", [t for t in GROOMING if deaccent(t) != t])
def test_the_same_without_diacritics(text: str) -> None:
    assert "grooming" in classify(deaccent(text)).labels


@pytest.mark.parametrize("text", LOOKALIKES)
def test_parents_teachers_and_friends_are_not_grooming(text: str) -> None:
    r = classify(text)
    assert "grooming" not in r.labels, (text, r.scores["grooming"])


@pytest.mark.parametrize("text", ["add zalo nhé", "bạn bao nhiêu tuổi?", "how old are you?",
                                  "đừng nói với bố mẹ nhé"])
def test_one_soft_signal_alone_is_at_most_info(text: str) -> None:
    r = classify(text)
    assert "grooming" not in r.labels
    assert r.severity in ("none", "info")
