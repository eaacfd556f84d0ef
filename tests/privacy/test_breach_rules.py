"""The breach register's pure rules: the clock, the data classes, the draft's late part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from safegate.privacy.breach import (
    breach_clock,
    classes_of_actions,
    deadline,
    draft,
    parse_classes,
)

T = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_the_clock_runs_from_the_earlier_time() -> None:
    assert deadline(T, None) == T + timedelta(hours=72)
    assert deadline(T, T - timedelta(days=2)) == T + timedelta(hours=24)
    assert deadline(T - timedelta(hours=1), T) == T + timedelta(hours=71)  # occurred later?
    due = T + timedelta(hours=72)
    assert breach_clock(due, None, T) == "72h 00m left"
    assert breach_clock(due, None, due + timedelta(minutes=5)) == "overdue by 0h 05m"
    assert breach_clock(due, T, due + timedelta(days=9)) == "done"
    assert breach_clock(due, due + timedelta(hours=1), due) == "done (late)"


def test_data_classes() -> None:
    assert classes_of_actions(["alert.view", "child.rename", "alert.feedback", "retention.purge"]
                              ) == ["profile", "alerts"]
    assert parse_classes(["alerts, profile", "alerts"]) == ["profile", "alerts"]
    with pytest.raises(ValueError, match="at least one"):
        parse_classes([" , "])
    with pytest.raises(ValueError, match="passwords"):
        parse_classes(["passwords"])


def test_the_late_reason_appears_only_when_late() -> None:
    facts = {"id": 3, "description": "d", "occurred_at": None, "detected_at": T,
             "data_classes": ["query_log"], "children_count": 0, "risk": "low",
             "measures": None, "late_reason": "chờ xác minh"}
    on_time = draft(facts, to="authority", lang="vi", organisation="O", now=T)
    late = draft(facts, to="authority", lang="vi", organisation="O", now=T + timedelta(days=4))
    assert "Lý do thông báo chậm" not in on_time and "chờ xác minh" in late
    assert "chưa rõ" in on_time  # the occurrence time is not known
    families = draft(facts, to="subjects", lang="en", organisation="O", now=T + timedelta(days=4))
    assert "late notification" not in families and "Ministry" not in families
