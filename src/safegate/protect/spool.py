"""Alerts the store could not take, kept on disk until it can: ``<data dir>/alert-spool.jsonl``.

One JSON object a line, each an alert as the monitor would have stored it: the snippet is the
same ciphertext the ``alert`` row would hold (encrypted for its profile), so no child's text is
ever on disk in the clear. The file is 0600 in a 0700 directory. Appends and replays hold an
exclusive lock on ``alert-spool.lock`` so two monitors never replay the same record twice.

A line that cannot be read back is kept as it is (never dropped) and counted as waiting.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from safegate.files import PRIVATE_FILE_MODE, create_private_file, locked, write_private
from safegate.privacy.crypto import token_key_id

__all__ = ["SPOOL_FILE", "PendingAlert", "Spool", "SpoolEntry"]

SPOOL_FILE = "alert-spool.jsonl"
_LOCK_SUFFIX = ".lock"


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """An alert decided on but not yet stored; ``snippet`` is ciphertext."""

    profile_id: int
    conversation: str
    category: str
    severity: str
    score: float
    guidance: str
    found_by: str | None
    at: datetime
    snippet: str
    spool_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> str:
        return json.dumps({
            "spool_id": self.spool_id, "profile_id": self.profile_id,
            "conversation": self.conversation, "category": self.category,
            "severity": self.severity, "score": self.score, "guidance": self.guidance,
            "found_by": self.found_by, "at": self.at.isoformat(), "snippet": self.snippet,
        }, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> PendingAlert:
        """A spool line back; ValueError when it is not one (a snippet not encrypted too)."""
        obj: Any = json.loads(text)
        if not isinstance(obj, dict):
            raise ValueError("not a JSON object")
        snippet = obj["snippet"]
        if token_key_id(snippet) is None:
            raise ValueError("the snippet is not encrypted")
        at = datetime.fromisoformat(str(obj["at"]))
        if at.tzinfo is None:
            raise ValueError("time without offset")
        found_by = obj.get("found_by")
        return cls(
            profile_id=int(obj["profile_id"]), conversation=str(obj["conversation"]),
            category=str(obj["category"]), severity=str(obj["severity"]),
            score=float(obj["score"]), guidance=str(obj["guidance"]),
            found_by=None if found_by is None else str(found_by), at=at,
            snippet=str(snippet), spool_id=str(obj["spool_id"]),
        )


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    """One line of the spool: its text, and the alert when it could be read."""

    line: str
    alert: PendingAlert | None


class Spool:
    """The spool file of one data directory."""

    def __init__(self, data_dir: Path | str) -> None:
        self.path = Path(data_dir).expanduser() / SPOOL_FILE
        self._lock_path = self.path.with_name(self.path.name + _LOCK_SUFFIX)

    def locked(self) -> contextlib.AbstractContextManager[None]:
        """Hold the spool's exclusive lock (blocking)."""
        return locked(self._lock_path)

    def append(self, alert: PendingAlert) -> None:
        """Add ``alert`` (fsynced before returning); call without holding the lock. A line
        a crash left without its newline is ended first, so it cannot swallow this one."""
        line = (alert.to_json() + "\n").encode("utf-8")
        with self.locked():
            create_private_file(self.path)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
            try:
                os.fchmod(fd, PRIVATE_FILE_MODE)
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def entries(self) -> list[SpoolEntry]:
        """Every line, in order (read under the lock when others may write)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for line in raw.decode("utf-8", errors="surrogateescape").splitlines():
            if not line.strip():
                continue
            try:
                alert: PendingAlert | None = PendingAlert.from_json(line)
            except (ValueError, KeyError, TypeError, RecursionError):
                alert = None
            out.append(SpoolEntry(line, alert))
        return out

    def rewrite(self, keep: list[SpoolEntry]) -> None:
        """Leave only ``keep`` in the spool (atomically); no spool file when nothing is left.
        Call holding the lock."""
        if not keep:
            self.path.unlink(missing_ok=True)
            return
        text = "".join(e.line + "\n" for e in keep)
        write_private(self.path, text.encode("utf-8", errors="surrogateescape"))

    def count(self) -> int:
        """How many alerts wait in the spool."""
        return len(self.entries())
