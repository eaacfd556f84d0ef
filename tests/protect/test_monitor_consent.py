"""The Monitor library class checks the message_monitoring consent itself (not only the
command line): refused without it, and a consent withdrawn while it runs stops the watch
before the next message is read. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from safegate.app.consent import give_consent, withdraw_consent
from safegate.app.core import App
from safegate.app.family import add_child, add_org
from safegate.config import load_settings
from safegate.privacy.consent import ConsentError
from safegate.privacy.crypto import Keyring
from safegate.protect.monitor import Monitor, find_profile
from safegate.store.models import Alert

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SELF_HARM = "tao muốn chết, không muốn sống nữa"


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    add_org(made, "Nhà Lan")
    add_child(made, "An", 2014, now=NOW, actor="cli:lan")
    yield made
    made.close()


def _line(i: int) -> str:
    return json.dumps({"sender": "An", "time": f"2026-06-01T20:{i:02d}:00", "text": SELF_HARM,
                       "conversation": f"c{i}"}, ensure_ascii=False)


def test_the_monitor_refuses_without_consent_and_stops_when_it_is_withdrawn(
        app: App, engine: Engine) -> None:
    with app.sessions()() as session:
        profile = find_profile(session, "An")
    key = Keyring.generate()
    with pytest.raises(ConsentError, match="no message_monitoring consent from the parent "
                                           "and the child"):
        Monitor(engine, profile, key)
    give_consent(app, "An", "message_monitoring", by="parent", actor="parent:Lan")
    with pytest.raises(ConsentError, match="from the child"):
        Monitor(engine, profile, key)
    give_consent(app, "An", "message_monitoring", by="child", actor="child:An")
    monitor = Monitor(engine, profile, key, consent_recheck=0)

    read: list[int] = []

    def lines() -> Iterator[str]:
        for i in range(4):
            read.append(i)
            if i == 2:  # the child withdraws between the second and third message
                withdraw_consent(app, "An", "message_monitoring", by="child",
                                 actor="child:An")
            yield _line(i)

    outputs: list[str] = []
    stats = monitor.run(lines(), outputs.append)
    assert read == [0, 1, 2]  # the fourth line was never read
    assert stats.messages == 2 and stats.stopped and "from the child" in stats.stopped
    assert "message_monitoring" in json.loads(outputs[-1])["error"]
    with app.sessions()() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 2
