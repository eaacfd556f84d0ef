# ruff: noqa: E501  (the rule tables are long regular expressions; wrapping them hurts more)
"""Layer 1: explainable rules and lexicons, per category, Vietnamese and English.

Every rule has a name (reported as ``source="rule:<name>"`` on its spans), a category, a
strength (the score it gives on its own) and a pattern. Patterns are written once, in
Vietnamese *with* diacritics and in English, against the normalised ``text``; the engine also
runs a de-accented copy of each pattern against ``plain`` so that text typed without
diacritics matches too.

Accent awareness. A de-accented hit is accepted only where the writer did not type other
diacritics over the matched words (the normalised text and its plain copy agree there); so
"các bạn" never matches the vulgarity ``cac``. A short term whose unaccented form is also an
ordinary word ("cac", "deo", "lon", "ngu", "dm"…) is *ambiguous*: when the whole message is
typed without diacritics we cannot tell "cặc" from "các", so such hits keep only a faint score
(below the ``info`` floor on their own) and the trained model decides. In a message written with diacritics an
unaccented spelling is deliberate and scores fully.

The Vietnamese offensive-words lexicon in ``data/vn_offensive_words.txt`` is a copy of
"Vietnamese Offensive Words List" by Blue Eyes (MIT, see ``data/LICENSE-vn-offensive-words.txt``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import ahocorasick

from safegate.regex_tree import children, sre  # the stdlib's regex parser
from safegate.safety.normalise import deaccent

__all__ = ["AMBIGUOUS_SYLLABLES", "GROOMING_HARD_KINDS", "GROOMING_KINDS", "Hit", "Rule", "RuleSet",
           "builtin_rules", "grooming_combination", "lexicon_rules", "rules"]

STRONG = 0.9
MEDIUM = 0.65
WEAK = 0.35
FAINT = 0.2

# Unaccented syllables that are also ordinary Vietnamese words once diacritics are dropped.
AMBIGUOUS_SYLLABLES = frozenset({
    "cac", "cu", "deo", "del", "dm", "cl", "ml", "ngu", "dit", "dis", "buoi", "boi", "kiu",
    "biz", "dai", "chich", "nug", "dou", "ham", "sang", "vai", "lon", "lol", "me", "ma", "mia",
    "mie", "cha", "ba", "bo", "di", "chet", "thay", "ke", "to", "mat", "an", "cai", "con",
    "tuoi", "nhu", "cao", "tet", "mu", "banh", "loi", "tung", "vach", "mom", "ranh", "nung",
    "xam", "xao", "lao", "cho", "dien", "sua", "dach", "dau", "doma", "mje", "mja", "cut",
    "cuk", "ca", "dem",
    # two-word forms: "tu tu" is also "từ từ" (slowly), "tu van" "tư vấn", "tu sat" "tủ sắt";
    # "be de" "bé dễ"/"bé để"; "khua" (khựa) "khua tay"; "moi den" "mới đến"; "khi den" "khi đến";
    # "moi ro" "mới rõ"; "cat tay" "cát tay" (lucky hands); "nam ki" "năm kí" (five kilos);
    # "do bong" "đồ bông" (plush toys), "con bong" "còn bông"
    "tu tu", "tu van", "tu sat", "be de", "khua", "moi den", "khi den", "moi ro", "cat tay", "nam ki",
    "do bong", "con bong",
})

# Lexicon terms that are mild intensifiers in everyday chat rather than insults.
_MILD = frozenset({
    "vl", "vcl", "vkl", "vleu", "á đù", "á đìu", "sml", "sấp mặt", "sap mat", "cmn", "cmnl",
    "kệ mẹ", "kệ mịe", "kệ mịa", "ke me", "hãm", "chết mẹ", "chet me", "chetme", "đệch", "đệt",
    "đếch", "cười ỉa", "cười ẻ", "bỏ mẹ", "bo me", "vãi lồn", "vai lon", "vailon", "vlon", "vloz",
    "vlol", "vai lol", "vailol", "đờ mờ", "đê mờ", "clgt",
})

# Group headers of the shared lexicon → category.
_GROUP_CATEGORY = {"Sexual related": "sexual"}

# Lexicon entries that are ordinary words or belong elsewhere; skipped.
_LEXICON_SKIP = frozenset({"đìu", "kiu", "b`", "l`", "d'", "đ'", "4`", "v~", "di~", "biz",
                           "cu", "cac", "deo", "del", "dis", "nug", "dou", "ham", "sảng", "vãi",
                           "vai", "dm", "cl", "ml", "cut", "cuk", "ngu", "chich"})


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    category: str
    score: float
    pattern: str
    unless: str | None = None  # context (±30 chars) that cancels the hit
    ambiguous: bool = False  # weak when the whole message has no diacritics
    strict: bool = False  # de-accented hits only where the writer typed no diacritics


@dataclass(frozen=True, slots=True)
class Hit:
    rule: Rule
    start: int  # in the normalised text
    end: int
    score: float


# ------------------------------------------------------------------ grooming signal combinations

# Each grooming rule (and each sexual-content rule) is one kind of grooming signal. Most are weak
# on their own: a lone "add zalo nhé" or "bạn bao nhiêu tuổi?" is ordinary chat. Several kinds in
# ONE message are not: "đừng nói với bố mẹ, gửi anh ảnh em đi", "bố mẹ em đi vắng à? anh qua đón
# em", "anh nạp kim cương cho em nếu em gọi video". Such messages also get the combined rule.
GROOMING_KINDS: dict[str, str] = {
    "grooming_secrecy": "secrecy",
    "grooming_secret_contact": "secrecy",
    "grooming_photo_request": "photo",
    "grooming_video_call": "video",
    "grooming_sexual_photo": "sexual_photo",
    "grooming_meet_alone": "meet_alone",
    "grooming_home_alone": "home_alone",
    "grooming_gift": "gift",
    "grooming_gift_condition": "gift",
    "grooming_private_channel": "private_channel",
    "grooming_move_off_platform": "private_channel",
    "grooming_meet": "meet",
    "grooming_meet_offline": "meet_offline",
    "grooming_romance": "romance",
    "grooming_probe": "age",
    "grooming_flattery": "flattery",
    "grooming_sexual_question": "sexual",
    "sexual_explicit": "sexual",
    "sexual_media": "sexual",
    "sexual_word": "sexual",
}
# Signals that are rarely innocent next to any other signal (an adult asking for photos, for
# secrecy, to meet alone, whether the child is alone at home, or offering gifts and top-ups).
GROOMING_HARD_KINDS = frozenset({"secrecy", "photo", "sexual_photo", "meet_alone", "meet_offline",
                                 "home_alone", "gift"})


def _combined_rule() -> Rule:
    return Rule("grooming_combined", "grooming", 0.75, "")


def grooming_combination(kinds: set[str]) -> bool:
    """Whether one message's grooming signal kinds make the combination fire.

    Two hard signals; a hard one with any other (a private channel, flattery, the age, sexual
    talk, a meeting, a video call); sexual talk with the child's age, flattery or romance; the
    child's age with romance ("e bn tuổi r, có ny chưa"); or any three kinds.
    """
    hard = kinds & GROOMING_HARD_KINDS
    return (len(hard) >= 2 or (bool(hard) and len(kinds) > len(hard))
            or ("sexual" in kinds and bool(kinds & {"age", "flattery", "romance"}))
            or {"age", "romance"} <= kinds
            or len(kinds) >= 3)


# Pronoun macros for the Vietnamese patterns.
_MACROS = {
    "<I>": r"(?:tao|tớ|tôi|mình|em|anh|chị|tui|bọn tao|tụi tao|chúng tao|tôi sẽ|t)",
    "<YOU>": r"(?:mày|mầy|mi|bọn mày|tụi mày|chúng mày|cả nhà mày|cậu|nó|bọn nó|thằng kia|con kia|thằng đó|con đó|đứa đó|đứa kia)",
    "<KID>": r"(?:em|bé|cháu|con|cưng)",
    "<ADULT>": r"(?:anh|chú|bác|thầy|chị|cô|tao|mình|tớ|a)",
    # words that make a following slur a name for a person or a group ("thằng down", "lũ ba que")
    "<GROUP>": (r"(?:bọn|lũ|đám|tụi nó|tụi mày|thằng|con|đồ|mấy thằng|mấy con|mấy đứa|dân|loại|phường|"
                r"cái bọn|cái lũ|giống|như thằng|như đứa|nó là|mày là)"),
    "<APP>": (r"(?:zalo|telegram|tele|snapchat|snap|discord|messenger|mess|kik|whatsapp|"
              r"viber|signal|instagram|insta|facebook|face|tiktok|line|wechat|skype|app khác|another app|"
              r"other app|a different app)"),
    "<PIC>": r"(?:ảnh|hình|pic|pics|picture|pictures|photo|photos|video|clip|selfie)",
    "<BODY>": (r"\b(?:nude|nudes|khoả thân|khỏa thân|không mặc (?:gì|đồ|quần|áo)|cởi (?:đồ|áo|quần)|"
               r"đồ lót|quần lót|áo ngực|ngực|vếu|mông|vùng kín|chỗ kín|body|bikini|naked|đồ ngủ|váy ngủ|áo ngủ|"
               r"nightgown|nightie|"
               r"đồ bơi|áo tắm|swimsuit|pyjamas|pajamas|in bed|trên giường|"
               r"topless|underwear|boobs|tits|nsfw|sexy|hở hang|hot|đang tắm|lúc tắm|khi tắm|trong phòng tắm|"
               r"in the shower|in the bath|taking a shower|after (?:your |the )?(?:shower|bath)|tắm xong|"
               r"(?:em|bé|cháu) tắm|váy ngắn|quần ngắn|đồ hở|không mặc áo|"
               r"without (?:your |a )?(?:shirt|clothes|top|pants|bra))\b"),
}


def _m(pattern: str) -> str:
    for key, value in _MACROS.items():
        pattern = pattern.replace(key, value)
    return pattern


def _r(name: str, category: str, score: float, pattern: str, unless: str | None = None,
       ambiguous: bool = False, strict: bool = False) -> Rule:
    return Rule(name, category, score, _m(pattern), _m(unless) if unless else None, ambiguous,
                strict)


def builtin_rules() -> list[Rule]:
    """The hand-written rules (patterns on the normalised, lowercase text)."""
    R = _r
    game = (r"(?:game|free ?fire|pubg|liên quân|lq|minecraft|roblox|fortnite|valorant|cs ?go|rank|"
            r"trận đấu|trận này|trận trước|trận sau|vào trận|ván|map|boss|zombie|skin|súng|level|gta|1v1)")
    return [
        # ---------------------------------------------------------------- self-harm (urgent)
        # Plain "tu tu" is also "từ từ" (slowly): bare suicide words typed without any diacritics
        # are ambiguous (AMBIGUOUS_SYLLABLES); with a verb ("muon tu tu") they are strong again.
        R("self_harm_suicide", "self_harm", STRONG,
          r"\b(?:tự tử|tự sát|tự vẫn|quyên sinh|tuyệt mệnh|thư tuyệt mệnh|treo cổ tự|"
          r"suicide|suicidal|kill myself|killing myself|kms|unalive myself|unaliving myself|"
          r"(?:want|wanna|going|gonna|about|trying) to unalive|(?:thinking|thought) (?:about|of) unaliv\w*|"
          r"end my life|ending my life|take my (?:own )?life|end it all|ending it all|"
          r"(?:tự )?kết liễu (?:đời|cuộc đời|mạng sống|bản thân|chính mình)|"
          r"(?:going to|gonna|will|want to|wanna) end it (?:tonight|today|tomorrow|soon|now)|"
          r"ending it (?:tonight|today|now)|finally ending it(?! with| between| for)|"
          r"(?:have|made|got) a plan to (?:die|end it|kill myself))\b",
          # talk about suicide (a film, a prevention lesson) is not the writer's own; the
          # first-person rules below have no such exception
          unless=r"(?:nhân vật|phòng chống|phòng ngừa|ngăn ngừa|prevention|awareness|the character|"
                 r"in the (?:movie|book|story|novel|show)|trong (?:truyện|tiểu thuyết|câu chuyện|phim))",
          ambiguous=True),
        R("self_harm_want_die", "self_harm", STRONG,
          r"\b(?:<I> )?(?:thật sự |thực sự |chỉ |rất |cứ |lại |đang )?(?:muốn|mún|định|sắp|sẽ|thèm|tính) "
          r"(?:chết|die|chết quách|chết đi|chết luôn|đi chết|biến mất mãi mãi|biến mất vĩnh viễn|"
          r"ra đi mãi mãi|ra đi vĩnh viễn|kết thúc (?:cuộc đời|cuộc sống|tất cả|mọi thứ|đời mình))\b"
          r"(?! (?:đói|cười|mất|khiếp|ngất|đuối|rét|cóng|nóng|mệt|đi được|chắc|với|trong game|"
          r"vì (?:bài|thi|kiểm tra|deadline|đói|nóng|mệt|cười|học|ôn|môn)))|"
          r"\b(?:muốn|mún|định|tính|thèm|nghĩ đến|nghĩ tới|nghĩ đến việc|nghĩ tới việc|ý định|lại muốn|"
          r"đã thử|từng thử) (?:tự tử|tự sát)\b|"
          r"\b<I> (?:sẽ |chắc |phải )?(?:tự tử|tự sát) (?:thật|mất|luôn|cho xong|đây|tối nay|đêm nay|ngày mai)\b|"
          r"\bước (?:gì |chi )?(?:<I> )?(?:được )?(?:chết|chết đi|biến mất|không tồn tại|không còn trên đời)\b"
          r"(?! (?:cười|đói|mệt|mất|khiếp))|"
          r"\bchết (?:quách |phứt |luôn )?(?:đi )?cho (?:xong|rồi|nhẹ|nhẹ người|xong chuyện|rảnh nợ|khỏe|khoẻ)\b",
          # hyperbole: "mệt muốn chết", "nóng quá muốn chết"; threats: "mày muốn chết à"
          unless=r"(?:(?:mệt|đói|buồn ngủ|nóng|lạnh|khát|sợ|xấu hổ|ngại|cười|nhục|tức|ghen|thèm ăn|mắc cười|"
                 r"ngượng|hồi hộp|cay|ớt|đau bụng|chán|nhớ|hôi|ồn|bực|ngứa|mỏi|sướng|vui|ngon|đẹp|dễ thương|"
                 r"xinh|hay|thích)(?: (?:quá|thế|vậy|lắm|ghê|vl|vãi|vcl|kinh|mỏi|rồi|luôn)){0,2} "
                 r"(?:muốn|mún|sắp|thèm) chết|game|muốn chết à|mày muốn chết|muốn chết hả|muốn chết hay sao)"),
        R("self_harm_no_live", "self_harm", STRONG,
          r"\b(?:không|chẳng|chả|hết) (?:muốn|mún|còn muốn|thiết) sống(?: nữa)?\b|\bchán sống\b|"
          r"\b(?:không|chẳng|chả) còn (?:gì|điều gì|lý do gì|lí do gì|ai|thứ gì) (?:để )?(?:sống|bám víu|tiếp tục)|"
          r"\bsống (?:cũng )?(?:chẳng|không) (?:để )?(?:làm gì|có ý nghĩa)|\bkhông còn lý do (?:để )?sống|"
          r"\bsống (?:tiếp )?(?:để )?làm gì (?:nữa|khi)\b|\bsống (?:còn )?(?:có )?ý nghĩa gì (?:nữa|đâu)\b|"
          r"\btired of (?:living|life|being alive|existing)\b|\bmệt mỏi (?:với cuộc sống|vì phải sống)\b|"
          r"\b(?:không|chẳng) (?:thấy|còn) (?:lý do|lí do|ý nghĩa|lẽ) (?:gì )?(?:để )?(?:sống|tiếp tục)|"
          r"\b(?:không|chẳng) (?:sống|trụ|chịu) (?:nổi|được) (?:qua|đến|tới|thêm)|"
          r"\b(?:không|chẳng) (?:sống|trụ) (?:qua|nổi qua|được qua) (?:được |nổi )?(?:tuần|đêm|hôm|ngày|tháng|năm)|"
          r"\b(?:không|chẳng) muốn (?:tồn tại|thức dậy|tỉnh dậy|ở trên đời|sống tiếp)|"
          r"\b(?:don'?t|do not|can'?t|cannot) see (?:a|any) (?:reason|point) (?:to|in) (?:live|living|go on|going on)|"
          r"\b(?:can'?t|cannot) (?:go on|do this) (?:anymore|any more)\b|"
          r"\b(?:want|wanna|going) to die\b|\bwanna die\b|\bdon'?t want to (?:live|be alive|exist|wake up)|"
          r"\bdon'?t want to be (?:here|alive) (?:anymore|any more)\b|"
          r"\bi (?:want to|wanna|just want to|wish i could)(?: just)? disappear (?:forever|for good|from (?:this|the) world)|"
          r"\bno reason (?:for me )?to (?:live|be alive|go on|keep going)\b|\bbetter off (?:dead|without me)\b|"
          r"\bwish i (?:was|were) dead\b|"
          r"\bwish i (?:didn'?t|did not) exist\b",
          unless=r"(?:boring|bored|embarrass|this song|lmao|lol|haha|😂|🤣|this (?:party|class|school|town|place))"),
        R("self_harm_cut", "self_harm", STRONG,
          r"\b<I> (?:lại |hay |đã |vừa |muốn |thường |đang |tự )+(?:cắt|rạch|cứa) (?:tay|cổ tay|đùi)|"
          r"\b(?:cắt|rạch|cứa) (?:tay|cổ tay|đùi) (?:\w+ )?(?:để|cho) (?:đỡ|bớt|quên|hết) (?:đau|buồn|khổ)|"
          r"\b(?:rạch|cứa) (?:vào )?(?:tay|cổ tay|đùi|chân|người)\b|\bcắt (?:cổ tay|tay)\b(?! áo| móng)|"
          r"\b(?:compa|dao rọc giấy|mảnh kính|mảnh chai|kéo) (?:rạch|cứa|cắt) (?:vào )?(?:tay|cổ tay|đùi)\b|"
          r"\b(?:lại |tiếp tục )?(?:rạch|cứa) (?:tiếp|thêm)\b|\blại (?:rạch|cứa)\b|"
          r"\b(?:dao lam|lưỡi lam|razor|razors|blade|blades)\b.{0,25}\b(?:tay|đùi|cổ tay|arm|arms|wrist|wrists|thigh|myself)|"
          r"\b(?:lấy|dùng) (?:dao lam|lưỡi lam|dao) (?:cứa|rạch)|\bburn(?:ing|ed)? myself\b|"
          r"\b(?:cut|cutting|hurt|hurting|harm|harming|burn|burning) myself\b|\bself[- ]?harm\w*|"
          r"\b(?:i|i've|i have|been|started) (?:cut|cutting) again\b|\bcut again\b|\bbeen cutting\b|"
          r"\b(?:wrists?|arms?|thighs?) (?:are |is )?(?:covered in|full of) (?:cuts|scars)\b|\bcuts on my (?:wrists?|arms?|thighs?)\b|"
          r"\bcut (?:my|both) wrists?\b|\bcut my (?:arms?|thighs?|legs?) (?:again|open|with)\b|"
          r"\b(?:cào|cấu|rạch|cắt|cứa|đấm|đập|cắn) (?:\w+ ){0,3}?(?:đến|tới|cho|tới khi|đến khi) chảy máu\b|"
          r"\btự (?:cào|cấu|đánh|đấm|tát|cắn) (?:mình|bản thân|tay)\b|"
          r"\btự (?:làm đau|hại|làm hại|rạch|cắt) (?:bản thân|mình|tay)",
          unless=r"(?:nấu|bếp|rau|thịt|gọt|vô tình|lỡ tay|kitchen|cooking|accident|giấy|paper|oven|stove|"
                 r"iron|curling|pan|by accident|accidentally|lò|bàn là|"
                 r"(?:bị|lỡ|sơ ý) (?:\w+ )?(?:cắt|cứa)|phẫu thuật|bác sĩ|bệnh viện|tai nạn|móng tay)",
          ambiguous=True),  # plain "cat tay" is also "cát tay" (lucky hands)
        R("self_harm_sleep_forever", "self_harm", MEDIUM,
          r"\b(?:ngủ|nhắm mắt|ngủ một giấc)\b.{0,30}\b(?:(?:không bao giờ|mãi mãi không|mãi không) (?:tỉnh|tỉnh lại|dậy|thức dậy)|không (?:tỉnh lại|dậy|thức dậy) nữa)\b|"
          r"\bngủ (?:luôn|mãi) không (?:dậy|tỉnh)|\b(?:go to )?sleep (?:forever|and never wake up)\b|"
          r"\bngủ (?:mãi mãi|vĩnh viễn|một giấc vĩnh viễn)\b|"
          r"\bnever wake up\b|\bnot wake up (?:again|tomorrow)\b"),
        R("self_harm_farewell", "self_harm", MEDIUM,
          r"\b(?:đây là )?(?:tin nhắn|lời|dòng) (?:cuối cùng|cuối)(?: của (?:em|mình|tớ|tao|con))\b|"
          r"\b(?:đây là )(?:tin nhắn|lời|dòng) (?:cuối cùng|cuối)\b|\blời (?:nhắn|chào) cuối cùng\b|"
          r"\b(?:mọi người |bố mẹ |đừng ai )?đừng (?:tìm|chờ|đợi) (?:em|mình|tớ|con|tao) nữa|"
          r"\bđừng (?:ai )?tìm (?:em |mình |tớ |con )?nữa|"
          r"\b(?:mọi người|bố mẹ|cả nhà|các bạn|mẹ|bố) (?:\w+ )?đừng (?:tìm|chờ|đợi) (?:em|mình|tớ|con|tao)\b|"
          r"\b(?:goodbye|suicide) (?:letter|letters|note|notes)\b|\bthư (?:tuyệt mệnh|vĩnh biệt|từ biệt)\b|"
          r"\bvĩnh biệt (?:mọi người|tất cả|cả nhà|bố mẹ|ba mẹ|thế giới|cuộc đời)\b|\bthis is (?:my )?goodbye\b|"
          r"\b<I> (?:sẽ )?(?:không còn|chẳng còn) (?:ở đây|trên đời|trên cõi đời này|sống) (?:nữa)?\b|"
          r"\bviết (?:xong )?thư (?:để lại|từ biệt|vĩnh biệt)|"
          r"\btạm biệt (?:mọi người|tất cả|cả nhà|bố mẹ|ba mẹ|thế giới)\b.{0,40}\b(?:xin lỗi|đừng tìm|mãi mãi|"
          r"kiếp sau|vĩnh biệt|không gặp lại|đi đây|ra đi)|"
          r"\bkhi (?:mọi người|bố mẹ|các bạn) đọc (?:được )?(?:tin|dòng|thư) này|"
          r"\b(?:this is )?my (?:last|final) (?:message|post|goodbye|words)\b|\bby the time you read this\b|"
          r"\b(?:goodbye|bye) (?:everyone|everybody|world|all)\b.{0,40}\b(?:i'?m sorry|forgive me|forever|"
          r"i love you all)|\bi'?m sorry for everything\b.{0,30}\b(?:goodbye|bye|love you)|"
          r"\bdon'?t (?:look|wait) for me\b|\bi won'?t be (?:here|around) (?:tomorrow|anymore)",
          unless=r"(?:tin nhắn cuối cùng (?:của|trong) (?:nhóm|lớp)|trốn tìm|hide and seek|thấy rồi|"
                 r"chuyển (?:trường|nhà|lớp)|dọn nhà|về quê|du học|đi học xa|moving|new school|"
                 r"(?:tớ|mình|em) (?:thấy|tìm thấy|tìm được) (?:cái|quyển|rồi)|(?:was|is) about|did you see|"
                 r"homework|bài tập)"),
        R("self_harm_method", "self_harm", MEDIUM,
          r"\b(?:nhảy (?:cầu|lầu|sông|từ tầng|xuống từ|xuống sông|xuống hồ)|"
          r"uống (?:hết )?(?:cả )?(?:vỉ |lọ )?thuốc (?:ngủ|chuột|trừ sâu|diệt cỏ)|"
          r"(?:uống|nuốt) hết (?:cả )?(?:vỉ|lọ|hộp|chai) thuốc|(?:treo|thắt) cổ (?:tự tử|mình|bản thân|chết)|"
          r"(?:muốn|sẽ|định|tính) (?:treo|thắt) cổ|nhảy xuống (?:đây |luôn )?cho xong|"
          r"(?:muốn|định|sẽ|sắp|tính) nhảy (?:xuống|lầu|cầu|sông)|jump(?:ing)? off (?:a|the|this) (?:bridge|building|roof)|"
          r"tak(?:e|ing) all (?:the |my |of my |my \w+'?s )?(?:pills|meds|medicine|tablets)|"
          r"(?:dao lam|lưỡi lam|razor|razors|blades?) (?:\w+ ){0,3}?(?:để sẵn|giấu|chuẩn bị|sẵn sàng|ready|hidden)|"
          r"(?:giấu|mua|chuẩn bị|để sẵn) (?:\w+ ){0,2}?(?:dao lam|lưỡi lam)|"
          r"(?:tích|gom|để dành) (?:đủ |được |đủ số )?thuốc|(?:saved|stockpiled?|saving) (?:up )?(?:pills|meds)|"
          r"uống thuốc quá liều|quá liều|overdose|jump off (?:a|the) (?:bridge|building|roof)|"
          r"(?:hang|hanging) myself|sleeping pills)\b(?! thang| trượt| lông| vồng)",
          unless=r"(?:môn nhảy cầu|vận động viên|huy chương|olympic|sea games|hồ bơi|bể bơi|đi bơi|"
                 r"(?:mới|để|cho dễ) ngủ|mất ngủ|"
                 r"bác sĩ kê|đơn thuốc|phim|truyện|movie|game|lol|lmao|😂|🤣)"),
        R("self_harm_disappear", "self_harm", MEDIUM,
          r"\b(?:ai cũng|mọi người|cả nhà|bố mẹ) (?:sẽ )?(?:vui|tốt|nhẹ nhõm|sướng) hơn (?:nếu|khi) (?:không có|thiếu) <I>|"
          r"\bnghĩ (?:đến|tới|về) (?:cái chết|việc chết|chuyện chết|chuyện tự tử)\b|"
          r"\b(?:no|there'?s no) point (?:in )?(?:living|going on|being alive)\b|"
          r"\bkết thúc (?:tất cả|mọi thứ|cuộc đời (?:này|mình)|cuộc sống (?:này)?)(?: (?:thôi|đi|ở đây|tại đây|"
          r"cho xong|luôn|nhé)){0,2}(?= *(?:[.!…]|$))|"
          r"\b(?:chết|biến mất|không còn|ra đi|đi luôn|không có mặt) (?:đi )?(?:thì|là|cho) (?:\w+ ){0,2}?"
          r"(?:hơn|tốt hơn|tốt nhất|xong|nhẹ nhõm|hết chuyện)\b|"
          r"\bthink(?:ing)? (?:about|of) (?:dying|suicide|killing myself|ending it|ending my life)\b|"
          r"\b(?:chết|biến mất|không còn|ra đi)\b.{0,25}\b(?:chẳng|không|chả) ai (?:để ý|nhận ra|quan tâm|nhớ|buồn|"
          r"khóc|thèm|biết)|"
          r"\b(?:better|easier|happier) (?:for everyone )?if i (?:disappeared|was gone|were gone|was dead|were dead|"
          r"died|wasn'?t here)|"
          r"\bif i (?:disappeared|was gone|died)\b.{0,25}\b(?:nobody|no one) would (?:care|notice|miss)|"
          r"\beveryone (?:would be|is|will be) (?:better|happier) (?:off )?without me\b|"
          r"\b(?:nobody|no one) would (?:care|notice|miss me|even notice|even care) if i (?:was gone|were gone|died|"
          r"disappeared|killed myself|wasn'?t here)"),
        R("self_harm_hopeless", "self_harm", WEAK,
          r"\b<I> (?:là )?(?:gánh nặng|đồ bỏ đi|không đáng sống)|"
          r"\bđứng (?:trên|ở) (?:sân thượng|tầng thượng|nóc nhà|mái nhà|lan can|mép cầu|thành cầu)\b|"
          r"\bước gì <I> (?:chưa từng|không) (?:được )?sinh ra|\bbiến mất khỏi (?:thế giới|cuộc đời)|"
          r"\b(?:<I> )?(?:chỉ |thật sự |thực sự )?muốn biến mất\b|"
          r"\bi'?m a burden\b|"
          r"\bi want to disappear\b|\bnobody would (?:miss|notice) me|"
          r"\bgoodbye (?:forever|everyone|world)\b|\blời (?:trăn trối|vĩnh biệt)\b",
          unless=r"(?:xấu hổ|ngại|ngượng|quê|nhục|haha|hihi|lol|=\)\)|:\)\)|😂|🤣|embarrass)"),
        R("self_harm_self_hate", "self_harm", WEAK,
          r"\b(?:ghét|căm ghét|ghê tởm) bản thân\b|\b(?:ai cũng|mọi người đều|cả lớp đều) ghét (?:mình|em|tớ|tao|tôi|con)\b|"
          r"\b(?:không ai|chẳng ai|chả ai) (?:thương|cần|quan tâm|yêu|hiểu|muốn chơi với) (?:mình|em|tớ|tao|tôi|con)\b|"
          r"\b(?:mình|em|tớ|tao|tôi|con) (?:thật )?(?:vô dụng|vô giá trị|thừa thãi)\b|"
          r"\bi (?:hate|despise) myself\b|\beveryone hates me\b|\bnobody (?:loves|cares about|wants|needs) me\b|"
          r"\bi'?m (?:so )?(?:worthless|useless|a failure)\b"),
        # Weak distress signals: none labels alone (0.35 < the 0.4 threshold); two different
        # ones in one message do ("con xin lỗi bố mẹ, con không chịu được nữa, con đi đây").
        R("self_harm_distress", "self_harm", WEAK,
          r"\b(?:không|chẳng|chả) (?:chịu|chịu đựng|trụ) (?:được|nổi) nữa\b|\bchịu hết nổi\b|\bhết chịu nổi\b|"
          r"\b(?:<I> )?(?:bị )?trầm cảm\b|\bsuy sụp\b|\bkiệt sức rồi\b|\bmệt mỏi (?:lắm|quá) rồi\b|"
          r"\bcan'?t (?:take|handle|stand) (?:it|this|anything) (?:anymore|any more)\b|\bi'?m (?:so )?depressed\b|"
          r"\btired of everything\b|\bi hate everything\b",
          unless=r"(?:haha|hihi|lol|lmao|=\)\)|:\)\)|😂|🤣|bài tập|homework|nóng|ồn|tắc đường|traffic)"),
        R("self_harm_apology", "self_harm", WEAK,
          r"\b(?:con|em|mình|tớ) xin lỗi (?:bố mẹ|ba mẹ|mẹ|bố|ba|má|mọi người|tất cả)(?: vì tất cả)?\b|"
          r"\btha lỗi cho (?:con|em|mình)\b|\bi'?m sorry for everything\b|\bforgive me\b",
          unless=r"(?:lỡ|làm vỡ|làm hỏng|quên|về muộn|điểm kém|đi trễ|broke|forgot|late)"),
        R("self_harm_leaving", "self_harm", WEAK,
          r"\b(?:con|em|mình|tớ) đi (?:đây|trước đây|trước nhé|nhé mọi người)\b|"
          r"\bkhông bao giờ (?:quay lại|trở về|gặp lại (?:mọi người|bố mẹ) nữa)\b|\b(?:em|con|mình) đi xa mãi\b|"
          r"\b(?:i'?m|i am) (?:finally )?ending it\b|\bsee you (?:all )?on the other side\b|\bthis is the end\b|"
          r"\bvết (?:cắt|rạch|cứa) (?:trên|ở) (?:tay|cổ tay|đùi)\b",
          unless=r"(?:đi học|đi chơi|đi ngủ|đi ăn|đi tắm|ngủ đây|mèo|chó|cào|game|movie|phim)"),
        R("self_harm_incite", "self_harm", MEDIUM,
          r"\b(?:<YOU>|mày|you|u) (?:nên|đi|hãy|should|go|better) (?:chết|tự tử|chết đi|kill yourself|die)\b|"
          r"\bkill yourself\b|\bgo die\b|\bđi chết (?:đi|mẹ mày đi)\b|\bsao (?:mày )?không (?:chết|tự tử) (?:đi)?\b"),

        # ---------------------------------------------------------------- grooming (urgent)
        # Each rule is one grooming signal (its kind in GROOMING_KINDS); most are weak alone.
        # Two signals in one message (secrecy + photo request, gift + meeting alone…) add the
        # combined rule "grooming_combined" (see _combine).
        R("grooming_secrecy", "grooming", 0.5,
          r"\b(?:đừng|không được|cấm|đừng có) (?:nói|kể|cho|khoe|để) (?:với |cho )?"
          r"(?:ai|bố mẹ|ba mẹ|cha mẹ|bố|mẹ|ba|má|người lớn|thầy cô|cô giáo|bạn bè|người khác)|"
          r"\bbí mật (?:của )?(?:hai|2) (?:đứa|anh em|chú cháu|chúng mình|ta)|"
          r"\bchuyện (?:của )?(?:hai|2) (?:đứa|anh em|chú cháu|ta|chúng mình) (?:thôi)?|"
          r"\bchỉ (?:có )?(?:hai đứa|2 đứa|hai anh em|2 anh em|hai chú cháu|chúng) (?:mình |ta )?(?:thôi|biết)|"
          r"\b(?:sẽ )?(?:không ai biết|chẳng ai biết|không người nào biết) (?:đâu|chuyện này|chuyện mình)|"
          r"\b(?:xoá|xóa) (?:hết |đi )?(?:tin nhắn|đoạn chat|cuộc trò chuyện|lịch sử)|"
          r"\bdon'?t tell (?:your )?(?:mom|mum|mommy|dad|daddy|parents|anyone|anybody|teacher)|"
          r"\b(?:can'?t|cannot|mustn'?t|must not|shouldn'?t|never|won'?t) tell (?:anyone|anybody|your (?:mom|mum|dad|parents|teacher))|"
          r"\b(?:no one|nobody) (?:will|has to|needs to|is going to|gonna) (?:know|find out)\b|"
          r"\bour (?:little )?secret\b|\b(?:it'?s|this is|that'?s|be) (?:our|a) (?:little )?secret\b|"
          r"\ba little secret\b|\bkeep (?:this|it|us) (?:between us|secret|a secret)|"
          r"\bsecret from (?:your )?(?:mom|mum|dad|parents|family|everyone)\b|"
          r"\bdelete (?:this|the|our|these) (?:chat|messages?|conversation)|\bjust between us\b|"
          r"\bdelete (?:this|it|these|everything) (?:after|afterwards|later|when you)\b|\bdon'?t tell (?:them|her|him)\b|"
          r"\b(?:xoá|xóa) (?:\w+ ){0,2}?(?:sau khi|ngay khi|khi) (?:gửi|gởi|đọc|xem|nhắn)|\b(?:can|will) you keep a secret\b|"
          r"\bkhông cần (?:nói|kể|báo) (?:với |cho )?(?:ai|bố mẹ|ba mẹ|bố|mẹ|ba|má|người lớn)\b|"
          r"\bđừng để (?:bố mẹ|ba mẹ|bố|mẹ|ba|má|ai|người lớn) biết\b|\bdon'?t say anything\b|"
          r"\b(?:và|thì|mà) không (?:nói|kể) (?:với|cho) (?:ai|bố mẹ|ba mẹ|người lớn)\b|"
          r"\b(?:won'?t|will not|never) show (?:anyone|anybody)\b|\b(?:anh|chú) (?:hứa )?không cho ai xem\b|"
          r"\bđừng (?:dẫn|rủ|gọi|mang) (?:ai|bạn|bạn bè|người khác|theo ai)(?: (?:theo|đi cùng|đi theo|cùng))?\b|"
          r"\b(?:nhớ )?(?:xoá|xóa) hết (?:đi |nhé|nha|đó|luôn)|"
          r"\bdon'?t bring (?:anyone|anybody|friends|your friends|your (?:mom|mum|dad|parents))|"
          r"\b(?:wipe|clear|erase|delete) (?:\w+ ){0,2}?(?:chats?|messages|texts|convo|conversations?|dms|history)\b"
          r"(?! (?:group|app))|"
          r"\b(?:no one|nobody) (?:reads?|sees?|checks?|can see|can read|will see) (?:it|them|our|what we|there)\b|"
          r"\b(?:nhớ )?giữ (?:bí mật|kín)\b|"
          r"\b(?:bố mẹ|ba mẹ|mẹ|bố|ba|má|người lớn|mọi người) (?:<KID> )?(?:không cần|chẳng cần|ko cần) (?:phải )?biết\b",
          unless=r"(?:surprise|party|birthday|bất ngờ|sinh nhật|tiệc|quà tặng mẹ|quà tặng bố|spam|quảng cáo|"
                 r"meme|group chat|nhóm lớp|nhầm nhóm|gửi nhầm)"),
        # Secrecy about the contact itself (hiding that an adult and the child talk, meet or
        # exchange gifts) is a red flag on its own: strong enough to label alone.
        R("grooming_secret_contact", "grooming", MEDIUM,
          r"\b(?:don'?t|dont|do not|never|can'?t|cannot) (?:tell|show) (?:\w+ ){0,3}?(?:about us\b|(?:that )?(?:we|i) "
          r"(?:talk|chat|text|message|meet|met|talked|send|sent|gave|give)\b|about (?:our|my) (?:chats?|messages|texts|"
          r"talks?|friendship|gifts?))|"
          r"\b(?:your |ur )?(?:parents|mom|mum|dad|family) (?:don'?t|doesn'?t|dont|doesnt|do not|does not) (?:have|need) "
          r"to know (?:about us|(?:that )?we|about (?:this|our|me))|"
          r"\bkeep (?:our|this|us) (?:chats?|friendship|relationship|talks?|conversations?|messages)? ?(?:a )?secret\b|"
          r"\b(?:delete|wipe|clear|erase) (?:our|this|these|the) (?:chats?|messages|texts|convo|conversation|dms) "
          r"(?:\w+ ){0,3}?(?:so (?:your|ur)|before (?:your|ur)|(?:your|ur) (?:mom|mum|dad|parents))|"
          r"\b(?:đừng|không được|ko được|cấm) (?:kể|nói|khoe) (?:\w+ ){0,4}?(?:chuyện (?:mình|anh em mình|chú cháu|hai đứa|"
          r"chúng mình) (?:nhắn tin|nói chuyện|gặp nhau|quen nhau|chat)|(?:là )?(?:anh|chú|a) (?:nhắn tin|nói chuyện|"
          r"cho (?:em |cháu |e )?tiền|nạp|tặng|gặp))|"
          r"\b(?:xoá|xóa) (?:hết )?(?:tin nhắn|đoạn chat|cuộc trò chuyện)(?: \w+){0,4}? (?:đừng để|kẻo|không thì|lỡ|"
          r"để khỏi|không để) (?:\w+ )?(?:bố mẹ|ba mẹ|mẹ|bố|ba|má|người lớn)",
          unless=r"(?:surprise|party|birthday|bất ngờ|sinh nhật|tiệc)"),
        R("grooming_private_channel", "grooming", WEAK,
          r"\b(?:add|kết bạn|kb|inbox|ib|nhắn|qua|sang|chuyển sang|vào|lên|xin|tải|cài|download|install|"
          r"cho (?:anh|chú|mình|a) xin) "
          r"(?:nick |acc |tài khoản |số )?<APP>\b|\bnhắn riêng\b|\bchat riêng\b|\binbox riêng\b|"
          r"\b(?:add me|message me|text me|dm me|hit me|call me|find me|talk to me|chat with me|meet me) (?:up )?on <APP>|\bwhat(?:'?s| is) (?:your|ur) (?:snap|number|insta|discord|<APP>)|"
          r"\b(?:move|take|switch|bring) (?:this|it|us|our chat|our talk) (?:over )?(?:to|on) <APP>|"
          r"\b(?:let'?s|we can|we should) (?:move|go|switch|talk) (?:to|on) <APP>|\b(?:switch|move|come over) to <APP>|"
          r"\b(?:private|secret) (?:chat|account|server|group)\b|\b<APP> (?:của )?(?:em|bé) (?:là )?(?:gì|bao nhiêu)"),
        R("grooming_move_off_platform", "grooming", MEDIUM,
          r"\b(?:add|kết bạn|kb|inbox|nhắn|qua|sang|chuyển sang|lên|vào|dùng|message|text|dm|talk|chat|move|"
          r"download|install|tải|cài) .{0,20}<APP>"
          r".{0,40}(?:not here|ở đây không tiện|ở đây bị|không ai đọc|không ai biết|privately|riêng tư|bí mật|"
          r"safer|an toàn hơn|(?:no one|nobody) (?:reads?|sees?|checks?)|"
          r"reads? (?:our|the) messages|(?:bố mẹ|ba mẹ) (?:em |con )?(?:đọc|xem|kiểm tra)|"
          r"your (?:parents|mom|mum|dad) (?:check|checks|read|reads|see|sees|look at|can'?t see|won'?t see))|"
          r"\b(?:xin|cho (?:anh|chú) xin) (?:zalo|số|sđt|số điện thoại|face|facebook|insta) .{0,15}"
          r"(?:nói chuyện riêng|nhắn riêng|tâm sự riêng|chat riêng)"),
        R("grooming_photo_request", "grooming", WEAK,
          r"\b(?:gửi|gởi|send|chụp|quay) (?:cho )?(?:anh|chú|bác|tao|me) .{0,25}?<PIC> (?:của )?"
          r"(?:em|bé|cháu|you|yourself|mày)|"
          r"\b(?:gửi|gởi|send|chụp|quay) (?:cho )?(?:anh|chú|bác|me) (?:1|một|cái|vài|mấy|a|some)? ?"
          r"(?:tấm )?(?:<PIC>|selfie) (?:em|bé|cháu|of you|your)|"
          r"\b(?:gửi|gởi|chụp|quay) (?:cho )?(?:anh|chú|bác) (?:\w+ ){0,2}?<PIC> riêng\b|"
          r"\b(?:nếu|miễn là|if) (?:<KID>|you) (?:\w+ )?(?:gửi|gởi|chụp|quay|send|show|take) .{0,15}?<PIC>|"
          r"\b<KID> (?:gửi|gởi|chụp|quay) (?:cho )?(?:anh|chú|bác) (?:\w+ ){0,2}?<PIC>\b|"
          r"\b(?:gửi|gởi|chụp) (?:\w+ ){0,2}?<PIC> (?:\w+ ){0,2}?(?:cho anh|cho chú|cho bác)(?: xem| coi)?"
          r"(?= *(?:đi|nhé|nha|nhá|với|được không|[.!?]|$))|"
          r"\b(?:chụp|quay) (?:\w+ ){0,2}?<PIC> (?:\w+ ){0,2}?(?:gửi|gởi) (?:cho )?(?:anh|chú|bác|a)\b|"
          r"\b(?:gửi|gởi) (?:\w+ ){0,2}?<PIC> (?:của )?(?:em|bé|cháu) (?:đi|nha|nhé|nhá|xem|coi|được không)\b|"
          r"\bsend (?:me )?(?:a |some |more |your )?(?:pic|pics|picture|pictures|photo|photos|selfie|selfies|video|vid)\b|"
          r"\b(?:cho anh|cho chú|cho bác|cho a) (?:xem|coi|ngắm) (?:ảnh|hình|mặt|chân) (?:của )?(?:em|bé|cháu)|"
          r"\b(?:send|show) me (?:a |some |your )?(?:pic|pics|picture|pictures|photo|photos|selfie|video) "
          r"(?:of )?(?:you|yourself)\b|"
          r"\b(?:bật|mở) (?:cam|camera|video)\b.{0,20}\b(?:anh xem|cho anh|chú xem|riêng)|"
          r"\b(?:video call|facetime|gọi video|call video|video chat) (?:\w+ ){0,2}?(?:alone|một mình|riêng|privately)\b|"
          r"\b(?:gửi|gởi|send) (?:cho )?(?:anh|chú|bác|a|me) (?:\w+ ){0,3}?(?:<PIC>|selfie|selfies)\b",
          # Schoolwork; a picture already known to both ("the photo from the trip"); advice
          # against sending ("never send pics to strangers", "đừng gửi ảnh cho người lạ").
          unless=r"(?:bài tập|homework|notes|bài học|cô giáo|thầy|lớp học|kỷ yếu|nhóm lớp|"
                 r"đồ án|slide|tài liệu|field trip|worksheet|assignment|"
                 r"\b(?:the|that|this|these|those) (?:<PIC>|selfie|selfies)\b|"
                 r"\b(?:never|don'?t|do not|shouldn'?t|should not|không được|không nên|đừng|"
                 r"không bao giờ|ko được) (?:\w+ )?(?:send|gửi|gởi)\b)"),
        R("grooming_video_call", "grooming", FAINT,
          r"\b(?:gọi video|call video|video call|videocall|facetime|gọi face|video chat|bật cam|mở cam|bật camera|"
          r"mở camera|bật webcam|turn on (?:your )?(?:cam|camera|webcam)|cam (?:with|for) me)\b",
          unless=r"(?:bài tập|homework|học nhóm|học bài|làm bài|ôn bài|ôn thi|slide|thuyết trình|study|"
                 r"ông|bà ngoại|bà nội|grandma|grandpa|nana|cả nhà|family|họp lớp|học online|zoom lớp|class|"
                 r"video nhóm|gọi nhóm|cả nhóm|group call|project)"),
        R("grooming_sexual_photo", "grooming", STRONG,
          r"\b(?:gửi|gởi|send|chụp|quay|cho (?:anh|chú|tao|tớ|mình|bác) (?:xem|coi|ngắm)|show me|"
          r"i want to see|bật cam|mở cam|turn on (?:your )?cam(?:era)?|xin (?:\w+ )?<PIC>|for (?:a |some |your )?<PIC>) "
          r".{0,40}?<BODY>|"
          r"\b<BODY> .{0,15}(?:cho (?:anh|chú|tao|mình) (?:xem|coi)|(?:gửi|send) (?:anh|chú|me))|"
          r"\b(?:gửi|gởi|send|chụp|quay|cho (?:anh|chú|bác|tao|mình) (?:xem|coi)|show me) .{0,25}?<PIC> "
          r"(?:\w+ ){0,2}?(?:riêng tư|nhạy cảm|private|naughty|18\+)|"
          r"\b(?:cho anh|cho chú|cho bác|cho tao|cho mình) (?:xem|coi|ngắm|sờ) (?:\w+ )?(?:người|body|dáng|cơ thể|thân hình|"
          r"vùng kín|chỗ kín|ngực|mông|đùi) (?:của )?(?:em|bé|cháu)\b(?! (?:gái|trai|họ|của (?:bạn|cậu|anh|chị)))|"
          r"\b(?:bật|mở) (?:cam|camera|webcam|video) (?:\w+ ){0,3}?(?:ngắm|nhìn) (?:<KID>|người <KID>)\b|"
          r"\bcởi (?:đồ|áo|quần) (?:ra )?(?:cho|đi|anh)|\btake off your (?:shirt|clothes|top|pants)|"
          r"\bsend (?:me )?nudes?\b|\bsend (?:me )?(?:a |some )?(?:nude|naked|sexy|hot|private) <PIC>"),
        R("grooming_gift", "grooming", WEAK,
          r"\b<ADULT> (?:sẽ )?(?:nạp|mua|tặng|cho|gửi|chuyển|bank) (?:cho )?<KID> "
          r"(?:\w+ )?(?:thẻ|card|kc|kim cương|quân huy|skin|robux|vbucks|v-bucks|tiền|quà|điện thoại|"
          r"đồ|acc|nick|gem|uc|\d+ ?(?:k|nghìn|ngàn|triệu|tr|củ|xị)\b)|"
          r"\b(?:anh|chú|bác|a) (?:sẽ )?(?:nạp|mua|tặng|bank) (?:\d+\w* )?(?:thẻ|kc|kim cương|quân huy|skin|robux|"
          r"vbucks|uc|gem)\b|"
          r"\bnạp (?:thẻ|kc|kim cương|quân huy|robux|uc|game) cho <KID>\b|\bcho <KID> (?:skin|kc|kim cương|robux|quân huy)|"
          r"\b(?:anh|chú|bác|a) (?:sẽ )?nạp (?:game|tiền game|liên quân|free fire|roblox)\b|"
          r"\b(?:anh|chú|bác|a) (?:sẽ )?(?:nạp|chuyển khoản|chuyển|bank|tặng|mua) (?:\w+ ){0,4}?"
          r"(?:\d+ ?(?:k|nghìn|ngàn|triệu|tr|củ)|thẻ|card|kc|uc|kim cương|quân huy|robux|skin|quà|iphone|ipad|"
          r"trà sữa|quần áo|váy|son|đồ chơi|gấu bông)\b|"
          r"\b(?:kiếm|nhận|lấy|muốn) (?:skin|kc|kim cương|robux|quân huy|vbucks|quà) (?:free|miễn phí)\b|"
          r"\b<KID> (?:có )?(?:muốn|thích) (?:\d+ )?(?:kc|kim cương|robux|quân huy|skin|vbucks) không\b|\bi(?:'ll| will| can) pay (?:you|u)\b|"
          r"\bi(?:'ll| will| can| could) (?:buy|get|give|send) (?:you|u) (?:some |free |a |an |the )?(?:new )?(?:robux|v-?bucks|skins?|gift ?cards?|money|"
          r"phone|iphone|gift|present|gems|battle ?pass|phone credit|credit|top.?up|diamonds)|\b(?:free|cho) robux\b|"
          r"\bi(?:'ll| will| can| could) (?:pay|top up|cover) (?:for )?(?:your|ur) (?:phone|credit|data|top.?up|game|skins?|battle ?pass)"),
        R("grooming_gift_condition", "grooming", 0.45,
          r"\b(?:gift ?card|robux|v-?bucks|skins?|money|a phone|presents?) if you\b|"
          r"\bi'?ll (?:buy|get|give|send|pay) you .{0,30}\bif you\b|\bif you .{0,40}\bi'?ll (?:buy|get|give|send|pay) you\b|"
          r"\b<ADULT> (?:sẽ )?(?:mua|tặng|cho|nạp|bank|chuyển) .{0,30}(?:nếu|miễn là) (?:<KID>)\b|"
          r"\b(?:nếu|miễn là) (?:em|bé|cháu) .{0,30}\b(?:anh|chú|a) (?:sẽ )?(?:mua|tặng|cho|nạp)|"
          r"\bnghe lời (?:anh|chú|a) (?:thì|là) .{0,20}\b(?:anh|chú|a) (?:sẽ )?(?:mua|tặng|cho|nạp)|"
          r"\b(?:thì|là) (?:anh|chú|a) (?:sẽ )?(?:mua|tặng|nạp|chuyển|bank) (?:\w+ )?(?:liền|ngay|luôn|cho)\b|"
          r"\bchỉ cần (?:<KID> )?(?:làm theo lời|nghe lời|gửi|chụp|cho (?:anh|chú) xem|gặp|ra gặp|đi chơi với) (?:anh|chú|a)?"),
        R("grooming_meet", "grooming", WEAK,
          r"\b(?:gặp|đi chơi|hẹn|đón|qua đón|ra gặp|đến gặp) (?:nhau|em|bé|cháu|anh|chú)?\s?"
          r"(?:ngoài đời|riêng|một mình|ở đâu|được không|không|nhé|đi|tối nay|cuối tuần)|"
          r"\b(?:<ADULT>) (?:sẽ )?(?:qua |đến |tới |ra )?(?:đón|gặp|đợi|chờ) <KID>|\bđi khách sạn\b|\bnhà nghỉ\b|"
          r"\b(?:<ADULT>) (?:qua nhà|đến nhà|tới nhà|ghé nhà|qua chỗ|đến chỗ|tới chỗ|qua phòng|vào phòng) <KID>\b|"
          r"\b(?:qua|đến|tới|sang) (?:nhà anh|nhà chú|phòng anh|phòng chú)\b|"
          r"\b(?:gặp|ra gặp|đến gặp) (?:anh|chú|bác)\b(?! (?:ấy|ta|trai|họ|hai|cả))|"
          r"\b(?:anh|chú|bác|a) (?:sẽ )?(?:ghé|qua|sang|tới|đến) (?:qua )?(?:chơi|thăm|nhà|đón|đưa|mang)\b|"
          r"\bmeet (?:up|me|in person|irl)\b|\bcome (?:to|over to) my (?:place|house|room|hotel|car)|"
          r"\bi (?:can|could|will|'ll) (?:come (?:over|by|to your (?:house|place))|swing by|stop by|drop by)\b|"
          r"\bi(?:'ll| will| can) (?:come )?pick (?:you|u) up\b|\bcome alone\b|\bđến một mình\b|"
          r"\bi(?:'ll| will) (?:wait for|meet) (?:you|u) (?:near|at|outside|behind|by) (?:your )?(?:school|house|home|park|mall)\b",
          unless=r"(?:họp lớp|cả lớp|đi học|bố mẹ đón|mẹ đón|ba đón|học nhóm|study|homework|bài tập)"),
        R("grooming_meet_alone", "grooming", WEAK,
          r"\b(?:gặp|đi chơi|đi|đến|tới|qua|ra|vào phòng|ở lại|đợi) (?:\w+ ){0,3}?(?:một mình|1 mình)\b|"
          r"\b(?:gặp|đi chơi|hẹn hò|hẹn) (?:\w+ ){0,2}?riêng\b(?! tư)|"
          r"\bcome alone\b|\b(?:come|meet me|be there|go there) (?:\w+ ){0,4}?alone\b|"
          r"\b(?:ngủ lại|ngủ|qua đêm|ở lại) (?:ở )?(?:nhà|phòng|chỗ) (?:anh|chú|bác)\b|"
          r"\b(?:sleep|stay) over at my (?:place|house)\b|\bspend the night (?:with me|at my)\b|"
          r"\bjust (?:you and me|the two of us|us)\b",
          unless=r"(?:họp lớp|cả lớp|đi học|tự đi|đi bộ|đi xe|(?:bố mẹ|ba mẹ|mẹ|bố|ba|má) (?:cho|đưa|đón|bảo|dặn|nhờ|để))"),
        R("grooming_meet_offline", "grooming", WEAK,
          r"\b(?:gặp|hẹn gặp|gặp mặt|đi chơi) (?:nhau |anh |chú |em |bé )?(?:ở )?(?:ngoài đời|ngoài đời thực|trực tiếp)\b|"
          r"\b(?:meet|hang out|see each other) (?:up )?(?:irl|in person|in real life|offline)\b",
          unless=r"(?:họp lớp|cả lớp|đi học|bố mẹ|ba mẹ|cô giáo|thầy|class|teacher|parents)"),
        R("grooming_romance", "grooming", FAINT,
          r"\b(?:mình|anh em mình|chúng mình) yêu nhau (?:nhé|nha|đi|không)|\blàm người yêu (?:anh|chú|a)\b|"
          r"\b(?:em|bé) (?:có )?yêu (?:anh|chú) không\b|\bhẹn hò (?:với anh|với chú|nhé|nha|không)\b|"
          r"\bbe my (?:girlfriend|boyfriend|gf|bf)\b|\b(?:date|go out with) me\b|"
          r"\b(?:<KID> )?(?:đã )?có (?:người yêu|bồ|bạn trai|bạn gái) chưa\b|\b(?:do you have|got) a (?:boyfriend|girlfriend|bf|gf)\b"),
        R("grooming_home_alone", "grooming", FAINT,
          r"\b(?:<KID> )?(?:có )?(?:đang )?ở nhà (?:có )?(?:một mình|1 mình|mình em)\b|"
          r"\b(?:nhà có ai không|nhà ai không|nhà có mình em không|nhà mình em không)\b|"
          r"\bnhà (?:<KID>|bạn) (?:có )?(?:ai|người lớn) (?:ở nhà )?không\b|"
          r"\byour (?:mom|mum|dad|parents?)(?:'s| is| are)? (?:not home|out|away|gone)\b|"
          r"\b(?:bố mẹ|ba mẹ|bố|mẹ|ba má) (?:<KID> )?(?:đi vắng|vắng nhà|không có nhà|ngủ hết|về muộn|về trễ|"
          r"đi công tác|đi xa)|"
          r"\bwhen your (?:mom|mum|dad|parents?)(?:'s| is| are)? (?:at work|out|away|asleep|gone|not home)\b|"
          r"\b(?:bố mẹ|ba mẹ) (?:<KID> )?(?:có )?(?:ở nhà|nhà|đi làm|ngủ|đi ngủ) (?:chưa|không|à|hả|rồi à)\b|"
          r"\b(?:lúc|khi|khi nào|lúc nào|hôm nào|bao giờ|tối nào) (?:bố mẹ|ba mẹ|nhà) (?:<KID> )?(?:đi vắng|vắng nhà|"
          r"ngủ|đi ngủ|ngủ hết|không có ai|không có nhà|đi làm|đi công tác)|"
          r"\bis your (?:mom|mum|dad|mother|father|parents?) (?:home|around|there|awake|asleep|out)\b|"
          r"\b(?:bố mẹ|ba mẹ) (?:<KID> )?(?:có )?(?:hay )?(?:kiểm tra|xem|đọc) (?:điện thoại|tin nhắn|máy)\b|"
          r"\b(?:do|does) your (?:parents|mom|mum|dad) (?:check|read|look at) your (?:phone|messages|texts)\b|"
          r"\b(?:are |r )?(?:you|u) (?:home )?alone\b|\b(?:are )?your parents (?:home|around|awake|asleep|sleeping|out|away)|"
          r"\bwhen your parents (?:are|go) (?:asleep|out|away|at work|to bed|to sleep)|"
          r"\bwhen (?:no one|nobody) is (?:home|around)\b|\bis anyone (?:else )?(?:home|with you)"),
        R("grooming_probe", "grooming", FAINT,
          r"\b(?:<KID>|bạn) (?:năm nay |nay )?(?:bao nhiêu|mấy|bạn|bn|nhiêu|nhiu) tuổi|\b<KID> học lớp mấy\b|\basl\b|"
          r"\b<KID> (?:học )?lớp (?:\d+|mấy) (?:à|hả|rồi à|thật à|ư|chưa|rồi)\b|\b<KID> (?:\d+|mười \w+) tuổi (?:à|hả|thật à)\b|"
          r"\bhow old are (?:you|u)\b|\bwhat grade are you\b"),
        R("grooming_flattery", "grooming", FAINT,
          r"\b<KID> (?:thật là |rất |trông )?(?:xinh|dễ thương|đáng yêu|trưởng thành|chín chắn|hiểu chuyện|"
          r"đặc biệt|sexy|gợi cảm|quyến rũ|ngoan) (?:quá|thế|lắm|hơn|ghê)|\bchỉ có <ADULT> (?:mới )?hiểu <KID>|"
          r"\bkhông ai hiểu <KID> bằng\b|\b(?:mature|grown up|grown-up|old) for (?:your age|\d+|a \d+ ?(?:year|yr) old)\b|"
          r"\bfor a \d+ ?(?:year|yr) old\b|\b(?:you|u) (?:look|seem) (?:so |really |very )?(?:young|mature|grown up|older)\b|\b(?:look|seem|act) (?:so |much )?(?:older|more mature) than (?:\d+|your age)\b|\byou'?re (?:so )?(?:special|mature|pretty|beautiful|"
          r"cute|hot|sexy)\b|\bonly i understand you\b|\bnobody understands you like\b"),
        R("grooming_sexual_question", "grooming", WEAK,
          r"\b(?:<KID>|bạn) (?:đã )?(?:từng )?(?:quan hệ|làm chuyện ấy|làm tình|hôn ai|ngủ với ai|thủ dâm|"
          r"có kinh|dậy thì) .{0,20}?(?:chưa|bao giờ chưa|lần nào chưa)\b|"
          r"\b(?:đã|từng) (?:có kinh|dậy thì|quan hệ|làm chuyện ấy|hôn ai|có bạn trai|có bạn gái) (?:\w+ ){0,2}?chưa\b|"
          r"\bhave you (?:ever )?(?:had sex|kissed (?:anyone|someone|a boy|a girl)|been kissed|touched yourself|"
          r"masturbated|had your period)\b|"
          r"\b(?:anh|chú|a) thích (?:những |mấy )?(?:bé|em gái|cô bé|con bé) (?:như em|như cháu|như con|nhỏ tuổi|"
          r"tuổi em|cỡ tuổi em)|"
          r"\btuổi tác không quan trọng\b|\bage is just a number\b|\bi like (?:younger|young|little) (?:girls|boys)\b|"
          r"\blàm chuyện (?:người lớn|ấy|đó)\b|\bbiết (?:gì )?về chuyện (?:người lớn|ấy|nam nữ)|"
          r"\bchuyện (?:người lớn|ấy|nam nữ|giường chiếu) (?:với|cùng) (?:anh|chú)\b|"
          r"\bdạy (?:<KID> )?(?:cách )?(?:hôn|làm chuyện|chuyện người lớn|chuyện ấy)|"
          r"\b(?:hôn|ôm|sờ) (?:<KID>|you) (?:có )?(?:được không|nhé|nha)\b|\bcan i (?:kiss|touch) you\b|"
          r"\b(?:adult|grown[- ]up) (?:stuff|things|games)\b"),
        R("grooming_abuse_disclosure", "grooming", STRONG,
          r"\b(?:comes?|came|coming) into my (?:room|bed)\b.{0,30}\b(?:at night|when|scared|touch)|"
          r"\b(?:he|she|they|my \w+) (?:touches|touched|keeps touching|made me touch) (?:me|my|him|her)\b"
          r"(?:.{0,25}\b(?:private|down there|there|body|chest|when no one|at night))?|"
          r"\b(?:chú|bác|dượng|bố dượng|anh họ|ông|thầy|anh ấy|hắn|ông ấy) .{0,25}\b(?:sờ|động vào|chạm vào|sờ soạng|sờ mó) "
          r"(?:vào )?(?:người|vùng kín|chỗ kín|ngực|mông|đùi) (?:của )?(?:em|con|cháu|mình|tớ)\b|"
          r"\b(?:bắt |ép )(?:em|con|cháu|mình) (?:cởi|sờ|xem phim|quan hệ|giữ bí mật)"),
        R("grooming_minor_sexual", "grooming", STRONG,
          r"\b(?:<KID>|bạn|you) (?:\w+ ){0,3}(?:lớp|grade|tuổi|years? old|tuổi rồi)\b.{0,40}"
          r"(?:làm tình|quan hệ|chịch|sex|nude|khoả thân|khỏa thân|sờ|hôn|ngủ với|đi nhà nghỉ|"
          r"virgin|còn trinh|horny|nứng)|\b(?:chịch|sex|làm tình|ngủ) (?:với )?(?:học sinh|bé|em gái lớp|trẻ em)|"
          r"\b(?:<KID>|bạn) (?:\w+ )?(?:còn trinh|còn zin) (?:không|chưa|à|hả|chứ)\b|\bare you (?:still )?a virgin\b"),

        # ---------------------------------------------------------------- sexual
        R("sexual_explicit", "sexual", STRONG,
          r"\b(?:làm tình|quan hệ tình dục|chịch|xoạc|nứng|khiêu dâm|thủ dâm|bú cu|bú cặc|bú buồi|"
          r"liếm lồn|some (?:3|ba) người|mại dâm|bán dâm|mua dâm|gái gọi|gái bao|đi khách|"
          r"porn|porno|pornhub|xvideos|xnxx|hentai|blowjob|handjob|sexting|horny|masturbat\w*|"
          r"dick pic|cumshot|onlyfans|nudes|jav)\b"),
        R("sexual_media", "sexual", STRONG,
          r"\b(?:phim|clip|ảnh|hình|video|truyện|web|link) (?:sex|người lớn|cấp (?:3|ba)|heo|nóng|"
          r"18\+|khiêu dâm|khoả thân|khỏa thân|nude|jav|xxx)\b|\bxxx\b|\b18\+"),
        R("sexual_word", "sexual", MEDIUM,
          r"\b(?:sex|sexy|nude|naked|khoả thân|khỏa thân|dương vật|âm đạo|cương cứng|"
          r"boobs|tits|dick|pussy|sugar daddy|sugar baby|gạ tình|gạ chịch|có (?:ai )?some không)\b",
          unless=r"(?:giáo dục|education|sex ed|giới tính|sinh học|biology|health|sức khỏe|sức khoẻ|"
                 r"bác sĩ|doctor|tư vấn|an toàn|phòng tránh)"),

        # ---------------------------------------------------------------- violence
        R("violence_threat", "violence", STRONG,
          r"\b(?:<I> )?(?:sẽ |sẽ đi |đi |phải |thề |thề là |mai |tí |lát ){0,2}(?:giết |đâm |chém |đánh chết |bắn chết |đập chết |xiên |"
          r"thịt |xử đẹp |xử |đốt nhà |tạt axit |đánh |đập |đấm |úp sọt |chặn đầu |đánh hội đồng |oánh |bem )"
          r"(?:chết )?(?:<YOU>|cả nhà mày|mày)\b(?! mắn| lông)|"
          r"\b<YOU> (?:sẽ )?(?:chết với tao|toi với tao|xong với tao|chết chắc|toi chắc|xong đời|chết rồi con|"
          r"toi rồi con|xong rồi con)\b|"
          r"\b(?:<I>|bọn tao|tụi tao|anh em tao) (?:sẽ |mai |tí |lát |đi )?(?:chặn đầu|đánh hội đồng|úp sọt|xử đẹp) "
          r"(?:thằng|con|nó|bọn|đứa)\b|\bchặn đầu (?:thằng|bọn|đứa|nó|mày)\b|"
          r"\bcho (?:<YOU>|mày) (?:ăn đòn|ăn đấm|ăn tát|một trận|một trận nhớ đời|nhừ đòn|no đòn|biết tay|ra bã|"
          r"biết thế nào là lễ độ|biết mặt|"
          r"nằm viện|vào viện|nhập viện|đo đất|bầm dập)\b|"
          r"\b(?:đấm |đánh |đập |đạp |oánh |tát )(?:cho )?(?:\w+ )?(?:vỡ |gãy |bể |nát |sưng |rụng |lệch )"
          r"(?:mồm|mặt|mõm|răng|đầu|mỏ|mũi|hàm|alo|sọ)\b|"
          r"\b(?:tan học|tan trường|ra chơi) .{0,20}(?:ra cổng|đợi|chờ|gặp) .{0,15}(?:tao|bọn tao|xử|đánh)|"
          r"\bmang (?:dao|súng|kiếm|mã tấu|hung khí) (?:đến|tới|vào|lên|xuống|ra) (?:trường|lớp|cổng trường)|"
          r"\b(?:coi chừng|cẩn thận) (?:cái mạng|cái thân|cái mặt|tao|bọn tao|tụi tao)\b|\bliệu hồn\b|"
          r"\bbiết nhà (?:mày|bọn mày|tụi mày)(?: ở đâu| rồi)\b|"
          r"\b(?:tan học|tan trường|sau giờ học|sau trường|nhà xe|cổng sau) .{0,30}(?:bọn tao|tụi tao|tao) "
          r"(?:sẽ )?(?:chờ|đợi|xử|đánh|chặn) (?:<YOU>|mày)\b|"
          r"\b(?:tao|bọn tao|tụi tao) (?:sẽ )?(?:giết|xử|chém|đánh|đâm) (?:hết|sạch|tất)\b"
          r"(?! (?:bài|rồi|game|boss|quái|map|việc|đề))|"
          r"\b(?:i(?:'?m| am)? ?|we(?:'re| are)? ?)(?:'ll| will|gonna|going to) (?:kill|stab|shoot|hurt|beat up|murder|"
          r"punch|jump|strangle|choke) (?:you|u|him|her|them|everyone|y'?all|your)\b|"
          r"\b(?:gonna|going to) (?:kill|stab|shoot|murder|beat up|jump) (?:you|u|him|her|them|y'?all)\b|"
          r"\b(?:i|we)(?:'ll| will|'m gonna| am gonna|'re gonna) (?:find|catch|get) you and (?:hurt|kill|stab|beat|shoot)\b|"
          r"\byou(?:'re| are) (?:dead|gonna die)\b|\byou(?:'re| are) (?:getting|gonna get|going to get) "
          r"(?:jumped|beaten|beat up|stabbed|shot|hurt)\b|"
          r"\bbeat the (?:shit|crap|hell|life) out of (?:you|u|him|her|them)\b|\b(?:kick|beat) your (?:ass|butt|face)\b|"
          r"\bmake (?:you|u) bleed\b|"
          r"\bi(?:'?m| am)? ?(?:'ll| will|gonna|going to) beat (?:you|u|him|her) up\b|"
          r"\bi'?ll break your (?:face|neck|legs?|nose|arms?|jaw)\b|"
          r"\b(?:bring|brought) a (?:gun|knife) to school|\bshoot up (?:the|my|our) school|"
          r"\bwatch your back\b|\bi know where you live\b|\bschool shooting\b",
          unless=rf"(?:{game}|bắn rank|in game|trong game|đùa thôi|đùa mà|đùa đấy|nói đùa|đùa tí|joke|jk|"
                 r"lol|haha|=\)\)|:\)\)|😂|🤣)"),
        # Everyday English threats aimed at a person, beyond the stock verbs above.
        R("violence_threat_en", "violence", STRONG,
          r"\b(?:i|we)(?:'ll| will|'m gonna| am gonna|'re gonna| are gonna|'m going to| am going to|'re going to|"
          r" are going to| gonna| wanna| want to| could| swear i'll| swear i will| swear ill|ll| ill) "
          r"(?:\w+ ){0,2}?(?:put (?:you|u|him|her) in (?:the )?hospital|break (?:your|ur|his|her) (?:\w+ )?"
          r"(?:face|neck|legs?|arms?|fingers?|nose|jaw|teeth|skull|bones)|smash (?:your|ur|his|her) (?:face|head)|"
          r"knock (?:your|ur|his|her) teeth out|bash (?:your|ur|his|her) (?:head|face|skull)|"
          r"snap (?:your|ur|his|her) (?:arm|neck|fingers?)|slit (?:your|ur|his|her) throat|"
          r"run (?:you|u|him|her) over|choke (?:you|u|him|her)(?: out)?|strangle (?:you|u|him|her)|"
          r"rearrange (?:your|ur|his|her) (?:\w+ )?face|pound (?:your|ur|his|her) face|cut (?:you|u|him|her)\b|"
          r"beat (?:you|u|him|her) (?:black and blue|to death|senseless|bloody|so bad)|"
          r"burn (?:your|ur|his|her|their) (?:house|home|car) down|hurt (?:your|ur) (?:dog|cat|family|sister|brother|mom)|"
          r"throw acid|make (?:you|u|him|her) (?:bleed|regret|pay|suffer)|kill (?:you|u)|stab (?:you|u)|shoot (?:you|u))|"
          r"\b(?:i|we) hope (?:someone|somebody|a car|a truck) (?:shoots|stabs|kills|beats|hits|runs over) (?:you|u)\b|"
          r"\bi hope (?:you|u) (?:get (?:shot|stabbed|hit by|run over|beaten)|die (?:slowly|painfully|in a))|"
          r"\b(?:you|u) (?:better|should) sleep with one eye open\b|\byou'?re dead meat\b|"
          r"\b(?:we|i)(?:'ll| will|'re| are|'m| am) (?:\w+ ){0,2}?(?:wait(?:ing)? for|catch) (?:you|u) (?:\w+ ){0,6}?"
          r"(?:regret|sorry|hurt|bleed|pay)\b|\b(?:if|when) (?:he|she|they) (?:shows? up|comes?) .{0,30}\bwe (?:jump|beat|get) (?:him|her|them)\b|"
          r"\b(?:bring|brought) a (?:knife|gun|blade) (?:tomorrow|to school|to class)|\bwe'?re (?:cutting|stabbing|jumping) (?:him|her|you)\b|"
          r"\bsomeone (?:needs to|should|ought to) (?:put a bullet in|shoot|stab|beat|kill) (?:that|this|him|her|them|you)\b|"
          r"\b(?:i'?m|i am|we'?re|we are) (?:gonna |going to )?(?:breaking|smashing|break|smash) (?:both )?(?:your|ur|his|her) "
          r"(?:legs?|arms?|face|neck|jaw|nose|fingers?|skull)\b|"
          r"\bkeep (?:it up|talking) and (?:you'?ll|you will) (?:end up in a (?:ditch|hospital|grave|coffin)|regret it|see)\b",
          unless=rf"(?:{game}|in game|trong game|joke|jk|lol|haha|lmao|😂|🤣|exam|test|quiz|homework|workout|"
                 r"gym|match|game|tournament|debate|court|pizza|burger)"),
        R("violence_graphic_en", "violence", MEDIUM,
          r"\b(?:beat|beaten|beating|punched|punching|kicked|kicking|stomped|stomping|stabbed|stabbing|hit|hitting|"
          r"tortured|torturing|strangled|choked|dragged) (?:\w+ ){0,5}?(?:until (?:he|she|they|it) (?:stopped|passed out|"
          r"screamed|bled|couldn'?t)|over and over|to death|(?:six|five|ten|many|\d+) times|with a (?:bat|belt|brick|"
          r"pipe|hammer|chair|lighter|knife)|so bad (?:her|his|their))|"
          r"\b(?:skull|head) (?:cracked|smashed|caved) (?:open|in)\b|\bbleeding out\b|\b(?:blood|brains) all over\b|"
          r"\b(?:throat|wrists?) (?:slit|slashed)\b",
          unless=r"(?:movie|film|show|episode|game|book|novel|history|in class|lesson|news|report|police|arrested|"
                 r"documentary|fiction|story|character|villain|zombie|boxing|ufc|mma|wrestling|gym|punching bag|the bag|"
                 r"pillow|workout|training|drum|piñata|pinata|ball|nail)"),
        R("violence_threat_reported", "violence", STRONG,
          r"\b(?:he|she|they|my (?:dad|stepdad|step dad|mom|uncle|brother|teacher|coach)) "
          r"(?:said|says|told me|threatened) (?:that )?(?:he|she|they)(?:'d| would| will| is going to| was going to) "
          r"(?:hurt|kill|beat|hit|punish) (?:me|us|my)\b|"
          r"\b(?:anh ấy|chú ấy|ông ấy|bà ấy|nó|hắn|bố dượng|dượng|bố|mẹ|thầy|cô|bọn nó) "
          r"(?:bảo|nói|dọa|doạ|đe dọa|đe doạ|hăm dọa) (?:là )?(?:sẽ )?(?:đánh|giết|đánh chết|làm hại|xử|đốt|chặn đầu|"
          r"đánh hội đồng) (?:em|mình|con|cháu|tôi|tớ)\b"),
        R("violence_graphic", "violence", MEDIUM,
          r"\b(?:clip|video|ảnh|hình) (?:đánh nhau|đánh hội đồng|chém nhau|giết người|bạo lực|"
          r"máu me|tai nạn kinh hoàng|cắt cổ)|\bđánh hội đồng\b|\bchém nhau\b|\bgiết người\b|"
          r"\bbeheading\b|\bgore\b|\bfight video\b|\bmass shooting\b|\bmáu me\b|\bxử tử\b",
          # news and lessons about violence are not violence aimed at anyone
          unless=r"(?:sai trái|lên án|phòng chống|nói không|không nên|tuyên truyền|bài học|xử lý nghiêm|"
                 r"công an|bị bắt|khởi tố|điều tra|xét xử|tòa án|toà án|báo chí|bản tin|news|police|arrested)"),
        R("violence_weapon", "violence", WEAK,
          r"\b(?:mã tấu|súng|dao găm|thanh kiếm|lựu đạn|quả bom|gun|knife|bomb|grenade|hung khí|bạo lực|"
          r"đánh nhau|fight|stab|stabbed)\b",
          unless=rf"(?:{game}|bếp|nấu|gọt|thái|cắt|hoa quả|trái cây|rau|thịt|kitchen|cook|súng nước|"
                 r"đồ chơi|toy|water gun|nerf|bom tấn|blockbuster|photobomb|bomb\.com|da bomb)"),

        # ---------------------------------------------------------------- bullying / insults
        R("bullying_insult", "bullying", STRONG,
          r"\b(?:<YOU>|m|mày) (?:đúng là |là |thật |trông |bị )?(?:đồ )?(?:ngu|đần|óc chó|béo như lợn|"
          r"xấu như chó|vô dụng|ăn hại|rác rưởi|hèn|thối|bẩn thỉu|ghê tởm|mất dạy|khùng|điên|thiểu năng|"
          r"ngu như (?:lợn|bò|chó))\b|"
          r"\bđồ (?:ngu|khốn|khốn nạn|béo|xấu xí|ăn hại|vô dụng|rác rưởi|mất dạy|con hoang|thần kinh|"
          r"thiểu năng|hèn|bẩn|súc vật|chó|óc lợn|óc chó)\b|\bthằng (?:ngu|khốn|hèn|ẻo lả|điên|óc chó)\b|"
          r"\b(?:con béo|con lợn|con heo|con điên|con khùng|con quỷ|con ngu|con hâm) (?:kia|này|ấy)\b|"
          r"\b(?:you'?re|you are|ur|u r|you) (?:so |such an? |a |an )?(?:ugly|fat|stupid|dumb|worthless|pathetic|"
          r"loser|trash|disgusting|idiot|moron|freak|retard(?:ed)?)\b"),
        R("bullying_exclusion", "bullying", STRONG,
          r"\bkhông ai (?:chơi|thích|ưa|cần|quan tâm|muốn chơi) (?:với )?(?:<YOU>|mày)|"
          r"\b(?:cả lớp|mọi người|ai cũng|tất cả) (?:đều )?(?:ghét|tẩy chay|khinh) (?:<YOU>|mày)|"
          r"\btẩy chay (?:nó|mày|nó đi|con đó|thằng đó)|\b(?:cút|biến) (?:đi|khỏi|ra khỏi) (?:lớp|nhóm|đây)|"
          r"\b(?:đăng|tung|phát tán|share) (?:ảnh|clip|video|hình) (?:xấu |nude |của )?(?:nó|mày|con đó|thằng đó)|"
          r"\bnobody (?:likes|wants|cares about|would miss) you\b|\beveryone hates you\b|"
          r"\bno one (?:likes|wants) you\b|\bkick (?:him|her|them) out of the (?:group|chat)|"
          r"\bmặt (?:như|như cái) (?:lợn|chó|heo|khỉ|mâm)"),
        R("bullying_profanity_en", "bullying", MEDIUM,
          r"\b(?:fuck|fucking|fucker|motherfucker|shit|bitch|bitches|asshole|bastard|cunt|"
          r"whore|slut|hoe|hoes|stfu|wtf|dickhead|douchebag|twat|wanker|prick)\b"),
        # Harassment aimed at a person in plain English, without profanity.
        R("bullying_harass_en", "bullying", STRONG,
          r"\b(?:you'?re|you are|ur|u r|u are|you) (?:\w+ ){0,2}?(?:a |an |the )?(?:most )?(?:so |such a |such an |really |"
          r"actually |literally )?(?:annoying|pathetic|worthless|useless|waste of space|waste of air|joke|clown|brat|"
          r"rat|pig|cow|creep|weirdo|failure|nobody|embarrassment|embarrassing|brainless|attention seeker|"
          r"disgrace|parasite|leech|dumbass|dumb ass|crybaby|cry baby|nerd loser|loser)\b|"
          r"\b(?:nobody|no one) (?:\w+ )?(?:wants|likes|invited|asked|cares about|will ever (?:date|like|love)) (?:you|u)\b|"
          r"\beveryone (?:\w+ )?(?:laughs at|hates|thinks you|makes fun of|voted you) \b|"
          r"\bwhy are you (?:even )?(?:alive|here|breathing)\b|\bshut (?:your|ur) (?:mouth|face|trap)\b|"
          r"\b(?:go cry to|run to) (?:your|ur) (?:mom|mommy|mum|dad|daddy)\b|\bget lost,? (?:freak|loser|weirdo)\b|"
          r"\b(?:your|ur) (?:face|voice|existence) (?:makes me (?:sick|want to (?:throw up|puke|vomit))|is (?:so )?"
          r"(?:annoying|disgusting|ugly))\b|\bimagine being (?:as|this|that|so) (?:\w+ )?(?:worthless|ugly|stupid|pathetic)\b|"
          r"\bgroup chat (?:just )?to make fun of (?:you|u|him|her)\b|\bmake fun of (?:you|u)\b|"
          r"\b(?:you|u) (?:smell|stink)(?: like)?\b",
          unless=r"(?:lol love you|love you|jk|just kidding|haha|💕|❤️|<3|nerd lol|silly|hilarious|crazy, that)"),
        R("bullying_directed_en", "bullying", STRONG,
          r"\b(?:fuck (?:you|u|off)|shut (?:the fuck )?up|go to hell|you (?:stupid|dumb|fat|ugly) "
          r"(?:bitch|whore|slut|cunt|idiot|fuck))\b"),

        # ---------------------------------------------------------------- hate
        # Identity slurs. Plain forms that are also ordinary words ("be de" = "bé dễ", "khua",
        # "moi den" = "mới đến") are in AMBIGUOUS_SYLLABLES: faint in a message typed without
        # any diacritics unless a group word makes them a name ("thang be de").
        R("hate_slur_vi", "hate", STRONG,
          r"\b(?:khựa|tàu khựa|tàu phù|hàn xẻng|mọi đen|khỉ đen|tộc cối|bọn tàu khựa)\b|"
          r"\b(?:<GROUP>|dân tộc|người dân tộc) (?:mọi rợ|mọi mán|nhật lùn|thái lọ|tây lông|mọi đen|khỉ đen|"
          r"tàu cộng|tàu khựa|khựa)\b",
          ambiguous=True),
        R("hate_region_vi", "hate", STRONG,
          r"\b(?:bắc kỳ|bắc kì|nam kỳ|nam kì|parky) (?:chó|ngu|khốn|mất dạy|lừa đảo|ăn cắp|bẩn|thối|rởm|con)\b|"
          r"\b(?:bắc kỳ|bắc kì|parky|parki|pắc kỳ|namkiki|nam kỳ|nam kì|bắc cầy|nam cầy|"
          r"(?:ba|3) que)\b|\b<GROUP> (?:bắc kỳ|bắc kì|nam kỳ|nam kì|parky|trung kỳ|trung kì)\b|"
          r"\b(?:bọn|lũ|đám|cái bọn|cái lũ) bò đỏ\b",
          # history lessons ("Bắc Kỳ, Trung Kỳ và Nam Kỳ"); three sticks of ice cream
          unless=r"(?:thực dân|xứ (?:bắc|trung|nam)|lịch sử|bảo hộ|thuộc địa|lục tỉnh|khởi nghĩa|"
                 r"triều (?:nguyễn|đình)|nhà nguyễn|thống sứ|toàn quyền|kinh lược|đông dương|người pháp|"
                 r"pháp chia|pháp thuộc|thời pháp|thực dân pháp|trung kỳ (?:và|,)|năm 1[89]\d\d|que (?:kem|diêm|hương|nhang|củi|xiên|tính|tăm|thử)|"
                 r"(?:bẻ|cắm|mua|lấy) (?:ba|3) que|kỹ (?:tính|lưỡng|càng|thuật|năng)|(?:kí|ký) (?:tên|giấy|nhận|hợp đồng))",
          ambiguous=True),  # plain "nam ki" is also "năm kí" (five kilos)
        R("hate_lgbt_vi", "hate", STRONG,
          r"\b(?:bê đê|pê đê|bêđê|pêđê|bede|pede|xăng pha nhớt|bóng lộ|bóng kín|gay lọ|ái nam ái nữ|"
          r"đồ đồng bóng|bọn gay|lũ gay)\b(?! (?:thương|dàng|chịu|sợ|hiểu|ợt|ăn|ngủ|nhìn))|"
          r"\b<GROUP> (?:bê đê|pê đê|xăng pha nhớt|gay lọ)\b|"
          r"\b(?:thằng|đồ|bọn|lũ|mấy thằng|con) (?:bóng lộ|bóng kín|bóng|ô môi)\b"
          r"(?! (?:đá|rổ|chuyền|bàn|bay|đèn|chày|ném|tối|mát|râm|đêm|ma|bầu dục|nước|điện|cười|lưng|đổ|mai|vàng))",
          ambiguous=True),
        R("hate_disability_vi", "hate", STRONG,
          r"\b(?:thằng|đồ|bọn|lũ|mấy thằng|mấy đứa|như thằng|như đứa|óc|loại) "
          r"(?:thiểu năng|thiểu năng trí tuệ|bại não|tự kỷ|tự kỉ|down|tật nguyền|dị tật)\b"
          r"(?! (?:load|game|app|file|nhạc|phim|mood|về|ver|rank|level|server|đi|xuống))|"
          r"\b(?:<YOU>|mày|nó|bị) (?:bị )?(?:thiểu năng|bại não|tự kỷ|tự kỉ|down)\b (?:à|hả|hay sao|ư|hay gì|"
          r"à mà|thật|rồi à|vl|vãi|vcl|hay sao ấy|không mà)\b|"
          r"\b(?:thiểu năng|bại não) (?:à|hả|hay sao|ư|hay gì|vl|vãi|vcl)\b",
          # clinical, school and support contexts, and "down" as in servers, moods and downloads
          unless=r"(?:trẻ (?:em|bị|mắc|tự kỷ|thiểu năng|khuyết tật)|cho trẻ|của trẻ|hội chứng|trung tâm|"
                 r"trường (?:chuyên biệt|dành cho|hoà nhập|hòa nhập)|lớp hoà nhập|lớp hòa nhập|giáo dục|hỗ trợ|"
                 r"chăm sóc|bệnh viện|chẩn đoán|bác sĩ|điều trị|mắc chứng|can thiệp|phục hồi|yêu thương|"
                 r"thương cảm|giúp đỡ|server|web|wifi|app|máy chủ|máy tính|rớt mạng|mạng lag|"
                 r"hệ thống|mood|tâm trạng|load)"),
        R("hate_slur_vi_short", "hate", MEDIUM, r"\b(?:bọn mọi|đồ mọi|con mọi)\b",
          ambiguous=True, strict=True),
        R("hate_group_vi", "hate", STRONG,
          r"\b(?:bọn|lũ|đám|dân|tụi|người) (?:gay|đồng tính|les|bê đê|da đen|da màu|mọi|tàu|khựa|hồi giáo|"
          r"đạo hồi|công giáo|đạo chúa|tin lành|người hoa|ấn độ|do thái|dân tộc|miền bắc|miền nam|"
          r"miền trung|miền tây|bắc|nam|thanh hoá|thanh hóa|nghệ an|hà tĩnh|khuyết tật|chuyển giới|"
          r"thiểu năng|tự kỷ|down) .{0,25}(?:đáng chết|nên chết|phải chết|chết hết|giết hết|bệnh hoạn|ghê tởm|"
          r"biến đi|cút về|cút khỏi|đuổi hết|thối|bẩn|bốc mùi|hôi hám|lừa đảo|ăn cắp|mất dạy|hạ đẳng|"
          r"súc vật|rác rưởi|không phải người|khủng bố|mọi rợ|man rợ|như chó|như khỉ|đáng khinh|tởm)"),
        R("hate_slur_en", "hate", STRONG,
          r"\b(?:nigger|niggers|faggot|faggots|fags?|tranny|trannies|kike|kikes|chink|chinks|spic|spics|"
          r"wetback|wetbacks|raghead|towelhead|gook|gooks|sand ?nigger|coon|coons|beaner|beaners|"
          r"dyke|dykes|retards)\b"),
        R("hate_group_en", "hate", STRONG,
          r"\b(?:all|those|these|fucking|filthy|dirty) (?:muslims|jews|blacks|gays|immigrants|mexicans|"
          r"asians|arabs|women|trans people|refugees|africans|chinese|indians) (?:are|should|must|deserve to) "
          r"(?:be )?(?:animals|vermin|die|killed|be killed|go back|disgusting|trash|subhuman|rats|"
          r"parasites|gassed|deported)|\bgo back to (?:your country|africa|china|mexico)|"
          r"\b(?:muslims|jews|blacks|gays|immigrants|mexicans|asians|arabs|trans people|refugees|africans|"
          r"lesbians|homosexuals) (?:are|should be|must be|deserve to be) (?:all )?(?:animals|vermin|disgusting|"
          r"trash|subhuman|rats|parasites|terrorists|killed|deported|banned|criminals|evil)\b|"
          r"\b(?:white|racial) (?:power|supremacy)\b|\bgas the\b|\bsubhuman\b|\bheil hitler\b|\b1488\b"),

        # ---------------------------------------------------------------- scams / phishing
        R("scam_prize", "scam", STRONG,
          r"\bchúc mừng (?:bạn|quý khách|em) (?:đã )?(?:trúng|nhận được|được chọn)|"
          r"\b(?:trúng|nhận|lĩnh) (?:thưởng|giải thưởng|giải|quà|iphone|xe máy|sh|tiền mặt) .{0,40}"
          r"(?:link|bấm|click|truy cập|nhắn|đăng nhập|phí|chuyển khoản|nạp)|"
          r"\byou(?:'ve| have) (?:won|been selected)\b|\bclaim your (?:prize|reward|gift|free)|"
          r"\bcongratulations.{0,30}(?:won|winner|selected)"),
        R("scam_account", "scam", STRONG,
          r"\b(?:xác minh|xác nhận|kích hoạt|cập nhật) (?:lại )?(?:tài khoản|thông tin|danh tính)|"
          r"\btài khoản (?:của (?:bạn|quý khách|em) )?(?:đã |sẽ )?bị (?:khoá|khóa|tạm khoá|tạm khóa|đình chỉ|hack|vô hiệu)|"
          r"\b(?:gửi|cho|đọc|báo|nhắn) (?:lại )?(?:anh|chị|mình|tao|em|shop|admin)? ?(?:mã )?otp\b|\bmã otp\b|"
          r"\b(?:gửi|cho|đưa|nhắn) (?:anh|chị|mình|tao|tớ|admin)? ?(?:cái )?(?:mật khẩu|pass|password)\b|"
          r"\bverify your (?:account|identity)|\byour account (?:has been|will be|is) (?:suspended|locked|disabled|compromised)|"
          r"\b(?:send|give|tell) (?:me )?(?:the |your )?(?:code|otp|password|login)\b|"
          r"\b(?:log ?in|đăng nhập) (?:here|tại đây|vào link|ngay)"),
        R("scam_money", "scam", STRONG,
          r"\bviệc nhẹ lương cao\b|\b(?:kiếm|làm) (?:tiền|\d+ ?(?:k|triệu|tr)) (?:online|tại nhà|mỗi ngày|dễ dàng)|"
          r"\bcộng tác viên .{0,25}(?:shopee|lazada|tiktok|tiki)|\bchuyển (?:khoản|tiền) (?:trước|phí|cọc|đặt cọc)|"
          r"\bphí (?:nhận quà|nhận thưởng|thủ tục|kích hoạt|giải ngân)|\bnạp (?:tiền|thẻ) (?:để )?(?:nhận|rút|mở khoá)|"
          r"\b(?:hack|hách) (?:nick|acc|kim cương|kc|robux|quân huy|tiền)|"
          r"\b(?:free|miễn phí|tặng) (?:\d+ )?(?:kim cương|kc|quân huy|robux|skin|vbucks|v-bucks|nitro|uc)\b|"
          r"\b(?:free|claim) (?:robux|v-?bucks|nitro|skins)\b|\bdouble your (?:money|bitcoin|crypto)|"
          r"\bgift ?card (?:code|number)|\bwire (?:me )?(?:the )?money\b|\bguaranteed (?:profit|returns)|"
          r"\b(?:đầu tư|investment) .{0,20}(?:lãi|lợi nhuận|profit) .{0,10}(?:\d+ ?%|gấp)"),
        R("scam_game_currency", "scam", MEDIUM,
          r"\b(?:nhận|lấy|hack|tặng|free) (?:ngay )?(?:\d+ ?k? )?(?:kim cương|kc|quân huy|robux|vbucks|v-bucks|skin|uc|gem|gems)\b"
          r".{0,40}\b(?:link|bấm|click|nhấn|truy cập|đăng nhập|nhập|tại đây|here|login|kẻo hết|nhanh)\b|"
          r"\blink (?:nhận|hack|free) (?:quà|kc|kim cương|quân huy|robux|skin)"),
        R("scam_link", "scam", WEAK,
          r"\b(?:bit\.ly|tinyurl\.com|goo\.gl|cutt\.ly|shorturl\.at|t\.ly|rb\.gy|is\.gd)/|"
          r"\b(?:bấm|click|nhấn|truy cập) (?:vào )?(?:link|đường link|đây)\b|\bclick (?:the |this )?link\b"),

        # ---------------------------------------------------------------- drugs
        R("drugs_named", "drugs", STRONG,
          r"\b(?:ma tuý|ma túy|cần sa|thuốc lắc|ketamine|heroin|cocaine|methamphetamine|meth|mdma|"
          r"ecstasy|fentanyl|xanax|oxycodone|percocet|lsd|shrooms|nấm thần|hàng trắng|hồng phiến|"
          r"bóng cười|nước vui|tem giấy|kẹo lắc|kẹo ke|đập đá|hút đá|chơi đá|hút chích|"
          r"hút cỏ|weed|marijuana|cannabis|molly|edibles|dope)\b",
          unless=r"(?:tác hại|phòng chống|nói không với|tuyên truyền|giáo dục|cai nghiện|"
                 r"education|prevention|awareness|dangers of|say no to|drug safety)"),
        R("drugs_use", "drugs", STRONG,
          r"\b(?:bay lắc|bay phòng|chơi (?:ke|kẹo|hàng|đồ)|phê (?:thuốc|cần|pha|đá)|"
          r"(?:mua |bán |ship |có )(?:cần|cỏ|kẹo|ke|đá|hàng) (?:không|ko|đây|giá)|"
          r"get(?:ting)? high|smoke (?:weed|a blunt|pot|a joint)|(?:buy|sell|selling) (?:weed|pills|coke|molly)|"
          r"my (?:plug|dealer)|roll(?:ing)? a (?:joint|blunt)|sip(?:ping)? lean)\b"),
        R("drugs_vape", "drugs", WEAK,
          r"\b(?:vape|vaping|juul|pod|thuốc lá điện tử|tinh dầu|shisha|nghiện|say xỉn|rượu|bia|beer|vodka|"
          r"drunk|stoned|blunt|joint|pills)\b",
          unless=r"(?:bỏ thuốc|cai|quit|danger|nguy hiểm|tác hại|harm|tiêm chủng|vaccine|"
                 r"tinh dầu (?:sả|tràm|bạc hà)|joint (?:account|venture|pain))"),

        # ---------------------------------------------------------------- gambling
        R("gambling_named", "gambling", STRONG,
          r"\b(?:cá độ|cá cược|nhà cái|đánh đề|lô đề|ghi đề|số đề|tài xỉu|nổ hũ|quay hũ|xóc đĩa|"
          r"game bài đổi thưởng|bắn cá đổi thưởng|đổi thưởng|casino|baccarat|roulette|blackjack|"
          r"sports ?betting|online casino|sportsbook|bookie|parlay|"
          r"w88|fb88|188bet|fun88|m88|bet365|1xbet|kubet|hi88|jun88|new88|shbet|789bet|f8bet|8xbet|"
          r"go88|sunwin|b52club|iwin|rikvip|789club|hitclub|stake\.com)\b"),
        R("gambling_bet", "gambling", MEDIUM,
          r"\b(?:soi kèo|kèo (?:nhà cái|bóng đá|thơm|trên|dưới|chấp)|tỉ lệ kèo|ăn tiền|đánh bài ăn tiền|"
          r"chơi bài ăn tiền|place (?:a|your) bets?|bet (?:on|\$?\d+)|slot machines?|slots|poker (?:for money|online)|"
          r"gambl\w+|betting|(?:nạp|rút) tiền (?:chơi|game|về)|lô (?:\d\d|gan|xiên)|xổ số)\b",
          unless=r"(?:i bet|bet you|you bet|cá là|đặt cược là)"),
    ]


# ------------------------------------------------------------------ the shared lexicon

@cache
def _lexicon_lines() -> tuple[tuple[str, str], ...]:
    text = (resources.files("safegate.safety") / "data" / "vn_offensive_words.txt").read_text(
        encoding="utf-8")
    group = ""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if not line.startswith("##"):
                group = line.lstrip("# ").split(",")[0].strip()
            continue
        term = line.lower()
        if term in seen:
            continue
        seen.add(term)
        out.append((group, term))
    return tuple(out)


class Lexicon:
    """The shared Vietnamese lexicon as a phrase table matched token by token (1–4 words).

    Terms are looked up as written (accented or teencode) in the normalised text, and their
    de-accented forms in messages typed without any diacritics. A plain form
    that is also an ordinary phrase (see :func:`ambiguous_forms`) scores weakly when the
    whole message has no diacritics.
    """

    MAX_WORDS = 4

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        self.accented: dict[str, Rule] = {}
        self.plain: dict[str, Rule] = {}
        made: dict[tuple[str, float], Rule] = {}
        for group, term in entries:
            if term in _LEXICON_SKIP or not re.fullmatch(r"\w+(?: \w+)*", term):
                continue
            category = _GROUP_CATEGORY.get(group, "bullying")
            mild = term in _MILD or deaccent(term) in _MILD
            score = WEAK if mild else (MEDIUM if category == "sexual" else STRONG)
            key = (category, score)
            if key not in made:
                kind = "mild" if mild else "strong"
                made[key] = Rule(f"lexicon_{category}_{kind}", category, score, "", None, True, True)
            rule = made[key]
            if len(term.split()) > self.MAX_WORDS:
                continue
            self.accented.setdefault(term, rule)
            self.plain.setdefault(deaccent(term), rule)
        # Each word that starts a term, with the most words a term starting with it has: of
        # both tables (for messages typed without diacritics), and of the accented table
        # alone (the only one looked up in messages typed with them).
        self.longest = _first_words([*self.accented, *self.plain])
        self.longest_accented = _first_words(self.accented)

    def scan(self, text: str, plain: str, diacritics: bool) -> list[Hit]:
        # Terms are looked up by the text's own words, so a hit needs a word of the text that
        # starts a term; most messages have none: one C-level check each.
        longest = self.longest_accented if diacritics else self.longest
        if longest.keys().isdisjoint(_RE_TOKEN.findall(text)):
            return []
        spans = [m.span() for m in _RE_TOKEN.finditer(text)]
        toks_t = [text[a:b] for a, b in spans]
        found: list[Hit] = []
        taken_until = -1
        for i in range(len(spans)):
            most = longest.get(toks_t[i])
            if most is None or spans[i][0] < taken_until:
                continue
            for n in range(min(most, len(spans) - i), 0, -1):
                a, b = spans[i][0], spans[i + n - 1][1]
                words_t = " ".join(toks_t[i:i + n])
                rule = self.accented.get(words_t)
                if rule is None and not diacritics:
                    # A term written with diacritics matches its de-accented form only in a
                    # message typed without any: in "du lịch" or "duy nhất" the writer did use
                    # accents, so "du"/"duy" there are not "đụ"/"đuỹ" typed plainly.
                    rule = self.plain.get(words_t)
                if rule is not None:
                    score = rule.score
                    if not diacritics and text[a:b] == plain[a:b] and _is_ambiguous(words_t):
                        score = min(score, FAINT)
                    found.append(Hit(rule, a, b, score))
                    taken_until = b
                    break
        return found


_RE_TOKEN = re.compile(r"\w+")


def _first_words(terms: Iterable[str]) -> dict[str, int]:
    """Each word that starts one of ``terms``, with the most words such a term has."""
    out: dict[str, int] = {}
    for term in terms:
        words = term.split()
        out[words[0]] = max(out.get(words[0], 0), len(words))
    return out


def lexicon_rules() -> list[Rule]:
    """Regex rules that complete the lexicon: short vulgar spellings with a telling neighbour."""
    return [
        _r("lexicon_bullying_context", "bullying", STRONG,
           r"\b(?:con|cai|bu|liem|an|nung|mat|dau|oc) (?:cac|kac)\b|"
           r"\b(?:đéo|deo|del|đel) (?:biết|hiểu|cần|phải|thích|quan tâm|tin|làm|muốn|care|"
           r"chịu|nói|nghe|ai|bao giờ)\b|\b(?:đm |dm |đmm |dmm )(?:mày|may|nó|no|thằng|con)\b|"
           r"\b(?:<YOU> |đồ |thằng |con |quá |bị )ngu\b|\bngu (?:như|vãi|vl|thế|vậy|quá|si|học|lâu)\b",
           None, False, True),
    ]


@cache
def default_lexicon() -> Lexicon:
    return Lexicon(_lexicon_lines())


def rules() -> list[Rule]:
    return builtin_rules() + lexicon_rules()


# ------------------------------------------------------------------ matching

@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: Rule
    accented: re.Pattern[str]
    plain: re.Pattern[str]
    ascii_only: bool  # the pattern has no diacritics: the plain pass alone finds everything
    unless: re.Pattern[str] | None
    unless_plain: re.Pattern[str] | None
    words: frozenset[str]
    # Every match in the text has a match of the plain pattern in the plain copy (see
    # _only_positive): when the plain pass finds nothing, the accented pass is skipped.
    plain_implies: bool


def _only_positive(items: Any) -> bool:
    r"""Does a parsed pattern test letters only positively (no negative lookaround, negated
    class or excluded character that names a letter)? Then removing diacritics from the
    pattern and the text keeps every match: a letter still matches its plain form, and
    ``\w``, ``\s``, ``.`` and word boundaries are unchanged. A negative test is not kept
    ("chết" followed by " đồi" passes ``(?! đói)``; the plain " doi" fails ``(?! doi)``)."""
    for op, av in items:
        if op is sre.ASSERT_NOT and _names_letter(av[1]):
            return False
        if op is sre.NOT_LITERAL and chr(av).isalpha():
            return False
        if op is sre.IN and any(o is sre.NEGATE for o, _ in av) and _names_letter([(op, av)]):
            return False
        if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
            return False
        if not all(_only_positive(child) for child in children(op, av)):
            return False
    return True


def _names_letter(items: Any) -> bool:
    """Does a parsed pattern name a letter (a literal or a range), anywhere inside?"""
    for op, av in items:
        if op in (sre.LITERAL, sre.NOT_LITERAL) and chr(av).isalpha():
            return True
        if op is sre.IN and any((o is sre.LITERAL and chr(a).isalpha()) or o is sre.RANGE
                               for o, a in av):
            return True
        if any(_names_letter(child) for child in children(op, av)):
            return True
    return False


def _accents_fit(region: str, region_plain: str, words: frozenset[str]) -> bool:
    """A de-accented hit is kept unless the writer typed diacritics the rule does not have.

    Every accented word in the region must occur, with its accents, among the rule's own
    words ("muốn chet" fits the rule "muốn chết"; "các" does not fit a rule on "cặc").
    """
    return all(tok == pt or tok in words
               for tok, pt in zip(region.split(), region_plain.split(), strict=False))


@cache
def ambiguous_forms() -> frozenset[str]:
    """Unaccented words and word pairs that are also ordinary Vietnamese once accents go.

    The hand-written syllables above plus ``data/ambiguous.txt``, which
    ``scripts/train_safety.py`` derives from the ViHOS training comments: every lexicon form
    whose de-accented spelling also occurs, with other accents, outside the offensive spans.
    """
    forms = set(AMBIGUOUS_SYLLABLES)
    path = resources.files("safegate.safety") / "data" / "ambiguous.txt"
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                forms.add(line.strip())
    return frozenset(forms)


def _is_ambiguous(region_plain: str) -> bool:
    toks = region_plain.split()
    if len(toks) > 2:
        return False
    forms = ambiguous_forms()
    return region_plain in forms or (len(toks) == 1 and toks[0] in forms)


# A requirement: alternatives, each a set of strings that must all occur in every match.
Requirement = set[frozenset[str]]
_MAX_COMBINATIONS = 48
_SELECTIVE = 5  # a required string this long (and not a common word) is selective enough alone


def _anchors(items: Any) -> Requirement | None:
    """What every match of a parsed pattern must contain (or None when nothing is known).

    A required-literal prefilter (as code-search engines build for regexes): literal runs,
    groups, alternations (the union of their branches) and repetitions with a minimum of one
    are required pieces. The most selective piece is kept and, when the product stays small,
    combined with the next usable one ("con " AND one of "béo", "lợn", …), so that a common
    word in a pattern does not make its rule run on every message.
    """
    pieces: list[Requirement] = []
    run: list[str] = []

    def close() -> None:
        if run:
            pieces.append({frozenset({"".join(run)})})
            run.clear()

    for op, av in items:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        close()
        found: Requirement | None = None
        if op is sre.SUBPATTERN:
            found = _anchors(av[-1])
        elif op is sre.BRANCH:
            branches = [_anchors(b) for b in av[1]]
            if all(branches):
                found = set().union(*branches)  # type: ignore[arg-type]
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and av[0] >= 1:
            found = _anchors(av[2])
        if found:
            pieces.append(found)
    close()
    if not pieces:
        return None
    pieces.sort(key=_selectivity, reverse=True)
    best = pieces[0]
    usable, uncommon, shortest, _ = _selectivity(best)
    if usable and uncommon and shortest >= _SELECTIVE:
        return best
    for other in pieces[1:]:
        if _selectivity(other)[0] and len(best) * len(other) <= _MAX_COMBINATIONS:
            return {x | y for x in best for y in other}
    return best


def _longest(alternative: frozenset[str]) -> str:
    return max(alternative, key=len)


def _is_common(s: str) -> bool:
    return all(w in _COMMON_WORDS for w in s.split())


def _key(alternative: frozenset[str]) -> str:
    """The string that indexes an alternative: the longest one not made of common words."""
    return max(alternative, key=lambda x: (not _is_common(x), len(x), x))


# Words so frequent in chat that an anchor made of them alone filters almost nothing.
_COMMON_WORDS = frozenset({
    "không", "khong", "còn", "con", "cho", "nhà", "nha", "anh", "em", "chị", "chi", "của", "cua",
    "và", "là", "la", "có", "co", "đi", "di", "ai", "mình", "minh", "tao", "mày", "may", "nó", "no",
    "được", "duoc", "gì", "gi", "rồi", "roi", "thì", "thi", "này", "nay", "với", "voi", "người",
    "nguoi", "chú", "chu", "bác", "bac", "ước", "uoc", "chỉ", "phòng", "phong", "chỗ", "me", "you",
    "the", "and", "my", "your", "to", "a", "is", "it", "tự", "tu", "cổ", "qua", "đến", "den",
    "tới", "toi", "sang", "khi", "lúc", "luc", "biết", "biet", "thôi", "thoi", "on", "can", "cần",
    "dùng", "dung", "lấy", "lay", "đồ", "do", "thằng", "thang", "ra", "vào", "vao", "xem", "coi",
})


def _selectivity(req: Requirement) -> tuple[bool, bool, int, int]:
    """Prefer requirements whose every alternative has a string of ``_MIN_KEY`` characters,
    then ones not made of common words."""
    usable = all(len(_longest(alt)) >= _MIN_KEY for alt in req)
    common = any(all(_is_common(x) for x in alt) for alt in req)
    shortest = min(sum(len(x) for x in alt) for alt in req)
    return usable, not common, shortest, -len(req)


_MIN_KEY = 3  # a shorter required string ("ko", "k ") is in too many messages


def _whole_words(pattern: str) -> re.Pattern[str]:
    """Compile ``pattern`` so that a match never starts or ends inside a word.

    "hôn" must not match inside "không", nor "hot" inside "photo". A match may still begin or
    end with punctuation ("bit.ly/…"). The regex engine backtracks into other alternatives
    when a boundary fails ("photo" → "photos").
    """
    if all(alt.startswith(r"\b") for alt in _top_level_alternatives(pattern)):
        return re.compile(rf"(?:{pattern})(?:(?<=\W)|(?!\w))")  # starts are bounded already
    return re.compile(rf"(?:(?=\W)|(?<!\w))(?:{pattern})(?:(?<=\W)|(?!\w))")


def _top_level_alternatives(pattern: str) -> list[str]:
    """Split a pattern at its top-level ``|`` (outside groups and character classes)."""
    parts: list[str] = []
    depth, start, i, in_class = 0, 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


class RuleSet:
    """Compiled rules; :meth:`scan` returns the hits in one normalised text.

    A required-string prefilter keeps the cost low: each rule's anchors (strings every match
    must contain, de-accented) are found in a message's plain copy in one Aho–Corasick pass,
    and a rule runs only on messages that contain all the strings of one of its alternatives.
    """

    def __init__(self, rule_list: Iterable[Rule], lexicon: bool = True) -> None:
        self.lexicon = lexicon
        self._rules: list[_Compiled] = []
        self._always: list[int] = []
        ids: dict[str, int] = {}  # every anchor string, numbered
        by_key: dict[int, list[tuple[int, frozenset[int]]]] = {}
        for i, rule in enumerate(rule_list):
            parsed = sre.parse(rule.pattern)
            self._rules.append(_Compiled(
                rule,
                _whole_words(rule.pattern),
                _whole_words(deaccent(rule.pattern)),
                deaccent(rule.pattern) == rule.pattern,
                _whole_words(rule.unless) if rule.unless else None,
                _whole_words(deaccent(rule.unless)) if rule.unless else None,
                frozenset(re.findall(r"\w+", rule.pattern)),
                _only_positive(parsed),
            ))
            anchors = _anchors(parsed)
            if not anchors or not _selectivity(anchors)[0]:
                self._always.append(i)
                continue
            # Each alternative (de-accented: the plain copy of a text contains the plain form
            # of whatever matches in the text) is indexed under one of its strings, with the
            # numbers of the others, which must have been found too.
            for alt in {frozenset(deaccent(x) for x in alt) for alt in anchors}:
                key = _key(alt)
                entry = (i, frozenset(ids.setdefault(x, len(ids)) for x in alt - {key}))
                bucket = by_key.setdefault(ids.setdefault(key, len(ids)), [])
                if entry not in bucket:
                    bucket.append(entry)
        self._index = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for x, n in ids.items():
            self._index.add_word(x, n)
        if ids:
            self._index.make_automaton()
        self._by_key = by_key
        self.rules = [c.rule for c in self._rules]
        self.always_run = [self._rules[i].rule.name for i in self._always]

    def candidates(self, text: str, plain: str) -> list[int]:
        found = set(self._always)
        if self._index.kind == ahocorasick.AHOCORASICK:
            present = {n for _, n in self._index.iter(plain)}
            by_key = self._by_key
            for n in present:
                for i, others in by_key.get(n, ()):
                    if others <= present:
                        found.add(i)
        return sorted(found)

    def scan(self, text: str, plain: str, diacritics: bool) -> list[Hit]:
        """Hits of every rule; ``diacritics`` says whether the message was typed with them."""
        return self.examine(text, plain, diacritics)[0]

    def examine(self, text: str, plain: str, diacritics: bool) -> tuple[list[Hit], set[str]]:
        """The hits, and the categories of rules that matched but were overruled by their
        ``unless`` pattern: a look-alike the rules recognised ("mệt muốn chết" is tiredness,
        "giết boss" a game)."""
        hits: list[Hit] = default_lexicon().scan(text, plain, diacritics) if self.lexicon else []
        overruled: set[str] = set()
        same = text == plain
        for i in self.candidates(text, plain):
            c = self._rules[i]
            matched = [m.span() for m in c.plain.finditer(plain)]
            # Without diacritics in the text (or in the pattern) the plain pass sees it all.
            spans = [] if same or c.ascii_only or (c.plain_implies and not matched) else [
                m.span() for m in c.accented.finditer(text)]
            for a, b in matched:
                if text[a:b] == plain[a:b] or (
                        not c.rule.strict and _accents_fit(text[a:b], plain[a:b], c.words)):
                    spans.append((a, b))
            found: list[tuple[int, int]] = []
            for a, b in sorted(spans, key=lambda ab: (ab[0] - ab[1], ab[0])):  # longest first
                if not any(a < fb and fa < b for fa, fb in found):
                    found.append((a, b))
            for a, b in found:
                if c.unless is not None:
                    lo, hi = max(0, a - 30), b + 30
                    if c.unless.search(text, lo, hi) or (
                            c.unless_plain is not None and c.unless_plain.search(plain, lo, hi)):
                        overruled.add(c.rule.category)
                        continue
                score = c.rule.score
                if (c.rule.ambiguous and not diacritics and text[a:b] == plain[a:b]
                        and _is_ambiguous(plain[a:b])):
                    score = min(score, FAINT)
                hits.append(Hit(c.rule, a, b, score))
        return _combine(hits), overruled


_COMBINED = _combined_rule()


def _hardest(kinds: list[str]) -> str:
    return min(kinds, key=lambda k: (k not in GROOMING_HARD_KINDS, k))


def _combine(hits: list[Hit]) -> list[Hit]:
    """Add the ``grooming_combined`` hit (spanning its signals) when one message has several.

    A hit inside another one's text is the same signal ("đi chơi một mình" is a meeting *and*
    meeting alone, but said once); such a group counts with its hardest kind.
    """
    signals = sorted((h for h in hits if h.rule.name in GROOMING_KINDS),
                     key=lambda h: (h.start, -h.end))
    if len(signals) < 2:
        return hits
    kinds: set[str] = set()
    group: list[str] = []
    group_end = -1
    for h in signals:
        if group and h.end > group_end:  # not inside the group's outermost hit
            kinds.add(_hardest(group))
            group = []
        if not group:
            group_end = h.end
        group.append(GROOMING_KINDS[h.rule.name])
    kinds.add(_hardest(group))
    if not grooming_combination(kinds):
        return hits
    start = min(h.start for h in signals)
    end = max(h.end for h in signals)
    return [*hits, Hit(_COMBINED, start, end, _COMBINED.score)]


@cache
def default_ruleset() -> RuleSet:
    return RuleSet(rules())
