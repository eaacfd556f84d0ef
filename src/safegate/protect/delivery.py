"""Decisions about sending alerts to parents (pure): quiet hours, whether an alert is worth a
message now, the back-off of a failed send, and the message itself in the parent's language.

The message never carries the child's words: it names the kind of alert (the guidance
title), its severity and the child's first name, and links to the alerts page where the
redacted snippet can be read after signing in.

    >>> quiet(time(22, 0), "21:30", "06:30"), quiet(time(12, 0), "21:30", "06:30")
    (True, False)
    >>> wanted("warning", Prefs(min_severity="urgent"), time(12, 0))
    False
    >>> wanted("urgent", Prefs(quiet_start="21:00", quiet_end="07:00"), time(23, 0))
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from safegate.protect.guidance import GuidanceError, guidance

__all__ = ["Message", "Prefs", "backoff", "compose", "outcome", "parse_clock", "quiet", "wanted"]

SEVERITY_RANK = {"warning": 0, "urgent": 1}
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class Prefs:
    """An account's choices; the defaults are those of an account that chose nothing."""

    email: bool = True
    push: bool = False
    quiet_start: str | None = None  # "HH:MM", local
    quiet_end: str | None = None
    min_severity: str = "warning"
    weekly_report: bool = True  # last week's report by e-mail (app/report_mail.py)

    def to_dict(self) -> dict[str, object]:
        return {"email": self.email, "push": self.push, "quiet_start": self.quiet_start,
                "quiet_end": self.quiet_end, "min_severity": self.min_severity,
                "weekly_report": self.weekly_report}


def parse_clock(value: str | None, field: str) -> str | None:
    """``value`` as "HH:MM" (None or empty: none); ValueError naming ``field`` otherwise."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if len(text) == 4 and text[1] == ":":
        text = "0" + text
    if not _CLOCK.match(text):
        raise ValueError(f"{field}: {value!r} is not a time of day HH:MM (00:00 to 23:59)")
    return text


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet(now: time, start: str | None, end: str | None) -> bool:
    """Whether local time ``now`` falls in the quiet hours [start, end) (over midnight when
    start is later than end; none when either is missing or they are equal)."""
    if not start or not end or start == end:
        return False
    a, b, t = _clock(start), _clock(end), now.replace(second=0, microsecond=0)
    return a <= t < b if a < b else t >= a or t < b


def wanted(severity: str, prefs: Prefs, local_now: time) -> bool:
    """Whether an alert of ``severity`` is sent now: at least the account's least severity,
    and outside quiet hours unless urgent (an urgent alert is never held back)."""
    if SEVERITY_RANK.get(severity, 0) < SEVERITY_RANK.get(prefs.min_severity, 0):
        return False
    if severity == "urgent":
        return True
    return not quiet(local_now, prefs.quiet_start, prefs.quiet_end)


def backoff(tries: int, first_delay: float) -> timedelta:
    """The wait after the ``tries``-th failed try: ``first_delay`` doubled each time (at
    most a day)."""
    return timedelta(seconds=min(first_delay * 2 ** max(tries - 1, 0), 86_400.0))


def outcome(tries: int, error: str | None, max_tries: int, first_delay: float,
            now: datetime) -> tuple[str, datetime | None]:
    """A delivery's status after its ``tries``-th try and when to try again: sent, failed
    (again after the back-off) or, at ``max_tries``, gave_up. Pure."""
    if error is None:
        return "sent", None
    if tries >= max_tries:
        return "gave_up", None
    return "failed", now + backoff(tries, first_delay)


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    body: str
    url: str | None

    def push_payload(self) -> dict[str, str]:
        return {"title": self.subject, "body": self.body, "url": self.url or "/alerts"}


_TEXT = {
    "vi": {"urgent": "KHẨN", "warning": "Cảnh báo",
           "about": "SafeGate có cảnh báo mới về {child}: {title}.",
           "read": "Đăng nhập để xem chi tiết và hướng dẫn: {url}",
           "open": "Mở ứng dụng SafeGate để xem chi tiết và hướng dẫn.",
           "hotline": "Khi khẩn cấp, gọi Tổng đài quốc gia bảo vệ trẻ em 111 (miễn phí).",
           "why": "Bạn nhận thư này vì đã bật thông báo cảnh báo trong SafeGate."},
    "en": {"urgent": "URGENT", "warning": "Warning",
           "about": "SafeGate has a new alert about {child}: {title}.",
           "read": "Sign in to read the details and what to do: {url}",
           "open": "Open SafeGate to read the details and what to do.",
           "hotline": "In an emergency, call the national child protection hotline 111 "
                      "(free of charge).",
           "why": "You receive this because alert notifications are on in SafeGate."},
}


def compose(*, alert_id: int, child: str, severity: str, category: str, guidance_key: str,
            locale: str, base_url: str) -> Message:
    """The notification of one alert in ``locale`` (vi or en): no snippet, no conversation."""
    loc = locale if locale in _TEXT else "vi"
    text = _TEXT[loc]
    try:
        title = guidance(guidance_key, loc).title
    except GuidanceError:
        title = category
    url = f"{base_url.rstrip('/')}/alerts#alert-{alert_id}" if base_url else None
    label = text["urgent" if severity == "urgent" else "warning"]
    lines = [text["about"].format(child=child, title=title),
             text["read"].format(url=url) if url else text["open"]]
    if severity == "urgent":
        lines.append(text["hotline"])
    return Message(subject=f"[SafeGate] {label}: {child} – {title}",
                   body="\n\n".join(lines), url=url)
