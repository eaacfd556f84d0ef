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
import re._constants as _C  # the stdlib's own regex parser, for the prefilter
import re._parser as _P
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from safegate.safety.normalise import deaccent

__all__ = ["AMBIGUOUS_SYLLABLES", "Hit", "Rule", "RuleSet", "builtin_rules", "lexicon_rules",
           "rules"]

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


# Pronoun macros for the Vietnamese patterns.
_MACROS = {
    "<I>": r"(?:tao|tớ|tôi|mình|em|anh|chị|tui|bọn tao|tụi tao|chúng tao|tôi sẽ|t)",
    "<YOU>": r"(?:mày|mầy|mi|bọn mày|tụi mày|chúng mày|cả nhà mày|cậu|nó|bọn nó|thằng kia|con kia)",
    "<KID>": r"(?:em|bé|cháu|con|cưng)",
    "<ADULT>": r"(?:anh|chú|bác|thầy|chị|cô|tao|mình|tớ)",
    "<APP>": (r"(?:zalo|telegram|tele|snapchat|snap|discord|messenger|mess|kik|whatsapp|"
              r"viber|signal|instagram|insta|facebook|face|tiktok|line|wechat|skype)"),
    "<PIC>": r"(?:ảnh|hình|pic|pics|picture|pictures|photo|photos|video|clip|selfie)",
    "<BODY>": (r"\b(?:nude|nudes|khoả thân|khỏa thân|không mặc (?:gì|đồ|quần|áo)|cởi (?:đồ|áo|quần)|"
               r"đồ lót|quần lót|áo ngực|ngực|vếu|mông|vùng kín|chỗ kín|body|bikini|naked|đồ ngủ|"
               r"đồ bơi|áo tắm|swimsuit|pyjamas|pajamas|in bed|trên giường|"
               r"topless|underwear|boobs|tits|nsfw|sexy|hở hang|hot)\b"),
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
    game = r"(?:game|free ?fire|pubg|liên quân|lq|minecraft|roblox|fortnite|valorant|cs ?go|rank|trận|map|boss|zombie|skin|súng|level)"
    return [
        # ---------------------------------------------------------------- self-harm (urgent)
        R("self_harm_suicide", "self_harm", STRONG,
          r"\b(?:tự tử|tự sát|tự vẫn|quyên sinh|tuyệt mệnh|thư tuyệt mệnh|treo cổ tự|"
          r"suicide|suicidal|kill myself|killing myself|kms|unalive myself|end my life|"
          r"take my (?:own )?life|end it all)\b"),
        R("self_harm_want_die", "self_harm", STRONG,
          r"\b(?:<I> )?(?:thật sự |thực sự |chỉ |rất |cứ )?(?:muốn|định|sắp|sẽ|thèm) "
          r"(?:chết|chết quách|chết đi|biến mất mãi mãi|kết thúc (?:cuộc đời|cuộc sống|tất cả|mọi thứ))\b",
          unless=r"(?:mệt|đói|buồn ngủ|nóng|lạnh|sợ|xấu hổ|ngại|cười|nhục|tức|ghen|"
                 r"thèm ăn|mắc cười|ngượng|hồi hộp|cay|ớt|game|muốn chết à|mày muốn chết|muốn chết hả)"),
        R("self_harm_no_live", "self_harm", STRONG,
          r"\b(?:không|chẳng|hết) (?:muốn|còn muốn|thiết) sống(?: nữa)?\b|\bchán sống\b|"
          r"\bsống (?:cũng )?(?:chẳng|không) (?:để )?(?:làm gì|có ý nghĩa)|\bkhông còn lý do (?:để )?sống|"
          r"\b(?:không|chẳng) (?:thấy|còn) (?:lý do|lí do|ý nghĩa|lẽ) (?:gì )?(?:để )?(?:sống|tiếp tục)|"
          r"\b(?:không|chẳng) (?:sống|trụ|chịu) (?:nổi|được) (?:qua|đến|tới|thêm)|"
          r"\b(?:không|chẳng) (?:sống|trụ) (?:qua|nổi qua|được qua) (?:được |nổi )?(?:tuần|đêm|hôm|ngày|tháng|năm)|"
          r"\b(?:không|chẳng) muốn (?:tồn tại|thức dậy|tỉnh dậy|ở trên đời)|"
          r"\b(?:don'?t|do not|can'?t|cannot) see (?:a|any) (?:reason|point) (?:to|in) (?:live|living|go on|going on)|"
          r"\b(?:can'?t|cannot) (?:go on|do this) (?:anymore|any more)\b|"
          r"\b(?:want|wanna|going) to die\b|\bwanna die\b|\bdon'?t want to (?:live|be alive|exist|wake up)|"
          r"\bno reason to live\b|\bbetter off (?:dead|without me)\b|\bwish i (?:was|were) dead\b|"
          r"\bwish i (?:didn'?t|did not) exist\b",
          unless=r"(?:boring|bored|embarrass|this song|lmao|lol|haha|😂|🤣)"),
        R("self_harm_cut", "self_harm", STRONG,
          r"\b(?:rạch|cứa|cắt) (?:tay|cổ tay|đùi|chân|người) (?:mình|tao|em|tớ)?|"
          r"\b(?:dao lam|lưỡi lam|razor|razors|blade|blades)\b.{0,25}\b(?:tay|đùi|cổ tay|arm|arms|wrist|wrists|thigh|myself)|"
          r"\b(?:lấy|dùng) (?:dao lam|lưỡi lam|dao) (?:cứa|rạch)|\bburn(?:ing|ed)? myself\b|"
          r"\b(?:cut|cutting|hurt|hurting|harm|harming|burn|burning) myself\b|\bself[- ]?harm\w*|"
          r"\btự (?:làm đau|hại|làm hại|rạch|cắt) (?:bản thân|mình|tay)",
          unless=r"(?:nấu|bếp|rau|thịt|gọt|vô tình|lỡ tay|kitchen|cooking|accident|giấy|paper)"),
        R("self_harm_sleep_forever", "self_harm", MEDIUM,
          r"\b(?:ngủ|nhắm mắt|ngủ một giấc)\b.{0,30}\b(?:(?:không bao giờ|mãi mãi không|mãi không) (?:tỉnh|tỉnh lại|dậy|thức dậy)|không (?:tỉnh lại|dậy|thức dậy) nữa)\b|"
          r"\bngủ (?:luôn|mãi) không (?:dậy|tỉnh)|\b(?:go to )?sleep (?:forever|and never wake up)\b|"
          r"\bnever wake up\b|\bnot wake up (?:again|tomorrow)\b"),
        R("self_harm_farewell", "self_harm", MEDIUM,
          r"\b(?:đây là )?(?:tin nhắn|lời|dòng) (?:cuối cùng|cuối)(?: của (?:em|mình|tớ|tao|con))?|"
          r"\b(?:mọi người |bố mẹ |đừng ai )?đừng (?:tìm|chờ|đợi) (?:em|mình|tớ|con|tao) nữa|"
          r"\bđừng (?:ai )?tìm (?:em |mình |tớ |con )?nữa|"
          r"\bkhi (?:mọi người|bố mẹ|các bạn) đọc (?:được )?(?:tin|dòng|thư) này|"
          r"\b(?:this is )?my (?:last|final) (?:message|post|goodbye|words)\b|\bby the time you read this\b|"
          r"\bdon'?t (?:look|wait) for me\b|\bi won'?t be (?:here|around) (?:tomorrow|anymore)"),
        R("self_harm_method", "self_harm", MEDIUM,
          r"\b(?:nhảy (?:cầu|lầu|sông|từ tầng|xuống từ)|uống (?:hết )?(?:cả )?(?:vỉ |lọ )?thuốc (?:ngủ|chuột|trừ sâu)|"
          r"(?:uống|nuốt) hết (?:cả )?(?:vỉ|lọ|hộp|chai) thuốc|"
          r"uống thuốc quá liều|quá liều|overdose|jump off (?:a|the) (?:bridge|building|roof)|"
          r"(?:hang|hanging) myself|sleeping pills)\b"),
        R("self_harm_hopeless", "self_harm", WEAK,
          r"\b(?:ai cũng|mọi người|cả nhà) (?:sẽ )?(?:vui|tốt|nhẹ nhõm) hơn (?:nếu|khi) (?:không có|thiếu) <I>|"
          r"\b<I> (?:là )?(?:gánh nặng|vô dụng|đồ bỏ đi|không đáng sống)|"
          r"\bước gì <I> (?:chưa từng|không) (?:được )?sinh ra|\bbiến mất khỏi (?:thế giới|cuộc đời)|"
          r"\beveryone (?:would be|is) better (?:off )?without me|\bi'?m a burden\b|"
          r"\bi (?:hate|want to disappear) (?:myself|from this world)|\bnobody would (?:miss|notice) me|"
          r"\bgoodbye forever\b|\blời (?:trăn trối|vĩnh biệt)\b|\bvĩnh biệt mọi người\b"),
        R("self_harm_incite", "self_harm", MEDIUM,
          r"\b(?:<YOU>|mày|you|u) (?:nên|đi|hãy|should|go|better) (?:chết|tự tử|chết đi|kill yourself|die)\b|"
          r"\bkill yourself\b|\bgo die\b|\bđi chết (?:đi|mẹ mày đi)\b|\bsao (?:mày )?không (?:chết|tự tử) (?:đi)?\b"),

        # ---------------------------------------------------------------- grooming (urgent)
        R("grooming_secrecy", "grooming", 0.5,
          r"\b(?:đừng|không được|cấm|đừng có) (?:nói|kể|cho|khoe|để) (?:với |cho )?"
          r"(?:ai|bố mẹ|ba mẹ|cha mẹ|bố|mẹ|ba|má|người lớn|thầy cô|cô giáo|bạn bè|người khác)|"
          r"\bbí mật (?:của )?(?:hai|2) (?:đứa|anh em|chú cháu|chúng mình|ta)|"
          r"\bchuyện (?:của )?(?:hai|2) (?:đứa|anh em|chú cháu|ta|chúng mình) (?:thôi)?|"
          r"\b(?:xoá|xóa) (?:hết |đi )?(?:tin nhắn|đoạn chat|cuộc trò chuyện|lịch sử)|"
          r"\bdon'?t tell (?:your )?(?:mom|mum|mommy|dad|daddy|parents|anyone|anybody|teacher)|"
          r"\b(?:our|a) (?:little )?secret\b|\bkeep (?:this|it) (?:between us|secret|a secret)|"
          r"\bdelete (?:this|the|our|these) (?:chat|messages?|conversation)|\bjust between us\b",
          unless=r"(?:surprise|party|birthday|bất ngờ|sinh nhật|tiệc|quà tặng mẹ|quà tặng bố)"),
        R("grooming_private_channel", "grooming", WEAK,
          r"\b(?:add|kết bạn|inbox|ib|nhắn|qua|sang|chuyển sang|vào|lên|xin|cho (?:anh|chú|mình) xin) "
          r"(?:nick |acc |tài khoản |số )?<APP>\b|\bnhắn riêng\b|\bchat riêng\b|\binbox riêng\b|"
          r"\b(?:add|message|text|dm|hit) me (?:up )?on <APP>|\bwhat'?s your (?:snap|number|insta|discord)|"
          r"\b(?:private|secret) (?:chat|account|server|group)\b|\b<APP> (?:của )?(?:em|bé) (?:là )?(?:gì|bao nhiêu)"),
        R("grooming_move_off_platform", "grooming", MEDIUM,
          r"\b(?:add|kết bạn|inbox|nhắn|qua|sang|chuyển sang|message|text|dm|talk|chat) .{0,20}<APP>"
          r".{0,25}(?:not here|ở đây không tiện|ở đây bị|không ai đọc|không ai biết|privately|riêng tư|bí mật)|"
          r"\b(?:xin|cho (?:anh|chú) xin) (?:zalo|số|sđt|số điện thoại|face|facebook|insta) .{0,15}"
          r"(?:nói chuyện riêng|nhắn riêng|tâm sự riêng|chat riêng)"),
        R("grooming_photo_request", "grooming", WEAK,
          r"\b(?:gửi|gởi|send|chụp|quay) (?:cho )?(?:anh|chú|bác|tao|me) .{0,25}?<PIC> (?:của )?"
          r"(?:em|bé|cháu|you|yourself|mày)|"
          r"\b(?:gửi|gởi|send|chụp|quay) (?:cho )?(?:anh|chú|bác|me) (?:1|một|cái|vài|mấy|a|some)? ?"
          r"(?:tấm )?(?:<PIC>|selfie) (?:em|bé|cháu|of you|your)|"
          r"\bcho (?:anh|chú|bác) (?:xem|coi|ngắm) (?:ảnh|hình|người|mặt|body|chân) (?:của )?(?:em|bé|cháu)|"
          r"\b(?:send|show) me (?:a |some |your )?(?:pic|pics|picture|pictures|photo|photos|selfie|video) "
          r"(?:of )?(?:you|yourself)\b|\bsend me (?:a |some )?(?:selfie|pics)\b|"
          r"\b(?:bật|mở) (?:cam|camera|video)\b.{0,20}\b(?:anh xem|cho anh|chú xem|riêng)|"
          r"\b(?:video call|facetime|gọi video) (?:me|anh|chú) (?:alone|một mình|riêng)",
          unless=r"(?:bài tập|homework|notes|bài học|cô giáo|thầy|lớp học|kỷ yếu|nhóm lớp)"),
        R("grooming_sexual_photo", "grooming", STRONG,
          r"\b(?:gửi|gởi|send|chụp|quay|cho (?:anh|chú|tao|tớ|mình|bác) (?:xem|coi|ngắm)|show me|"
          r"i want to see|bật cam|mở cam|turn on (?:your )?cam(?:era)?) .{0,40}?<BODY>|"
          r"\b<BODY> .{0,15}(?:cho (?:anh|chú|tao|mình) (?:xem|coi)|(?:gửi|send) (?:anh|chú|me))|"
          r"\bcởi (?:đồ|áo|quần) (?:ra )?(?:cho|đi|anh)|\btake off your (?:shirt|clothes|top|pants)|"
          r"\bsend (?:me )?nudes?\b|\bsend (?:me )?(?:a |some )?(?:nude|naked|sexy|hot) <PIC>"),
        R("grooming_gift", "grooming", WEAK,
          r"\b<ADULT> (?:sẽ )?(?:nạp|mua|tặng|cho|gửi|chuyển|bank) (?:cho )?<KID> "
          r"(?:\w+ )?(?:thẻ|card|kc|kim cương|quân huy|skin|robux|vbucks|v-bucks|tiền|quà|điện thoại|"
          r"đồ|acc|nick|gem|uc)|\bnạp thẻ cho <KID>\b|\bcho <KID> (?:skin|kc|kim cương|robux|quân huy)|"
          r"\bi'?ll (?:buy|get|give|send) you (?:some |free )?(?:robux|v-?bucks|skins?|gift ?cards?|money|"
          r"a (?:phone|gift)|gems)|\b(?:free|cho) robux\b"),
        R("grooming_gift_condition", "grooming", 0.5,
          r"\b(?:gift ?card|robux|v-?bucks|skins?|money|a phone|presents?) if you\b|"
          r"\b<ADULT> (?:sẽ )?(?:mua|tặng|cho|nạp) (?:cho )?(?:em|bé|cháu) .{0,25}(?:nếu|miễn là) (?:em|bé|cháu)|"
          r"\b(?:nếu|miễn là) (?:em|bé|cháu) .{0,30}(?:anh|chú) (?:sẽ )?(?:mua|tặng|cho|nạp)"),
        R("grooming_meet", "grooming", WEAK,
          r"\b(?:gặp|đi chơi|hẹn|đón|qua đón|ra gặp|đến gặp) (?:nhau|em|bé|cháu|anh|chú)?\s?"
          r"(?:ngoài đời|riêng|một mình|ở đâu|được không|không|nhé|đi|tối nay|cuối tuần)|"
          r"\b(?:<ADULT>) (?:qua|đến|tới) (?:đón|gặp) <KID>|\bđi khách sạn\b|\bnhà nghỉ\b|"
          r"\bmeet (?:up|me|in person|irl)\b|\bcome (?:to|over to) my (?:place|house|room|hotel)|"
          r"\bi(?:'ll| will| can) pick you up\b|\bcome alone\b|\bđến một mình\b",
          unless=r"(?:họp lớp|cả lớp|đi học|bố mẹ đón|mẹ đón|ba đón)"),
        R("grooming_probe", "grooming", FAINT,
          r"\b(?:<KID>|bạn) (?:năm nay |nay )?(?:bao nhiêu|mấy) tuổi|\b<KID> học lớp mấy\b|"
          r"\b(?:ở nhà|nhà) (?:có )?(?:một mình|mình em|ai không)|\b(?:bố mẹ|ba mẹ) (?:<KID> )?(?:có )?(?:ở nhà|đi vắng|đi làm)|"
          r"\bhow old are (?:you|u)\b|\bare (?:you|u) (?:home )?alone\b|\bare your parents (?:home|around|awake)|"
          r"\bwhat grade are you\b|\bis anyone (?:else )?(?:home|with you)"),
        R("grooming_flattery", "grooming", FAINT,
          r"\b<KID> (?:thật là |rất |trông )?(?:xinh|dễ thương|đáng yêu|trưởng thành|chín chắn|hiểu chuyện|"
          r"đặc biệt|sexy|gợi cảm|quyến rũ|ngoan) (?:quá|thế|lắm|hơn|ghê)|\bchỉ có <ADULT> (?:mới )?hiểu <KID>|"
          r"\bkhông ai hiểu <KID> bằng\b|\bmature for your age\b|\byou'?re (?:so )?(?:special|mature|pretty|beautiful|"
          r"cute|hot|sexy)\b|\bonly i understand you\b|\bnobody understands you like\b"),
        R("grooming_abuse_disclosure", "grooming", STRONG,
          r"\b(?:comes?|came|coming) into my (?:room|bed)\b.{0,30}\b(?:at night|when|scared|touch)|"
          r"\b(?:he|she|they|my \w+) (?:touches|touched|keeps touching|made me touch) (?:me|my|him|her)\b"
          r"(?:.{0,25}\b(?:private|down there|there|body|chest|when no one|at night))?|"
          r"\b(?:chú|bác|dượng|bố dượng|anh họ|ông|thầy|anh ấy|hắn|ông ấy) .{0,25}\b(?:sờ|động vào|chạm vào|sờ soạng|sờ mó) "
          r"(?:vào )?(?:người|vùng kín|chỗ kín|ngực|mông|đùi) (?:của )?(?:em|con|cháu|mình|tớ)\b|"
          r"\b(?:bắt|ép) (?:em|con|cháu|mình) (?:cởi|sờ|xem phim|quan hệ|giữ bí mật)"),
        R("grooming_minor_sexual", "grooming", STRONG,
          r"\b(?:<KID>|bạn|you) (?:\w+ ){0,3}(?:lớp|grade|tuổi|years? old|tuổi rồi)\b.{0,40}"
          r"(?:làm tình|quan hệ|chịch|sex|nude|khoả thân|khỏa thân|sờ|hôn|ngủ với|đi nhà nghỉ|"
          r"virgin|còn trinh|horny|nứng)|\b(?:chịch|sex|làm tình|ngủ) (?:với )?(?:học sinh|bé|em gái lớp|trẻ em)|"
          r"\b(?:còn trinh|still a virgin|virgin)\b"),

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
          r"\b(?:<I> )?(?:sẽ |sẽ đi |đi |phải |thề )?(?:giết |đâm |chém |đánh chết |bắn chết |đập chết |xiên |"
          r"thịt |xử đẹp |xử |đốt nhà |tạt axit |đánh |đập |đấm |úp sọt )"
          r"(?:chết )?(?:<YOU>|cả nhà mày|mày)\b|\b<YOU> (?:sẽ )?(?:chết|toi|xong) (?:với tao|chắc|rồi con|đời)\b|"
          r"\b(?:tan học|tan trường|ra chơi) .{0,20}(?:ra cổng|đợi|chờ|gặp) .{0,15}(?:tao|bọn tao|xử|đánh)|"
          r"\bmang (?:dao|súng|kiếm|mã tấu|hung khí) (?:đến|tới|vào|lên) (?:trường|lớp)|"
          r"\b(?:coi chừng|liệu hồn|cẩn thận cái mạng) (?:tao|mày|đấy)?|\bbiết nhà mày ở đâu\b|"
          r"\bi(?:'m| am)? ?(?:'ll| will|gonna|going to) (?:kill|stab|shoot|hurt|beat up|murder|"
          r"punch|jump) (?:you|u|him|her|them|everyone|y'?all|your)\b|\byou(?:'re| are) (?:dead|gonna die)\b|"
          r"\b(?:bring|brought) a (?:gun|knife) to school|\bshoot up (?:the|my|our) school|"
          r"\bwatch your back\b|\bi know where you live\b|\bschool shooting\b",
          unless=rf"(?:{game}|bắn rank|in game|trong game|đùa|joke|jk|lol|haha|=\)\)|:\)\)|😂|🤣)"),
        R("violence_threat_reported", "violence", STRONG,
          r"\b(?:he|she|they|my (?:dad|stepdad|step dad|mom|uncle|brother|teacher|coach)) "
          r"(?:said|says|told me|threatened) (?:that )?(?:he|she|they)(?:'d| would| will| is going to| was going to) "
          r"(?:hurt|kill|beat|hit|punish) (?:me|us|my)\b|"
          r"\b(?:anh ấy|chú ấy|ông ấy|bà ấy|nó|hắn|bố dượng|dượng|bố|mẹ|thầy|cô|bọn nó) "
          r"(?:bảo|nói|dọa|doạ|đe dọa|đe doạ|hăm dọa) (?:là )?(?:sẽ )?(?:đánh|giết|đánh chết|làm hại|xử|đốt) "
          r"(?:em|mình|con|cháu|tôi|tớ)\b"),
        R("violence_graphic", "violence", MEDIUM,
          r"\b(?:clip|video|ảnh|hình) (?:đánh nhau|đánh hội đồng|chém nhau|giết người|bạo lực|"
          r"máu me|tai nạn kinh hoàng|cắt cổ)|\bđánh hội đồng\b|\bchém nhau\b|\bgiết người\b|"
          r"\bbeheading\b|\bgore\b|\bfight video\b|\bmass shooting\b|\bmáu me\b|\bxử tử\b"),
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
          r"\bcon (?:béo|lợn|heo|điên|khùng|quỷ|ngu|hâm) (?:kia|này|ấy)\b|"
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
        R("bullying_directed_en", "bullying", STRONG,
          r"\b(?:fuck (?:you|u|off)|shut (?:the fuck )?up|go to hell|you (?:stupid|dumb|fat|ugly) "
          r"(?:bitch|whore|slut|cunt|idiot|fuck))\b"),

        # ---------------------------------------------------------------- hate
        R("hate_slur_vi", "hate", STRONG,
          r"\b(?:bắc kỳ|bắc kì|parky|namkiki|nam kỳ|nam kì|ba que|3 que|khựa|tàu khựa|"
          r"mọi rợ|bê đê|pê đê|bóng lộ|bọn gay|lũ gay|đồ đồng bóng|mọi đen|bọn tàu khựa|tộc cối)\b"),
        R("hate_slur_vi_short", "hate", MEDIUM, r"\b(?:bọn mọi|đồ mọi|con mọi)\b",
          ambiguous=True, strict=True),
        R("hate_group_vi", "hate", STRONG,
          r"\b(?:bọn|lũ|đám|dân|tụi|người) (?:gay|đồng tính|les|bê đê|da đen|mọi|tàu|khựa|hồi giáo|"
          r"dân tộc|miền bắc|miền nam|miền trung|bắc|nam|thanh hoá|thanh hóa|nghệ an|khuyết tật|"
          r"chuyển giới|ấn độ|do thái) .{0,25}(?:đáng chết|nên chết|phải chết|bệnh hoạn|ghê tởm|"
          r"biến đi|cút về|thối|bẩn|lừa đảo|ăn cắp|mất dạy|hạ đẳng|súc vật|rác rưởi|không phải người)"),
        R("hate_slur_en", "hate", STRONG,
          r"\b(?:nigger|niggers|faggot|faggots|fags?|tranny|trannies|kike|kikes|chink|chinks|spic|spics|"
          r"wetback|wetbacks|raghead|towelhead|gook|gooks|sand ?nigger|coon|coons|beaner|beaners|"
          r"dyke|dykes|retards)\b"),
        R("hate_group_en", "hate", STRONG,
          r"\b(?:all|those|these|fucking|filthy|dirty) (?:muslims|jews|blacks|gays|immigrants|mexicans|"
          r"asians|arabs|women|trans people|refugees|africans|chinese|indians) (?:are|should|must|deserve to) "
          r"(?:be )?(?:animals|vermin|die|killed|be killed|go back|disgusting|trash|subhuman|rats|"
          r"parasites|gassed|deported)|\bgo back to (?:your country|africa|china|mexico)|"
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
        self.first_words = frozenset(t.split()[0] for t in [*self.accented, *self.plain])

    def scan(self, text: str, plain: str, diacritics: bool) -> list[Hit]:
        spans = [m.span() for m in _RE_TOKEN.finditer(text)]
        toks_t = [text[a:b] for a, b in spans]
        toks_p = [plain[a:b] for a, b in spans]
        first = self.first_words
        found: list[Hit] = []
        taken_until = -1
        for i in range(len(spans)):
            if spans[i][0] < taken_until or (toks_t[i] not in first and toks_p[i] not in first):
                continue
            for n in range(min(self.MAX_WORDS, len(spans) - i), 0, -1):
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


def _anchors(items: Any) -> set[str] | None:
    """Strings of which at least one occurs in every match of a parsed pattern (or None).

    A simplified required-literal prefilter (as code-search engines build for regexes):
    literal runs, groups, alternations (the union of their branches) and repetitions with
    a minimum of one; of all required pieces, the most selective one is kept.
    """
    candidates: list[set[str]] = []
    run: list[str] = []

    def close() -> None:
        if run:
            candidates.append({"".join(run)})
            run.clear()

    for op, av in items:
        if op is _C.LITERAL:
            run.append(chr(av))
            continue
        close()
        found: set[str] | None = None
        if op is _C.SUBPATTERN:
            found = _anchors(av[-1])
        elif op is _C.BRANCH:
            branches = [_anchors(b) for b in av[1]]
            if all(branches):
                found = set().union(*branches)  # type: ignore[arg-type]
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT) and av[0] >= 1:
            found = _anchors(av[2])
        if found:
            candidates.append(found)
    close()
    if not candidates:
        return None
    return max(candidates, key=lambda c: (min(len(x) for x in c), -len(c)))


_GRAM = 3


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


def _grams(s: str) -> set[str]:
    return {s[i:i + _GRAM] for i in range(len(s) - _GRAM + 1)}


class RuleSet:
    """Compiled rules; :meth:`scan` returns the hits in one normalised text.

    A trigram prefilter built from each rule's required literals keeps the cost low: a rule
    runs only on messages that contain one of its anchors' first three characters.
    """

    def __init__(self, rule_list: Iterable[Rule], lexicon: bool = True) -> None:
        self.lexicon = lexicon
        self._rules: list[_Compiled] = []
        self._always: list[int] = []
        self._by_gram: dict[str, list[tuple[int, frozenset[str]]]] = {}
        for i, rule in enumerate(rule_list):
            self._rules.append(_Compiled(
                rule,
                _whole_words(rule.pattern),
                _whole_words(deaccent(rule.pattern)),
                deaccent(rule.pattern) == rule.pattern,
                _whole_words(rule.unless) if rule.unless else None,
                _whole_words(deaccent(rule.unless)) if rule.unless else None,
                frozenset(re.findall(r"\w+", rule.pattern)),
            ))
            anchors = _anchors(_P.parse(rule.pattern))
            if not anchors or min(len(x) for x in anchors) < _GRAM:
                self._always.append(i)
                continue
            # Index each anchor (as written and de-accented) under its first trigram, with all
            # its trigrams: a rule is a candidate only if one anchor's trigrams all occur.
            for anchor in anchors | {deaccent(a) for a in anchors}:
                entry = (i, frozenset(_grams(anchor)))
                bucket = self._by_gram.setdefault(anchor[:_GRAM], [])
                if entry not in bucket:
                    bucket.append(entry)
        self.rules = [c.rule for c in self._rules]
        self.always_run = [self._rules[i].rule.name for i in self._always]

    def candidates(self, text: str, plain: str) -> list[int]:
        found = set(self._always)
        by_gram = self._by_gram
        grams = _grams(text)
        if plain != text:
            grams |= _grams(plain)
        for g in grams:
            entries = by_gram.get(g)
            if entries:
                for i, need in entries:
                    if i not in found and need <= grams:
                        found.add(i)
        return sorted(found)

    def scan(self, text: str, plain: str, diacritics: bool) -> list[Hit]:
        """Hits of every rule; ``diacritics`` says whether the message was typed with them."""
        hits: list[Hit] = default_lexicon().scan(text, plain, diacritics) if self.lexicon else []
        same = text == plain
        for i in self.candidates(text, plain):
            c = self._rules[i]
            # Without diacritics in the text (or in the pattern) the plain pass sees it all.
            spans = [] if same or c.ascii_only else [m.span() for m in c.accented.finditer(text)]
            for m in c.plain.finditer(plain):
                a, b = m.span()
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
                        continue
                score = c.rule.score
                if (c.rule.ambiguous and not diacritics and text[a:b] == plain[a:b]
                        and _is_ambiguous(plain[a:b])):
                    score = min(score, FAINT)
                hits.append(Hit(c.rule, a, b, score))
        return hits


@cache
def default_ruleset() -> RuleSet:
    return RuleSet(rules())
