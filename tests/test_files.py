"""safegate.files: private, atomic files."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from safegate.files import publish_private, write_private


def _publish(args: tuple[str, bytes]) -> bool:
    return publish_private(args[0], args[1])


def test_publish_private_creates_once_and_never_replaces(tmp_path: Path) -> None:
    dest = tmp_path / "keys" / "secret.key"
    assert publish_private(dest, b"first") is True
    assert dest.read_bytes() == b"first"
    assert dest.stat().st_mode & 0o777 == 0o600
    assert dest.parent.stat().st_mode & 0o777 == 0o700
    assert publish_private(dest, b"second") is False
    assert dest.read_bytes() == b"first"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["secret.key"], "no temp file left"


def test_publish_private_racing_processes_agree_on_one_file(tmp_path: Path) -> None:
    dest = tmp_path / "secret.key"
    jobs = [(str(dest), f"writer {n}".encode()) for n in range(8)]
    with multiprocessing.get_context("fork").Pool(4) as pool:
        made = pool.map(_publish, jobs)
    assert made.count(True) == 1
    assert dest.read_bytes() == jobs[made.index(True)][1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]


def test_write_private_replaces(tmp_path: Path) -> None:
    dest = tmp_path / "qr.svg"
    dest.write_bytes(b"old")
    dest.chmod(0o644)
    write_private(dest, b"new")
    assert dest.read_bytes() == b"new" and dest.stat().st_mode & 0o777 == 0o600
