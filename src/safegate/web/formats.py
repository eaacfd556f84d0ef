"""Dates, times and numbers for the pages in the account's language (Babel), in the
household's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal, format_percent

from safegate.policy.schedule import zone

BABEL = {"vi": "vi_VN", "en": "en_GB"}


def _loc(lang: str) -> str:
    return BABEL.get(lang, "vi_VN")


def when(ts: float, tz: str, lang: str) -> str:
    """A moment (unix time) as the household's local date and time."""
    moment = datetime.fromtimestamp(ts, UTC)
    return format_datetime(moment, "short", tzinfo=zone(tz), locale=_loc(lang))


def clock(ts: float, tz: str, lang: str) -> str:
    return format_time(datetime.fromtimestamp(ts, UTC), "short", tzinfo=zone(tz),
                       locale=_loc(lang))


def day(value: date, lang: str, style: str = "medium") -> str:
    return format_date(value, style, locale=_loc(lang))


def weekday(value: date, lang: str) -> str:
    """A short day label for a chart's column ("T7 5/12", "Sat 5/12")."""
    return format_date(value, "EEEEE d/M" if lang == "vi" else "EEE d/M", locale=_loc(lang))


def number(value: float, lang: str) -> str:
    return format_decimal(value, locale=_loc(lang))


def percent(value: float, lang: str) -> str:
    return format_percent(value, locale=_loc(lang))
