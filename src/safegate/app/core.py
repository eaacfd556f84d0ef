"""The composition root: one object that builds SafeGate's services from settings.

The command line, the gate process, the web app and the test fixtures all make an ``App``
the same way and ask it for what they need: the database engine and sessions, the keyring,
the list specs and the domain index, the compiled policy snapshot, the change bus. Each is
built on first use, so a command that needs no database opens none.

Migrations run only through :meth:`App.migrate` (``safegate migrate`` and ``safegate
serve``); every other use of the store checks that the schema is current and says what to
run when it is not.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safegate.config import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from safegate.app.bus import ChangeBus
    from safegate.gate.server import Gate
    from safegate.lists.index import DomainIndex
    from safegate.lists.sources import ListSpec
    from safegate.policy.compiled import DefaultPolicy, PolicySnapshot
    from safegate.privacy.crypto import Keyring

log = logging.getLogger(__name__)

SQLITE_FILE = "safegate.db"


class App:
    """SafeGate's services for one settings object (one process may hold several)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._checked = False
        self._bus: ChangeBus | None = None
        self._keyring: tuple[tuple[Any, ...], Keyring] | None = None  # (key signature, keys)
        self.generation = 0  # of the last policy snapshot built
        # The domain index the gate of this process answers with (set by app.gate_process):
        # `explain` from the web app reuses it instead of building its own.
        self.live_index: DomainIndex | None = None
        self.live_snapshot: PolicySnapshot | None = None  # and the policy it answers with
        # The running gate itself (its counters and client table: app.presence, app.status).
        self.live_gate: Gate | None = None

    # ------------------------------------------------------------------ store

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def has_store(self) -> bool:
        """A database is configured, or the embedded one exists already."""
        return bool(self.settings["server.database_url"]) or \
            (self.data_dir / SQLITE_FILE).exists()

    @property
    def engine(self) -> Engine:
        """The database engine, created on first use (no schema check: see ``store``)."""
        if self._engine is None:
            from safegate.store.db import make_engine

            self._engine = make_engine(self.settings.database_url)
        return self._engine

    def migrate(self) -> None:
        """Bring the schema to the newest revision (safe to repeat, serialised across
        nodes)."""
        from safegate.store.db import migrate

        migrate(self.engine)
        self._checked = True

    def sessions(self) -> sessionmaker[Session]:
        """Sessions on a database whose schema is current (StoreError otherwise)."""
        if not self._checked:
            from safegate.store.db import require_current_schema

            require_current_schema(self.engine)
            self._checked = True
        if self._sessions is None:
            from safegate.store.db import session_factory

            self._sessions = session_factory(self.engine)
        return self._sessions

    def create_demo_household(self, *, schedules: bool = True) -> int:
        """The demo household (store/demo.py); ``schedules=False`` leaves out its weekly
        windows."""
        from safegate.store.repo import create_demo_household

        with self.change("policy", "demo household") as session:  # running gates load it
            return create_demo_household(session, schedules=schedules)

    def keyring(self) -> Keyring:
        """The field-encryption keys. With a store that holds encrypted values, a missing or
        wrong key is refused (CryptoError saying what to restore), never replaced."""
        if not self.has_store:
            from safegate.privacy.crypto import load_keyring

            return load_keyring(self.data_dir)
        from safegate.privacy.crypto import key_signature
        from safegate.privacy.keys import load_store_keyring

        # The check against the store counts every encrypted value: done once per key (a
        # rotation or a new key file replaces the file, and the key is checked again).
        signature = key_signature(self.data_dir)
        cached = self._keyring
        if signature is not None and cached is not None and cached[0] == signature:
            return cached[1]
        with self.sessions()() as session:
            key = load_store_keyring(session, self.data_dir)
        after = key_signature(self.data_dir)  # a key file created just now
        self._keyring = None if after is None else (after, key)
        return key

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    # ------------------------------------------------------------------ changes

    @property
    def bus(self) -> ChangeBus:
        if self._bus is None:
            from safegate.app.bus import ChangeBus

            self._bus = ChangeBus(self.settings["server.notify_url"],
                                  self.settings["server.notify_channel"])
        return self._bus

    @contextlib.contextmanager
    def change(self, kind: str, reason: str) -> Iterator[Session]:
        """A transaction that changes policy, lists or categories: the change gets the next
        version in the same transaction and is announced to every gate after the commit.
        A change of only some children's policy names them (``safegate.app.bus.touches``)
        and gates recompile only those."""
        with self.sessions().begin() as session:
            yield session
            self.bus.record(session, kind, reason)

    def announce(self, kind: str, reason: str) -> int:
        """Announce a change made elsewhere (or ask every gate to reload): its version."""
        with self.sessions().begin() as session:
            return self.bus.record(session, kind, reason)

    def change_version(self) -> int:
        """The newest change version in the store."""
        from safegate.store.changes import current
        from safegate.store.db import reading

        with reading(self.sessions()) as session:
            return current(session)

    # ------------------------------------------------------------------ lists and policy

    def list_specs(self, *, with_store: bool | None = None) -> list[ListSpec]:
        """Embedded lists, operator files from the settings, and (with a store) subscribed
        sources and the auto-categorised domains."""
        from safegate.lists.sources import custom_specs, embedded_specs

        specs: list[ListSpec] = embedded_specs() if self.settings["gate.default_lists"] else []
        specs += custom_specs([Path(p) for p in self.settings["gate.blocklists"]])
        if self.has_store if with_store is None else with_store:
            from safegate.lists.auto import export_specs
            from safegate.lists.registry import store_specs

            with self.sessions().begin() as session:
                specs += store_specs(session, self.data_dir)
                specs += export_specs(session, self.data_dir)
        return specs

    def load_index(self, specs: Sequence[ListSpec] | None = None) -> DomainIndex:
        """Build the domain index from ``specs`` (default: ``list_specs()``); a list that
        cannot be read is logged and left out."""
        from safegate.lists.index import build_index
        from safegate.lists.psl import embedded_psl

        index = build_index(self.list_specs() if specs is None else specs, embedded_psl())
        for loaded in index.lists:
            if loaded.error:
                log.error("list %s: %s", loaded.spec.key, loaded.error)
        return index

    def default_policy(self) -> DefaultPolicy:
        from safegate.policy.defaults import default_policy

        return default_policy(self.settings["policy.default_categories"],
                              self.settings["gate.block_mode"],
                              self.settings["policy.default_log_level"])

    def build_snapshot(self, index: DomainIndex) -> PolicySnapshot:
        """Compile every profile in the store (none without a store) against ``index``."""
        from safegate.policy.compiled import compile_snapshot

        profiles: list[Any] = []
        if self.has_store:
            from safegate.store.db import reading
            from safegate.store.repo import load_profiles

            with reading(self.sessions()) as session:
                profiles = list(load_profiles(session))
        self.generation += 1
        return compile_snapshot(index, gate_profiles(profiles), self.default_policy(),
                                self.generation)

    def patch_snapshot(self, old: PolicySnapshot, profile_ids: Collection[int]) -> PolicySnapshot:
        """``old`` with only the children ``profile_ids`` read and compiled again (after a
        change that named them, safegate.app.bus.touches); every other child is kept."""
        from safegate.policy.compiled import patch_snapshot
        from safegate.store.db import reading
        from safegate.store.repo import load_profiles

        with reading(self.sessions()) as session:  # after every change
            profiles = list(load_profiles(session, profile_ids=profile_ids))
        self.generation += 1
        return patch_snapshot(old, profile_ids, gate_profiles(profiles), self.generation)


def gate_profiles(records: Sequence[Any]) -> list[Any]:
    """The profiles as the gate applies them: a restricted child's devices are left out (the
    operator default applies to them), a full query log needs its consent."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from safegate.privacy.consent import gate_record

    return [gate_record(r, datetime.now(ZoneInfo(r.timezone)).year if r.timezone
                        else datetime.now(UTC).year)
            for r in records if not r.restricted]


def lists_signature(specs: Sequence[ListSpec]) -> tuple[Any, ...]:
    """Changes when any list file changes (or appears, or disappears)."""
    out: list[tuple[str, int | None, int | None]] = []
    for spec in specs:
        try:
            st = spec.path.stat()
            out.append((str(spec.path), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(spec.path), None, None))
    return tuple(out)
