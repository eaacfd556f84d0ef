"""Conversation-level grooming escalation."""

from __future__ import annotations

from safegate.safety import score_conversation

GROOMING_VI = [
    ("lan_anh_2012", "chào anh"),
    ("anhtuan88", "em xinh quá, em học lớp mấy rồi?"),
    ("lan_anh_2012", "em học lớp 6 ạ"),
    ("anhtuan88", "em trưởng thành hơn tuổi ghê, anh nạp thẻ cho em 200k nhé"),
    ("lan_anh_2012", "thật ạ? em cảm ơn"),
    ("anhtuan88", "add zalo anh đi, ở đây nói chuyện không tiện"),
    ("anhtuan88", "nhớ đừng nói với bố mẹ nhé, chuyện của hai đứa mình thôi"),
    ("anhtuan88", "gửi anh vài tấm ảnh em mặc đồ ngủ nhé"),
]

GROOMING_EN = [
    ("kid", "hi"),
    ("stranger", "you're so mature for your age"),
    ("stranger", "how old are you?"),
    ("kid", "12"),
    ("stranger", "i'll buy you robux, add me on snapchat"),
    ("stranger", "keep this between us ok, delete this chat"),
    ("stranger", "let's meet up irl, i can pick you up after school"),
]

FRIENDS = [
    ("minh", "mai đi đá bóng không?"),
    ("huy", "ok, 4h ở sân trường nhé"),
    ("minh", "nhớ mang nước, hôm qua nóng muốn chết"),
    ("huy", "chụp ảnh đội mình gửi nhóm lớp nhé"),
]


def test_vietnamese_grooming_escalates_to_urgent() -> None:
    r = score_conversation(GROOMING_VI)
    assert r.severity == "urgent"
    assert "grooming" in r.labels
    assert r.suspect == "anhtuan88"
    assert {"gift", "private_channel", "secrecy"} <= set(r.stages)
    assert all(s.sender == "anhtuan88" for s in r.signals if s.stage != "flattery")
    for s in r.signals:
        text = GROOMING_VI[s.index][1]
        assert text[s.span.start:s.span.end] == s.span.text


def test_english_grooming_escalates() -> None:
    r = score_conversation(GROOMING_EN)
    assert r.severity == "urgent" and r.suspect == "stranger"
    assert r.score >= 0.6


def test_escalation_grows_with_stages() -> None:
    levels = ["none", "info", "warning", "urgent"]
    seen = []
    for n in range(1, len(GROOMING_VI) + 1):
        seen.append(levels.index(score_conversation(GROOMING_VI[:n]).severity))
    assert seen == sorted(seen)
    assert seen[0] == 0 and seen[-1] == 3
    # one weak signal alone is only information
    assert score_conversation([("x", "add zalo anh nhé")]).severity == "info"
    assert score_conversation([("dad", "i'll pick you up at five")]).severity == "info"


def test_friends_chatting_is_not_grooming() -> None:
    r = score_conversation(FRIENDS)
    assert "grooming" not in r.labels
    assert r.severity in ("none", "info")


def test_window_limits_escalation() -> None:
    filler = [("a", f"tin nhắn bình thường số {i}") for i in range(30)]
    spread = ([("a", "add zalo anh nhé")] + filler + [("a", "em xinh quá")] + filler
              + [("a", "anh nạp thẻ cho em nhé")])
    assert score_conversation(spread, window=10).severity == "info"
    assert score_conversation(spread, window=100).severity in ("warning", "urgent")


def test_one_message_with_several_signals_makes_the_conversation_urgent() -> None:
    chat = [
        ("be_na", "chào chú"),
        ("chu_ba", "bố mẹ cháu đi vắng hả, chú qua nhà cháu chơi nhé, đừng kể với ai"),
    ]
    r = score_conversation(chat)
    assert r.severity == "urgent" and "grooming" in r.labels
    assert r.suspect == "chu_ba"
    assert {"probe", "meet", "secrecy"} <= set(r.stages)
    assert r.messages[1].severity == "urgent"
    assert any(s.source == "rule:grooming_combined" for s in r.messages[1].spans)


def test_new_signals_become_stages() -> None:
    chat = [
        ("x", "tối nay gọi video nhé"),                    # video call
        ("x", "em có ở nhà một mình không"),                # home alone → probe
        ("x", "mai ra công viên gặp anh một mình"),        # meeting alone → meet
    ]
    r = score_conversation(chat)
    assert {"video_call", "probe", "meet"} <= set(r.stages)
    assert r.severity == "urgent"  # three stages including a hard one


def test_friends_planning_a_video_call_stay_low() -> None:
    chat = [
        ("lan", "tối nay 8h gọi video nhóm làm slide nha mọi người"),
        ("minh", "ok, add zalo tớ đi rồi tối gọi video học bài"),
        ("lan", "nhớ mang máy tính nhé"),
    ]
    r = score_conversation(chat)
    assert "grooming" not in r.labels
    assert r.severity in ("none", "info", "warning")


def test_every_grooming_signal_rule_has_a_stage() -> None:
    from safegate.safety.conversation import _RULE_STAGE
    from safegate.safety.rules import GROOMING_KINDS

    assert set(GROOMING_KINDS) <= set(_RULE_STAGE)
