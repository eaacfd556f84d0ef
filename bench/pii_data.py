"""Labelled test data for the PII detector (bench/pii_eval and tests).

Texts are written with inline marks, ``[[TYPE:value]]``, which :func:`parse_marked` turns
into the plain text and exact (type, start, end) spans. Templates hold ``{SLOT}``s that
generators fill with Faker ``vi_VN``/``en_US`` data or with SafeGate's own generators where
Faker's data is not realistic for Vietnam (phone numbers, CCCD, bank accounts). The templates
were written before the detector was evaluated on them and are not tuned to it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

Span = tuple[str, int, int]


@dataclass(frozen=True)
class Example:
    text: str
    spans: tuple[Span, ...]
    source: str


_MARK = re.compile(r"\[\[([A-Z_]+):(.*?)\]\]")


def parse_marked(marked: str, source: str = "hand") -> Example:
    out: list[str] = []
    spans: list[Span] = []
    pos = 0
    last = 0
    for m in _MARK.finditer(marked):
        chunk = marked[last:m.start()]
        out.append(chunk)
        pos += len(chunk)
        value = m.group(2)
        spans.append((m.group(1), pos, pos + len(value)))
        out.append(value)
        pos += len(value)
        last = m.end()
    out.append(marked[last:])
    return Example("".join(out), tuple(spans), source)


def read_marked_lines(path: str) -> list[str]:
    """The marked texts of a file: one per line, blank lines and ``#`` comment lines skipped."""
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f
                if line.strip() and not line.lstrip().startswith("#")]


def fold(text: str) -> str:
    import unicodedata

    out = []
    for ch in text:
        if ch in "đĐ":
            out.append("d" if ch == "đ" else "D")
            continue
        base = unicodedata.normalize("NFD", ch)[0]
        out.append(base if len(base) == 1 else ch)
    return "".join(out)


# ------------------------------------------------------------------ value generators

MOBILE = ([f"03{d}" for d in "23456789"] + ["052", "056", "058", "059", "070", "076", "077",
          "078", "079"] + [f"08{d}" for d in "123456789"] + [f"09{d}" for d in "0123456789"])
LANDLINE = ["024", "028", "0236", "0225", "0203", "0251", "0292", "0234", "0258", "0262"]
VI_DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]
EN_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
PROVINCE_CODES = ["001", "002", "004", "008", "010", "015", "019", "022", "024", "025",
                  "026", "027", "030", "031", "033", "034", "035", "036", "037", "038", "040",
                  "042", "044", "046", "048", "049", "051", "052", "056", "060", "066", "068",
                  "070", "072", "074", "075", "077", "079", "080", "082", "083", "084", "086",
                  "087", "089", "091", "092", "094", "095", "096"]
BANKS = ["Vietcombank", "VCB", "Techcombank", "MB", "MB Bank", "BIDV", "Agribank", "VPBank",
         "ACB", "TPBank", "Sacombank", "VietinBank", "SHB", "HDBank", "VIB", "OCB", "MSB",
         "SeABank", "Eximbank", "LPBank", "Timo", "Cake"]


class Gen:
    def __init__(self, seed: int = 20240512) -> None:
        from faker import Faker

        self.r = random.Random(seed)
        self.vi = Faker("vi_VN")
        self.en = Faker("en_US")
        self.vi.seed_instance(seed)
        self.en.seed_instance(seed + 1)

    def digits(self, n: int) -> str:
        return "".join(self.r.choice("0123456789") for _ in range(n))

    # phones
    def vn_mobile_digits(self) -> str:
        return self.r.choice(MOBILE) + self.digits(7)

    def phone(self) -> str:
        r = self.r
        d = self.vn_mobile_digits()
        style = r.random()
        if style < 0.25:
            s = d
        elif style < 0.4:
            s = f"{d[:4]} {d[4:7]} {d[7:]}"
        elif style < 0.5:
            s = f"{d[:4]}.{d[4:7]}.{d[7:]}"
        elif style < 0.57:
            s = f"{d[:3]}-{d[3:6]}-{d[6:]}"
        elif style < 0.67:
            s = r.choice([f"+84 {d[1:4]} {d[4:7]} {d[7:]}", f"+84{d[1:]}", f"84{d[1:]}",
                          f"(+84) {d[1:4]} {d[4:7]} {d[7:]}", f"+84-{d[1:3]}-{d[3:6]}-{d[6:]}"])
        elif style < 0.75:
            area = r.choice(LANDLINE)
            rest = self.digits(11 - len(area))
            s = r.choice([f"{area} {rest[:4]} {rest[4:]}", f"{area}.{rest}", f"{area}{rest}",
                          f"({area}) {rest[:3]} {rest[3:]}"])
        elif style < 0.83:
            num = self.en.numerify(r.choice(["+1 ###-###-####", "+1 (###) ###-####",
                                             "+44 20 #### ####", "+65 #### ####",
                                             "+61 4## ### ###", "+82 10-####-####",
                                             "+81 90-####-####", "+33 6 ## ## ## ##"]))
            s = num.replace("+1 0", "+1 2").replace("+1 1", "+1 3").replace("+1 (0", "+1 (2")\
                .replace("+1 (1", "+1 (3")
        elif style < 0.92:
            # disguised digits: o for 0, l or i for 1
            s = d
            for a, b in (("0", "o"), ("1", "l"), ("0", "O"), ("1", "i")):
                if r.random() < 0.5:
                    s = s.replace(a, b)
            if s == d:
                s = "o" + d[1:]
        else:
            words = VI_DIGITS if r.random() < 0.6 else EN_DIGITS
            s = " ".join(words[int(c)] for c in d)
        return s

    def cccd(self) -> str:
        r = self.r
        born = r.randint(1950, 2019)
        century = 0 if born < 2000 else 2
        sex = r.randint(0, 1)
        d = r.choice(PROVINCE_CODES) + str(century + sex) + f"{born % 100:02d}" + self.digits(6)
        return d if r.random() < 0.8 else f"{d[:3]} {d[3:6]} {d[6:9]} {d[9:]}"

    def cmnd(self) -> str:
        return self.r.choice(["0", "1", "2", "3"]) + self.digits(8)

    def bank_account(self) -> str:
        r = self.r
        if r.random() < 0.2:
            return self.vn_mobile_digits()
        n = r.choice([8, 9, 10, 12, 13, 14])
        d = str(r.randint(1, 9)) + self.digits(n - 1)
        return d if r.random() < 0.85 else " ".join(d[i:i + 4] for i in range(0, n, 4))

    def card(self) -> str:
        r = self.r
        if r.random() < 0.5:
            body = "9704" + self.digits(11)
            d = body + str(_luhn_digit(body))
        else:
            d = self.en.credit_card_number(card_type=r.choice(["visa16", "mastercard",
                                                               "amex", "jcb16", "visa19"]))
        if r.random() < 0.6 and len(d) == 16:
            return " ".join(d[i:i + 4] for i in range(0, 16, 4))
        return d

    def email(self) -> str:
        r = self.r
        if r.random() < 0.5:
            user = fold(self.vi_name(2)).lower().replace(" ", r.choice([".", "", "_"]))
            user += r.choice(["", str(r.randint(1, 99)), str(r.randint(2008, 2016))])
            return user + "@" + r.choice(["gmail.com", "yahoo.com", "hotmail.com",
                                          "outlook.com.vn", "icloud.com", "fpt.edu.vn"])
        return self.en.free_email() if r.random() < 0.7 else self.en.company_email()

    # names
    def vi_name(self, parts: int | None = None) -> str:
        r = self.r
        prov = self.vi.provider("faker.providers.person")
        family = r.choice(prov.last_names + ("Phan", "Hồ", "Ngô", "Đỗ", "Huỳnh", "Võ",
                                             "Lý", "Trịnh", "Đinh"))
        given = r.choice(prov.first_names_male + prov.first_names_female
                         + prov.first_names_unisex)
        middle = r.choice(prov.middle_names)
        n = parts or r.choice([2, 3, 3, 3, 4])
        if n == 2:
            return f"{family} {given}"
        if n == 4:
            return f"{family} {middle} {r.choice(prov.middle_names)} {given}"
        return f"{family} {middle} {given}"

    def vi_given(self) -> str:
        prov = self.vi.provider("faker.providers.person")
        return self.r.choice(prov.first_names_male + prov.first_names_female
                             + prov.first_names_unisex)

    def en_name(self) -> str:
        return f"{self.en.first_name()} {self.en.last_name()}"

    # places
    def vi_address(self) -> str:
        r = self.r
        style = r.random()
        if style < 0.45:
            return self.vi.address().replace("\n", ", ")
        house = r.choice([str(r.randint(1, 300)), f"{r.randint(1, 99)}/{r.randint(1, 60)}",
                          f"{r.randint(1, 200)}{r.choice('ABC')}"])
        lane = r.choice(["ngõ", "ngách", "hẻm", "kiệt"]) + f" {r.randint(1, 200)}"
        street = self.vi.street_name()
        ward = (
            r.choice(["phường ", "xã ", "P. "]) + r.choice(
                ["Bến Nghé", "Láng Thượng", "Tân Định", "Hòa Bình", "An Phú", "Dịch Vọng",
                 "Trung Hòa", "Phú Mỹ", "Tân An", "Thạch Bàn", "Hòa Khánh", "Vĩnh Ninh",
                 str(r.randint(1, 15))]))
        district = r.choice(["quận ", "Q.", "huyện "]) + r.choice(
            ["Đống Đa", "Cầu Giấy", "Hoàn Kiếm", "Gò Vấp", "Bình Thạnh", "Hải Châu",
             "Ninh Kiều", "Thủ Đức", str(r.randint(1, 12))])
        city = r.choice(["Hà Nội", "TP.HCM", "Đà Nẵng", "Cần Thơ", "Hải Phòng",
                         "thành phố Huế", "tỉnh Nghệ An"])
        parts = r.choice([
            [f"số {house}", lane, f"đường {street}", ward, district, city],
            [f"{house} {street}", ward, district, city],
            [f"số nhà {house}", lane, street, district],
            [f"{lane}", f"đường {street}", ward, district],
            [f"số {house} {street}", district, city],
            [f"{house} đường {street}", ward],
        ])
        return r.choice([", ", " "]).join(parts) if r.random() < 0.85 else " - ".join(parts)

    def en_address(self) -> str:
        return self.en.address().replace("\n", ", ")

    def school(self) -> tuple[str, str]:
        """(marked school text, language)."""
        r = self.r
        if r.random() < 0.65:
            famous = r.choice(["Nguyễn Du", "Lê Quý Đôn", "Trần Phú", "Kim Đồng", "Lê Lợi",
                               "Chu Văn An", "Nguyễn Trãi", "Trưng Vương", "Hai Bà Trưng",
                               "Ngô Quyền", "Lương Thế Vinh", "Nguyễn Huệ", "Phan Bội Châu",
                               "Võ Thị Sáu", "Lê Hồng Phong", "Marie Curie", "Ba Đình",
                               "Cầu Giấy", "Thành Công", "Hà Nội - Amsterdam"])
            kind = r.choice(["trường THCS", "trường tiểu học", "trường THPT", "THCS", "THPT",
                             "trường Tiểu học", "Trường THCS", "trường", "trường mầm non",
                             "THPT chuyên", "trường THPT chuyên", "trường trung học cơ sở"])
            cls = ""
            if r.random() < 0.35:
                grade = r.randint(1, 12)
                cls = f"lớp {grade}{r.choice(['', 'A', 'A1', 'B2', 'C'])}{r.choice([', ', ' '])}"
            return f"{cls}{kind} {famous}", "vi"
        name = r.choice([self.en.last_name(), self.en.city(), self.en.first_name() + " "
                         + self.en.last_name(), "St. " + self.en.first_name()])
        kind = r.choice(["Elementary School", "Middle School", "High School", "Academy",
                         "Primary School", "School", "International School"])
        return f"{name} {kind}", "en"

    def handle(self) -> str:
        r = self.r
        user = self.en.user_name()
        if r.random() < 0.3:
            user = fold(self.vi_name(2)).lower().replace(" ", ".") + str(r.randint(1, 2015))
        return r.choice([
            f"facebook.com/{user}", f"https://www.facebook.com/{user}", f"fb.com/{user}",
            f"https://www.tiktok.com/@{user}", f"tiktok.com/@{user}", f"@{user}",
            f"instagram.com/{user}", f"https://instagram.com/{user}/", f"t.me/{user}",
            f"zalo.me/{self.vn_mobile_digits()}", f"discord.gg/{self.en.lexify('???????')}",
            f"https://m.facebook.com/profile.php?id=1000{self.digits(11)}",
        ]).rstrip("/")

    def dob(self) -> str:
        r = self.r
        d = self.vi.date_of_birth(minimum_age=5, maximum_age=17)
        months = ["January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December"]
        return r.choice([
            f"{d.day:02d}/{d.month:02d}/{d.year}", f"{d.day}/{d.month}/{d.year}",
            f"{d.day:02d}-{d.month:02d}-{d.year}", f"{d.day}.{d.month}.{d.year}",
            f"{d.day} tháng {d.month} năm {d.year}", f"{d.year}-{d.month:02d}-{d.day:02d}",
            f"{months[d.month - 1]} {d.day}, {d.year}", f"{d.day} {months[d.month - 1]} {d.year}",
        ])


def _luhn_digit(body: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(body)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return (10 - total % 10) % 10


# ------------------------------------------------------------------ templates

# {TYPE} is filled with a generated value and marked as TYPE; {TYPE!} is filled but not
# marked (context only). Vietnamese templates may also be used without diacritics.
VI_TEMPLATES: dict[str, list[str]] = {
    "PHONE": [
        "sđt của em là {PHONE} nha", "Số điện thoại mình: {PHONE}", "gọi cho tớ số {PHONE} nhé",
        "zalo {PHONE} kết bạn đi", "có gì nhắn vào số {PHONE} nha bạn",
        "{PHONE} đây là số của mẹ em", "số mới của tao {PHONE}, lưu lại đi",
        "anh ơi em để số ở đây {PHONE}", "alo {PHONE} ai đấy ạ",
        "liên hệ {PHONE} để nhận quà nhé em", "số bố em là {PHONE} còn số mẹ là {PHONE}",
        "em không có điện thoại, gọi vào số nhà {PHONE} nha",
    ],
    "CCCD": [
        "số CCCD của mẹ em là {CCCD}", "căn cước công dân: {CCCD}",
        "cho chị xin số căn cước {CCCD} để đăng ký nhé", "CCCD {CCCD} cấp ngày 10/3/2021",
        "mã định danh của em là {CCCD}", "bố em bảo số thẻ căn cước là {CCCD}",
        "đây là số {CCCD} ghi trên thẻ của anh trai em",
    ],
    "CMND": [
        "số CMND của bố em là {CMND}", "chứng minh nhân dân: {CMND}",
        "em gửi số chứng minh thư {CMND} rồi nhé", "CMT {CMND} của mẹ đó",
    ],
    "EMAIL": [
        "email của em là {EMAIL}", "gửi bài vào mail {EMAIL} nhé",
        "tài khoản game em đăng ký bằng {EMAIL}", "{EMAIL} đây là gmail của mình",
        "add mình qua mail {EMAIL} nha",
    ],
    "BANK_ACCOUNT": [
        "stk {BANK_ACCOUNT} {BANK!}", "chuyển tiền vào số tài khoản {BANK_ACCOUNT} nhé em",
        "{BANK!} {BANK_ACCOUNT} chủ tk {PERSON}", "tk {BANK!}: {BANK_ACCOUNT}",
        "nạp game thì ck vào {BANK_ACCOUNT} {BANK!} nha",
        "số tài khoản ngân hàng của mẹ em là {BANK_ACCOUNT}",
        "em gửi stk nè: {BANK_ACCOUNT} ngân hàng {BANK!}",
    ],
    "CARD": [
        "số thẻ ATM của mẹ là {CARD}", "thẻ visa {CARD} hết hạn 09/27",
        "em nhập số thẻ {CARD} vào web nạp game rồi", "thẻ napas {CARD} của bố em",
        "mẹ em có cái thẻ {CARD} đó",
    ],
    "ADDRESS": [
        "nhà em ở {ADDRESS}", "địa chỉ: {ADDRESS}", "qua nhà tớ chơi đi, {ADDRESS} đó",
        "em sống ở {ADDRESS} với bà", "ship về {ADDRESS} giúp em nhé",
        "mình ở {ADDRESS}, gần chợ", "đến {ADDRESS} gặp anh nhé",
    ],
    "SCHOOL": [
        "em học {SCHOOL}", "mình đang học ở {SCHOOL} nè", "con học {SCHOOL} ạ",
        "bạn ấy cũng học {SCHOOL}", "chiều nay {SCHOOL} tổ chức văn nghệ",
        "em là học sinh {SCHOOL}",
    ],
    "PERSON": [
        "tên em là {PERSON}", "mình tên {PERSON} nha", "Em là {PERSON}, học lớp 6 ạ",
        "hôm qua {PERSON} bắt nạt em", "bạn {PERSON} lớp em rất tốt",
        "{PERSON} ơi, mai đi học không", "họ và tên: {PERSON}", "tớ là {PERSON} nè",
        "em với {PERSON} chơi thân lắm", "cô giáo chủ nhiệm em là cô {PERSON}",
    ],
    "SOCIAL_HANDLE": [
        "fb của em nè {SOCIAL_HANDLE}", "follow tiktok mình {SOCIAL_HANDLE} nha",
        "add zalo em {SOCIAL_HANDLE}", "link nè {SOCIAL_HANDLE}",
        "ib mình qua {SOCIAL_HANDLE} nhé",
    ],
    "IP": ["IP nhà em là {IP}", "vào {IP} để chơi server minecraft", "ping {IP} thử xem"],
    "MAC": ["địa chỉ MAC máy em: {MAC}", "máy tính bảng có MAC {MAC}"],
    "DATE_OF_BIRTH": [
        "em sinh ngày {DATE_OF_BIRTH}", "ngày sinh: {DATE_OF_BIRTH}",
        "mình sinh vào {DATE_OF_BIRTH} nha", "Ngày tháng năm sinh: {DATE_OF_BIRTH}",
        "sinh nhật em là {DATE_OF_BIRTH}",
    ],
}
EN_TEMPLATES: dict[str, list[str]] = {
    "PHONE": ["my number is {PHONE}", "call me at {PHONE}", "text me on {PHONE} ok",
              "{PHONE} is my mom's phone", "you can whatsapp me {PHONE}"],
    "EMAIL": ["my email is {EMAIL}", "send it to {EMAIL} pls", "{EMAIL} is my school email"],
    "CARD": ["my mom's card number is {CARD}", "I used the card {CARD} to buy gems"],
    "BANK_ACCOUNT": ["send the money to account {BANK_ACCOUNT} at {BANK!}",
                     "bank account: {BANK_ACCOUNT}"],
    "ADDRESS": ["I live at {ADDRESS}", "my address is {ADDRESS}",
                "come over to {ADDRESS} after school", "we moved to {ADDRESS} last year"],
    "SCHOOL": ["I go to {SCHOOL}", "I'm in grade 6 at {SCHOOL}", "{SCHOOL} is so boring",
               "my sister teaches at {SCHOOL}"],
    "PERSON": ["my name is {PERSON}", "{PERSON} keeps messaging me",
               "I'm friends with {PERSON} from class", "hi, this is {PERSON}",
               "{PERSON} said we should meet", "ask {PERSON} for the homework"],
    "SOCIAL_HANDLE": ["follow me on {SOCIAL_HANDLE}", "my insta is {SOCIAL_HANDLE}",
                      "dm me at {SOCIAL_HANDLE}"],
    "IP": ["my IP address is {IP}", "the server is at {IP}"],
    "MAC": ["the MAC of my tablet is {MAC}"],
    "DATE_OF_BIRTH": ["I was born on {DATE_OF_BIRTH}", "DOB: {DATE_OF_BIRTH}",
                      "my birthday is {DATE_OF_BIRTH}"],
}
MULTI_TEMPLATES = [
    ("vi", "em tên {PERSON}, học {SCHOOL}, sđt {PHONE}"),
    ("vi", "Mình là {PERSON}, nhà ở {ADDRESS}, có gì gọi {PHONE} nha"),
    ("vi", "họ tên: {PERSON} - ngày sinh: {DATE_OF_BIRTH} - email: {EMAIL}"),
    ("vi", "chuyển khoản stk {BANK_ACCOUNT} {BANK!} rồi nhắn zalo {PHONE} nhé"),
    ("vi", "fb {SOCIAL_HANDLE} hoặc gmail {EMAIL}"),
    ("en", "Hi I'm {PERSON}, I go to {SCHOOL} and my number is {PHONE}"),
    ("en", "my email is {EMAIL} and my insta is {SOCIAL_HANDLE}"),
]


def _fill(gen: Gen, template: str, lang: str) -> tuple[str, str]:
    """Return (marked text, kind) for a template."""
    def value(slot: str) -> str:
        if slot == "PHONE":
            return gen.phone()
        if slot == "CCCD":
            return gen.cccd()
        if slot == "CMND":
            return gen.cmnd()
        if slot == "EMAIL":
            return gen.email()
        if slot == "BANK_ACCOUNT":
            return gen.bank_account()
        if slot == "BANK":
            return gen.r.choice(BANKS)
        if slot == "CARD":
            return gen.card()
        if slot == "ADDRESS":
            return gen.vi_address() if lang == "vi" else gen.en_address()
        if slot == "SCHOOL":
            text, _ = gen.school()
            while (lang == "en") != (_ == "en"):
                text, _ = gen.school()
            return text
        if slot == "PERSON":
            if lang == "en":
                return gen.en_name() if gen.r.random() < 0.8 else gen.vi_name()
            return gen.vi_name() if gen.r.random() < 0.85 else gen.vi_given()
        if slot == "SOCIAL_HANDLE":
            return gen.handle()
        if slot == "IP":
            return gen.en.ipv4() if gen.r.random() < 0.8 else gen.en.ipv6()
        if slot == "MAC":
            return gen.en.mac_address()
        if slot == "DATE_OF_BIRTH":
            return gen.dob()
        raise KeyError(slot)

    def sub(m: re.Match[str]) -> str:
        slot = m.group(1)
        v = value(slot)
        if m.group(2):
            return v
        # a class prefix generated with a school belongs to the SCHOOL span
        return f"[[{slot}:{v}]]"

    return re.sub(r"\{([A-Z_]+)(!)?\}", sub, template), lang


def generated(n_per_template: int = 12, seed: int = 20240512) -> Iterator[Example]:
    gen = Gen(seed)
    jobs: list[tuple[str, str]] = []
    for templates, lang in ((VI_TEMPLATES, "vi"), (EN_TEMPLATES, "en")):
        for tpls in templates.values():
            jobs += [(lang, t) for t in tpls]
    jobs += MULTI_TEMPLATES
    for lang, tpl in jobs:
        for _ in range(n_per_template):
            marked, _ = _fill(gen, tpl, lang)
            ex = parse_marked(marked, f"template:{lang}")
            if lang == "vi" and gen.r.random() < 0.3:
                text = fold(ex.text)  # typed without diacritics (same length)
                if gen.r.random() < 0.5:
                    text = text.lower()
                ex = Example(text, ex.spans, ex.source)
            yield ex


# ------------------------------------------------------------------ hand-written cases

TRICKY = [
    "sdt e la [[PHONE:O9l2 345 678]] nhe",
    "số em: [[PHONE:không chín tám bảy, sáu năm bốn, ba hai một]]",
    "my number is [[PHONE:zero nine one two three four five six seven eight]]",
    "zalo: [[PHONE:0388.123.456]]",
    "Em [[PERSON:Nguyễn Thị Hồng Nhung]] lớp 8A",
    "ten minh la [[PERSON:tran thi mai]] nha",
    "TÊN EM LÀ [[PERSON:PHẠM MINH ĐỨC]]",
    "[[PERSON:NGUYEN VAN BINH]] 6A3",
    "mk học [[SCHOOL:lớp 7A2, trường THCS Nguyễn Du]]",
    "học [[SCHOOL:truong thpt chuyen le hong phong]] ak",
    "ib mk qua [[SOCIAL_HANDLE:@be.bong_2012]] nhe",
    "acc discord: [[SOCIAL_HANDLE:gamerboy#1234]]",
    "mail e: [[EMAIL:embe2012 (at) gmail (dot) com]]",
    "stk [[BANK_ACCOUNT:0912345678]] mb bank chu tk [[PERSON:le van an]]",
    "nha e o [[ADDRESS:so 12 ngo 34 pho hue, hai ba trung, ha noi]]",
    "nhà tớ [[ADDRESS:hẻm 34/5 Lê Văn Sỹ, P.13, Q.3]] nè",
    "cccd me e [[CCCD:079185001234]]",
    "thẻ [[CARD:9704 1234 5678 9015]] của ba",
    "born [[DATE_OF_BIRTH:12 March 2013]] in Hanoi",
    "ns [[DATE_OF_BIRTH:05/09/2012]]",
    "IP [[IP:2001:db8::8a2e:370:7334]]",
    "mac [[MAC:AA-BB-CC-11-22-33]]",
    "Call [[PHONE:+84 (0) 912 345 678]] now",
    "[[PERSON:Lê Thị Thu Hà]] và [[PERSON:Đỗ Minh Quân]] là bạn em",
    "My friend [[PERSON:Olivia Nguyen]] lives at [[ADDRESS:12 Oak Street, Springfield, IL 62704]]",
    "I'm in 6th grade at [[SCHOOL:Lincoln Middle School]]",
    "Facebook: [[SOCIAL_HANDLE:https://www.facebook.com/profile.php?id=100012345678901]]",
    "tele [[SOCIAL_HANDLE:t.me/hoang_anh]] nha",
]

# Ordinary sentences with numbers, dates and capitalised words: no entity anywhere.
ORDINARY = """
hôm nay em được 9.5 điểm toán
bài kiểm tra được 10 điểm, vui quá
giá cái áo là 150.000đ thôi
mua 2 hộp sữa hết 35.000 đồng
mã đơn hàng DH20240512 của em chưa giao
mã vận đơn SPXVN045123456789 đang giao
7h30 sáng mai tập trung ở cổng trường nhé
9 giờ tối nay có trận bóng
năm 2024 em lên lớp 6
lớp 6 có 45 bạn
em học lớp 7A2
phòng 302 tầng 3 nhé
ngày 12/05/2024 em thi học kỳ
20/11 là ngày nhà giáo Việt Nam
tỉ số 2-1 nghiêng về Việt Nam
chiều cao 1m45 nặng 38kg
con được 8.75 điểm trung bình
bài 3 trang 45 sách giáo khoa
chương 1234 của truyện ra rồi
tập 125 hay lắm
em lên level 120 rồi
rank em là 35 sao
game này 1000 kim cương giá 200k
tải file 500 MB mất 10 phút
iPhone 15 Pro Max giá 30 triệu
Windows 11 cập nhật bản 23H2
mã giảm giá SALE50 còn dùng được
còn 3 ngày nữa là nghỉ hè
đề thi có 40 câu trong 50 phút
1 2 3 4 5 6 7 8 9 10 em đếm xong rồi
số báo danh của em là 123 phòng 12
em đọc được 25 cuốn sách năm nay
nhiệt độ hôm nay 35 độ
hẹn gặp lúc 15:30 ở thư viện
chuyến bay VN123 lúc 10:45
xe buýt số 32 đi qua trường
quãng đường 12.5 km
mật độ 1.234 người trên km2
điểm thi vào 10 năm nay là 42.25
em nợ bạn 20.000
Hà Nội hôm nay mưa to
Hôm qua em đi Đà Lạt với gia đình
Em thích đội Manchester United
thứ 7 này đi Vũng Tàu không
Trường em nghỉ học ngày 2/9
Mai em thi môn Toán
Sơn Tùng ra bài mới hay quá
Quận 1 đông người lắm
đường Nguyễn Huệ tối nay bắn pháo hoa
em thích đọc Doraemon tập 45
ra mắt ngày 01.06.2024
giải phương trình x + 5 = 12
2 x 3 = 6, 6 x 7 = 42
tháng 5 năm 2023 em đi Huế
năm 1945 là năm Cách mạng tháng Tám
bản cập nhật 1.2.3.4 sửa lỗi
học sinh 2012 phải đi tiêm
hôm nay 100 ngày học online
em xếp thứ 3 trong lớp
cả lớp có 32 bạn nam và 13 bạn nữ
giờ ra chơi lúc 9:15
giá vé 1.250.000đ một người
em tiết kiệm được 500.000 đồng
cửa hàng số 7 bán kem
chơi Liên Quân rank Kim Cương
em thích màu xanh
I scored 95 on my math test
The price is $19.99 plus tax
order #A1234567 has shipped
It's 3:45 pm, see you soon
see you on 12/05
Chapter 12 page 145
my level is 57 in Roblox
room 302 on the third floor
in 2024 we moved house
version 2.0.1 is out
I got 8 out of 10
we have 25 students in class
the bus number 42 is late
my team won 3-1
I am 12 years old
I'm in grade 6
Grade 7 is hard
I love Minecraft and Fortnite
New York is a big city
Harry Potter is my favourite book
We watched Spider-Man yesterday
the temperature is 30 degrees
I walked 10000 steps today
a pizza costs 120000 dong
Monday at 8:00 we have PE
my password is not telling you
level 99 boss is hard
call of duty 3 is old
I have 2 cats and 1 dog
the test has 40 questions
tối qua MU thắng Chelsea 2-1, hay quá
trận chung kết hòa 0-0 rồi đá luân lưu
hiệp 2 tỉ số vẫn là 1-1
ti so chung cuoc 3-2 nghieng ve doi nha
đội 7A thua 8B 1-3 ở sân trường
mình mặc áo số 9 giống Tiến Linh
cầu thủ số 7 ghi bàn phút 90
top 1 Liên Quân mùa này
bạn ấy được giải 3 cấp quận 5 môn toán
ghế số 14 toa 6 nhé
chuyển khoản lúc 9:15 ngày 03.06.2024 rồi
năm học 2024 - 2025 em học lớp 7
thứ 2 ngày 14/10 tổ 4 trực nhật
our team won 4-2 on Saturday
he is number 10 Football Club captain
""".strip().splitlines()


def ordinary(gen: Gen | None = None, n_generated: int = 300) -> list[str]:
    """The hand-written ordinary sentences plus generated ones (scores, prices, times,
    dates, order codes, quantities) in the same styles."""
    gen = gen or Gen(7)
    r = gen.r
    out = list(ORDINARY)
    forms = [
        lambda: f"em được {r.randint(0, 10)}.{r.choice(['0', '25', '5', '75'])} điểm",
        lambda: f"giá {r.randint(1, 999)}.{r.choice(['000', '500'])}đ",
        lambda: f"giá {r.randint(1, 9)}.{r.randint(100, 999)}.000 đồng",
        lambda: f"mã đơn {r.choice(['DH', 'SP', 'LZD', 'TK'])}{gen.digits(r.randint(6, 12))}",
        lambda: f"hẹn {r.randint(0, 23)}:{r.randint(0, 59):02d} nhé",
        lambda: f"ngày {r.randint(1, 28)}/{r.randint(1, 12)}/{r.randint(2000, 2025)} em đi thi",
        lambda: f"năm {r.randint(1990, 2030)} em "
                f"{r.choice(['vào lớp 1', 'đi Huế', 'lên cấp 2'])}",
        lambda: f"phòng {r.randint(100, 999)} tầng {r.randint(1, 20)}",
        lambda: f"lớp {r.randint(1, 12)}{r.choice(['', 'A', 'A1', 'B2'])} có "
                f"{r.randint(20, 50)} bạn",
        lambda: f"em có {r.randint(1, 99999)} xu trong game",
        lambda: f"I scored {r.randint(0, 100)} points",
        lambda: f"it costs ${r.randint(1, 999)}.{r.randint(0, 99):02d}",
        lambda: f"order #{gen.en.bothify('??#####').upper()} shipped",
        lambda: f"see you at {r.randint(1, 12)}:{r.randint(0, 59):02d} pm",
        lambda: f"the match is on {r.randint(1, 12)}/{r.randint(1, 28)}/{r.randint(2020, 2026)}",
        lambda: f"{r.randint(1000, 99999)} lượt xem rồi",
        lambda: f"trận đấu lúc {r.randint(17, 22)}h{r.choice(['', '30', '45'])} ngày "
                f"{r.randint(1, 28)}/{r.randint(1, 12)}",
    ]
    for _ in range(n_generated):
        out.append(r.choice(forms)())
    return out


def dataset(n_per_template: int = 12, seed: int = 20240512) -> list[Example]:
    return list(generated(n_per_template, seed)) + [parse_marked(t) for t in TRICKY]



# Development set 1. Written after the detector had been developed on the sets above, as a
# check of how far their figures carry over to new phrasings, and reported as "held-out" until
# 2026-12-05. Its errors were printed before the name and place-name changes and again during
# later rule work, so it is a development set now (bench/pii_eval reports it as one). New
# held-out cases go into bench/pii_heldout_*.txt files.
DEV_SET_1 = [
    "ê mai qua đón tao ở [[ADDRESS:số 18 ngõ 2 phố Tây Sơn]] nha",
    "bọn tao ở chung cư, [[ADDRESS:tòa B2 khu đô thị Linh Đàm, Hoàng Mai]]",
    "nha chau o [[ADDRESS:ap 3 xa Phuoc Hiep huyen Cu Chi]]",
    "con tên [[PERSON:Lê Hoàng Bảo Ngọc]], năm nay con 9 tuổi",
    "ban [[PERSON:Minh Thu]] hay trêu em",
    "anh [[PERSON:Tuấn]] bảo em gửi ảnh",
    "thầy [[PERSON:Phạm Quốc Bảo]] dạy lý",
    "I think [[PERSON:Jacob Miller]] is mean",
    "[[PERSON:Sophie]] said don't tell mom",
    "số của anh ấy nè [[PHONE:0978 12 34 56]]",
    "goi [[PHONE:o98.765.4321]] nha",
    "dt nha ba noi [[PHONE:0225 3745 123]]",
    "whatsapp [[PHONE:+65 9123 4567]]",
    "nhắn qua sdt [[PHONE:+84.389.456.123]]",
    "cccd của em [[CCCD:001 309 012 345]] nhé",
    "so dinh danh ca nhan [[CCCD:031208765432]]",
    "stk [[BANK_ACCOUNT:1903 5678 9012 34]] tcb",
    "ck qua momo hay [[BANK_ACCOUNT:88886668888]] vietinbank cũng được",
    "acc ngân hàng: [[BANK_ACCOUNT:2711200456789]]",
    "số thẻ [[CARD:9704 3666 1234 5673]] mặt sau có 3 số",  # Luhn-valid (data fix)
    "mail tui [[EMAIL:tuanpro_9x@yahoo.com.vn]] á",
    "contact: [[EMAIL:ms.hoa.teacher@school.edu.vn]]",
    "tui học [[SCHOOL:THCS Trưng Vương]] á",
    "con gái tôi học [[SCHOOL:lớp 3C trường Tiểu học Đoàn Thị Điểm]]",
    "hoc [[SCHOOL:truong quoc te Viet Uc]] ne",
    "I'm a 7th grader at [[SCHOOL:Roosevelt Middle School]]",
    "my little brother goes to [[SCHOOL:Oak Hill Primary School]]",
    "follow ig [[SOCIAL_HANDLE:@linh.chi_08]] nhe",
    "kênh tiktok [[SOCIAL_HANDLE:https://vt.tiktok.com/ZSabc123/]] nè",
    "sv minecraft [[IP:45.77.12.201]]",
    "em sinh [[DATE_OF_BIRTH:03/11/2014]] ở Hải Phòng",
    "ngày sinh của bé: [[DATE_OF_BIRTH:14-02-2016]]",
    "my bday is [[DATE_OF_BIRTH:July 4th]]",
    "Tớ là [[PERSON:Đặng Thu Trang]], nhà tớ ở [[ADDRESS:12 Trần Hưng Đạo, Q.1]]",
    "[[PERSON:nguyen minh khoa]] lop 8a1 [[SCHOOL:thcs le quy don]]",
]
DEV_SET_1_ORDINARY = [
    "mai em kiểm tra 15 phút môn văn",
    "cho em hỏi bài 5 trang 102 với",
    "điểm tổng kết 8.6 có được học sinh giỏi không",
    "combo 2 gà rán 89k",
    "đơn #SP240512ABC giao chưa vậy shop",
    "kênh này 1,2 triệu sub rồi",
    "còn 45 ngày nữa là thi vào 10",
    "xe 29A-123.45 chạy ẩu quá",
    "chơi free fire được 20 kill",
    "tối nay 8h30 live nha mọi người",
    "Bài hát Nơi Này Có Anh hay quá",
    "em xem Thám Tử Lừng Danh Conan tập 1000",
    "Hôm nay Việt Nam thắng Thái Lan 3-0",
    "nhiệt độ 38 độ, nóng quá",
    "cái áo size 160 giá 250.000",
    "the game costs 59.99 dollars",
    "I got 1200 robux for my birthday",
    "we beat them 21-14",
    "meet at gate 3 at 7:15",
    "Spider-Man 2 was awesome",
]
