"""The latency histogram: values land in the first bucket whose bound they do not exceed,
readings are cumulative, and values above the last bound count only towards +Inf."""

from __future__ import annotations

import pytest

from safegate.histogram import Histogram


def test_observations_fill_cumulative_buckets() -> None:
    hist = Histogram((0.01, 0.1, 1.0))
    for seconds in (0.005, 0.01, 0.05, 0.5, 3.0):
        hist.observe(seconds)
    reading = hist.reading()
    assert reading.buckets == ((0.01, 2), (0.1, 3), (1.0, 4))  # 0.01 is "le 0.01"
    assert reading.count == 5  # 3.0 is only in +Inf
    assert reading.sum == pytest.approx(3.565)
    assert reading.to_dict()["buckets"] == [[0.01, 2], [0.1, 3], [1.0, 4]]


def test_a_reading_does_not_move_with_later_observations() -> None:
    hist = Histogram((1.0,))
    hist.observe(0.5)
    before = hist.reading()
    hist.observe(0.5)
    assert before.count == 1 and hist.reading().count == 2


@pytest.mark.parametrize("bounds", [(), (0.1, 0.1), (1.0, 0.5)])
def test_bounds_must_increase(bounds: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="increasing"):
        Histogram(bounds)
