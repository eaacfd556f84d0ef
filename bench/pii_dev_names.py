"""Development set 2: names and place names (hand-written; bench/pii_eval reports it apart).

Until 2026-12-05 this was "held-out set 2" (bench/pii_heldout_names.py). It was written
before the change that added context-cued lone given names and the place-name veto to the
PERSON recogniser, and before the detector was run on any of these texts, then measured once
before and once after that change. Since then its errors have been printed by `bench/pii_eval
--show-errors` during later rule work, so it can no longer be called held-out: it is a
development set, and bench/pii_eval reports it as one. The held-out sets are the
``bench/pii_heldout_*.txt`` files.

It covers lone given names after a cue (Vietnamese with and without diacritics, English,
teencode), place and country names that look like people's names and are not, and ordinary
sentences with numbers. Lines without marks hold no personal data.

Marks are ``[[TYPE:value]]`` as in ``pii_data.TRICKY``. Gold follows docs/pii.md: a title or
kin word before a name is not part of the span ("anh [[PERSON:Hải]]"); a city or province
alone is not an ADDRESS.
"""

from __future__ import annotations

DEV_NAMES = [
    # lone given names after a cue, with diacritics
    "tên tớ là [[PERSON:Quyên]], còn cậu?",
    "mình tên [[PERSON:Hiếu]], 11 tuổi",
    "em là [[PERSON:Ngân]] lớp 5B ạ",
    "chào anh, em là [[PERSON:Khôi]] nè",
    "tớ là [[PERSON:Vy]], bạn cùng bàn của [[PERSON:Trâm]]",
    "con tên là [[PERSON:Bảo]] ạ",
    "Tên cháu là [[PERSON:Phúc]], cháu học lớp 4",
    "mẹ ơi, bạn [[PERSON:Duy]] rủ con đi chơi",
    "tên nó là [[PERSON:Tài]], học lớp 9",
    "mình tên thật là [[PERSON:Quỳnh Anh]] nhưng ở nhà hay gọi là [[PERSON:Bông]]",
    "[[PERSON:Minh]] ơi, mai 7h đi học nhé",
    # without diacritics
    "ten to la [[PERSON:Nhung]] nha",
    "minh ten [[PERSON:Dat]], hoc lop 7",
    "em la [[PERSON:Trang]] lop 6a",
    "ten em la [[PERSON:Hoang Anh]], 10 tuoi",
    "chao c, e la [[PERSON:Tuan]] day a",
    # teencode
    "ten e la [[PERSON:Hieu]] a",
    "t là [[PERSON:Long]] đây",
    "mk ten [[PERSON:linh]] nhe",
    "hế lô mn, e là [[PERSON:Thư]] nè",
    "bn tên j? t tên [[PERSON:Hưng]]",
    "mk là [[PERSON:Yến]] nè, lớp 6A1",
    "tui tên [[PERSON:Sang]], nhà gần trường",
    # English
    "hi, my name is [[PERSON:Khanh]] and I'm 10",
    "I'm [[PERSON:Ava]], nice to meet u",
    "call me [[PERSON:Bin]] lol",
    "hey it's [[PERSON:Noah]] from class 5C",
    "I'm [[PERSON:Linh]], I live in Hanoi",
    "they call me [[PERSON:Mít]] at home",
    "this is [[PERSON:Jake]], can u add me back",
    # a name and a place that looks like one
    "anh [[PERSON:Hải]] ở Hải Phòng gửi quà cho em",
    "chị [[PERSON:Lan]] vừa đi Thái Lan về",
    "bạn [[PERSON:Bình]] chuyển về Bình Dương rồi",
    "[[PERSON:Nguyễn Thái Bình]] quê ở Thái Bình",
    "cô [[PERSON:Ninh]] quê ở Quảng Ninh",
    # place and country names, no person
    "Tết này nhà em về Quảng Ninh",
    "bố em đi công tác ở Đà Nẵng 3 ngày",
    "em thích đi Nhật Bản hơn Hàn Quốc",
    "hom qua Viet Nam thua Thai Lan 1-2",
    "Trung Quốc rộng hơn Việt Nam nhiều",
    "nhà ngoại em ở Bình Dương còn nhà nội ở Long An",
    "mai cả lớp đi Hải Phòng tham quan",
    "Thanh Hóa năm nay nóng 40 độ",
    "em từng sống ở Lào Cai với Sơn La",
    "đội tuyển Hàn Quốc đá với Triều Tiên lúc 19h",
    "I went to Da Nang and Hoi An last summer",
    "ve Phu Tho an gio to nhe",
    "Kiên Giang và Cà Mau ở miền Tây",
    "hôm nay An Giang mưa to",
    "nha noi em o Nam Dinh",
    "em về Quảng Nam ăn Tết",
    "Vietnam vs Thailand 2-0 tonight",
    "Hà Giang cách Hà Nội khoảng 300 km",
    # ordinary sentences, words that must not become names
    "em là học sinh lớp 6 thôi mà",
    "mình tên gì thì kệ mình",
    "tên bạn là gì thế?",
    "I'm fine thanks, got 9 on the test",
    "I'm in grade 7 now",
    "I'm Vietnamese and I'm 12",
    "em là con út, nhà có 3 anh chị em",
    "call me when you get home at 5",
    "tớ là fan của BTS 5 năm rồi",
    "Mình là Trưởng nhóm lớp 8A",
    "em la hoc sinh gioi 3 nam lien",
    "lớp 6A có 40 bạn, em là lớp trưởng",
    "mình là người Hà Nội, năm nay 12 tuổi",
    "it's Monday, 3 tests today",
    "em yêu Việt Nam",
]
