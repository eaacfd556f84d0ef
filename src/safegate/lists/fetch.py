"""Bring a list source up to date: a local file or an HTTP(S) URL, into the data directory.

A download uses ETag / Last-Modified, streams to a temporary file with a size limit,
and is parsed before it replaces anything: a failed download, an HTML error page, a
damaged gzip or a file with no usable entries leaves the last good copy in place and
reports the error. Nothing is ever lost.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from safegate.lists.parse import ListFileError, ParseReport, iter_entries
from safegate.privacy.files import private_dir

MAX_LIST_BYTES = 256 * 1024 * 1024
TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class FetchResult:
    changed: bool
    entries: int | None  # entries of the new copy (None when unchanged or failed)
    etag: str | None
    last_modified: str | None
    error: str | None = None
    skipped: dict[str, int] | None = None


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def validate(path: Path) -> ParseReport:
    """Parse a candidate copy; raise ListFileError if it must not replace the last one."""
    report = ParseReport()
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise ListFileError("the source returned an HTML page, not a list")
    for _ in iter_entries(path, report):
        pass
    if report.entries + report.allow_entries == 0:
        raise ListFileError("no usable entries (wrong format or empty file)")
    return report


def _install(candidate: Path, dest: Path) -> ParseReport:
    report = validate(candidate)
    private_dir(dest.parent)
    os.replace(candidate, dest)  # atomic on one filesystem: readers see old or new
    return report


def fetch(location: str, dest: Path, *, etag: str | None = None,
          last_modified: str | None = None, client: httpx.Client | None = None,
          max_bytes: int = MAX_LIST_BYTES) -> FetchResult:
    """Update ``dest`` from ``location``; never raises for a bad source."""
    private_dir(dest.parent)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".fetch-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        if not is_url(location):
            os.close(fd)
            src = Path(location)
            try:
                shutil.copyfile(src, tmp)
            except OSError as exc:
                return FetchResult(False, None, etag, last_modified,
                                   f"cannot read {src}: {exc.strerror or exc}")
            report = _install(tmp, dest)
            return FetchResult(True, report.entries, None, None, None, dict(report.skipped))
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        own = client is None
        http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True)
        try:
            with http.stream("GET", location, headers=headers) as response, \
                    os.fdopen(fd, "wb") as out:
                if response.status_code == 304 and dest.exists():
                    return FetchResult(False, None, etag, last_modified)
                if response.status_code != 200:
                    return FetchResult(False, None, etag, last_modified,
                                       f"HTTP {response.status_code} from {location}")
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        return FetchResult(False, None, etag, last_modified,
                                           f"larger than {max_bytes} bytes; not used")
                    out.write(chunk)
                new_etag = response.headers.get("etag")
                new_modified = response.headers.get("last-modified")
        finally:
            if own:
                http.close()
        report = _install(tmp, dest)
        return FetchResult(True, report.entries, new_etag, new_modified, None,
                           dict(report.skipped))
    except httpx.HTTPError as exc:
        return FetchResult(False, None, etag, last_modified, f"download failed: {exc!r}")
    except (ListFileError, OSError) as exc:
        return FetchResult(False, None, etag, last_modified, str(exc))
    finally:
        tmp.unlink(missing_ok=True)
