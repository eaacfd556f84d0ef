"""The alerts page in a real browser (Playwright driving Debian's chromium, headless) against
a real `safegate serve`: the nav link leads to An's urgent alert with its guidance open and
the hotline, "Hữu ích" is recorded, quiet hours are saved, the push button is offered, and
the page fits a 360-px-wide phone."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from safegate.app.core import App
from safegate.config import load_settings
from safegate.protect.alerts import Limits
from safegate.protect.monitor import seal_snippet, store_alert
from safegate.protect.spool import PendingAlert
from safegate.store.models import Alert, NotifyPrefs, Profile
from safegate.store.values import utcnow
from tests.helpers import (
    CHROMIUM,
    WebServe,
    demo_data_dir,
    sign_in_page,
    web_served,
)

pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                                reason="needs Debian's chromium (make apt-test)")


def _app(data: Path) -> App:
    return App(load_settings(env={}, overrides={"server.data_dir": str(data)}))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[WebServe, Path, int]]:
    data = demo_data_dir(tmp_path / "data")
    app = _app(data)
    with app.sessions()() as session:
        an = session.scalars(select(Profile.id).where(Profile.name == "An")).one()
    pending = PendingAlert(an, "chat-1", "self_harm", "urgent", 0.95, "self_harm", "rules",
                           utcnow() - timedelta(minutes=3),
                           seal_snippet("mình không muốn sống nữa", app.keyring(), an))
    with app.sessions().begin() as session:
        outcome = store_alert(session, pending, app.keyring(), limits=Limits(), actor="test")
        assert outcome.alert is not None
        alert_id = outcome.alert.id
    app.close()
    (data / "web.toml").write_text("[notify]\ndeliver_interval = 0\n")
    with web_served("--config", str(data / "web.toml"), "--demo", "--no-default-lists",
                    "--data-dir", str(data)) as serve:
        yield serve, data, alert_id


def test_the_alerts_page_in_a_browser(served: tuple[WebServe, Path, int], page: Any) -> None:
    serve, data, alert_id = served
    sign_in_page(page, serve.base)
    page.get_by_role("link", name="Cảnh báo").click()
    page.wait_for_url("**/alerts")
    card = page.locator(f"#alert-{alert_id}")
    assert "Khẩn cấp" in card.inner_text() and "mình không muốn sống nữa" in card.inner_text()
    assert card.locator(".hotline").is_visible() and "111" in card.locator(".hotline").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= 360")
    assert page.locator("#push-subscribe").is_visible()  # chromium has PushManager

    card.get_by_role("button", name="Hữu ích").click()
    page.wait_for_url("**/alerts*")
    assert page.locator(f"#alert-{alert_id}").get_by_role(
        "button", name="Hữu ích").get_attribute("aria-pressed") == "true"

    page.get_by_label("Giờ yên lặng từ (HH:MM, giờ của gia đình)").fill("21:30")
    page.get_by_label("đến", exact=True).fill("06:30")
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_selector("text=Đã lưu.")
    app = _app(data)
    try:
        with app.sessions()() as session:
            assert session.get_one(Alert, alert_id).feedback == "helpful"
            [prefs] = session.scalars(select(NotifyPrefs)).all()
            assert (prefs.quiet_start, prefs.quiet_end, prefs.email) == ("21:30", "06:30", True)
    finally:
        app.close()
