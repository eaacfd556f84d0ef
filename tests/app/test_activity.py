"""The activity filter's parsing and the local-day ranges (pure parts of app/activity.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from safegate.app.activity import category_of, local_range, parse_filter


def test_a_filter_from_query_parameters() -> None:
    flt = parse_filter({"child": "3", "device": "", "category": " social ", "blocked": "on",
                        "from": "2026-12-01", "to": "2026-12-05", "q": "TikTok",
                        "page": "2", "per_page": "20"})
    assert (flt.child_id, flt.device_id, flt.category, flt.blocked_only) == \
        (3, None, "social", True)
    assert (flt.day_from, flt.day_to, flt.search, flt.page, flt.per_page) == \
        (date(2026, 12, 1), date(2026, 12, 5), "tiktok", 2, 20)
    empty = parse_filter({})
    assert empty.page == 1 and empty.per_page == 50 and not empty.blocked_only


@pytest.mark.parametrize(("values", "field"), [
    ({"child": "An"}, "child"), ({"page": "0"}, "page"), ({"per_page": "1000"}, "per_page"),
    ({"from": "05/12/2026"}, "from"), ({"from": "2026-12-05", "to": "2026-12-01"}, "to")])
def test_bad_filters_name_their_field(values: dict[str, str], field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        parse_filter(values)  # type: ignore[arg-type]


def test_local_days_and_categories() -> None:
    start, end = local_range("Asia/Ho_Chi_Minh", date(2026, 12, 5), date(2026, 12, 5))
    assert start == datetime(2026, 12, 4, 17, tzinfo=UTC).timestamp()  # midnight in Hà Nội
    assert end == start + 86400
    assert local_range("Asia/Ho_Chi_Minh", None, None) == (None, None)
    assert category_of("social:list/tiktok.com") == "social" and category_of(None) is None
    assert category_of("pause") is None
