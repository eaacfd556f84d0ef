"""The school's CSV upload page in a real browser (Playwright driving Debian's chromium,
headless) against a real `safegate serve`: a file with bad rows shows each row's error and
imports nothing; the corrected file imports, and the class page lists its students."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safegate.app.accounts import add_user
from safegate.app.core import App
from safegate.app.family import add_org
from safegate.config import load_settings
from tests.helpers import (
    CHROMIUM,
    WebServe,
    demo_data_dir,
    web_served,
)

ADMIN, PASSWORD = "bgh@truong.edu.vn", "mật khẩu trường 2026"
HEADER = "class,student,birth_year,device,kind,address\n"

pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                                reason="needs Debian's chromium (make apt-test)")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[WebServe]:
    data = demo_data_dir(tmp_path / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    add_org(app, "Trường Tiểu học Kim Liên", kind="school")
    add_user(app, ADMIN, PASSWORD, org="Trường Tiểu học Kim Liên", role="school_admin")
    app.close()
    with web_served("--demo", "--no-default-lists", "--data-dir", str(data)) as serve:
        yield serve


def test_the_upload_page_shows_row_errors_then_imports(served: WebServe, page: Any,
                                                      tmp_path: Path) -> None:
    bad, good = tmp_path / "lop-3a-sai.csv", tmp_path / "lop-3a.csv"
    bad.write_text(HEADER + "3A,Phan Minh Khang,2018,Máy tính bảng,tablet,10.1.3.1\n"
                            "3A,Bùi Lan,2018,Điện thoại,fridge,10.1.3.2\n"
                            "3A,Mai Ngọc,20x8,,,\n")
    good.write_text(HEADER + "3A,Phan Minh Khang,2018,Máy tính bảng,tablet,10.1.3.1\n"
                             "3A,Bùi Lan,2018,Điện thoại,phone,10.1.3.2\n"
                             "3A,Mai Ngọc,2018,,,\n")
    page.goto(served.base + "/signin")
    page.fill("#login", ADMIN)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/school")
    assert page.locator("h1").inner_text() == "Trường học"
    page.set_input_files("#import-file", str(bad))
    page.click("#import-file ~ button[type=submit]")
    problems = page.locator("#import-problems li")
    problems.first.wait_for()
    texts = problems.all_inner_texts()
    assert [t.split(":")[0] for t in texts] == ["row 3, column kind",
                                                "row 4, column birth_year"], texts
    assert "Chưa nhập gì cả" in page.locator("#import-problems").inner_text()
    assert page.locator("#classes li").count() == 0
    page.set_input_files("#import-file", str(good))
    page.click("#import-file ~ button[type=submit]")
    page.locator("#import-done").wait_for()
    assert "3 dòng" in page.locator("#import-done").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= 360")
    page.click("#classes a")
    page.wait_for_url("**/school/classes/*")
    assert page.locator("#pupils li").count() == 3
