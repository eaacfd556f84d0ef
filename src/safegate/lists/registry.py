"""List sources an operator subscribes to (the ``list_source`` table), their cached copies
in the data directory, and turning them into index specs."""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safegate.lists.fetch import DEFAULT_LIMITS, FetchResult, ListLimits, fetch, is_url
from safegate.lists.sources import ListSpec, Match

CACHE_DIR = "lists"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class SourceError(ValueError):
    """A source that cannot be added or changed as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class SourceRecord:
    name: str
    location: str
    category: str
    match: str
    enabled: bool
    update_interval_s: int
    entry_count: int
    last_update: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class UpdateReport:
    name: str
    changed: bool
    entries: int | None
    error: str | None


def cache_path(data_dir: Path, name: str) -> Path:
    return data_dir / CACHE_DIR / f"{name}.txt"


def _record(row: Any) -> SourceRecord:
    return SourceRecord(row.name, row.location, row.category, row.match, row.enabled,
                        row.update_interval_s, row.entry_count, row.last_update, row.last_error)


def add_source(session: Session, name: str, location: str, category: str,
               match: str = "suffix", interval_s: int = 86400,
               enabled: bool = True) -> SourceRecord:
    from safegate.lists.taxonomy import category_ids
    from safegate.store.models import ListSource

    if not _NAME.match(name):
        raise SourceError(f"name {name!r}: use lowercase letters, digits, '-', '_' or '.'")
    if category not in category_ids():
        raise SourceError(f"category {category!r} is unknown; one of: {', '.join(category_ids())}")
    if match not in ("exact", "suffix"):
        raise SourceError(f"match {match!r}: exact or suffix")
    if not is_url(location) and not Path(location).exists():
        raise SourceError(f"location {location!r} is neither an http(s) URL nor an existing file")
    if interval_s < 60:
        raise SourceError("update interval must be at least 60 seconds")
    if session.scalar(select(ListSource).where(ListSource.name == name)) is not None:
        raise SourceError(f"a source named {name!r} already exists")
    row = ListSource(name=name, location=location, category=category, match=match,
                     enabled=enabled, update_interval_s=interval_s)
    session.add(row)
    session.flush()
    return _record(row)


def set_enabled(session: Session, name: str, enabled: bool) -> SourceRecord:
    row = _get(session, name)
    row.enabled = enabled
    session.flush()
    return _record(row)


def remove_source(session: Session, name: str, data_dir: Path) -> None:
    row = _get(session, name)
    session.delete(row)
    session.flush()
    dest = cache_path(data_dir, name)
    dest.unlink(missing_ok=True)
    checked_marker(dest).unlink(missing_ok=True)


def _get(session: Session, name: str) -> Any:
    from safegate.store.models import ListSource

    row = session.scalar(select(ListSource).where(ListSource.name == name))
    if row is None:
        raise SourceError(f"no list source named {name!r}")
    return row


def list_sources(session: Session) -> list[SourceRecord]:
    from safegate.store.models import ListSource

    return [_record(r) for r in session.scalars(select(ListSource).order_by(ListSource.name))]


def update_sources(session: Session, data_dir: Path, *, names: list[str] | None = None,
                   force: bool = False, now: datetime | None = None,
                   limits: ListLimits = DEFAULT_LIMITS) -> list[UpdateReport]:
    """Fetch every enabled source that is due (or the named ones, or all with ``force``)
    and record the outcome on its row (an error in ``last_error``). The caller commits.

    A new copy must keep within ``limits`` (``ListLimits.from_settings``). One with more
    than ``limits.max_shrink`` fewer entries than the last good copy is held back (the
    copy in place stays, the error says before and after) unless the operator names the
    source *and* forces it (``names`` with ``force``: ``safegate lists update --force
    NAME``); ``force`` alone (every source, as the gate's own refresh) keeps the guard.
    Nothing overrides the byte and entry caps."""
    from safegate.store.models import ListSource

    now = now or datetime.now(UTC)
    reports = []
    for row in session.scalars(select(ListSource).order_by(ListSource.name)):
        if names is not None and row.name not in names:
            continue
        if names is None and not row.enabled:
            continue
        dest = cache_path(data_dir, row.name)
        due = (row.last_update is None or not dest.exists()
               or now - row.last_update >= timedelta(seconds=row.update_interval_s))
        if not (force or due or names is not None):
            continue
        accept_shrink = force and names is not None
        previous = row.entry_count if dest.exists() and not accept_shrink else None
        # Ask "changed since?" only when this node's copy is the one the row describes: on
        # many nodes sharing one database, a node whose copy is missing or older than the
        # row's last update must download the list itself.
        current = copy_is_current(dest, row.last_update)
        result: FetchResult = fetch(row.location, dest,
                                    etag=row.etag if current else None,
                                    last_modified=row.last_modified if current else None,
                                    limits=limits, previous_entries=previous)
        if result.error is None:
            stamp_copy(dest, now)
            row.last_update = now
            row.etag = result.etag
            row.last_modified = result.last_modified
            if result.entries is not None:
                row.entry_count = result.entries
        error = result.error
        if result.held_back:
            error = f"{error}; `safegate lists update --force {row.name}` accepts it"
        row.last_error = error
        reports.append(UpdateReport(row.name, result.changed, result.entries, error))
    session.flush()
    return reports


def checked_marker(dest: Path) -> Path:
    """The file whose modification time says when this node last confirmed ``dest``. The
    copy's own time is left alone: the gate rebuilds its index when a list file's time
    changes, and a "not modified" answer changes nothing."""
    return dest.with_name(dest.name + ".checked")


def copy_is_current(dest: Path, last_update: datetime | None) -> bool:
    """This node's copy exists and was confirmed at (or after) the row's last update."""
    if last_update is None or not dest.exists():
        return False
    try:
        mtime = checked_marker(dest).stat().st_mtime
    except OSError:
        return False
    if last_update.tzinfo is None:
        last_update = last_update.replace(tzinfo=UTC)
    return mtime >= last_update.timestamp() - 0.001


def stamp_copy(dest: Path, when: datetime) -> None:
    """Mark this node's copy as current as of ``when`` (the marker's modification time)."""
    marker = checked_marker(dest)
    with contextlib.suppress(OSError):
        marker.touch()
        os.utime(marker, (when.timestamp(), when.timestamp()))


def store_specs(session: Session, data_dir: Path) -> list[ListSpec]:
    """Index specs for the enabled sources that have a good copy on disk."""
    specs = []
    for src in list_sources(session):
        path = cache_path(data_dir, src.name)
        if src.enabled and path.exists():
            match: Match = "exact" if src.match == "exact" else "suffix"
            specs.append(ListSpec(f"source/{src.name}", path, src.category, match, "block"))
    return specs
