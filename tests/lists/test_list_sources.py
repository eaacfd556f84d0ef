"""Subscribed list sources: downloads with ETag, last good copy, the CLI, the gate."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safegate.lists.fetch import ListLimits, fetch
from safegate.lists.registry import (
    SourceError,
    add_source,
    cache_path,
    list_sources,
    store_specs,
    update_sources,
)
from safegate.store.db import make_engine, migrate, session_factory, sqlite_url
from tests.helpers import ListServer, addresses, ask


@pytest.fixture
def server() -> Iterator[ListServer]:
    s = ListServer()
    yield s
    s.close()


def test_fetch_uses_etag_and_keeps_last_good_copy(server: ListServer, tmp_path: Path) -> None:
    dest = tmp_path / "cache" / "l.txt"
    first = fetch(server.url, dest)
    assert first.changed and first.entries == 2 and first.etag == '"v1"'
    again = fetch(server.url, dest, etag=first.etag)
    assert not again.changed and again.error is None
    assert server.requests[-1].get("If-None-Match") == '"v1"'

    for body, status, expect in [
        (b"<!DOCTYPE html><html>captive portal</html>", 200, "HTML"),
        (b"# only a comment\n", 200, "no usable entries"),
        (b"\x1f\x8b\x08broken-gzip", 200, "damaged"),
        (b"x", 500, "HTTP 500"),
    ]:
        server.body, server.status, server.etag = body, status, '"other"'
        result = fetch(server.url, dest, etag='"v1"')
        assert not result.changed and result.error and expect in result.error, result
        assert dest.read_bytes() == b"bad.example\nworse.example\n", "last good copy kept"
    assert not list(dest.parent.glob(".fetch-*")), "no temporary files left behind"


def test_fetch_refuses_huge_downloads(server: ListServer, tmp_path: Path) -> None:
    server.body = b"a.example\n" * 1000
    result = fetch(server.url, tmp_path / "l.txt", limits=ListLimits(max_bytes=500))
    assert result.error and "larger than" in result.error
    assert not (tmp_path / "l.txt").exists()


def test_fetch_local_gzip_file(tmp_path: Path) -> None:
    src = tmp_path / "src.txt.gz"
    src.write_bytes(gzip.compress(b"0.0.0.0 a.example\n0.0.0.0 b.example\n"))
    result = fetch(str(src), tmp_path / "cache" / "x.txt")
    assert result.changed and result.entries == 2
    missing = fetch(str(tmp_path / "nope.txt"), tmp_path / "cache" / "y.txt")
    assert missing.error and "cannot read" in missing.error


def test_registry_validation_and_update(server: ListServer, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path))
    migrate(engine)
    with session_factory(engine).begin() as s:
        add_source(s, "school-extra", server.url, "adult")
        for bad in [dict(name="Bad Name"), dict(category="nonsense"),
                    dict(location="/no/such/file"), dict(name="school-extra")]:
            args = {"name": "ok", "location": server.url, "category": "adult", **bad}
            with pytest.raises(SourceError):
                add_source(s, args["name"], args["location"], args["category"])
    with session_factory(engine).begin() as s:
        reports = update_sources(s, tmp_path)
        assert [(r.name, r.changed, r.entries) for r in reports] == [("school-extra", True, 2)]
        assert update_sources(s, tmp_path) == [], "not due again before its interval"
        copy = cache_path(tmp_path, "school-extra").stat().st_mtime_ns
        forced = update_sources(s, tmp_path, force=True)
        assert forced[0].error is None and not forced[0].changed  # 304 Not Modified
        # A 304 leaves the copy's time alone: the gate rebuilds its index when it changes.
        assert cache_path(tmp_path, "school-extra").stat().st_mtime_ns == copy
    server.status = 503
    with session_factory(engine).begin() as s:
        failed = update_sources(s, tmp_path, force=True)[0]
        assert failed.error == f"HTTP 503 from {server.url}"
    with session_factory(engine)() as s:
        (row,) = list_sources(s)
        assert row.entry_count == 2 and row.last_error and "503" in row.last_error
        specs = store_specs(s, tmp_path)
        assert [x.key for x in specs] == ["source/school-extra"]
        assert specs[0].category == "adult"


def test_subscribed_source_blocks_in_the_gate(server: ListServer, make_gate: Any,
                                              tmp_path: Path) -> None:
    data_dir = tmp_path / "gate"
    engine = make_engine(sqlite_url(data_dir))
    migrate(engine)
    with session_factory(engine).begin() as s:
        add_source(s, "extra", server.url, "adult")
        update_sources(s, data_dir)
    g = make_gate(data_dir=data_dir)
    assert addresses(ask(g.port, "www.bad.example")) == ["0.0.0.0"]
    server.body, server.etag = b"new.example\n", '"v2"'
    assert g.runtime.update_sources() is False, "not due yet"
    assert g.runtime.update_sources(force=True) is True
    g.reload()
    assert addresses(ask(g.port, "new.example")) == ["0.0.0.0"]
    assert addresses(ask(g.port, "www.bad.example")) == ["192.0.2.1"]


def test_lists_cli(server: ListServer, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "safegate.cli", "lists", *args,
                               "--data-dir", str(tmp_path)], capture_output=True, text=True,
                              timeout=120)

    unmigrated = run("add", "extra", server.url, "--category", "gambling")
    assert unmigrated.returncode == 1 and "run `safegate migrate`" in unmigrated.stderr
    assert "Traceback" not in unmigrated.stderr
    migrated = subprocess.run([sys.executable, "-m", "safegate.cli", "migrate", "--data-dir",
                               str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0 and "schema at" in migrated.stdout
    added = run("add", "extra", server.url, "--category", "gambling")
    assert added.returncode == 0 and "added extra: 2 entries" in added.stdout
    listed = run("list", "--json")
    assert '"name": "extra"' in listed.stdout and '"entries": 2' in listed.stdout
    server.status = 404
    failed = run("update", "extra")
    assert failed.returncode == 1 and "last good copy kept" in failed.stdout
    bad = run("add", "x", server.url, "--category", "nonsense")
    assert bad.returncode != 0 and "category 'nonsense' is unknown" in bad.stderr
    stats = run("stats")
    assert "source/extra" in stats.stdout and "distinct names" in stats.stdout
    assert run("remove", "extra").returncode == 0
    assert "no subscribed sources" in run("list").stdout


def test_every_node_gets_its_own_copy_when_nodes_share_the_database(
        server: ListServer, tmp_path: Path) -> None:
    """Two nodes, one database: the row's ETag describes the copy of the node that fetched
    last, so the other node must download rather than ask "changed since?" (a 304 would
    leave it with no copy, or an old one)."""
    engine = make_engine(sqlite_url(tmp_path / "db"))
    migrate(engine)
    node_a, node_b = tmp_path / "a", tmp_path / "b"
    with session_factory(engine).begin() as s:
        add_source(s, "extra", server.url, "adult")
        assert update_sources(s, node_a)[0].entries == 2
    with session_factory(engine).begin() as s:
        [report] = update_sources(s, node_b, names=["extra"])
    assert report.error is None and report.changed, report
    assert cache_path(node_b, "extra").read_bytes() == server.body
    assert "If-None-Match" not in server.requests[-1]
    # The list changes; node A fetches it first and the row now carries v2.
    server.body, server.etag = b"bad.example\nworse.example\nnew.example\n", '"v2"'
    with session_factory(engine).begin() as s:
        assert update_sources(s, node_a, names=["extra"])[0].entries == 3
    with session_factory(engine).begin() as s:
        [report] = update_sources(s, node_b, names=["extra"])
    assert report.error is None and report.entries == 3, report
    assert b"new.example" in cache_path(node_b, "extra").read_bytes()
    # Node B, whose copy the row now describes, asks "changed since?" and gets a 304.
    with session_factory(engine).begin() as s:
        [report] = update_sources(s, node_b, names=["extra"])
    assert report.error is None and not report.changed
    assert server.requests[-1].get("If-None-Match") == '"v2"'
    engine.dispose()
