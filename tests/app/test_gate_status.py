"""Queries per second between two readings (app/gate_status.py ``Rate``)."""

from __future__ import annotations

from safegate.app.gate_status import Rate


def test_a_rate_needs_two_readings() -> None:
    rate = Rate()
    assert rate.update(10.0, 100) is None
    assert rate.update(12.0, 160) == 30.0
    assert rate.update(12.0, 170) is None  # no time passed
    assert rate.update(13.0, 5) is None  # the counter went back (a restart)
    assert rate.update(14.0, 15) == 10.0
