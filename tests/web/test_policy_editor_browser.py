"""The policy editor in a real browser (Playwright driving Debian's chromium, headless)
against a real `safegate serve`: dragging over the weekly grid, or moving over it with the
keyboard alone, fills in the window form, the window it adds is listed and drawn, and the
service filter narrows the list as one types."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import (
    CHROMIUM,
    WebServe,
    demo_data_dir,
    sign_in_page,
    web_served,
)

pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                                reason="needs Debian's chromium (make apt-test)")


@pytest.fixture
def served(tmp_path: Any) -> Iterator[WebServe]:
    data = demo_data_dir(tmp_path / "data")
    with web_served("--demo", "--no-default-lists", "--data-dir", str(data)) as serve:
        yield serve


def centre(page: Any, selector: str) -> tuple[float, float]:
    cell = page.locator(selector)
    cell.scroll_into_view_if_needed()
    box = cell.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def open_schedules(page: Any, base: str) -> None:
    sign_in_page(page, base)
    page.get_by_role("link", name="An", exact=True).first.click()
    page.wait_for_url("**/children/*")
    page.locator("#link-schedules").click()
    page.wait_for_url("**/schedules")
    assert page.locator("#grid-hint").is_visible()  # the script is running


def ticked_days(page: Any) -> list[str]:
    return [d for d in DAYS if page.locator(f"#win-day-{d}").is_checked()]


def fills(page: Any, selector: str) -> set[str]:
    """The background colours the cells matching `selector` are drawn with."""
    return set(page.evaluate("s => Array.from(document.querySelectorAll(s))"
                             ".map(c => getComputedStyle(c).backgroundColor)", selector))


def test_dragging_over_the_grid_fills_the_form(served: WebServe, page: Any) -> None:
    open_schedules(page, served.base)
    x0, y0 = centre(page, 'td[data-day="mon"][data-hour="19"]')
    page.mouse.move(x0, y0)
    page.mouse.down()
    x1, y1 = centre(page, 'td[data-day="wed"][data-hour="21"]')
    page.mouse.move(x1, y1, steps=5)
    page.mouse.up()
    assert page.locator("td.cell.picked").count() == 3 * 3
    assert fills(page, "td.cell.picked") == {"rgb(245, 166, 35)"}  # seen, not only a class
    assert page.locator("#win-start").input_value() == "19:00"
    assert page.locator("#win-end").input_value() == "22:00"
    assert ticked_days(page) == ["mon", "tue", "wed"]
    page.locator("#win-name").fill("học bài")
    page.locator("#win-kind-block").check()
    page.locator("#win-cat-games").check()
    page.get_by_role("button", name="Thêm khung giờ này").click()
    page.wait_for_url("**/schedules?note=saved")
    assert "học bài" in page.locator(".windows").inner_text()
    on = page.locator("td.cell.on")
    assert on.count() == 9
    assert page.locator('td.cell.on[data-day="tue"][data-hour="21"]').count() == 1
    assert fills(page, "td.cell.on") == {"rgb(11, 92, 173)"}  # the accent
    assert fills(page, "td.cell:not(.on)") == {"rgb(227, 232, 239)"}
    assert bool(page.evaluate("document.documentElement.scrollWidth <= 360"))


def focused_cell(page: Any) -> tuple[str, int] | None:
    """The (day, hour) of the grid's cell that has the focus, or None."""
    got = page.evaluate("(() => { const e = document.activeElement;"
                        " return e && e.matches('#week-grid td.cell')"
                        " ? [e.dataset.day, Number(e.dataset.hour)] : null; })()")
    return None if got is None else (str(got[0]), int(got[1]))


def picked(page: Any) -> set[tuple[str, int]]:
    """The cells shown chosen, checked against what a screen reader is told (aria-selected)."""
    shown = page.evaluate("Array.from(document.querySelectorAll('td.cell.picked'))"
                          ".map(c => [c.dataset.day, Number(c.dataset.hour)])")
    said = page.locator('#week-grid td.cell[aria-selected="true"]').count()
    assert said == len(shown)
    return {(str(d), int(h)) for d, h in shown}


def press(page: Any, key: str, times: int = 1) -> None:
    for _ in range(times):
        page.keyboard.press(key)


def test_the_keyboard_alone_chooses_hours_on_the_grid(served: WebServe, page: Any) -> None:
    open_schedules(page, served.base)
    assert page.get_by_role("grid").count() == 1
    for _ in range(80):  # Tab from the top of the page until the grid has the focus
        page.keyboard.press("Tab")
        if focused_cell(page) is not None:
            break
    entered = focused_cell(page)
    assert entered is not None
    # One tab stop: Tab leaves the grid, Shift+Tab comes back to the same cell.
    assert page.locator("#week-grid td.cell[tabindex='0']").count() == 1
    page.keyboard.press("Tab")
    assert focused_cell(page) is None
    page.keyboard.press("Shift+Tab")
    assert focused_cell(page) == entered

    page.keyboard.press("Control+Home")
    assert focused_cell(page) == ("mon", 0)
    page.keyboard.press("End")
    assert focused_cell(page) == ("mon", 23)
    press(page, "ArrowLeft", 4)
    assert focused_cell(page) == ("mon", 19)
    # The focused cell is named by day and hour, in the account's language (Vietnamese; ", bây
    # giờ" follows when the test runs on a Monday at 19), and outlined in the ink colour.
    focused = page.locator("#week-grid td.cell:focus")
    named = re.compile("^Thứ Hai 19:00–20:00")
    assert page.get_by_role("gridcell", name=named).count() == 1
    assert named.match(focused.get_attribute("aria-label") or "")
    assert focused.evaluate("c => [getComputedStyle(c).outlineStyle,"
                            " getComputedStyle(c).outlineColor]") == ["solid", "rgb(27, 31, 36)"]
    assert picked(page) == set()

    # Shift+arrows stretch the choice from where it started, as a drag from Mon 19 to Wed 21.
    press(page, "Shift+ArrowDown", 2)
    press(page, "Shift+ArrowRight", 2)
    assert focused_cell(page) == ("wed", 21)
    three_by_three = {(d, h) for d in ("mon", "tue", "wed") for h in (19, 20, 21)}
    assert picked(page) == three_by_three
    assert fills(page, "td.cell.picked") == {"rgb(245, 166, 35)"}
    page.keyboard.press("Escape")
    assert picked(page) == set()
    assert focused_cell(page) == ("wed", 21)
    assert page.locator("#win-start").input_value() == ""  # nothing filled in yet

    # A plain arrow moves without choosing; the same box chosen backwards, then Enter.
    page.keyboard.press("Shift+ArrowUp")
    page.keyboard.press("ArrowRight")
    assert focused_cell(page) == ("tue", 22)
    assert picked(page) == set()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowLeft")
    assert focused_cell(page) == ("wed", 21)
    press(page, "Shift+ArrowUp", 2)
    press(page, "Shift+ArrowLeft", 2)
    assert focused_cell(page) == ("mon", 19)
    assert picked(page) == three_by_three
    page.keyboard.press("Enter")
    assert page.locator("#win-start").input_value() == "19:00"
    assert page.locator("#win-end").input_value() == "22:00"
    assert ticked_days(page) == ["mon", "tue", "wed"]
    assert page.locator("#grid-said").inner_text() == (
        "Đã điền vào biểu mẫu: T2–T4, từ 19:00 đến 22:00.")
    assert page.evaluate("document.activeElement.id") == "win-name"

    page.keyboard.type("học bài")
    page.locator("#win-kind-block").check()
    page.locator("#win-cat-games").check()
    page.get_by_role("button", name="Thêm khung giờ này").click()
    page.wait_for_url("**/schedules?note=saved")
    assert "học bài" in page.locator(".windows").inner_text()
    drawn = page.evaluate("Array.from(document.querySelectorAll('td.cell.on'))"
                          ".map(c => [c.dataset.day, Number(c.dataset.hour)])")
    assert {(str(d), int(h)) for d, h in drawn} == three_by_three


def test_the_service_filter_narrows_as_one_types(served: WebServe, page: Any) -> None:
    sign_in_page(page, served.base)
    page.get_by_role("link", name="An", exact=True).first.click()
    page.wait_for_url("**/children/*")
    page.locator("#svc-filter").press_sequentially("lien quan")
    shown = page.evaluate("Array.from(document.querySelectorAll('#svc-pick option'))"
                          ".filter(o => !o.hidden).map(o => o.value)")
    assert shown == ["lien_quan"]
    assert page.locator("#svc-pick").input_value() == "lien_quan"
    page.locator("#svc-filter").fill("zzzz")
    page.locator("#svc-filter").dispatch_event("input")
    assert page.locator("#svc-none").is_visible()
