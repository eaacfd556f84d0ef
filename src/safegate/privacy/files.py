"""Files only the service user can read: directories 0700, files 0600, whatever the umask.

Everything SafeGate writes under its data directory (the SQLite database and its WAL/SHM
files, ``secret.key``, the alert spool, list copies) goes through these helpers. The mode is
given at creation (``os.open``/``os.mkdir``) and then set exactly with ``chmod``: a umask can
only take bits away, and a strict umask (say 0277) would otherwise leave a file the service
cannot write. Existing files and directories are left as they are.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = [
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "create_private_file",
    "private_dir",
    "write_private_bytes",
]

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path | str) -> Path:
    """``path`` as a directory, creating it and any missing parents with mode 0700."""
    target = Path(path).expanduser()
    missing: list[Path] = []
    current = target
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, PRIVATE_DIR_MODE)
        except FileExistsError:  # created meanwhile by another process: not ours to change
            continue
        os.chmod(directory, PRIVATE_DIR_MODE)
    return target


def create_private_file(path: Path | str) -> bool:
    """Create ``path`` empty with mode 0600 (its directory 0700) unless it exists.

    True when this call created it."""
    target = Path(path)
    private_dir(target.parent)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return True


def write_private_bytes(path: Path | str, data: bytes) -> None:
    """Replace ``path`` atomically with ``data`` in a new 0600 file (fsynced first)."""
    target = Path(path)
    private_dir(target.parent)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
