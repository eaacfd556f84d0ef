"""Files under the data directory: readable by the service user only, replaced whole.

Directories are created 0700 and files 0600, whatever the umask: the mode is given at
creation (``os.open``/``os.mkdir``/``mkstemp``) and then set exactly, since a umask can only
take bits away and a strict one (say 0277) would leave a file the service cannot write.
Existing files and directories keep their mode.

Files that other processes read (list copies, exported lists, the alert spool) are replaced
atomically: new content goes to a temporary file in the same directory, reaches the disk
(fsync), and only then takes the old name in one rename. A reader sees the old file or the
new one, never half of one; a failure leaves the old file and no temporary file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
TEMP_PREFIX = ".tmp-"
TEMP_SUFFIX = ".part"


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
    """Create ``path`` empty with mode 0600 (its directory 0700) unless it exists; True when
    this call created it."""
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


@contextlib.contextmanager
def locked(path: Path | str) -> Iterator[None]:
    """Hold an exclusive flock on the private lock file ``path`` (blocking; across processes
    and threads, each opening the file anew); released when the block ends or the process
    dies."""
    create_private_file(path)
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def temp_beside(dest: Path, prefix: str = TEMP_PREFIX) -> tuple[int, Path]:
    """An open descriptor and the path of a new 0600 temporary file next to ``dest`` (its
    directory is created 0700 if need be)."""
    private_dir(dest.parent)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=prefix, suffix=TEMP_SUFFIX)
    os.fchmod(fd, PRIVATE_FILE_MODE)
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


def _write_synced(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def publish_private(dest: Path | str, data: bytes) -> bool:
    """Create ``dest`` holding ``data`` (0600) unless it exists: True when this call made it.
    Readers see the whole file or none; when two processes race, the first one's file stays
    (a hard link never replaces), and the file and its name are synced before returning."""
    target = Path(dest)
    fd, tmp = temp_beside(target)
    try:
        _write_synced(fd, data)
        try:
            os.link(tmp, target)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: exclusive create, never clobbers
            try:
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
            except FileExistsError:
                return False
            os.fchmod(fd, PRIVATE_FILE_MODE)
            _write_synced(fd, data)
        with contextlib.suppress(OSError):
            _fsync_path(target.parent, getattr(os, "O_DIRECTORY", 0) | os.O_RDONLY)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def write_private(dest: Path | str, data: bytes) -> None:
    """Replace ``dest`` with ``data`` in a new 0600 file, atomically; on any failure
    ``dest`` is untouched and no temporary file is left."""
    target = Path(dest)
    fd, tmp = temp_beside(target)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        commit(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
