"""Data-subject requests: the 72-hour deadline, how much time is left, and the human-readable
report of an access request (HTML in the requester's language). Pure functions; the app layer
(``safegate.app.dsr``) gathers the data, writes the ZIP and erases.

Personal Data Protection Law 2025 and Decree 13/2023 (Art. 14-16): a data subject (for a
child: a parent, or the child aged 7+) may ask to access, correct, restrict or erase their
data; SafeGate answers within 72 hours.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

DEADLINE = timedelta(hours=72)
REMIND_BEFORE = timedelta(hours=24)  # an operator notice this long before a deadline

LABELS: dict[str, dict[str, str]] = {
    "title": {"vi": "Dữ liệu SafeGate lưu về {child}",
              "en": "The data SafeGate holds about {child}"},
    "intro": {"vi": "Báo cáo này trả lời yêu cầu truy cập dữ liệu số {id}, lập lúc {at} (UTC). "
                    "Tệp data.json bên cạnh chứa cùng dữ liệu ở dạng máy đọc được.",
              "en": "This report answers data access request {id}, made at {at} (UTC). The "
                    "file data.json beside it holds the same data in machine-readable form."},
    "empty": {"vi": "(không có)", "en": "(none)"},
    "profile": {"vi": "Hồ sơ", "en": "Profile"},
    "organisation": {"vi": "Gia đình / trường", "en": "Household / school"},
    "device": {"vi": "Thiết bị", "en": "Devices"},
    "policy": {"vi": "Cài đặt lọc", "en": "Filtering settings"},
    "schedule": {"vi": "Lịch", "en": "Schedules"},
    "time_budget": {"vi": "Giới hạn thời gian", "en": "Time budgets"},
    "budget_usage": {"vi": "Số phút đã dùng", "en": "Minutes used"},
    "temporary_allow": {"vi": "Cho phép tạm thời", "en": "Temporary allows"},
    "unblock_request": {"vi": "Yêu cầu mở chặn", "en": "Unblock requests"},
    "query_log": {"vi": "Nhật ký truy vấn", "en": "Query log"},
    "alert": {"vi": "Cảnh báo (đã giải mã)", "en": "Alerts (decrypted)"},
    "consent": {"vi": "Đồng ý", "en": "Consents"},
    "dsr": {"vi": "Yêu cầu về dữ liệu", "en": "Data requests"},
    "breach": {"vi": "Sự cố lộ lọt dữ liệu liên quan",
               "en": "Data breaches that concerned the child"},
    "audit": {"vi": "Nhật ký truy cập dữ liệu", "en": "Who accessed the data"},
}


def due_at(opened_at: datetime) -> datetime:
    return opened_at + DEADLINE


def seconds_left(due: datetime, now: datetime) -> float:
    """Negative when overdue."""
    return (due - now).total_seconds()


def deadline_notice(due: datetime, now: datetime,
                    remind_before: timedelta = REMIND_BEFORE) -> str | None:
    """``overdue`` past ``due``, ``reminder`` within ``remind_before`` of it, else None."""
    if now >= due:
        return "overdue"
    if now >= due - remind_before:
        return "reminder"
    return None


def describe_left(seconds: float) -> str:
    """``41h 12m left`` or ``overdue by 3h 05m``."""
    whole = int(abs(seconds)) // 60
    text = f"{whole // 60}h {whole % 60:02d}m"
    return f"{text} left" if seconds >= 0 else f"overdue by {text}"


def _label(key: str, lang: str) -> str:
    return LABELS.get(key, {}).get(lang) or key


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    return html.escape("" if value is None else str(value))


def _table(rows: list[Mapping[str, Any]], lang: str) -> str:
    if not rows:
        return f"<p>{_label('empty', lang)}</p>"
    columns = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in columns) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_report(data: Mapping[str, Any], lang: str) -> str:
    """The access report: one section per kind of data, in ``lang`` (vi or en)."""
    lang = lang if lang in ("vi", "en") else "vi"
    child = str(data["profile"].get("name", ""))
    req = data["request"]
    parts = [f"<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">"
             f"<title>{html.escape(_label('title', lang).format(child=child))}</title>"
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border:1px solid #999;padding:2px 6px;font-size:90%}</style></head><body>",
             f"<h1>{html.escape(_label('title', lang).format(child=child))}</h1>",
             f"<p>{html.escape(_label('intro', lang).format(id=req['id'], at=data['made_at']))}"
             "</p>"]
    for key in ("profile", "organisation"):
        parts.append(f"<h2>{_label(key, lang)}</h2>{_table([data[key]], lang)}")
    for key, rows in data["tables"].items():
        parts.append(f"<h2>{html.escape(_label(key, lang))}</h2>{_table(rows, lang)}")
    parts.append(f"<h2>{_label('audit', lang)}</h2>{_table(data['audit'], lang)}")
    parts.append("</body></html>")
    return "\n".join(parts)
