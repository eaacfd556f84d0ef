"""`safegate serve` as a process: SIGHUP at any moment (start-up included) never kills the
supervisor or a worker, and every file it creates under its data directory is private."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

from tests.helpers import SAFEGATE, FakeUpstream, addresses, free_port, query, ready_query


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _handles_sighup(pid: int) -> bool:
    """The process ignores or catches SIGHUP (bit 0 of SigIgn or SigCgt in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    masks = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    return any(int(masks.get(key, "0").strip(), 16) & 1 for key in ("SigIgn", "SigCgt"))


def _answers(port: int, *, at_once: bool = False) -> bool:
    """The gate on ``port`` answers; ``at_once``: asked from a connected socket, so that the
    question fails at once while nothing listens (a plain query waits out its 3 s timeout)."""
    try:
        return addresses(ready_query(port) if at_once else query(port, "ready.example")) \
            == ["192.0.2.1"]
    except Exception:
        return False


def test_sighup_storm_from_the_first_moment_kills_nothing(tmp_path: Path) -> None:
    upstream = FakeUpstream().start()
    port = free_port()
    proc = subprocess.Popen(
        [*SAFEGATE, "serve", "--workers", "2", "--no-default-lists", "--data-dir",
         str(tmp_path), "--upstream", f"127.0.0.1:{upstream.port}", "--dns", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sent = 0
    try:
        deadline = time.monotonic() + 120  # a busy CI machine starts slowly
        ready_at: float | None = None
        # SIGHUP every 20 milliseconds to the supervisor and to every worker it has, from
        # the moment the command line took SIGHUP over (the interpreter's own start-up comes
        # before that) until a second after the gate answers.
        while not _handles_sighup(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.001)
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            for pid in [proc.pid, *_children(proc.pid)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGHUP)
                    sent += 1
            time.sleep(0.02)
            if ready_at is None and _answers(port, at_once=True):
                ready_at = time.monotonic()
            if ready_at is not None and time.monotonic() - ready_at > 1.0:
                break
        assert ready_at is not None, "the gate never answered"
        workers = _children(proc.pid)
        assert len(workers) == 2, workers
        time.sleep(0.5)
        assert _answers(port)
        assert sorted(_children(proc.pid)) == sorted(workers), "a worker was replaced"
    finally:
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # never leave a server behind, even on failure
            for pid in [proc.pid, *workers]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            out, _ = proc.communicate(timeout=10)
            out += "\n(killed: it did not stop on SIGTERM)"
        upstream.stop()
    print(f"{sent} SIGHUPs sent")
    assert proc.returncode == 0, out
    assert out.count("listening on udp/tcp") == 2, out
    assert "exited" not in out and "Traceback" not in out, out
    assert "reload failed" not in out, out  # a SIGHUP while starting waits for the gate


def _loose(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{path.relative_to(root.parent)} {mode:o}")
    return found


def test_serve_creates_private_files_whatever_the_umask(tmp_path: Path) -> None:
    upstream = FakeUpstream().start()
    port = free_port()
    data = tmp_path / "new" / "data"
    proc = subprocess.Popen(
        ["sh", "-c", 'umask 022 && exec "$@"', "sh", *SAFEGATE, "serve", "--demo",
         "--no-default-lists", "--data-dir", str(data), "--upstream",
         f"127.0.0.1:{upstream.port}", "--dns", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _answers(port, at_once=True):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        names = {p.name for p in data.iterdir()}
        assert "safegate.db" in names and not any(n.endswith(".pid") for n in names), names
        assert _loose(tmp_path / "new") == []
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        upstream.stop()
    assert proc.returncode == 0, out
