"""App-layer errors in the page's language: each message the schedule and budget operations
really raise is recognised and shown in Vietnamese with its values; an unknown one is left
as it is; the English catalogue gives English (the command line's option names, such as
--allow, become the page's words)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from safegate.app.schedules import WindowSpec, window_row
from safegate.policy.budgets import check_minutes, check_target
from safegate.policy.schedule import parse_days, parse_minute
from safegate.web.errors import localise
from safegate.web.i18n import gettext_for


def raised(action: Callable[[], object]) -> str:
    with pytest.raises(ValueError) as caught:
        action()
    return str(caught.value)


def spec(**fields: object) -> WindowSpec:
    base: dict[str, object] = {"name": "ngủ", "days": "daily", "start": "20:00",
                               "end": "06:00", "block_all": True}
    return WindowSpec(**{**base, **fields})  # type: ignore[arg-type]


CASES = [
    (lambda: parse_minute("25:00"), "'25:00' không phải là giờ trong ngày"),
    (lambda: parse_days("someday"), "'someday' không phải là ngày hay khoảng ngày"),
    (lambda: window_row(spec(name=" ")), "lịch cần có tên"),
    (lambda: window_row(spec(block_all=False, block_categories=("nope",))),
     "không có danh mục 'nope'"),
    (lambda: window_row(spec(block_all=False, block_services=("nope",))),
     "không có dịch vụ 'nope'"),
    (lambda: window_row(spec(allow=("not a domain",))), "không phải là tên miền"),
    (lambda: window_row(spec(block_all=False)), "hãy chọn việc khung giờ làm"),
    (lambda: window_row(spec(block_categories=("games",), allow_categories=("video",))),
     "chỉ chặn hoặc chỉ cho phép"),
    (lambda: window_row(spec(block_all=False, allow=("school.example",),
                             block_categories=("games",))), "chặn tất cả (giờ ngủ)"),
    (lambda: window_row(spec(block_all=False, allow_categories=("bypass",))),
     "không bao giờ mở chặn bypass"),
    (lambda: check_minutes(5000), "không phải 5000"),
    (lambda: check_target("group:nope"), "không có nhóm 'group:nope'"),
]


@pytest.mark.parametrize(("action", "vietnamese"), CASES)
def test_each_real_message_is_shown_in_vietnamese(action: Callable[[], object],
                                                  vietnamese: str) -> None:
    message = raised(action)
    assert vietnamese in localise(message, gettext_for("vi")), message
    english = localise(message, gettext_for("en"))
    assert english.isascii() and vietnamese not in english


def test_an_unknown_message_is_left_as_it_is() -> None:
    assert localise("the moon is made of cheese", gettext_for("vi")) == \
        "the moon is made of cheese"
