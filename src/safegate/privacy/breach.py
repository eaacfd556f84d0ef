"""The breach register's rules: the 72-hour clock and the notification draft (vi/en). Pure
functions; the app layer (``safegate.app.breach``) stores, audits and lists.

Decree 13/2023/NĐ-CP, Art. 23: a breach of personal-data protection is reported to the
Ministry of Public Security (its Department of Cybersecurity and High-Tech Crime Prevention,
A05) no later than 72 hours after it occurred, with the facts listed in :data:`FACTS`; a
report made later gives the reasons for the delay. SafeGate counts the hours from the earlier
of the two times recorded (when it occurred, if known; when it was detected), keeps the same
clock as a reminder for informing the families affected, and leaves every judgement (is this
a breach, must it be reported, what to tell whom) to the operator. The draft names no contact
details it does not hold: the operator fills them in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from safegate.privacy.dsr import describe_left
from safegate.store.choices import BREACH_DATA_CLASSES

__all__ = ["DEADLINE", "AUTHORITY", "breach_clock", "classes_of_actions", "deadline", "draft",
           "parse_classes"]

DEADLINE = timedelta(hours=72)
CLASSES = BREACH_DATA_CLASSES

AUTHORITY = {
    "vi": "Bộ Công an (Cục An ninh mạng và phòng, chống tội phạm sử dụng công nghệ cao, A05)",
    "en": "the Ministry of Public Security (Department of Cybersecurity and High-Tech Crime "
          "Prevention, A05)",
}

CLASS_NAMES = {
    "profile": ("hồ sơ trẻ (tên, năm sinh)", "child profiles (name, birth year)"),
    "devices": ("thiết bị (tên, địa chỉ IP/MAC)", "devices (names, IP/MAC addresses)"),
    "policy": ("cài đặt lọc", "filtering settings"),
    "query_log": ("nhật ký truy vấn DNS", "DNS query logs"),
    "alerts": ("cảnh báo về trò chuyện của trẻ", "alerts about children's conversations"),
    "messages": ("lời nhắn của trẻ", "children's messages"),
    "consents": ("hồ sơ đồng ý", "consent records"),
    "requests": ("yêu cầu về dữ liệu", "data requests"),
    "accounts": ("tài khoản người dùng", "user accounts"),
    "audit_log": ("nhật ký kiểm toán", "the audit log"),
    "keys": ("khóa mã hóa", "encryption keys"),
}

RISK_NAMES = {"low": ("thấp", "low"), "medium": ("trung bình", "medium"),
              "high": ("cao", "high")}

# The headings of the draft: the facts Art. 23 asks a report to give.
FACTS = {
    "vi": ("THÔNG BÁO VI PHẠM QUY ĐỊNH BẢO VỆ DỮ LIỆU CÁ NHÂN (bản nháp số {id})",
           "Kính gửi: {to}",
           "1. Mô tả vi phạm (thời gian, nơi xảy ra, hành vi, tổ chức, loại và số lượng dữ "
           "liệu liên quan)",
           "2. Người phụ trách bảo vệ dữ liệu (điền tên và cách liên hệ)",
           "3. Hậu quả có thể xảy ra",
           "4. Biện pháp đã thực hiện",
           "Lý do thông báo chậm"),
    "en": ("NOTIFICATION OF A PERSONAL-DATA PROTECTION BREACH (draft {id})",
           "To: {to}",
           "1. What happened (time, place, act, organisation, kinds and amount of personal data "
           "concerned)",
           "2. The person in charge of data protection (fill in a name and how to reach them)",
           "3. Possible consequences",
           "4. Measures taken",
           "Reason for the late notification"),
}

TO_FAMILIES = {"vi": "Gia đình của các trẻ bị ảnh hưởng",
               "en": "The families of the children affected"}


# The data class an audit entry's action touched (by the action's first word).
ACTION_CLASSES = {"alert": "alerts", "child": "profile", "device": "devices",
                  "policy": "policy", "request": "messages", "consent": "consents",
                  "dsr": "requests", "keys": "keys", "audit": "audit_log"}


def classes_of_actions(actions: Sequence[str]) -> list[str]:
    """The data classes the audit actions ``actions`` touched, in the register's order."""
    found = {ACTION_CLASSES.get(a.split(".", 1)[0]) for a in actions}
    return [c for c in CLASSES if c in found]


def parse_classes(values: Sequence[str]) -> list[str]:
    """The data classes named (each once, in the register's order); ValueError for others."""
    wanted = {v.strip() for value in values for v in value.split(",") if v.strip()}
    unknown = sorted(wanted - set(CLASSES))
    if unknown:
        raise ValueError(f"data class {', '.join(unknown)} is not one of {', '.join(CLASSES)}")
    if not wanted:
        raise ValueError(f"name at least one data class ({', '.join(CLASSES)})")
    return [c for c in CLASSES if c in wanted]


def deadline(detected_at: datetime, occurred_at: datetime | None) -> datetime:
    """72 hours from the earlier of the two times."""
    start = detected_at if occurred_at is None else min(detected_at, occurred_at)
    return start + DEADLINE


def breach_clock(due: datetime, done_at: datetime | None, now: datetime) -> str:
    """``done`` when it was done, else the time left or how long overdue."""
    if done_at is not None:
        late = done_at > due
        return "done" + (" (late)" if late else "")
    return describe_left((due - now).total_seconds())


def _when(value: datetime | None, lang: str) -> str:
    if value is None:
        return "chưa rõ" if lang == "vi" else "not known"
    return f"{value:%Y-%m-%d %H:%M} UTC"


def draft(breach: Mapping[str, Any], *, to: str, lang: str, organisation: str,
          now: datetime) -> str:
    """The notification text for ``to`` (``authority`` or ``subjects``) in ``lang``: the facts
    of ``breach`` (a row as a dict) under the headings of :data:`FACTS`."""
    vi = lang == "vi"
    i = 0 if vi else 1
    heads = FACTS["vi" if vi else "en"]
    due = deadline(breach["detected_at"], breach["occurred_at"])
    classes = ", ".join(CLASS_NAMES[c][i] for c in breach["data_classes"])
    n = breach["children_count"]
    lines = [heads[0].format(id=breach["id"]),
             heads[1].format(to=AUTHORITY["vi" if vi else "en"] if to == "authority"
                             else TO_FAMILIES["vi" if vi else "en"]),
             "",
             heads[2],
             (f"- Tổ chức: {organisation}" if vi else f"- Organisation: {organisation}"),
             (f"- Xảy ra: {_when(breach['occurred_at'], lang)}; phát hiện: "
              f"{_when(breach['detected_at'], lang)}" if vi else
              f"- Occurred: {_when(breach['occurred_at'], lang)}; detected: "
              f"{_when(breach['detected_at'], lang)}"),
             f"- {breach['description']}",
             (f"- Dữ liệu liên quan: {classes}" if vi else f"- Data concerned: {classes}"),
             (f"- Số trẻ bị ảnh hưởng: {n}" if vi else f"- Children affected: {n}"),
             "",
             heads[3],
             "- ...",
             "",
             heads[4],
             (f"- Mức rủi ro (đánh giá của đơn vị): {RISK_NAMES[breach['risk']][0]}" if vi else
              f"- Risk (the organisation's assessment): {RISK_NAMES[breach['risk']][1]}"),
             "",
             heads[5],
             f"- {breach['measures'] or '...'}"]
    if to == "authority" and now > due:
        lines += ["", heads[6], f"- {breach.get('late_reason') or '...'}"]
    return "\n".join(lines) + "\n"
