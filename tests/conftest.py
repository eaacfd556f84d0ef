"""Shared fixtures: a fake upstream and a gate running for real on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from safegate.app.core import App
from safegate.app.gate_process import GateProcess
from safegate.config import load_settings
from safegate.store import make_engine, migrate, sqlite_url
from safegate.store.models import Base
from safegate.store.repo import create_demo_household
from tests.helpers import (
    BACKENDS,
    CHROMIUM,
    CHROMIUM_ARGS,
    FakeUpstream,
    LoopThread,
    postgresql_schema,
)


class GateRunner:
    """A gate (GateProcess) serving on 127.0.0.1:<free port> from a background loop."""

    def __init__(self, data_dir: Path, upstreams: list[str], blocklists: list[Path],
                 demo: bool, overrides: dict[str, Any]) -> None:
        settings = load_settings(env={}, overrides={
            "server.data_dir": str(data_dir),
            "gate.dns": "127.0.0.1:0",
            "gate.upstreams": upstreams,
            "gate.blocklists": [str(p) for p in blocklists],
            "gate.default_lists": False,
            "gate.upstream_timeout": 0.5,
            "gate.health_interval": 0.2,
            **overrides,
        })
        self.runtime = GateProcess(App(settings))
        if demo:  # the demo household without its weekly windows: answers not by the hour
            app = self.runtime.app
            app.migrate()
            with app.sessions().begin() as session:
                create_demo_household(session, schedules=False)
        self.loop = LoopThread()
        self.loop.start()
        self.port: int = self.loop.call(self.runtime.start(demo=demo))
        assert self.runtime.gate is not None
        self.gate = self.runtime.gate

    def reload(self) -> str:
        result: str = self.loop.call(self.runtime.reload())
        return result

    def stop(self) -> None:
        self.loop.call(self.runtime.stop())
        self.loop.stop()


@pytest.fixture(scope="session")
def postgresql_engine() -> Iterator[Engine]:
    """One migrated schema for the whole test session; ``engine`` empties it before each test."""
    with postgresql_schema("PostgreSQL store tests") as url:
        engine = make_engine(url)
        migrate(engine)
        yield engine
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database: a new SQLite file, or the session's PostgreSQL schema."""
    if request.param == "sqlite":
        sqlite_engine = make_engine(sqlite_url(tmp_path / "data"))
        migrate(sqlite_engine)
        yield sqlite_engine
        sqlite_engine.dispose()
        return
    pg: Engine = request.getfixturevalue("postgresql_engine")
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with pg.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    yield pg


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    up = FakeUpstream().start()
    yield up
    up.stop()


@pytest.fixture
def make_gate(tmp_path: Path, upstream: FakeUpstream) -> Iterator[Any]:
    runners: list[GateRunner] = []

    def make(lists: dict[str, list[str]] | None = None, *, demo: bool = False,
             upstreams: list[str] | None = None, data_dir: Path | None = None,
             **overrides: Any) -> GateRunner:
        files = []
        for name, domains in (lists or {}).items():
            path = tmp_path / f"{name}.txt"
            path.write_text("\n".join(domains) + "\n")
            files.append(path)
        runner = GateRunner(
            data_dir or tmp_path / f"data{len(runners)}",
            upstreams if upstreams is not None else [f"127.0.0.1:{upstream.port}"],
            files, demo, overrides,
        )
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        runner.stop()


@pytest.fixture
def page() -> Iterator[Any]:
    """A headless Chromium page (Debian's browser) the size of a phone, in Vietnamese."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
        yield context.new_page()
        context.close()
        browser.close()
