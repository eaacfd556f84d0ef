"""The consent rules as pure functions: who must consent at which age, what is missing, and
the log level the gate applies."""

from __future__ import annotations

import pytest

from safegate.privacy.consent import (
    ConsentError,
    check_giver,
    gate_record,
    givers_needed,
    missing,
)
from safegate.privacy.dsr import describe_left
from safegate.store.records import PolicyRecord, ProfileRecord


def test_the_child_consents_too_from_7_or_when_the_age_is_unknown() -> None:
    assert givers_needed(6) == ("parent",)
    assert givers_needed(7) == givers_needed(None) == ("parent", "child")
    assert missing("alerts", {("alerts", "parent")}, 6) == ()
    assert missing("alerts", {("alerts", "parent")}, 7) == ("child",)
    assert missing("alerts", {("reports", "parent"), ("alerts", "child")}, 12) == ("parent",)
    assert check_giver("child", 7) == "child"
    with pytest.raises(ConsentError, match="themselves from 7"):
        check_giver("child", 6)
    with pytest.raises(ConsentError, match="by"):
        check_giver("teacher", 10)


def _record(level: str, consents: set[tuple[str, str]], born: int | None) -> ProfileRecord:
    return ProfileRecord(1, 1, "A", born, None, PolicyRecord(log_level=level), (),
                         consents=frozenset(consents))


@pytest.mark.parametrize(("level", "consents", "born", "applied"), [
    ("full", set(), 2015, "domains"),
    ("full", {("full_query_log", "parent")}, 2015, "domains"),  # 11: the child's too
    ("full", {("full_query_log", "parent")}, 2021, "full"),  # 5: the parent's is enough
    ("full", {("full_query_log", "parent"), ("full_query_log", "child")}, None, "full"),
    ("off", set(), 2015, "off"),
    ("domains", set(), 2015, "domains"),
])
def test_the_gate_logs_in_full_only_with_consent(level: str, consents: set[tuple[str, str]],
                                                 born: int | None, applied: str) -> None:
    assert gate_record(_record(level, consents, born), 2026).policy.log_level == applied


def test_time_left_reads_both_ways() -> None:
    assert describe_left(3600 * 71 + 60 * 59) == "71h 59m left"
    assert describe_left(-61) == "overdue by 0h 01m"
