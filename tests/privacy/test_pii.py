"""safegate.privacy.pii: detection per entity type, validation, offsets and redaction.

Everything runs the real pipeline (Presidio with blank spaCy tokenizers and SafeGate's
recognisers); nothing is mocked.
"""

from __future__ import annotations

import importlib.util
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from safegate.privacy.pii import ENTITY_TYPES, Entity, detect, redact
from safegate.privacy.pii.numbers import luhn_ok, valid_cccd
from safegate.privacy.pii.text import fold


def found(text: str, **kw: object) -> list[tuple[str, str]]:
    ents = detect(text, **kw)  # type: ignore[arg-type]
    for e in ents:
        assert text[e.start:e.end] == e.text, e
    return [(e.type, e.text) for e in ents]


POSITIVE = [
    # PHONE: every mobile prefix family, +84/84, separators, landlines, foreign E.164
    ("sđt của em là 0912 345 678 nha", "PHONE", "0912 345 678"),
    ("sdt cua em la 0912.345.678", "PHONE", "0912.345.678"),
    ("gọi 0387-654-321 nhé", "PHONE", "0387-654-321"),
    ("số mới 0563456789", "PHONE", "0563456789"),
    ("zalo 0708123456", "PHONE", "0708123456"),
    ("lưu số 0862345678 đi", "PHONE", "0862345678"),
    ("call me on +84 912 345 678", "PHONE", "+84 912 345 678"),
    ("số em 84912345678", "PHONE", "84912345678"),
    ("alo (+84) 590 328 401 ai đấy", "PHONE", "(+84) 590 328 401"),
    ("gọi số nhà 024 3826 1234", "PHONE", "024 3826 1234"),
    ("điện thoại bàn (0236) 382 1234", "PHONE", "(0236) 382 1234"),
    ("my number is +1 415-555-2671", "PHONE", "+1 415-555-2671"),
    ("text me +44 20 7946 0958", "PHONE", "+44 20 7946 0958"),
    # disguised and spelled-out digits
    ("sdt e la O9l2 345 678 nhe", "PHONE", "O9l2 345 678"),
    ("số em: không chín tám bảy sáu năm bốn ba hai một", "PHONE",
     "không chín tám bảy sáu năm bốn ba hai một"),
    ("so em khong chin tam bay sau nam bon ba hai mot", "PHONE",
     "khong chin tam bay sau nam bon ba hai mot"),
    ("my number is zero nine one two three four five six seven eight", "PHONE",
     "zero nine one two three four five six seven eight"),
    # CCCD / CMND
    ("số CCCD của mẹ em là 079185001234", "CCCD", "079185001234"),
    ("can cuoc cong dan: 001 203 012 345", "CCCD", "001 203 012 345"),
    ("mã định danh 036310004567", "CCCD", "036310004567"),
    ("số CMND của bố là 123456789", "CMND", "123456789"),
    ("chung minh nhan dan 023456781", "CMND", "023456781"),
    # EMAIL
    ("email của em là be.ngoc2012@gmail.com nhé", "EMAIL", "be.ngoc2012@gmail.com"),
    ("send it to Sarah.Wagner@example.org pls", "EMAIL", "Sarah.Wagner@example.org"),
    ("mail e: embe2012 (at) gmail (dot) com", "EMAIL", "embe2012 (at) gmail (dot) com"),
    # BANK_ACCOUNT (context words and bank names)
    ("stk 0123456789 vietcombank", "BANK_ACCOUNT", "0123456789"),
    ("số tài khoản: 19033456789012 Techcombank", "BANK_ACCOUNT", "19033456789012"),
    ("chuyển vào 0912345678 MB bank nha", "BANK_ACCOUNT", "0912345678"),
    ("tk BIDV 31410001234567", "BANK_ACCOUNT", "31410001234567"),
    ("send the money to account 12345678 at ACB", "BANK_ACCOUNT", "12345678"),
    # CARD (Luhn, NAPAS 9704)
    ("thẻ ATM của mẹ 9704 0000 0000 0018", "CARD", "9704 0000 0000 0018"),
    ("the visa 4111 1111 1111 1111 het han 09/27", "CARD", "4111 1111 1111 1111"),
    ("I used the card 5555555555554444 to buy gems", "CARD", "5555555555554444"),
    # ADDRESS
    ("nhà em ở số 5 ngõ 20 đường Láng, phường Láng Thượng, quận Đống Đa, Hà Nội nhé",
     "ADDRESS", "số 5 ngõ 20 đường Láng, phường Láng Thượng, quận Đống Đa, Hà Nội"),
    ("nha em o so 5 ngo 20 duong lang, quan dong da, ha noi", "ADDRESS",
     "so 5 ngo 20 duong lang, quan dong da, ha noi"),
    ("nhà tớ hẻm 34/5 Lê Văn Sỹ, P.13, Q.3 nè", "ADDRESS", "hẻm 34/5 Lê Văn Sỹ, P.13, Q.3"),
    ("qua kiệt 20 Hùng Vương, Huế chơi", "ADDRESS", "kiệt 20 Hùng Vương, Huế"),
    ("địa chỉ: 12 Nguyễn Trãi", "ADDRESS", "12 Nguyễn Trãi"),
    ("em ở thôn 3, xã Tân An, huyện Củ Chi", "ADDRESS", "thôn 3, xã Tân An, huyện Củ Chi"),
    ("I live at 742 Evergreen Terrace, Springfield, OR 97403", "ADDRESS",
     "742 Evergreen Terrace, Springfield, OR 97403"),
    # SCHOOL
    ("em học lớp 7A2, trường THCS Nguyễn Du", "SCHOOL", "lớp 7A2, trường THCS Nguyễn Du"),
    ("minh hoc truong thpt chuyen le hong phong", "SCHOOL",
     "truong thpt chuyen le hong phong"),
    ("con học trường tiểu học Kim Đồng ạ", "SCHOOL", "trường tiểu học Kim Đồng"),
    ("THPT chuyên Lê Hồng Phong tổ chức văn nghệ", "SCHOOL", "THPT chuyên Lê Hồng Phong"),
    ("I'm in grade 6 at Springfield Elementary School", "SCHOOL",
     "grade 6 at Springfield Elementary School"),
    ("She goes to St. Mary's Academy", "SCHOOL", "St. Mary's Academy"),
    # PERSON
    ("Em là Nguyễn Văn An, học lớp 6", "PERSON", "Nguyễn Văn An"),
    ("ten minh la tran thi mai nha", "PERSON", "tran thi mai"),
    ("tên em là Lan năm nay 12 tuổi", "PERSON", "Lan"),
    ("TÊN EM LÀ PHẠM MINH ĐỨC", "PERSON", "PHẠM MINH ĐỨC"),
    ("hôm qua Trần Thị Bích Ngọc bắt nạt em", "PERSON", "Trần Thị Bích Ngọc"),
    ("bạn nguyễn văn nam lớp em", "PERSON", "nguyễn văn nam"),
    ("tớ là Hạnh Trần nè", "PERSON", "Hạnh Trần"),
    ("My name is Emma Watson.", "PERSON", "Emma Watson"),
    ("Ryan Gallagher keeps messaging me", "PERSON", "Ryan Gallagher"),
    ("Khoa ơi, mai đi học không", "PERSON", "Khoa"),
    # SOCIAL_HANDLE
    ("fb của em nè https://www.facebook.com/nguyen.an.123", "SOCIAL_HANDLE",
     "https://www.facebook.com/nguyen.an.123"),
    ("follow tiktok mình tiktok.com/@be_an.2012 nha", "SOCIAL_HANDLE", "tiktok.com/@be_an.2012"),
    ("ib mk qua @be.bong_2012 nhe", "SOCIAL_HANDLE", "@be.bong_2012"),
    ("ig: an_cute09", "SOCIAL_HANDLE", "an_cute09"),
    ("add zalo zalo.me/0912345678", "SOCIAL_HANDLE", "zalo.me/0912345678"),
    ("tele t.me/hoang_anh nha", "SOCIAL_HANDLE", "t.me/hoang_anh"),
    ("vào server discord.gg/abcXYZ1", "SOCIAL_HANDLE", "discord.gg/abcXYZ1"),
    ("acc discord: gamerboy#1234", "SOCIAL_HANDLE", "gamerboy#1234"),
    # IP, MAC
    ("IP nhà em là 113.161.72.5", "IP", "113.161.72.5"),
    ("ipv6 2001:db8::8a2e:370:7334", "IP", "2001:db8::8a2e:370:7334"),
    ("MAC máy em: 00:1A:2B:3C:4D:5E", "MAC", "00:1A:2B:3C:4D:5E"),
    ("mac AA-BB-CC-11-22-33", "MAC", "AA-BB-CC-11-22-33"),
    # DATE_OF_BIRTH
    ("em sinh ngày 12/05/2013", "DATE_OF_BIRTH", "12/05/2013"),
    ("ngay sinh: 12 thang 5 nam 2013", "DATE_OF_BIRTH", "12 thang 5 nam 2013"),
    ("sinh nhật em là 22.4.2016", "DATE_OF_BIRTH", "22.4.2016"),
    ("I was born on May 12, 2013", "DATE_OF_BIRTH", "May 12, 2013"),
    ("DOB: 2013-05-12", "DATE_OF_BIRTH", "2013-05-12"),
    ("mình sinh năm 2012", "DATE_OF_BIRTH", "2012"),
    ("12/5 là sinh nhật em", "DATE_OF_BIRTH", "12/5"),         # the date first
    ("15/8 sinh nhat minh ne", "DATE_OF_BIRTH", "15/8"),
    ("ngày 3/9 là sinh nhật của tớ", "DATE_OF_BIRTH", "3/9"),
    ("May 3rd is my birthday", "DATE_OF_BIRTH", "May 3rd"),
]


@pytest.mark.parametrize(("text", "typ", "value"), POSITIVE,
                         ids=[f"{t}-{i}" for i, (_, t, _) in enumerate(POSITIVE)])
def test_positive(text: str, typ: str, value: str) -> None:
    assert (typ, value) in found(text)


NEGATIVE = [
    "hôm nay em được 9.5 điểm toán",
    "giá cái áo là 150.000đ thôi",
    "giá vé 1.250.000đ một người",
    "mã đơn hàng DH20240512 của em chưa giao",
    "mã vận đơn SPXVN045123456789",
    "7h30 sáng mai tập trung nhé",
    "hẹn gặp lúc 15:30 ở thư viện",
    "năm 2024 em lên lớp 6",
    "ngày 12/05/2024 em thi học kỳ",       # a date without birth context
    "12/5 là sinh nhật mẹ",                 # someone else's birthday, not the writer's
    "20/11 là ngày nhà giáo Việt Nam",
    "phòng 302 tầng 3 nhé",
    "lớp 6 có 45 bạn",                      # a class alone is not a SCHOOL
    "em học lớp 7A2",
    "em ở quận 1",                           # a district alone is not an ADDRESS
    "đi chơi phố cổ Hà Nội",
    "trường hợp này khó quá",
    "học sinh 2012 phải đi tiêm",
    "bản cập nhật 1.2.3.4 sửa lỗi",
    "iPhone 15 Pro Max giá 30 triệu",
    "tiếng Việt khó quá, học tiếng Anh dễ hơn",
    "em thích Sơn Tùng và Harry Potter",     # public figures are not personal data
    "1 2 3 4 5 6 7 8 9 10 em đếm xong rồi",
    "đề thi có 40 câu trong 50 phút",
    "ban do dang hoc bai",                   # "bạn đó đang học bài" typed without accents
    "I scored 95 on my math test",
    "The price is $19.99 plus tax",
    "order #A1234567 has shipped",
    "see you on 12/05 at 3:45 pm",
    "I'm in grade 6",
    "New York is a big city",
    "hotline 111 hỗ trợ trẻ em",
    "lol ok bạn ơi",
]


@pytest.mark.parametrize("text", NEGATIVE)
def test_negative(text: str) -> None:
    assert found(text) == []


# A lone given name is reported when a cue says it is a name; the span is the name alone.
LONE_NAMES = [
    ("tên em là Hùng", "Hùng"),
    ("ten em la Hung", "Hung"),
    ("mình tên Lan", "Lan"),                  # "tên la" must not swallow the "La" of "Lan"
    ("mình tên lan, còn bạn?", "lan"),
    ("minh ten Lan nhe", "Lan"),
    ("em là Thảo lớp 6", "Thảo"),
    ("em la Thao lop 6", "Thao"),
    ("tớ là Minh nè", "Minh"),                # "Minh" after "là" is not "Mình"
    ("to la Minh ne", "Minh"),
    ("cháu là Nam ạ", "Nam"),                 # nor "Nam" "Năm"
    ("my name is Minh", "Minh"),
    ("I'm Lan", "Lan"),
    ("i'm Minh lol", "Minh"),
    ("call me Tuấn", "Tuấn"),
    ("cứ gọi tớ là Bống nhé", "Bống"),
    ("name: Jake", "Jake"),
    ("e tên Vy", "Vy"),                       # chat spellings of em, mình, tao
    ("mik tên Hà nè", "Hà"),
    ("t ten Hung", "Hung"),
    ("mk là Ngọc", "Ngọc"),
    ("đây là Tuấn, bạn em", "Tuấn"),
    ("anh Hải ở nhà", "Hải"),
    ("chị Lan đi học", "Lan"),
    ("dì Lan nấu cơm", "Lan"),
    ("cô Thanh Hương dạy văn", "Thanh Hương"),  # "Thanh" is not "Thành" in accented text
    ("Minh ơi đi học", "Minh"),               # the only capital is the first word
    ("Khoa oi mai di hoc ko", "Khoa"),
]


@pytest.mark.parametrize(("text", "name"), LONE_NAMES)
def test_lone_given_name_with_a_cue(text: str, name: str) -> None:
    assert found(text) == [("PERSON", name)]


def test_lone_given_name_scores_below_a_full_name() -> None:
    lone = detect("em là Thảo lớp 6")[0]
    full = detect("em là Nguyễn Thị Thảo lớp 6")[0]
    assert lone.type == full.type == "PERSON"
    assert 0.5 <= lone.score < full.score


NOT_NAMES = [
    "em là học sinh",
    "mình tên gì cũng được",
    "tên em là gì?",
    "ten em la gi",
    "mình tên là gì nhỉ",
    "e tên j",
    "em gọi mình là gì cũng được",
    "gọi em là con gái",
    "mk là con trai",
    "t là fan MU",
    "em là lớp trưởng",
    "I'm fine",
    "I'm in grade 6",
    "I'm Vietnamese",
    "call me maybe",
    "my team name: Dragons",
    "Anh ơi cho em hỏi",
    "Ba ơi con đói",
    "Trời ơi",
]


@pytest.mark.parametrize("text", NOT_NAMES)
def test_ordinary_words_after_a_name_cue_are_not_names(text: str) -> None:
    assert found(text) == []


PLACES = ["Thái Lan", "Hà Nội", "Đà Nẵng", "Hải Phòng", "Quảng Ninh", "Việt Nam", "Trung Quốc",
          "Nhật Bản", "Hàn Quốc", "Bình Dương", "Long An", "Hà Lan", "Châu Phi", "Thanh Hóa"]


@pytest.mark.parametrize("place", PLACES)
def test_place_names_are_not_people(place: str) -> None:
    for text in (f"hôm nay {place} mưa to", f"đội tuyển đá với {place}",
                 f"em đi {place} chơi", f"{place} đẹp lắm", fold(f"em di {place} choi")):
        assert [t for t, _ in found(text)] == [], text


def test_place_veto_depends_on_the_cue() -> None:
    assert found("chị Lan kể chuyện Hà Nội") == [("PERSON", "Lan")]
    assert found("anh Hải đi công tác Quảng Ninh") == [("PERSON", "Hải")]
    assert found("bác Hà Nội gửi quà") == []           # the uncle who lives in Hà Nội
    assert found("đây là Hà Nội") == []
    # a district name is a name after a title or a name phrase, a place without a cue
    assert found("cô Thanh Xuân dạy văn") == [("PERSON", "Thanh Xuân")]
    assert found("tên em là Bình Minh") == [("PERSON", "Bình Minh")]
    assert found("Thanh Xuân đông người lắm") == []
    # diacritics decide: "Thanh Hoa" is a person, "Thanh Hóa"/"Thanh Hoá" a province
    assert found("cô giáo Thanh Hoa") == [("PERSON", "Thanh Hoa")]
    assert found("chị Thanh Hóa") == found("chị Thanh Hoá") == []
    # a full name that contains a place is still a name
    assert found("Nguyễn Thái Bình học giỏi") == [("PERSON", "Nguyễn Thái Bình")]


def test_titles_are_compared_with_their_diacritics() -> None:
    assert found("hôm qua em đi Nhật Bản") == []   # "đi" (go) is not "dì" (aunt)
    assert found("hom qua em di Nhat Ban") == []
    assert found("dì Mai cho em kẹo") == [("PERSON", "Mai")]


def test_is_place_name() -> None:
    from safegate.privacy.pii.gazetteer import is_place_name

    assert is_place_name("Thái Lan") and is_place_name("thai lan")
    assert is_place_name("Thanh Hóa") and is_place_name("Thanh Hoá")  # old and new tone place
    assert is_place_name("THANH HÓA") and is_place_name("Bà Rịa - Vũng Tàu")
    assert is_place_name("Thanh Hoa")                  # typed without diacritics: ambiguous
    assert not is_place_name("Thanh Hoa", as_written=True)
    assert is_place_name("Thanh Xuân") and not is_place_name("Thanh Xuân", kinds="TC")
    assert not is_place_name("Hải") and not is_place_name("Nguyễn Văn An")


def test_cccd_validation() -> None:
    assert valid_cccd("079185001234")          # HCMC, male born 1985
    assert valid_cccd("001310001234")          # Hà Nội, female born 2010
    assert not valid_cccd("003185001234")      # 003 is no province code
    assert not valid_cccd("099185001234")      # nor is 099
    assert not valid_cccd("079585001234")      # century digit 5: born in the 2100s
    assert not valid_cccd("079299001234", year=2026)  # born 2099: in the future
    assert found("số CCCD 079185001234") == [("CCCD", "079185001234")]
    assert found("số CCCD 003185001234") == []
    assert found("số CCCD 079585001234") == []
    # without context a valid CCCD is still found; an invalid 12-digit number is not
    assert found("079185001234") == [("CCCD", "079185001234")]
    assert found("079885001234") == []


def test_cmnd_needs_context() -> None:
    assert found("số cmnd 123456789") == [("CMND", "123456789")]
    assert found("em có 123456789 điểm") == []


# The old 9-digit identity card with its words in front, accented or not. "số chứng minh nhân
# dân" was missed: "nhân" folds to "nhan" (nhắn, a phone word), and the nearest context word won.
CMND_WITH_WORDS = [
    "số chứng minh nhân dân 012345678",
    "số chứng minh nhân dân của em là 012345678",
    "so chung minh nhan dan 012345678",
    "so chung minh nhan dan cua em la 012345678",
    "chứng minh thư nhân dân số 012 345 678",
    "CMND 012345678",
    "cmt: 012345678",
    "CMTND 012345678",
    "số CMND của em là 012345678",
    "so cmnd cua em la 012345678",
    "giấy chứng minh của bố 012345678",
]


@pytest.mark.parametrize("text", CMND_WITH_WORDS)
def test_cmnd_with_its_words_in_front(text: str) -> None:
    value = text[text.index("012"):]
    assert found(text) == [("CMND", value)]


def test_a_context_word_inside_a_longer_phrase_is_part_of_the_phrase() -> None:
    # "nhan" alone is a phone word ("nhắn 0912..."); inside "chứng minh nhân dân" it is not
    assert found("nhắn 0912345678 nhé") == [("PHONE", "0912345678")]
    # the phrase may begin before the 48-character window; it still decides
    text = "số chứng minh nhân dân của em, bạn ơi, lâu lắm rồi không dùng là 012345678"
    assert found(text) == [("CMND", "012345678")]


# Scores, shirt, seat and exercise numbers, dates and times next to address words: nothing.
# Each of these was read as an ADDRESS (or a SCHOOL) before.
SCORES_AND_COUNTS = [
    "hiệp 1 tỉ số 1-0",
    "hiep 1 ti so 1-0",
    "ván 2 tỉ số 3-2",
    "set 1 tỷ số 25-20",
    "game 1 map 2 tỉ số 13-11",
    "tổ 2 thắng tổ 3 tỉ số 5-4",
    "kết quả: U23 Việt Nam 2-1 Thái Lan",
    "ket qua: u23 viet nam 2-1 thai lan",
    "trường thắng 2-1, Lê Lợi ghi 2 bàn",
    "trận đấu lúc 19h ngày 20/11 tỉ số 2-2",
    "tỉ số 2-1", "việt nam thắng 3-0", "hòa 1-1", "ti so 2-1", "thua 0-3",
    "áo số 7 Ronaldo ghi bàn",
    "cầu thủ số 10 Messi",
    "ao so 7 ronaldo",
    "ghế số 12 toa 3",
    "câu số 3 bài 2 trang 45",
    "bàn số 4 khu 2",                        # "bàn" (desk) is not the keyword "ban"
    "quán 3 ngon lắm, tô 5 nghìn",            # "quán" is not "quận", "tô" not "tổ"
    "thứ 7 ngày 20/11 tổ 3 trực nhật",
    "thu 7 ngay 20/11 to 3 truc nhat",
    "kỳ 2 năm 2024 khu 3",
    "tiết 3 thứ 2 ngày 5/10 lớp 7A",
    "7 giờ 30 tổ 2",
    "top 3 Liên Quân server 2",              # ranks and prizes before a bare number
    "rank 1 Liên Minh",
    "em đạt giải 3 cấp quận 5",
    "hạng 2 toàn quận 3",
    "đứng số 1 quận 7",
    "lớp 6 Trần Phú",
    "Top 10 Football Club in Europe",
    "he got 3 Bonus Points",
    "chuyển khoản lúc 14:30 ngày 12.05.2024",  # a date after a bank word: no account
    "ck ngày 20.11.2024 nhé",
    "tài khoản game năm học 2024 - 2025",
    "tối qua MU thắng Chelsea 2-1, hay quá",  # "thắng" (beat) is not the cue "thằng"
]


@pytest.mark.parametrize("text", SCORES_AND_COUNTS)
def test_scores_counts_dates_and_times_are_not_addresses(text: str) -> None:
    assert found(text) == []


# ... while addresses with dashes, date-named streets and lower-case street names stay found.
ADDRESSES_KEPT = [
    ("địa chỉ: số 12-14 Hàng Bài, Hoàn Kiếm, Hà Nội", "số 12-14 Hàng Bài, Hoàn Kiếm, Hà Nội"),
    ("nhà em ở số 63/57 2 Tháng 9 - Q.Gò Vấp - Cần Thơ",
     "số 63/57 2 Tháng 9 - Q.Gò Vấp - Cần Thơ"),
    ("số 5 Hòa Bình, phường 3, quận 11", "số 5 Hòa Bình, phường 3, quận 11"),
    ("em ở 12 cách mạng tháng tám quận 3", "12 cách mạng tháng tám quận 3"),
    ("nhà em số 8 ngõ 2-9 phố Huế", "số 8 ngõ 2-9 phố Huế"),
    ("em song o 799 khu 66 vo van kiet, phuong hoang mai", "799 khu 66 vo van kiet, phuong "
     "hoang mai"),
    ("nhà bạn ở số 12 Lê Lợi, đội em thắng 2-1", "số 12 Lê Lợi"),
    ("nhà em ở 12 Nguyễn Trãi, Thanh Xuân", "12 Nguyễn Trãi, Thanh Xuân"),
    ("I live at 742 Evergreen Terrace", "742 Evergreen Terrace"),
]


@pytest.mark.parametrize(("text", "value"), ADDRESSES_KEPT)
def test_addresses_next_to_numbers_and_dates_are_kept(text: str, value: str) -> None:
    assert ("ADDRESS", value) in found(text)


def test_the_cue_thang_is_read_as_written() -> None:
    assert found("thằng Nam bắt nạt em") == [("PERSON", "Nam")]
    assert found("MU thắng Chelsea") == []


def test_numbers_shaped_like_dates_only_when_they_are_dates() -> None:
    assert found("stk 12 34 5678 acb") == [("BANK_ACCOUNT", "12 34 5678")]
    assert found("stk 0123 4567 89 vcb") == [("BANK_ACCOUNT", "0123 4567 89")]
    assert found("sinh ngày 12.05.2012") == [("DATE_OF_BIRTH", "12.05.2012")]


def test_luhn_and_cards() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert found("thẻ 9704 0000 0000 0018") == [("CARD", "9704 0000 0000 0018")]
    assert found("thẻ 9704 0000 0000 0019") == []
    assert found("4111 1111 1111 1112 là gì") == []


def test_bank_context_decides_between_phone_and_account() -> None:
    assert found("sđt 0912345678") == [("PHONE", "0912345678")]
    assert found("stk 0912345678") == [("BANK_ACCOUNT", "0912345678")]
    assert found("0912345678 Vietcombank") == [("BANK_ACCOUNT", "0912345678")]
    assert found("em có 12345678 xu") == []


def test_with_and_without_diacritics() -> None:
    accented = "Em tên là Nguyễn Thị Hồng Nhung, nhà ở số 12 ngõ 34 phố Huế, Hai Bà Trưng"
    for text in (accented, fold(accented), fold(accented).upper()):
        types = {t for t, _ in found(text)}
        assert {"PERSON", "ADDRESS"} <= types, text


def test_offsets_are_into_the_input_even_when_decomposed() -> None:
    text = unicodedata.normalize("NFD", "Tên em là Nguyễn Văn An, sđt 0912345678")
    ents = detect(text)
    assert [e.type for e in ents] == ["PERSON", "PHONE"]
    for e in ents:
        assert text[e.start:e.end] == e.text
    assert unicodedata.normalize("NFC", ents[0].text) == "Nguyễn Văn An"


def test_sorted_non_overlapping_and_entity_shape() -> None:
    text = ("Em tên là Nguyễn Văn An, học lớp 7A2 trường THCS Nguyễn Du, nhà ở số 5 ngõ 20 "
            "đường Láng, phường Láng Thượng, quận Đống Đa, Hà Nội. SĐT 0912345678, email "
            "an.nguyen@gmail.com, stk 123456789 VCB, sinh ngày 12/05/2013, fb.com/an.nguyen")
    ents = detect(text)
    assert [e.type for e in ents] == ["PERSON", "SCHOOL", "ADDRESS", "PHONE", "EMAIL",
                                      "BANK_ACCOUNT", "DATE_OF_BIRTH", "SOCIAL_HANDLE"]
    for a, b in zip(ents, ents[1:], strict=False):
        assert a.end <= b.start
    e = ents[0]
    assert isinstance(e, Entity) and 0 < e.score <= 1
    with pytest.raises(AttributeError):
        e.text = "x"  # type: ignore[misc]


def test_types_filter() -> None:
    text = "sđt 0912345678, email a.b@gmail.com"
    assert found(text, types=["EMAIL"]) == [("EMAIL", "a.b@gmail.com")]
    assert found(text, types=[]) == []
    with pytest.raises(ValueError):
        detect(text, types=["PASSPORT"])
    assert set(ENTITY_TYPES) >= {"PHONE", "CCCD", "SCHOOL", "DATE_OF_BIRTH"}


def test_redact_placeholder() -> None:
    text = "tên em là Nguyễn Văn An, sđt 0912 345 678"
    out, ents = redact(text)
    assert out == "tên em là [PERSON], sđt [PHONE]"
    assert [(e.start, e.end) for e in ents] == [(10, 23), (29, 41)]


def test_redact_pseudonyms_are_stable_within_a_document() -> None:
    text = ("gọi 0912345678 hoặc 0912.345.678 hoặc +84 912 345 678, "
            "còn số mẹ là 0987654321; email a@b.vn, A@B.VN")
    out, ents = redact(text, mode="pseudonym")
    assert out == ("gọi [PHONE_1] hoặc [PHONE_1] hoặc [PHONE_1], còn số mẹ là [PHONE_2]; "
                   "email [EMAIL_1], [EMAIL_1]")
    assert len(ents) == 6
    assert redact("", mode="pseudonym") == ("", [])
    with pytest.raises(ValueError):
        redact(text, mode="shuffle")  # type: ignore[arg-type]


def test_presidio_runs_offline_with_blank_pipelines() -> None:
    from safegate.privacy.pii.engine import analyzer

    engine = analyzer()
    nlp = engine.nlp_engine.nlp
    assert set(nlp) == {"vi", "en"}
    assert all(p.pipe_names == [] for p in nlp.values())  # tokenizers only, no model
    names = {r.name for r in engine.registry.recognizers}
    assert {"VnNumberRecognizer", "PersonRecognizer", "AddressRecognizer"} <= names


def test_lone_surrogates_become_replacement_characters_not_an_error() -> None:
    """A JSON "\\ud800" escape reaches the library as a lone surrogate; no codec takes it."""
    text, found = redact("sdt em 0912345678 \ud800")
    assert text == "sdt em [PHONE] \ufffd"
    assert [(e.type, e.start, e.end) for e in found] == [("PHONE", 7, 17)]
    assert [(e.type, e.start) for e in detect("\udcff 0912345678")] == [("PHONE", 2)]


def _bench_module(name: str) -> Any:
    """A module of bench/ (not a package), loaded from its file."""
    path = Path(__file__).resolve().parents[2] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_measured_section_of_the_doc_is_rendered_from_the_results_file() -> None:
    report = _bench_module("pii_report")
    results = report.load()
    assert results["generated_by"] == "bench/pii_eval"
    doc = report.DOC.read_text(encoding="utf-8")
    assert report.current_section(doc) == report.render(results)
    # every set the eval knows is in the file, held-out ones marked as such
    statuses = {s["id"]: s["status"] for s in results["sets"]}
    assert statuses["dev-1"] == statuses["dev-2"] == "development"
    heldout_files = sorted(p.name for p in report.ROOT.joinpath("bench").glob("pii_heldout_*.txt"))
    assert sorted(Path(s["file"]).name for s in results["sets"]
                  if s["status"] == "held-out") == heldout_files


def test_the_renderer_replaces_only_its_section() -> None:
    report = _bench_module("pii_report")
    results = report.load()
    doc = f"# Title\n\nbefore\n\n{report.BEGIN}\nold figures\n{report.END}\n\nafter\n"
    new = report.replace_section(doc, report.render(results))
    assert new.startswith("# Title\n\nbefore\n\n") and new.endswith("\n\nafter\n")
    assert "old figures" not in new
    assert report.current_section(new) == report.render(results)
    with pytest.raises(SystemExit):
        report.replace_section("# no markers\n", report.render(results))
