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
    pytest.param("lấy con dao thái rau giúp mẹ", marks=pytest.mark.xfail(
        reason="known gap: the ViHOS-trained model links a short text ending in 'mẹ' to "
               "insults (docs/safety.md)", strict=False)),
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
    assert model.version == raw["version"] and model.version.startswith("1.")
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
