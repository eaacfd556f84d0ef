"""Audit entries of views, committed in groups.

A page view changes nothing, yet is audited (``child.view``: who saw which child's data).
Written in the page's own transaction, every view claimed the chain's head: one writer at a
time on either store, three statements and a commit per page. Here each view's entry goes into
a queue; the thread that takes the commit lock writes every entry waiting at that moment in
one transaction (``audit.append_many``), and a caller returns only once its own entry is
committed, or raises that transaction's error. Under load the entries of many pages share one
commit; a lone view waits for nobody.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.orm import Session

from safegate.privacy import audit
from safegate.store.errors import StoreError

BATCH_LIMIT = 500  # entries in one transaction at most


class _Ticket:
    __slots__ = ("done", "entry", "error")

    def __init__(self, entry: dict[str, Any]) -> None:
        self.entry = entry
        self.done = False
        self.error: Exception | None = None


def _own_copy(error: Exception) -> Exception:
    """The batch's error for one waiter: a copy of the same class (``LastResort`` answers a
    busy database 503 by that class), so no exception object is raised in two threads."""
    try:
        return copy.copy(error)
    except Exception:  # noqa: BLE001 - a class that cannot be copied: said in other words
        return StoreError(f"the audit log could not be written ({type(error).__name__})")


class ViewAudit:
    """Group commit of audit entries through ``begin`` (a session factory's ``begin``)."""

    def __init__(self, begin: Callable[[], AbstractContextManager[Session]]) -> None:
        self._begin = begin
        self._waiting: list[_Ticket] = []
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()
        self.commits = 0  # transactions written (the tests and the benchmark read it)
        self.entries = 0

    @property
    def waiting(self) -> int:
        """Entries queued and not yet taken into a transaction."""
        with self._queue_lock:
            return len(self._waiting)

    def record(self, **entry: Any) -> None:
        """Append one entry (``audit.entry_fields``' arguments) and return once it is
        committed; the commit's error otherwise."""
        fields = audit.entry_fields(**entry)
        audit.entry_hash("", 0, fields)  # an entry that cannot be hashed fails here, alone
        ticket = _Ticket(fields)
        with self._queue_lock:
            self._waiting.append(ticket)
        while True:
            with self._commit_lock:
                if ticket.done:
                    break
                with self._queue_lock:
                    batch = self._waiting[:BATCH_LIMIT]
                    del self._waiting[:BATCH_LIMIT]
                self._write(batch)
                if ticket.done:
                    break
        if ticket.error is not None:
            raise _own_copy(ticket.error) from ticket.error

    def _write(self, batch: list[_Ticket]) -> None:
        error: Exception | None = None
        try:
            with self._begin() as session:
                audit.append_many(session, [t.entry for t in batch])
            self.commits += 1
            self.entries += len(batch)
        except Exception as exc:  # every waiter of this batch raises it
            error = exc
        for ticket in batch:
            ticket.error = error
            ticket.done = True
