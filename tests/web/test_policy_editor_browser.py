"""The policy editor in a real browser (Playwright driving Debian's chromium, headless)
against a real `safegate serve`: dragging over the weekly grid fills in the window form, the
window it adds is listed and drawn, and the service filter narrows the list as one types."""

from __future__ import annotations

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


def fills(page: Any, selector: str) -> set[str]:
    """The background colours the cells matching `selector` are drawn with."""
    return set(page.evaluate("s => Array.from(document.querySelectorAll(s))"
                             ".map(c => getComputedStyle(c).backgroundColor)", selector))


def test_dragging_over_the_grid_fills_the_form(served: WebServe, page: Any) -> None:
    sign_in_page(page, served.base)
    page.get_by_role("link", name="An", exact=True).first.click()
    page.wait_for_url("**/children/*")
    page.locator("#link-schedules").click()
    page.wait_for_url("**/schedules")
    assert page.locator("#grid-hint").is_visible()  # the script is running
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
    ticked = [d for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
              if page.locator(f"#win-day-{d}").is_checked()]
    assert ticked == ["mon", "tue", "wed"]
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
