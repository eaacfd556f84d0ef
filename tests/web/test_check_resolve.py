"""The child's page "Would this be blocked now?" with "Also look it up on the internet" ticked,
against a real `safegate serve` and a real local DNS server: a name of its own that leads
(CNAME) to a name the parent denied is answered blocked and shows where it leads; unticked,
the name alone is judged (allowed)."""

from __future__ import annotations

from pathlib import Path

from safegate.app.core import App
from safegate.app.family import PolicyChange, list_children, set_policy
from safegate.config import load_settings
from tests.helpers import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    FakeUpstream,
    demo_data_dir,
    signed_in_client,
    start_web_serve,
)

ALIAS = "cdn.alias.example"


def test_the_check_follows_the_name_where_the_device_would_go(tmp_path: Path) -> None:
    upstream = FakeUpstream().start()
    upstream.behaviour.records[ALIAS] = [("CNAME", "tracker.denied.example."),
                                         ("A", "192.0.2.8")]
    data = demo_data_dir(tmp_path / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    an = {c.name: c.id for c in list_children(app)}["An"]
    set_policy(app, "An", PolicyChange(deny=("tracker.denied.example",)))
    app.close()
    served = start_web_serve("--demo", "--no-default-lists", "--data-dir", str(data),
                             "--upstream", f"127.0.0.1:{upstream.port}")
    try:
        parent = signed_in_client(served.base, DEMO_LOGIN, DEMO_PASSWORD)
        alone = parent.get(f"/children/{an}", params={"domain": ALIAS}).text
        assert "<strong>Được phép</strong>" in alone and 'id="check-cnames"' not in alone
        followed = parent.get(f"/children/{an}", params={"domain": ALIAS, "resolve": "1"})
        assert followed.status_code == 200, followed.text
        assert "<strong>Bị chặn</strong>" in followed.text
        assert "Tên này dẫn tới: tracker.denied.example" in followed.text
        assert 'id="check-resolve" name="resolve" type="checkbox" value="1" checked' in \
            followed.text
        api = parent.get(f"/api/v1/children/{an}/check",
                         params={"domain": ALIAS, "resolve": "true"}).json()
        assert api["action"] == "block" and api["cnames"] == ["tracker.denied.example"]
        parent.close()
    finally:
        served.stop()
        upstream.stop()
