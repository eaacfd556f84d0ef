"""Bring a list source up to date: a local file or an HTTP(S) URL, into the data directory.

A download uses ETag / Last-Modified, streams to a temporary file with a size limit,
and is parsed before it replaces anything: a failed download, an HTML error page, a
damaged gzip, a file with no usable entries, one over a cap (bytes, also after gzip
decompression, or entries: ``ListLimits``) or one that lost too many entries at once
(``shrink_problem``) leaves the last good copy in place and reports the error. Nothing is
ever lost; the copy is replaced atomically (``safegate.files``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx

from safegate.files import commit, temp_beside
from safegate.lists.parse import (
    CHUNK_BYTES,
    ListFileError,
    ListTooLarge,
    ParseReport,
    iter_entries,
)

if TYPE_CHECKING:
    from safegate.config import Settings

# The defaults of the settings lists.max_bytes, lists.max_entries and lists.max_shrink.
MAX_LIST_BYTES = 64 * 1024 * 1024
MAX_LIST_ENTRIES = 2_000_000
MAX_SHRINK = 0.5
TIMEOUT = 30.0
TEMP_PREFIX = ".fetch-"


@dataclass(frozen=True, slots=True)
class ListLimits:
    """What a new copy of a list may be: at most ``max_bytes`` (downloaded, and again
    after gzip decompression), at most ``max_entries`` usable entries, and (when the last
    good copy's entry count is given) at most ``max_shrink`` of its entries fewer."""

    max_bytes: int = MAX_LIST_BYTES
    max_entries: int = MAX_LIST_ENTRIES
    max_shrink: float = MAX_SHRINK

    @classmethod
    def from_settings(cls, settings: Settings) -> ListLimits:
        return cls(settings["lists.max_bytes"], settings["lists.max_entries"],
                   settings["lists.max_shrink"])


DEFAULT_LIMITS = ListLimits()


class ListHeldBack(ListFileError):
    """A readable list that must not replace the last good copy without an operator."""


@dataclass(frozen=True, slots=True)
class FetchResult:
    changed: bool
    entries: int | None  # entries of the new copy (None when unchanged or failed)
    etag: str | None
    last_modified: str | None
    error: str | None = None
    skipped: dict[str, int] | None = None
    held_back: bool = False  # the error is the shrink guard's (the copy itself is fine)


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def shrink_problem(before: int | None, after: int, max_shrink: float) -> str | None:
    """Why a copy with ``after`` entries may not replace one with ``before`` (None: it
    may): it lost more than the share ``max_shrink`` of them."""
    if not before or after >= before:
        return None
    lost = (before - after) / before
    if lost <= max_shrink:
        return None
    return (f"held back: {after:,} entries, down from {before:,} ({lost:.0%} fewer; "
            f"lists.max_shrink allows {max_shrink:.0%})")


def validate(path: Path, limits: ListLimits = DEFAULT_LIMITS) -> ParseReport:
    """Parse a candidate copy; raise ListFileError if it must not replace the last one."""
    report = ParseReport()
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise ListFileError("the source returned an HTML page, not a list")
    cap = limits.max_entries
    for _ in iter_entries(path, report, limits.max_bytes):
        if report.entries + report.allow_entries > cap:
            raise ListFileError(f"more than {cap:,} entries (lists.max_entries); not used")
    if report.entries + report.allow_entries == 0:
        raise ListFileError("no usable entries (wrong format or empty file)")
    return report


def _install(candidate: Path, dest: Path, limits: ListLimits,
             previous_entries: int | None) -> ParseReport:
    report = validate(candidate, limits)
    problem = shrink_problem(previous_entries, report.entries, limits.max_shrink)
    if problem:
        raise ListHeldBack(problem)
    commit(candidate, dest)  # fsync, then one rename: readers see old or new
    return report


def _copy_capped(chunks: Iterable[bytes], out: IO[bytes], max_bytes: int) -> None:
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise ListTooLarge(f"larger than {max_bytes:,} bytes")
        out.write(chunk)


def fetch(location: str, dest: Path, *, etag: str | None = None,
          last_modified: str | None = None, client: httpx.Client | None = None,
          limits: ListLimits = DEFAULT_LIMITS,
          previous_entries: int | None = None) -> FetchResult:
    """Update ``dest`` from ``location``; never raises for a bad source. A new copy must
    keep within ``limits``; given the entry count of the copy in place
    (``previous_entries``), one that shrank by more than ``limits.max_shrink`` is held
    back. Whatever goes wrong, ``dest`` stays as it was and no temporary file is left."""
    fd, tmp = temp_beside(dest, TEMP_PREFIX)
    new_etag: str | None = None
    new_modified: str | None = None
    try:
        with os.fdopen(fd, "wb") as out:
            if not is_url(location):
                src = Path(location)
                try:
                    src_fh = open(src, "rb")  # noqa: SIM115 (closed just below)
                except OSError as exc:
                    return FetchResult(False, None, etag, last_modified,
                                       f"cannot read {src}: {exc.strerror or exc}")
                with src_fh:
                    _copy_capped(iter(lambda: src_fh.read(CHUNK_BYTES), b""), out,
                                 limits.max_bytes)
            else:
                headers = {}
                if etag:
                    headers["If-None-Match"] = etag
                if last_modified:
                    headers["If-Modified-Since"] = last_modified
                own = client is None
                http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True)
                try:
                    with http.stream("GET", location, headers=headers) as response:
                        if response.status_code == 304 and dest.exists():
                            return FetchResult(False, None, etag, last_modified)
                        if response.status_code != 200:
                            return FetchResult(False, None, etag, last_modified,
                                               f"HTTP {response.status_code} from {location}")
                        # (bytes after any Content-Encoding is undone: capped as well)
                        _copy_capped(response.iter_bytes(), out, limits.max_bytes)
                        new_etag = response.headers.get("etag")
                        new_modified = response.headers.get("last-modified")
                finally:
                    if own:
                        http.close()
        report = _install(tmp, dest, limits, previous_entries)
        return FetchResult(True, report.entries, new_etag, new_modified, None,
                           dict(report.skipped))
    except httpx.HTTPError as exc:
        return FetchResult(False, None, etag, last_modified, f"download failed: {exc!r}")
    except ListHeldBack as exc:
        return FetchResult(False, None, etag, last_modified, str(exc), held_back=True)
    except ListTooLarge as exc:
        return FetchResult(False, None, etag, last_modified,
                           f"{exc} (lists.max_bytes); not used")
    except (ListFileError, OSError) as exc:
        return FetchResult(False, None, etag, last_modified, str(exc))
    finally:
        tmp.unlink(missing_ok=True)
