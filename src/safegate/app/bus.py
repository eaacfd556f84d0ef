"""One change bus: every change to policy, lists or domain categories gets a version in the
database, is announced once its transaction commits, and is applied by every gate exactly
by that version.

Writers call ``ChangeBus.record(session, kind, reason)`` inside the changing transaction
(safegate.store.changes.bump); a writer that changes only some children's policy says which
with ``touches(session, *profile_ids)`` first, and a gate then recompiles only those. After
the commit the bus wakes the watchers of this process at once and publishes on Redis when
``server.notify_url`` is set. The announcement is only
a wake-up: a ``ChangeWatcher`` always reads the version from the database, so an
announcement that is lost (no Redis, Redis down, a partition, another process on this
machine without Redis) delays a change by at most one poll interval and never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from safegate.store import changes
from safegate.store.changes import Change
from safegate.store.db import reading, session_factory

log = logging.getLogger(__name__)

DEFAULT_CHANNEL = "safegate:reload"
MAX_RETRY_SECONDS = 60.0
ALL = "all"
_PENDING = "safegate.change_bus.pending"  # key in Session.info: versions to announce
_HOOKED = "safegate.change_bus.hooked"
_TOUCHED = "safegate.change_bus.touched"  # key in Session.info: the children a change touches

# ``on_change(version, kinds, profiles)``: apply everything up to ``version``; ``kinds`` says
# what moved, ``profiles`` the only children whose policy moved (None: maybe anything).
OnChange = Callable[[int, frozenset[str], frozenset[int] | None], Awaitable[None]]

# Watchers running in this process, woken directly when a change here commits.
_LOCAL: weakref.WeakSet[ChangeWatcher] = weakref.WeakSet()


# --- decisions --------------------------------------------------------------------------------


def kinds_between(old: int, new: int, logged: Sequence[Change]) -> frozenset[str]:
    """What changed from version ``old`` to ``new``, from the log rows read meanwhile.

    If the log does not name every version in between (pruned, or the database went back to
    an older version), the answer includes "all": the caller cannot know what it missed."""
    if new <= old:
        return frozenset({ALL}) if new < old else frozenset()
    inside = [c for c in logged if old < c.version <= new]
    kinds = {c.kind for c in inside}
    if len({c.version for c in inside}) < new - old:
        kinds.add(ALL)
    return frozenset(kinds)


def profiles_between(old: int, new: int, logged: Sequence[Change]) -> frozenset[int] | None:
    """The only children whose policy moved from version ``old`` to ``new``, or None when
    that is not known: a change in between did not name its children, was not a policy
    change, or is missing from the log."""
    kinds = kinds_between(old, new, logged)
    if kinds - {"policy"}:
        return None
    out: set[int] = set()
    for c in logged:
        if old < c.version <= new:
            if c.profiles is None:
                return None
            out.update(c.profiles)
    return frozenset(out)


def touches(session: Session, *profile_ids: int) -> None:
    """Say that the change being made in ``session`` touches only these children's policy
    (call it inside ``App.change``; several calls add up). Without it a change may touch
    anything, and every gate recompiles every child."""
    _hook(session)
    session.info.setdefault(_TOUCHED, set()).update(int(p) for p in profile_ids)


def _hook(session: Session) -> None:
    """Forget what a transaction of ``session`` said it changed when it rolls back."""
    if not session.info.get(_HOOKED):
        event.listen(session, "after_rollback", _forget)
        session.info[_HOOKED] = True


def retry_delay(poll_interval: float, failures: int) -> float:
    """Seconds before trying a failed ``on_change`` again: doubling from the poll interval."""
    if failures <= 0:
        return poll_interval
    return min(MAX_RETRY_SECONDS, max(poll_interval, poll_interval * 2.0 ** failures))


def encode_message(version: int, kind: str, reason: str) -> str:
    """The Redis announcement of one change (JSON; any message wakes a watcher)."""
    return json.dumps({"version": version, "kind": kind, "reason": reason},
                      ensure_ascii=False, separators=(",", ":"))


def decode_version(message: str) -> int | None:
    """The version an announcement names, or None for any other message (``reload``)."""
    try:
        data = json.loads(message)
    except ValueError:
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


# --- writing side -----------------------------------------------------------------------------


class ChangeBus:
    """Records changes in the caller's transaction and announces them after it commits."""

    def __init__(self, notify_url: str = "", channel: str = DEFAULT_CHANNEL) -> None:
        self.notify_url = notify_url
        self.channel = channel

    def record(self, session: Session, kind: str, reason: str = "") -> int:
        """Bump the version for a change of ``kind`` made in ``session``'s transaction.

        The announcement goes out when that transaction commits, not before (a watcher woken
        earlier would read the old version); nothing is announced if it rolls back."""
        touched = session.info.pop(_TOUCHED, None)
        version = changes.bump(session, kind, reason, touched)
        _hook(session)
        if not event.contains(session, "after_commit", self._after_commit):
            event.listen(session, "after_commit", self._after_commit)
        session.info.setdefault(_PENDING, []).append((version, kind, reason))
        return version

    def announce(self, version: int, kind: str, reason: str = "") -> None:
        """Wake this process's watchers and publish on Redis (failures are only logged: the
        watchers' polling applies the change anyway)."""
        wake_local_watchers()
        if not self.notify_url:
            return
        from safegate.store.notify import publish

        try:
            publish(self.notify_url, self.channel, encode_message(version, kind, reason))
        except Exception as exc:  # noqa: BLE001 - Redis errors and OSError alike
            log.warning("change %d (%s) not announced on Redis (%s); nodes will see it "
                        "within their poll interval", version, kind, exc)

    def _after_commit(self, session: Session) -> None:
        pending = session.info.pop(_PENDING, [])
        if pending:
            version, kind, reason = max(pending)
            kinds = {k for _, k, _ in pending}
            self.announce(version, kind if len(kinds) == 1 else ALL, reason)


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_TOUCHED, None)


def wake_local_watchers() -> None:
    """Make every watcher in this process read the version now (thread-safe)."""
    for watcher in list(_LOCAL):
        watcher.poke()


# --- reading side -----------------------------------------------------------------------------


class ChangeWatcher:
    """Calls ``on_change(version, kinds, profiles)`` whenever the database's change version moves.

    ``run()`` reads the version at start (or takes ``start_version``: read it before loading
    the state it describes), then reads it again on every announcement (this process, or
    Redis when ``notify_url`` is set), after every Redis (re)subscription, and every
    ``poll_interval`` seconds. Changes that commit while ``on_change`` runs wake the loop
    again, so one more ``on_change`` follows at once: a burst costs at most one extra run.
    A failing ``on_change`` is retried with back-off, with the changes since it failed added.
    """

    def __init__(self, engine: Engine, on_change: OnChange, *, notify_url: str = "",
                 channel: str = DEFAULT_CHANNEL, poll_interval: float = 2.0,
                 start_version: int | None = None) -> None:
        self._sessions = session_factory(engine)
        self.on_change = on_change
        self.notify_url = notify_url
        self.channel = channel
        self.poll_interval = poll_interval
        self.version: int | None = start_version  # the version applied so far
        self.ready = asyncio.Event()  # set once the starting version is known
        self.subscribed = asyncio.Event()  # set once Redis is subscribed (if configured)
        self._wake = asyncio.Event()  # the "dirty" flag
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failures = 0

    def poke(self) -> None:
        """Read the version soon; safe to call from any thread."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Watch until cancelled."""
        self._loop = asyncio.get_running_loop()
        _LOCAL.add(self)
        listener: asyncio.Task[None] | None = None
        try:
            while self.version is None:
                self.version = await self._read_current()
                if self.version is None:
                    await asyncio.sleep(self.poll_interval)
            if self.notify_url:
                listener = asyncio.create_task(self._listen())
            self.ready.set()
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(),
                                           retry_delay(self.poll_interval, self._failures))
                self._wake.clear()
                await self.check()
        finally:
            _LOCAL.discard(self)
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)

    async def check(self) -> bool:
        """Read the version once and call ``on_change`` if it moved; True if it ran and
        succeeded."""
        assert self.version is not None
        old = self.version
        try:
            new, logged = await asyncio.to_thread(self._read, old)
        except Exception as exc:  # noqa: BLE001 - the database may be away for a while
            log.warning("cannot read the change version (%s); retrying", exc)
            return False
        if new == old:
            return False
        kinds = kinds_between(old, new, logged)
        try:
            await self.on_change(new, kinds, profiles_between(old, new, logged))
        except asyncio.CancelledError:
            raise
        except Exception:
            self._failures += 1
            log.exception("applying changes %d..%d (%s) failed; retrying in %.0f s", old + 1,
                          new, ",".join(sorted(kinds)),
                          retry_delay(self.poll_interval, self._failures))
            return False
        self._failures = 0
        self.version = new
        return True

    async def _read_current(self) -> int | None:
        try:
            return await asyncio.to_thread(self._current)
        except Exception as exc:  # noqa: BLE001
            log.warning("cannot read the change version (%s); retrying", exc)
            return None

    def _current(self) -> int:
        with reading(self._sessions) as session:
            return changes.current(session)

    def _read(self, old: int) -> tuple[int, list[Change]]:
        with reading(self._sessions) as session:
            new = changes.current(session)
            return new, (changes.since(session, old) if new > old else [])

    async def _listen(self) -> None:
        from safegate.store.notify import listen

        async def on_message(message: str) -> None:
            version = decode_version(message)
            if version is None or self.version is None or version > self.version:
                self._wake.set()

        await listen(self.notify_url, self.channel, on_message, self.subscribed,
                     on_subscribe=self.poke)


__all__ = ["ALL", "ChangeBus", "ChangeWatcher", "OnChange", "decode_version",
           "encode_message", "kinds_between", "profiles_between", "retry_delay", "touches",
           "wake_local_watchers"]
