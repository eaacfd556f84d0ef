"""The schedule page's weekly grid: which hours of which days each window covers."""

from __future__ import annotations

from safegate.web.weekgrid import day_list, grid, spans


def covered(windows: list[dict[str, object]]) -> set[tuple[int, int]]:
    return {(c.day, c.hour) for row in grid(windows).rows for c in row if c.windows}


def test_a_window_inside_a_day_covers_the_hours_it_touches() -> None:
    cells = covered([{"name": "học", "days": "mon", "from": "07:30", "to": "09:00",
                      "enabled": True}])
    assert cells == {(0, 7), (0, 8)}


def test_a_window_over_midnight_is_drawn_on_both_days_and_sunday_runs_into_monday() -> None:
    cells = covered([{"name": "ngủ", "days": "sat,sun", "from": "22:00", "to": "01:30",
                      "enabled": True}])
    assert cells == {(5, 22), (5, 23), (6, 0), (6, 1), (6, 22), (6, 23), (0, 0), (0, 1)}


def test_equal_start_and_end_is_a_whole_day_and_midnight_end_stops_at_midnight() -> None:
    assert spans(0b1, 600, 600) == [(0, 600, 1440), (1, 0, 600)]
    assert spans(0b1, 1200, 0) == [(0, 1200, 1440)]


def test_a_disabled_window_is_off_and_an_enabled_one_wins_a_shared_hour() -> None:
    g = grid([{"name": "a", "days": "tue", "from": "10:00", "to": "11:00", "enabled": False},
              {"name": "b", "days": "tue", "from": "10:30", "to": "12:00", "enabled": True}])
    tuesday = g.rows[1]
    assert tuesday[10].state == "on" and tuesday[10].names == ("a", "b")
    assert tuesday[11].state == "on" and tuesday[9].state == "free"
    only_off = grid([{"name": "a", "days": "tue", "from": "10:00", "to": "11:00",
                      "enabled": False}])
    assert only_off.rows[1][10].state == "off"


def test_day_list_reads_the_app_layers_day_text() -> None:
    assert day_list("mon-fri") == ["mon", "tue", "wed", "thu", "fri"]
    assert day_list("fri-mon") == ["mon", "fri", "sat", "sun"]
    assert len(day_list("daily")) == 7
