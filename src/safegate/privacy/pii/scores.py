"""Numbers that count or score, not locate: sports scores, shirt and seat numbers.

Children write about matches ("tỉ số 2-1", "thắng 3-0", "hòa 1-1", "U23 Việt Nam 2-1 Thái
Lan"), shirts ("áo số 7"), seats and exercises ("ghế số 12", "câu số 3"). Their shapes look
like house numbers ("số 2-1", "12-14") and their words sit where a street name could, so the
address recogniser asks this module first:

* :func:`score_spans`: ``N-M`` (1–3 digits each, dash, en dash or colon) with a score word
  close before or after it ("tỉ số", "thắng", "thua", "hòa", "kết quả", "trận", "won", …).
* :func:`counted_before`: the word before "số" or a bare number names a thing that is counted
  or ranked ("áo", "ghế", "câu", "top", "hạng", "giải", "lớp", "Level", …) or makes "số" part
  of another word ("tỉ số", "xổ số", "điểm số"), so "số N" or "N" is not a house number.
* :func:`is_event_word`: a word that cannot be part of a street name between two address
  components (dates, times, match words: "ngày", "giờ", "thắng", "hiệp", …).

Words typed with diacritics are compared as written ("thắng" wins, "tháng" is a month, as in
the street "Cách Mạng Tháng Tám"); words typed without them are compared folded, and only the
unambiguous ones count ("ve" may be "về", "ban" may be "bạn").
"""

from __future__ import annotations

import re

from .text import Doc


def _ws(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SCORE = re.compile(r"(?<![\w/.,:\-–])(\d{1,3})\s?[-–:]\s?(\d{1,3})(?![\w/.,:\-–]|[.,]\d)")
# folded phrases that announce or follow a score; multi-word ones are matched as phrases
_SCORE_CONTEXT = re.compile(
    r"\b(?:ti so|ty so|ket qua|chung cuoc|tran dau|tran|hiep|ban thang|ghi ban|go hoa|"
    r"dan truoc|vs|fc|u\d{2}|world cup|v-?league|chung ket|ban ket|tu ket|vong|luot di|"
    r"luot ve|set|van co|ket thuc|score|scored|won|win|wins|lost|lose|loses|beat|beats|"
    r"drew|draw|match|final|game|halftime|half-time|thang|thua|hoa)\b")
_SCORE_WINDOW_BEFORE = 40
_SCORE_WINDOW_AFTER = 25


def score_spans(doc: Doc) -> list[tuple[int, int]]:
    """Spans of ``N-M`` scores: a score word within 40 characters before or 25 after."""
    if "-" not in doc.text and "\u2013" not in doc.text and ":" not in doc.text:
        return []
    f = doc.folded
    out: list[tuple[int, int]] = []
    for m in _SCORE.finditer(f):
        near = [*_SCORE_CONTEXT.finditer(f, max(0, m.start() - _SCORE_WINDOW_BEFORE),
                                         m.start()),
                *_SCORE_CONTEXT.finditer(f, m.end(), m.end() + _SCORE_WINDOW_AFTER)]
        if any(_as_written(doc, c.start(), c.end(), _SPORT_VERBS) for c in near):
            out.append((m.start(), m.end()))
    return out


def inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether ``[start, end)`` overlaps one of ``spans``."""
    return any(s < end and start < e for s, e in spans)


_SPORT_VERBS = _ws("thắng thua hòa hoà")
_AMBIGUOUS_FOLDED = _ws("thang thua hoa")


def _as_written(doc: Doc, start: int, end: int, accented: frozenset[str]) -> bool:
    """A folded match that is ambiguous ("thang": tháng, thắng, Thắng) counts only when it
    is typed without diacritics or with the ones in ``accented``."""
    word = doc.folded[start:end]
    if word not in _AMBIGUOUS_FOLDED:
        return True
    raw = doc.text[start:end].lower()
    return raw == word or raw in accented


# "số" after these is not a house number: the thing numbered ("áo số 7", "ghế số 12", "câu
# số 3") or a compound ("tỉ số", "xổ số", "điểm số")
_COUNTED_ACCENTED = _ws("""
áo thủ ghế câu bài bàn xe đội sân tập lần vé toa tầng trang chương phần tuyến cửa quầy kênh
mã bảng hạng giải hình đề tiết buổi mẫu size cỡ phiếu phòng máy cổng làn bến hộp tủ kệ giường
buýt ca nhóm level map game vòng ván hiệp set trận lượt tỉ tỷ xổ điểm chữ con tổng hệ tần đa
thiểu phân ảnh clip video tập luật điều khoản mục khẩu giày lô-tô bốc top rank hạng level lv
server sv season mùa khối cấp đứng xếp lớp thứ ngày lúc phút giờ
""")
_COUNTED_FOLDED = _ws("""
ao ghe cau bai xe doi san tap toa tang trang chuong tuyen quay kenh bang giai hinh tiet
buoi mau size phieu phong may cong ben hop giuong buyt nhom level map game vong hiep set tran
luot ti ty xo diem chu tong he thieu video clip luat dieu khoan muc khau giay top rank level
lv server sv season khoi lop ngay luc phut gio
episode chapter page grade player team number no score scored got won lost beat ran the
""")
_WORD_BEFORE = re.compile(r"([^\W\d_][\w\-]*)[\s.:]*$")


def counted_before(doc: Doc, pos: int) -> bool:
    """Whether the word right before ``pos`` (the start of "số" or of a bare number) counts
    or ranks it ("áo số 7", "top 3", "giải 3", "hạng 2", "lớp 6", "Top 10 Football Club") or
    compounds with it ("tỉ số")."""
    m = _WORD_BEFORE.search(doc.text, max(0, pos - 24), pos)
    if not m:
        return False
    raw = m.group(1).lower()
    folded = doc.folded[m.start(1):m.end(1)]
    if raw != folded:
        return raw in _COUNTED_ACCENTED
    return folded in _COUNTED_FOLDED


# words that are never part of a street name bridged between two address components
_EVENT_ACCENTED = _ws("""
thắng thua hòa hoà thứ ngày giờ phút lúc hôm sáng chiều tối kỳ kì tiết trận hiệp tỉ tỷ ván
vòng lượt điểm câu lớp tuổi năm set map game level
""")
_EVENT_FOLDED = _ws("""
ngay gio phut hom chieu tiet luot vs set map game level tuoi lop diem
""")


def is_event_word(doc: Doc, start: int, end: int) -> bool:
    """Whether the word at ``[start, end)`` names a time, a date or a match, not a street.
    A capitalised word is a name ("Hòa Bình"), never an event word."""
    if doc.text[start:start + 1].isupper():
        return False
    raw = doc.text[start:end].lower()
    folded = doc.folded[start:end]
    if raw != folded:
        return raw in _EVENT_ACCENTED
    return folded in _EVENT_FOLDED
