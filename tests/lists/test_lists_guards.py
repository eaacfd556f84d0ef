"""Guards on list updates: the shrink guard, byte and entry caps (gzip bombs), over-long
lines (files without line breaks), and atomic replacement of the files background jobs
write. Real files, a real HTTP server on 127.0.0.1, a real SQLite store."""

from __future__ import annotations

import gzip
import resource
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from safegate.config import ConfigError, load_settings
from safegate.lists import parse
from safegate.lists.auto import AUTO_DIR, export_specs, record_auto
from safegate.lists.fetch import ListLimits, fetch, shrink_problem
from safegate.lists.parse import SKIP_LONG_LINE, ParseReport, iter_batches, iter_entries
from safegate.lists.registry import add_source, cache_path, list_sources, update_sources
from safegate.store.db import make_engine, migrate, session_factory, sqlite_url
from tests.helpers import ListServer


@pytest.fixture
def server() -> Iterator[ListServer]:
    s = ListServer()
    yield s
    s.close()


def names(n: int, tag: str = "x") -> bytes:
    return b"".join(f"{tag}{i}.example\n".encode() for i in range(n))


def leftovers(directory: Path) -> list[str]:
    """Temporary files a writer left behind (they all start with a dot)."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


# --- 1. the shrink guard -------------------------------------------------------------


def test_shrink_problem_boundaries() -> None:
    assert shrink_problem(None, 1, 0.5) is None, "no last good copy: nothing to protect"
    assert shrink_problem(0, 0, 0.5) is None
    assert shrink_problem(1000, 1200, 0.5) is None, "growing is fine"
    assert shrink_problem(1000, 500, 0.5) is None, "exactly the share allowed"
    assert shrink_problem(1000, 600, 0.5) is None  # 40 % fewer
    held = shrink_problem(1000, 400, 0.5)
    assert held == ("held back: 400 entries, down from 1,000 (60% fewer; "
                    "lists.max_shrink allows 50%)")
    assert shrink_problem(1000, 1, 1.0) is None, "1 turns the check off"
    assert shrink_problem(1000, 999, 0.0) is not None, "0: no shrinking at all"


def test_source_that_shrinks_too_much_is_held_back(server: ListServer, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path))
    migrate(engine)
    server.body, server.etag = names(1000), '"v1"'
    with session_factory(engine).begin() as s:
        add_source(s, "extra", server.url, "adult")
        assert update_sources(s, tmp_path)[0].entries == 1000
    dest = cache_path(tmp_path, "extra")

    # 60 % fewer: held back, by the gate's refresh (force without names) too.
    server.body, server.etag = names(400), '"v2"'
    for kwargs in ({"force": True}, {"names": ["extra"]}):
        with session_factory(engine).begin() as s:
            (report,) = update_sources(s, tmp_path, **kwargs)  # type: ignore[arg-type]
        assert not report.changed and report.entries is None
        assert report.error and report.error.startswith(
            "held back: 400 entries, down from 1,000 (60% fewer"), report
        assert "safegate lists update --force extra" in report.error
        assert dest.read_bytes() == names(1000), "the last good copy stays"
        with session_factory(engine)() as s:
            (row,) = list_sources(s)
        assert row.entry_count == 1000 and row.last_error == report.error
    assert leftovers(dest.parent) == []

    # 40 % fewer: accepted.
    server.body, server.etag = names(600), '"v3"'
    with session_factory(engine).begin() as s:
        (report,) = update_sources(s, tmp_path, force=True)
    assert report.changed and report.entries == 600 and report.error is None
    assert dest.read_bytes() == names(600)
    with session_factory(engine)() as s:
        (row,) = list_sources(s)
    assert row.entry_count == 600 and row.last_error is None

    # The operator names the source and forces it: accepted whatever the shrink.
    server.body, server.etag = names(10), '"v4"'
    with session_factory(engine).begin() as s:
        assert update_sources(s, tmp_path, force=True)[0].error
        (report,) = update_sources(s, tmp_path, names=["extra"], force=True)
    assert report.changed and report.entries == 10 and dest.read_bytes() == names(10)

    # A looser setting lets the same drop through.
    server.body, server.etag = names(2), '"v5"'
    with session_factory(engine).begin() as s:
        (report,) = update_sources(s, tmp_path, force=True, limits=ListLimits(max_shrink=0.9))
    assert report.entries == 2


def test_shrink_guard_through_the_cli(server: ListServer, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "safegate.cli", "lists", *args,
                               "--data-dir", str(tmp_path)], capture_output=True, text=True,
                              timeout=120)

    server.body = names(100)
    subprocess.run([sys.executable, "-m", "safegate.cli", "migrate", "--data-dir",
                    str(tmp_path)], check=True, capture_output=True, timeout=120)
    assert run("add", "extra", server.url, "--category", "gambling").returncode == 0
    server.body, server.etag = names(30), '"v2"'
    held = run("update", "--force")
    assert held.returncode == 1
    assert "extra: FAILED, last good copy kept: held back: 30 entries, down from 100" \
        in held.stdout
    listed = run("list")
    assert "     100 entries" in listed.stdout, "the last good copy's count"
    assert "last error: held back: 30 entries" in listed.stdout
    forced = run("update", "--force", "extra")
    assert forced.returncode == 0 and "extra: updated, 30 entries" in forced.stdout


# --- 2. byte and entry caps --------------------------------------------------------------


def gzip_bomb(total_mib: int) -> bytes:
    """A small gzip file (members of 16 MiB each, concatenated) that inflates to
    ``total_mib`` MiB: NUL bytes with a line break after every MiB."""
    member = gzip.compress((b"\0" * ((1 << 20) - 1) + b"\n") * 16, compresslevel=9)
    return member * (total_mib // 16)


def test_gzip_bomb_stops_at_the_decompressed_cap(server: ListServer, tmp_path: Path) -> None:
    dest = tmp_path / "lists" / "l.txt"
    assert fetch(server.url, dest).changed
    bomb = gzip_bomb(1024)  # 1 GiB inflated
    assert len(bomb) < 2 * 1024 * 1024
    server.body, server.etag = bomb, '"bomb"'
    started = time.monotonic()
    result = fetch(server.url, dest)
    elapsed = time.monotonic() - started
    assert not result.changed
    assert result.error == ("larger than 67,108,864 bytes (decompressed) (lists.max_bytes); "
                            "not used"), result
    assert dest.read_bytes() == b"bad.example\nworse.example\n", "last good copy kept"
    assert leftovers(dest.parent) == []
    assert elapsed < 60, f"stopped at the cap, not after inflating it all ({elapsed:.1f} s)"


def test_content_encoding_bomb_stops_at_the_download_cap(server: ListServer,
                                                         tmp_path: Path) -> None:
    dest = tmp_path / "lists" / "l.txt"
    assert fetch(server.url, dest).changed
    server.body, server.etag = gzip_bomb(64), '"bomb"'
    server.extra_headers = {"Content-Encoding": "gzip"}  # httpx inflates it on the way
    result = fetch(server.url, dest, limits=ListLimits(max_bytes=4 * 1024 * 1024))
    assert result.error == "larger than 4,194,304 bytes (lists.max_bytes); not used"
    assert dest.read_bytes() == b"bad.example\nworse.example\n"
    assert leftovers(dest.parent) == []


def test_entry_cap(server: ListServer, tmp_path: Path) -> None:
    dest = tmp_path / "lists" / "l.txt"
    limits = ListLimits(max_entries=1000)
    server.body = names(1000)
    assert fetch(server.url, dest, limits=limits).entries == 1000, "the cap itself is fine"
    server.body, server.etag = names(1001, "y"), '"v2"'
    result = fetch(server.url, dest, limits=limits)
    assert result.error == "more than 1,000 entries (lists.max_entries); not used"
    assert dest.read_bytes() == names(1000)
    # Allow entries count too; a hosts line with several names counts each.
    server.body = b"0.0.0.0 " + b" ".join(f"h{i}.example".encode() for i in range(6)) \
        + b"\n" + b"@@||ok.example^\n" * 5
    assert fetch(server.url, dest, limits=ListLimits(max_entries=10)).error
    assert fetch(server.url, dest, limits=ListLimits(max_entries=11)).error is None


def test_local_file_source_is_capped_too(tmp_path: Path) -> None:
    src = tmp_path / "big.txt"
    src.write_bytes(names(10_000))
    dest = tmp_path / "lists" / "l.txt"
    result = fetch(str(src), dest, limits=ListLimits(max_bytes=10_000))
    assert result.error == "larger than 10,000 bytes (lists.max_bytes); not used"
    assert not dest.exists() and leftovers(dest.parent) == []


def test_limits_come_from_the_settings() -> None:
    assert ListLimits.from_settings(load_settings(env={})) == ListLimits(), \
        "the defaults are declared once and agree"
    assert ListLimits() == ListLimits(64 * 1024 * 1024, 2_000_000, 0.5)
    env = {"SAFEGATE_LISTS__MAX_BYTES": "1048576", "SAFEGATE_LISTS__MAX_ENTRIES": "5",
           "SAFEGATE_LISTS__MAX_SHRINK": "0.25"}
    assert ListLimits.from_settings(load_settings(env=env)) == ListLimits(1 << 20, 5, 0.25)
    for key, bad in [("SAFEGATE_LISTS__MAX_SHRINK", "1.5"), ("SAFEGATE_LISTS__MAX_ENTRIES", "0"),
                     ("SAFEGATE_LISTS__MAX_BYTES", "12")]:
        with pytest.raises(ConfigError, match=key.removeprefix("SAFEGATE_LISTS__").lower()):
            load_settings(env={key: bad})


# --- 3. over-long lines, files without line breaks ---------------------------------------


def parse_all(path: Path) -> tuple[list[str], ParseReport, list[str], ParseReport]:
    """Entries of ``path`` by both readers (file order, batches) with their reports."""
    first = ParseReport()
    ordered = [e.domain for e in iter_entries(path, first)]
    second = ParseReport()
    batched = [n for batch in iter_batches(path, second) for n in batch.names]
    return ordered, first, batched, second


@pytest.mark.parametrize("unit", [b"a", b"a.com "])
def test_file_without_line_breaks_is_linear_and_bounded(tmp_path: Path, unit: bytes) -> None:
    def cpu_seconds(path: Path) -> float:
        best = float("inf")
        for _ in range(3):
            started = time.thread_time()
            parse_all(path)
            best = min(best, time.thread_time() - started)
        return best

    sizes = {2: tmp_path / "2mb.txt", 8: tmp_path / "8mb.txt"}
    for mb, path in sizes.items():
        path.write_bytes(unit * (mb * 1_000_000 // len(unit)))
    ordered, first, batched, second = parse_all(sizes[8])
    assert ordered == batched == []
    assert first.skipped == second.skipped == {SKIP_LONG_LINE: 1}
    assert first.examples[SKIP_LONG_LINE] == (unit * 200).decode()[:120]

    small, big = cpu_seconds(sizes[2]), cpu_seconds(sizes[8])
    print(f"\n{unit!r}: 2 MB {small * 1000:.1f} ms, 8 MB {big * 1000:.1f} ms CPU, "
          f"ratio {big / small:.1f}")
    assert big < 8 * small, f"not linear: 2 MB {small:.4f} s, 8 MB {big:.4f} s"

    tracemalloc.start()
    try:
        parse_all(sizes[8])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"peak {peak / 2**20:.1f} MiB")
    assert peak < 6 * 2**20, f"{peak / 2**20:.1f} MiB held for one 8 MB line"


@pytest.mark.parametrize("chunk", [1000, 4096, 16_388, 16_389, 20_000, 20_001, 1 << 20])
@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_over_long_lines_are_skipped_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           chunk: int, ending: str) -> None:
    monkeypatch.setattr(parse, "CHUNK_BYTES", chunk)
    hosts = "0.0.0.0 " + " ".join(f"h{i}.example" for i in range(600))  # 7,000+ chars
    lines = ["first.example", "a" * 20_000, "second.example", hosts, "é" * 5000,
             "third.example", "b" * 4096, "x" * 4097 + "." + "a" * 30_000]
    path = tmp_path / "l.txt"
    path.write_bytes(ending.join(lines).encode())  # (no final line break)
    ordered, first, batched, second = parse_all(path)
    assert ordered == ["first.example", "second.example", "third.example"]
    assert sorted(batched) == sorted(ordered)
    # "b" * 4096 is within the cap (and not a host name: labels are at most 63).
    assert first.skipped == second.skipped == {SKIP_LONG_LINE: 4, parse.SKIP_NOT_HOST: 1}


# --- 4. atomic replacement ----------------------------------------------------------------


def with_file_size_limit(limit: int, action: Callable[[], object]) -> None:
    """Run ``action`` while this process may write no file past ``limit`` bytes (a full
    disk, as far as a writer can tell: EFBIG). Raises what ``action`` raises."""
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old_limit[1]))
    try:
        action()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


def test_export_keeps_the_old_file_when_a_write_fails(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path))
    migrate(engine)
    with session_factory(engine).begin() as s:
        for i in range(10):
            record_auto(s, f"old{i}.example", "gambling", 0.95)
    with session_factory(engine).begin() as s:
        (spec,) = export_specs(s, tmp_path)
    old = spec.path.read_bytes()
    with session_factory(engine).begin() as s:
        for i in range(5000):
            record_auto(s, f"new-domain-number-{i}.example", "gambling", 0.95)

    def export() -> None:
        with session_factory(engine).begin() as s:
            export_specs(s, tmp_path)

    with pytest.raises(OSError):
        with_file_size_limit(16 * 1024, export)
    assert spec.path.read_bytes() == old, "a reader never sees a half-written file"
    assert leftovers(tmp_path / AUTO_DIR) == []
    export()  # room again: the new file is written whole
    assert spec.path.read_bytes().count(b"\n") == 5010


def test_fetch_keeps_the_old_copy_when_the_disk_fills(server: ListServer,
                                                      tmp_path: Path) -> None:
    dest = tmp_path / "lists" / "l.txt"
    assert fetch(server.url, dest).changed
    server.body, server.etag = names(5000), '"v2"'
    results = []
    with_file_size_limit(16 * 1024, lambda: results.append(fetch(server.url, dest)))
    assert results[0].error and not results[0].changed
    assert dest.read_bytes() == b"bad.example\nworse.example\n"
    assert leftovers(dest.parent) == []
    assert fetch(server.url, dest).entries == 5000
