"""Replacing files that other processes read (list copies, exported lists): whole or not
at all. New content goes to a temporary file in the same directory, reaches the disk
(fsync), and only then takes the old name in one rename: a reader sees the old file or the
new one, never half of one, and a crash leaves at worst a stray temporary file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

TEMP_PREFIX = ".tmp-"
TEMP_SUFFIX = ".part"


def temp_beside(dest: Path, prefix: str = TEMP_PREFIX) -> tuple[int, Path]:
    """An open descriptor and the path of a new temporary file next to ``dest`` (its
    directory is created if need be)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=prefix, suffix=TEMP_SUFFIX)
    return fd, Path(name)


def _fsync_path(path: Path, flags: int = os.O_RDONLY) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(tmp: Path, dest: Path) -> None:
    """Make the finished file ``tmp`` (in ``dest``'s directory) the new ``dest``."""
    _fsync_path(tmp)
    os.replace(tmp, dest)
    # The rename itself is durable once the directory is synced (where that exists).
    with contextlib.suppress(OSError):
        _fsync_path(dest.parent, getattr(os, "O_DIRECTORY", 0) | os.O_RDONLY)


def write_atomically(dest: Path, data: bytes) -> None:
    """Replace ``dest`` with ``data``; on any failure ``dest`` is untouched and no
    temporary file is left."""
    fd, tmp = temp_beside(dest)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        commit(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
