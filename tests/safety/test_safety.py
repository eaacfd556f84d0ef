"""The safety engine: rules with offsets, categories in both languages, severity, model file."""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safegate.safety import CATEGORIES, Result, Span, classify, classify_many
from safegate.safety.engine import Engine
from safegate.safety.model import default_model, model_path
from safegate.safety.normalise import deaccent
from safegate.safety.rules import default_ruleset


def labels(text: str) -> tuple[str, ...]:
    return classify(text).labels


# ------------------------------------------------------------------ API shape

def test_result_shape() -> None:
    r = classify("tao sẽ giết mày")
    assert isinstance(r, Result)
    assert set(r.scores) == set(CATEGORIES)
    assert all(0.0 <= v <= 1.0 for v in r.scores.values())
    assert r.severity in ("none", "info", "warning", "urgent")
    assert all(isinstance(s, Span) for s in r.spans)
    assert classify("").labels == ()
    assert classify_many([]) == []


def test_classify_many_matches_classify() -> None:
    texts = ["hôm nay trời đẹp", "you're so ugly nobody likes you", "muốn chết quá"]
    assert classify_many(texts) == [classify(t) for t in texts]


# ------------------------------------------------------------------ spans and offsets

@pytest.mark.parametrize(("text", "evidence", "category"), [
    ("Ê Đ.ị.t mẹ mày nhé", "Đ.ị.t mẹ", "bullying"),
    ("nói thật là TAO MUỐN CHẾT lắm rồi", "TAO MUỐN CHẾT", "self_harm"),
    ("ok vậy thì đừng nói với bố mẹ nhé, gửi anh ảnh của em đi", "đừng nói với bố mẹ",
     "grooming"),
    ("Gửi   anh ảnh không mặc gì đi", "Gửi   anh ảnh không mặc gì", "grooming"),
    ("tao muon chet", "tao muon chet", "self_harm"),
    ("vào cá độ w88 đi", "cá độ", "gambling"),
])
def test_rule_spans_index_the_original_text(text: str, evidence: str, category: str) -> None:
    r = classify(text)
    assert category in r.labels
    spans = [s for s in r.spans if s.category == category and s.source.startswith("rule:")]
    assert spans, r.spans
    for s in r.spans:
        assert text[s.start:s.end] == s.text
    assert any(s.text == evidence for s in spans), spans


def test_model_only_label_has_model_span() -> None:
    engine = Engine(use_pii=False)
    for r in engine.classify_many(["thằng này nhìn mặt đã thấy ngu si đần độn vãi cả chưởng"]):
        for c in r.labels:
            assert any(s.category == c for s in r.spans)


# ------------------------------------------------------------------ categories, both languages

POSITIVES = {
    "self_harm": ["em không muốn sống nữa", "i want to kill myself", "toi muon tu tu",
                  "chán sống lắm rồi",
                  "chỉ muốn ngủ một giấc thật dài và không bao giờ tỉnh lại"],
    "grooming": ["đừng nói với bố mẹ nhé, chuyện của hai đứa mình thôi",
                 "chú hàng xóm hay sờ vào người em, em sợ lắm",
                 "my step dad comes into my room at night and i feel scared",
                 "send me a pic in your underwear, don't tell your parents",
                 "gui anh anh khoa than di"],
    "sexual": ["ai có link phim sex không", "free porn videos here", "co ai xem phim heo ko"],
    "violence": ["tao sẽ giết mày", "i'm going to stab you tomorrow", "tan hoc ra cong tao xu may",
                 "he said he would hurt me if i told anyone", "nó dọa sẽ đánh em nếu em mách cô"],
    "bullying": ["mày béo như lợn, không ai chơi với mày", "you're so ugly, everyone hates you",
                 "do an hai vo dung"],
    "hate": ["bọn bắc kỳ toàn lừa đảo", "go back to africa", "lu be de benh hoan"],
    "scam": ["chúc mừng bạn đã trúng iphone, bấm vào link để nhận",
             "your account will be suspended, verify your account here",
             "gui ma otp cho minh nhe", "link nhận 500 kim cương free fire nè bấm nhanh"],
    "drugs": ["ai bán cần sa không", "my plug has molly", "toi nay bay lac ko"],
    "gambling": ["nạp tiền vào nhà cái chơi tài xỉu", "online casino free spins",
                 "ca do bong da tren mang"],
}


@pytest.mark.parametrize(("category", "text"),
                         [(c, t) for c, ts in POSITIVES.items() for t in ts])
def test_positive(category: str, text: str) -> None:
    assert category in labels(text)


@pytest.mark.parametrize(("category", "text"),
                         [(c, t) for c, ts in POSITIVES.items() for t in ts if t != deaccent(t)])
def test_positive_without_diacritics(category: str, text: str) -> None:
    assert category in labels(deaccent(text))


# Per category: ordinary messages that share its vocabulary, in both languages.
NEGATIVES = {
    "self_harm": ["mệt muốn chết sau giờ thể dục", "i'm dying to see that movie"],
    "grooming": ["cô gửi ảnh lớp mình lên nhóm zalo rồi", "add me to the class group chat"],
    "sexual": ["bài học giáo dục giới tính hôm nay", "sex education class was awkward"],
    "violence": ["hôm qua bắn rank free fire vui quá", "we killed the final boss"],
    "bullying": ["tao với mày chơi thân từ lớp 1", "you are my best friend"],
    "hate": ["bạn ấy là người dân tộc Tày, hát rất hay", "my friend is muslim and fasts"],
    "scam": ["chúc mừng bạn đạt giải nhất cuộc thi vẽ", "congrats on winning the math contest"],
    "drugs": ["thầy dạy về tác hại của ma tuý", "the doctor gave me pills for my cold"],
    "gambling": ["bố xem tỉ số bóng đá trên tivi", "i bet it will rain tomorrow"],
}


@pytest.mark.parametrize(("category", "text"),
                         [(c, t) for c, ts in NEGATIVES.items() for t in ts])
def test_negative(category: str, text: str) -> None:
    assert category not in labels(text)
    assert category not in labels(deaccent(text))


HARD_NEGATIVES = [
    "mẹ lấy con dao gọt táo cho em",
    "lấy con dao thái rau giúp mẹ",
    "đưa mẹ cái kéo",
    "con mèo nhà mẹ béo quá",
    "hôm qua bắn rank free fire vui quá",
    "chết cười với clip con mèo",
    "mệt muốn chết sau buổi học thêm",
    "các bạn ơi mai nhớ mang áo đồng phục",
    "cac ban oi mai nho mang ao dong phuc",
    "đi ngủ sớm đi mai còn thi",
    "di ngu som di mai con thi",
    "đeo khẩu trang khi ra đường nhé",
    "bài học giáo dục giới tính ở trường",
    "bố mẹ đón em lúc năm giờ",
    "this game is killing me lol",
    "he killed it at the talent show",
    "cut the onions with the big knife",
    "don't tell mom about her surprise party",
    "i bet you can't finish that pizza",
    "can you send me the photo from the trip",  # "hot" inside "photo" is not a body word
    "bé lớp 6B vẽ đẹp không, ai có ảnh không",  # "hôn" inside "không" is not a kiss
    "tối qua ngủ ngon không tỉnh giấc lần nào",
    "the teacher touched on the topic of history",
    "we learned about drug safety in class",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negative_is_not_flagged(text: str) -> None:
    r = classify(text)
    assert r.severity in ("none", "info"), (r.labels, r.scores)


def test_accent_aware_short_terms() -> None:
    rs = default_ruleset()
    # "các" typed with diacritics never matches the vulgarity "cac".
    assert not [h for h in rs.scan("các bạn", "cac ban", True) if h.rule.category == "bullying"]
    # Typed without diacritics it is ambiguous: a weak signal only.
    weak = [h for h in rs.scan("cac ban", "cac ban", False) if h.rule.category == "bullying"]
    assert all(h.score < 0.5 for h in weak)
    # With a telling neighbour it is strong.
    assert max(h.score for h in rs.scan("con cac", "con cac", False)) >= 0.9


# ------------------------------------------------------------------ severity

@pytest.mark.parametrize(("text", "severity"), [
    ("em muốn tự tử", "urgent"),
    ("i want to kill myself", "urgent"),
    ("tao sẽ giết mày", "urgent"),
    ("gửi anh ảnh khỏa thân đi, đừng nói với ai", "urgent"),
    ("ai có link phim sex không", "warning"),
    ("cá độ bóng đá trên w88", "warning"),
    ("you're so ugly", "warning"),
    ("hôm nay trời đẹp quá", "none"),
    ("add zalo anh nhé", "info"),
    ("đừng nói với bố mẹ nhé", "info"),
    ("em xinh quá, em học lớp mấy rồi?", "info"),
])
def test_severity(text: str, severity: str) -> None:
    assert classify(text).severity == severity


# ------------------------------------------------------------------ the model file

def test_model_file_loads_and_has_a_version() -> None:
    path = model_path()
    assert path.is_file(), "run scripts/train_safety.py"
    assert path.stat().st_size < 5_000_000
    with gzip.open(path, "rb") as fh:
        raw = json.loads(fh.read())
    assert raw["format"] == "safegate-safety-linear"
    assert raw["training"]["data_sha256"]
    model = default_model()
    assert model is not None
    assert model.version == raw["version"] and model.version.startswith("2.")
    assert model.heads == {"vi": {"bullying": len(model.categories)}}
    assert model.token_head is not None and model.token_head.language == "vi"
    assert model.categories == tuple(c for c in CATEGORIES if c != "pii_disclosure")
    probs = model.predict([("địt mẹ mày", "dit me may"), ("chúc ngủ ngon", "chuc ngu ngon")])
    assert probs.shape == (2, len(model.categories))
    bullying = model.categories.index("bullying")
    assert probs[0, bullying] > probs[1, bullying]


def test_engine_without_model_still_runs_rules() -> None:
    engine = Engine(use_model=False, use_pii=False)
    r = engine.classify("tao sẽ giết mày")
    assert "violence" in r.labels and r.severity == "urgent"


# ------------------------------------------------------------------ pii_disclosure

def test_pii_disclosure_uses_the_privacy_detector() -> None:
    pytest.importorskip("safegate.privacy.pii")
    text = "sđt của em là 0912 345 678, nhà em ở 12 ngõ 5 Nguyễn Trãi, Hà Nội"
    r = classify(text)
    assert "pii_disclosure" in r.labels
    assert r.severity == "warning"
    pii = [s for s in r.spans if s.category == "pii_disclosure"]
    assert any(s.text == "0912 345 678" and s.source == "rule:pii_phone" for s in pii)
    for s in pii:
        assert text[s.start:s.end] == s.text
    assert "pii_disclosure" in classify("my number is 0912345678, text me").labels
    assert "pii_disclosure" not in classify("điểm toán của em là 9, xếp thứ 3 lớp").labels
    assert Engine(use_pii=False).classify(text).scores["pii_disclosure"] == 0.0


# ------------------------------------------------------------------ robustness

@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=5))
def test_any_text_gives_valid_results(texts: list[str]) -> None:
    for text, r in zip(texts, Engine(use_pii=False).classify_many(texts), strict=True):
        assert r.severity in ("none", "info", "warning", "urgent")
        assert set(r.labels) <= set(CATEGORIES)
        for s in r.spans:
            assert 0 <= s.start <= s.end <= len(text)
            assert text[s.start:s.end] == s.text


@pytest.mark.parametrize("text", [("a" * 5000 + " ") * 10, "x" * 50000, "ab." * 10000,
                                  "a " * 20000, "send me " * 6000])
def test_long_pathological_input_is_fast(text: str) -> None:
    import time

    t0 = time.perf_counter()
    Engine(use_pii=False).classify(text)
    assert time.perf_counter() - t0 < 3.0  # no quadratic backtracking


# ------------------------------------------------------------------ rules: grooming in one message

RULES = Engine(use_model=False, use_pii=False)  # rules only: no dependence on training


def rule_labels(text: str) -> tuple[str, ...]:
    return RULES.classify(text).labels


# Several grooming signals in ONE message (photo request, secrecy, meeting alone, home alone,
# gifts or top-ups, private channel, age + sexual talk) are urgent on rule evidence alone.
GROOMING_COMBINATIONS = [
    "đừng nói với bố mẹ nhé, gửi anh ảnh em đi",                       # secrecy + photo
    "em có ở nhà một mình không? anh qua đón em đi chơi",               # home alone + meeting
    "anh nạp kim cương cho em nếu em gửi anh ảnh",                      # gift + photo
    "add zalo anh đi, nhớ đừng kể với ai nhé",                          # private channel + secrecy
    "gặp anh một mình nhé, đừng dẫn bạn theo",                          # meeting alone + secrecy
    "bố mẹ em đi vắng hả, anh qua nhà em chơi nhé",                     # parents away + visit
    "anh tặng em điện thoại mới nếu em đi chơi với anh một mình",       # gift + meeting alone
    "em mấy tuổi rồi, có muốn làm chuyện người lớn với anh không",      # age + sexual talk
    "e co o nha 1 minh ko? a qua don e di choi",                        # teencode, no diacritics
    "our little secret ok? send me a selfie",
    "are you home alone? i can come over",
    "i'll buy you robux if you video call me alone",
    "how old are you? have you ever had sex",
    "keep it secret from your parents and meet me at the park alone",
]

# Requests for nude or private photos are strong on their own.
GROOMING_STRONG_ALONE = [
    "gửi anh ảnh riêng tư của em đi",
    "cho anh xem người em đi",
    "send me a pic of you in your underwear",
    "chụp ảnh em đang tắm gửi anh nhé",
]

# One weak signal, or ordinary chat that shares the vocabulary: never a grooming label.
GROOMING_LOOKALIKES = [
    "add zalo nhé",
    "bạn bao nhiêu tuổi?",
    "đừng nói với bố mẹ nhé",
    "mẹ ơi tối nay con ở nhà một mình được không",
    "anh mua kem cho em nếu em làm xong bài tập",
    "gửi cô ảnh bài tập nhé",
    "chú ơi cháu gửi ảnh xe cho chú xem rồi ạ",
    "thằng Nam đi chơi một mình ở công viên",        # two rules, one phrase: one signal
    "mình gặp riêng cô chủ nhiệm để hỏi bài",
    "hôm nay lớp mình đi dã ngoại, ai không đi thì ở nhà một mình",
    "add zalo tớ đi rồi tối gọi video học bài",
    "tối nay cả nhà gọi video cho ông bà nhé",
    "bí mật nhé, mai tổ chức sinh nhật cho cô giáo",
    "chị gái tặng em quà sinh nhật là điện thoại",
    "just the two of us are left in the group lol",
    "i'll buy you lunch if you help me with math",
    "my parents are out, come over and we can play games",
    "can you send me the photo from the field trip",
    "video call me when you finish homework, mom says hi",
    "chị ba còn trinh có cây đinh chính giữa",        # "còn trinh" alone is not about a child
]


@pytest.mark.parametrize("text", GROOMING_COMBINATIONS + GROOMING_STRONG_ALONE)
def test_grooming_in_one_message_rules_only(text: str) -> None:
    for variant in {text, deaccent(text)}:
        r = RULES.classify(variant)
        assert "grooming" in r.labels and r.severity == "urgent", (variant, r.spans)


@pytest.mark.parametrize("text", GROOMING_COMBINATIONS)
def test_grooming_combination_has_an_explained_span(text: str) -> None:
    r = RULES.classify(text)
    combined = [s for s in r.spans if s.source == "rule:grooming_combined"]
    assert len(combined) == 1
    span = combined[0]
    assert span.category == "grooming" and text[span.start:span.end] == span.text
    # the combined span covers the signals it combines
    signals = [s for s in r.spans if s.category == "grooming" and s is not span]
    assert len(signals) >= 2
    assert span.start == min(s.start for s in signals) and span.end == max(s.end for s in signals)


@pytest.mark.parametrize("text", GROOMING_LOOKALIKES)
def test_grooming_lookalikes_are_not_labelled(text: str) -> None:
    for variant in {text, deaccent(text)}:
        assert "grooming" not in rule_labels(variant), variant
        assert "grooming" not in labels(variant), variant


def test_grooming_combination_table() -> None:
    from safegate.safety.rules import grooming_combination

    assert grooming_combination({"secrecy", "photo"})
    assert grooming_combination({"home_alone", "meet"})
    assert grooming_combination({"gift", "private_channel"})
    assert grooming_combination({"sexual", "age"})
    assert grooming_combination({"private_channel", "age", "flattery"})
    assert not grooming_combination({"private_channel", "age"})
    assert not grooming_combination({"private_channel", "meet"})
    assert not grooming_combination({"private_channel", "video"})
    assert not grooming_combination({"sexual", "private_channel"})
    assert not grooming_combination({"secrecy"})


def test_lone_grooming_signals_stay_low_on_the_full_path() -> None:
    for text in ("add zalo nhé", "bạn bao nhiêu tuổi?", "add zalo anh nhé"):
        assert classify(text).severity in ("none", "info"), text


@pytest.mark.parametrize("text", [
    "đừng nói với bố mẹ nhé, gửi anh ảnh em đi",
    "anh nạp thẻ cho em 200k nếu em gọi video với anh",
    "bố mẹ em đi vắng hả, anh qua nhà em chơi nhé",
    "delete this chat and send me a photo of you",
])
def test_grooming_in_one_message_full_path(text: str) -> None:
    r = classify(text)
    assert "grooming" in r.labels and r.severity == "urgent"


# ------------------------------------------------------------------ rules: self-harm

SELF_HARM = [
    "muốn chết quá", "mún chết lắm r", "ko muốn sống nữa", "em lại cắt tay", "mình rạch tay rồi",
    "tối nay em sẽ nhảy cầu", "em đã uống thuốc ngủ", "muốn kết thúc tất cả",
    "kết thúc tất cả thôi", "ai cũng ghét mình, biến mất thì hơn", "tao muốn die luôn",
    "ước gì mình chết đi", "sống làm gì nữa khi chẳng ai thương",
    "tạm biệt mọi người, mình đi đây, đừng tìm mình", "em không biết sống tiếp để làm gì nữa",
    "em cứ cào tay đến chảy máu mới thấy đỡ", "toi muon tu tu",
    "kms", "i wanna unalive myself", "I want to disappear forever",
    "i don't want to be here anymore",
    "nobody would care if i was gone", "im tired of living", "i wrote my goodbye letters already",
]

SELF_HARM_HYPERBOLE = [
    "mệt chết đi được", "chết cười", "đói chết mất", "nóng muốn chết luôn", "sợ chết khiếp",
    "cười muốn chết với clip này", "game này khó chết đi được", "tớ sắp chết vì bài tập đây này",
    "từ từ thôi, đợi tớ với", "di tu tu thoi", "mẹ cắt tay áo cho em", "cắt móng tay đi con",
    "bạn ấy nhảy cầu thang hai bậc một", "mai đi bơi rồi nhảy cầu ở hồ bơi thành phố",
    "cô giáo dạy cách phòng chống tự tử ở tuổi học trò",
    "ghét bài tập này muốn biến mất khỏi lớp học luôn haha",
    "I'm dying lol", "this homework is killing me", "i could die for this pizza",
    "we're learning about suicide prevention in health class",
    "my last message was about the homework, did you see it",
    "i burned myself on the oven, it hurts",
]


@pytest.mark.parametrize("text", SELF_HARM)
def test_self_harm_rules(text: str) -> None:
    for variant in {text, deaccent(text)}:
        r = RULES.classify(variant)
        assert "self_harm" in r.labels and r.severity == "urgent", variant


@pytest.mark.parametrize("text", SELF_HARM_HYPERBOLE)
def test_self_harm_hyperbole_is_not_self_harm(text: str) -> None:
    for variant in {text, deaccent(text)}:
        assert "self_harm" not in rule_labels(variant), variant
        assert "self_harm" not in labels(variant), variant


@pytest.mark.parametrize(("text", "category"), [
    ("nóng muốn chết luôn", "self_harm"),
    ("mệt muốn chết", "self_harm"),
])
def test_an_overruled_rule_caps_the_model(text: str, category: str) -> None:
    """A rule that matched but whose exception recognised a look-alike reports its category
    as overruled, and the engine then keeps the model alone below any label."""
    from safegate.safety.engine import OVERRULED_CAP
    from safegate.safety.normalise import has_diacritics, normalise_pair

    for variant in {text, deaccent(text)}:
        norm, plain = normalise_pair(variant)
        hits, overruled = default_ruleset().examine(norm, plain, has_diacritics(variant))
        assert category in overruled and not [h for h in hits if h.rule.category == category]
        result = classify(variant)
        assert result.scores[category] <= OVERRULED_CAP and category not in result.labels
    # without the look-alike the same words are a self-harm statement
    norm, plain = normalise_pair("em muốn chết")
    hits, overruled = default_ruleset().examine(norm, plain, True)
    assert "self_harm" not in overruled and any(h.rule.category == "self_harm" for h in hits)


def test_plain_tu_tu_is_ambiguous() -> None:
    # "tu tu" without diacritics is also "từ từ" (slowly): faint alone, strong with a verb
    assert RULES.classify("tu tu").scores["self_harm"] < 0.3
    assert "self_harm" in rule_labels("tao se tu tu toi nay")
    assert "self_harm" in rule_labels("tự tử")


# ------------------------------------------------------------------ rules: violence

THREATS = [
    "tao sẽ đánh mày", "tan học tao chặn đầu mày", "xử mày", "mai bọn tao đánh hội đồng nó",
    "chặn đầu thằng đó ở nhà xe rồi đánh cho nó một trận", "ra đây tao đấm cho vỡ mồm",
    "tao cho mày ăn đòn", "tao thề sẽ đánh chết thằng đó", "I'll stab you",
    "you're dead tomorrow", "i'm going to beat you up tomorrow",
    "we're gonna jump you at the bus stop",
]

NOT_THREATS = [
    "giết boss", "kill the dragon", "vụ đâm người hôm qua",
    "hôm qua có vụ đâm người ở gần trường, sợ quá", "tao giết con boss này mãi không chết",
    "mua xu may mắn lì xì", "coi chừng bị nghiệp quật", "coi chừng té nha",
    "tao đánh mày trong liên quân thua sml", "chặn đầu xe buýt để lên cho kịp",
    "đi đánh cầu lông không", "mẹ đánh trứng làm bánh", "she killed it on stage",
    "the news said someone was stabbed downtown",
]


@pytest.mark.parametrize("text", THREATS)
def test_violence_threats(text: str) -> None:
    for variant in {text, deaccent(text)}:
        r = RULES.classify(variant)
        assert "violence" in r.labels and r.severity == "urgent", variant


@pytest.mark.parametrize("text", NOT_THREATS)
def test_games_and_news_are_not_threats(text: str) -> None:
    for variant in {text, deaccent(text)}:
        assert RULES.classify(variant).severity != "urgent", variant
        assert "violence" not in rule_labels(variant), variant


def test_violence_threat_full_path() -> None:
    for text in ("tan học tao chặn đầu mày", "tan hoc tao chan dau may", "you're dead tomorrow"):
        r = classify(text)
        assert "violence" in r.labels and r.severity == "urgent", text


# ------------------------------------------------------------------ rules: hate

HATE = [
    "bọn bắc kỳ", "parky toàn lừa đảo", "thằng nam kỳ ngu", "lũ ba que phản động", "nó là bê đê à",
    "pê đê bệnh hoạn", "thằng xăng pha nhớt", "mày thiểu năng à", "đồ thiểu năng",
    "thằng down này học ngu thế", "mày bị down à", "bọn mọi đen", "lũ tàu khựa", "bọn khựa",
    "con ô môi kia", "bọn hồi giáo khủng bố", "đồ bóng lộ", "thằng bại não kia",
    "đúng là dân tộc mọi rợ", "muslims are terrorists every one of them",
]

NOT_HATE = [
    "đi về phía bắc hai cây số", "miền bắc mùa đông lạnh lắm", "gió mùa đông bắc tràn về",
    "Pháp chia nước ta thành Bắc Kỳ, Trung Kỳ và Nam Kỳ", "cô dạy bài Bắc Kỳ thời Pháp thuộc",
    "down game về máy đi", "calm down bro", "i'm down to play later", "web bị down rồi",
    "i'm feeling down today", "con down game được không mẹ", "bé dễ thương quá",
    "em bé dễ thương ghê", "mua 3 que kem", "ba que diêm cháy hết rồi",
    "trường dành cho trẻ thiểu năng trí tuệ", "bé bị hội chứng down nhưng rất ngoan",
    "hành động mọi rợ của kẻ gian", "bạn tớ là người đồng tính, rất tốt bụng",
    "con bông của em mất rồi", "thằng bạn tớ đi đá bóng rồi", "ăn ô mai không",
]


@pytest.mark.parametrize("text", HATE)
def test_hate_slurs(text: str) -> None:
    for variant in {text, deaccent(text)}:
        assert "hate" in rule_labels(variant), variant


@pytest.mark.parametrize("text", NOT_HATE)
def test_ambiguous_words_are_not_hate(text: str) -> None:
    for variant in {text, deaccent(text)}:
        assert "hate" not in rule_labels(variant), variant
        assert "hate" not in labels(variant), variant


def test_hate_slur_full_path() -> None:
    for text in ("bọn bắc kỳ toàn lừa đảo", "thang be de", "mày bị down à"):
        assert "hate" in labels(text), text


# ------------------------------------------------------------------ the prefilter

def test_every_rule_has_a_prefilter_anchor() -> None:
    # a rule without a usable anchor would run on every message
    assert default_ruleset().always_run == []


@pytest.mark.parametrize("text", [
    *GROOMING_COMBINATIONS[:6], *SELF_HARM[:8], *THREATS[:6], *HATE[:8],
    *GROOMING_LOOKALIKES[:6], *NOT_HATE[:6],
])
def test_prefilter_never_drops_a_hit(text: str) -> None:
    for variant in {text, deaccent(text)}:
        fast, slow = _hits_with_and_without_prefilter(variant)
        assert fast == slow, variant


def _hits_with_and_without_prefilter(text: str) -> tuple[list[tuple[str, int, int]], ...]:
    """The rule hits in ``text`` as the prefilter picks the rules, and with every rule run."""
    from safegate.safety.normalise import has_diacritics, normalise_pair

    rs = default_ruleset()
    norm, plain = normalise_pair(text)
    out = []
    for every in (False, True):
        try:
            if every:
                rs.candidates = lambda text, plain: list(range(len(rs.rules)))
            hits = rs.scan(norm, plain, has_diacritics(text))
        finally:
            if every:
                del rs.candidates
        out.append(sorted((h.rule.name, h.start, h.end) for h in hits))
    return tuple(out)


def _rule_words() -> list[str]:
    import re

    words = {w for r in default_ruleset().rules for w in re.findall(r"[^\W\d_]+", r.pattern)}
    return sorted(words | {deaccent(w) for w in words})


def _seed_texts() -> list[str]:
    from importlib import resources

    path = resources.files("safegate.safety") / "seeds" / "train.tsv"
    rows = [line.split("\t")[-1] for line in path.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    return sorted({t for t in rows if t.strip()})


def test_removing_diacritics_keeps_letters_and_word_characters() -> None:
    """What the accented-pass shortcut relies on: deaccent maps each character to one
    character of the same kind (a letter to a letter, a word character to a word character)."""
    import re

    from safegate.safety.normalise import _DEACCENT

    for key, value in _DEACCENT.items():
        char = chr(key)
        assert isinstance(value, str) and len(value) == 1, char
        assert char.isalpha() == value.isalpha(), char
        assert bool(re.match(r"\w", char)) == bool(re.match(r"\w", value)), char


@pytest.mark.parametrize(("pattern", "positive"), [
    (r"\bgiết (?:mày|nó)\b", True),
    (r"(?=ấy)ấy", True),
    (r"chết(?!\w)", True),  # a word boundary survives de-accenting
    (r"[^\W\d_]+", True),
    (r"chết(?! đói)", False),
    (r"a[^ă]", False),
    (r"(?![a-z])x", False),
])
def test_which_patterns_keep_their_matches_without_diacritics(pattern: str,
                                                              positive: bool) -> None:
    import re

    from safegate.regex_tree import sre
    from safegate.safety.rules import _only_positive

    assert _only_positive(sre.parse(pattern)) is positive
    if pattern == r"chết(?! đói)":  # why a negative test is excluded
        assert re.search(pattern, "chết đồi") and not re.search(deaccent(pattern), "chet doi")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_rule_words()), st.sampled_from(_seed_texts())),
                min_size=1, max_size=6))
def test_a_positive_rule_matching_the_text_matches_its_plain_copy(parts: list[str]) -> None:
    """For the rules marked plain_implies (no negative test of a letter), a match of the
    accented pattern in a text means a match of the plain pattern in its plain copy, so
    skipping the accented pass when the plain one finds nothing loses no hit."""
    from safegate.safety.normalise import normalise_pair

    norm, plain = normalise_pair(" ".join(parts))
    for compiled in default_ruleset()._rules:
        if compiled.plain_implies and compiled.accented.search(norm):
            assert compiled.plain.search(plain), (compiled.rule.name, norm)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_rule_words()), st.sampled_from(_seed_texts())),
                min_size=1, max_size=6), st.booleans())
def test_prefilter_never_drops_a_hit_on_rule_words(parts: list[str], plain: bool) -> None:
    """Texts made of the rules' own words and the training seeds (as written and
    de-accented) hit the same rules through the Aho–Corasick prefilter as when every rule
    runs."""
    text = " ".join(parts)
    fast, slow = _hits_with_and_without_prefilter(deaccent(text) if plain else text)
    assert fast == slow, text
