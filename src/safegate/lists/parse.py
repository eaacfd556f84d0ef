"""Parse blocklist files: plain domains, hosts format, and simple adblock rules.

Parsing is streaming (one line at a time) so that large lists never sit in memory as
Python strings. Every line that is not used is counted with its reason, never silently
dropped.
"""

from __future__ import annotations

import gzip
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
                       r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_HOSTS_PREFIXES = ("0.0.0.0", "127.0.0.1", "::", "::1", "::0", "0:0:0:0:0:0:0:0")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "local", "broadcasthost",
                          "ip6-localhost", "ip6-loopback", "0.0.0.0"})


@dataclass
class ParseReport:
    """What a parse did with each line."""

    entries: int = 0
    allow_entries: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def skip(self, reason: str, line: str) -> None:
        self.skipped[reason] += 1
        self.examples.setdefault(reason, line[:120])


class ListFileError(OSError):
    """A list file that cannot be read at all (missing, unreadable, not gzip, not text)."""


@dataclass(frozen=True, slots=True)
class Entry:
    domain: str
    allow: bool = False  # adblock "@@" exception


def normalise_domain(raw: str) -> str | None:
    """Lowercase ASCII/IDNA form of a host name, or None if it is not one."""
    name = raw.strip().strip(".").lower()
    if name.startswith("*."):
        name = name[2:]
    if not name:
        return None
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if not _HOSTNAME.match(name) or _IPV4.match(name) or name in _LOCAL_NAMES:
        return None
    return name


def parse_line(line: str, report: ParseReport) -> tuple[Entry, ...]:
    """The entries of one line of any supported format (empty for comments and skips)."""
    text = line.strip()
    if not text or text[0] in "#!" or text.startswith("["):
        return ()
    if text.startswith("@@||") or text.startswith("||"):
        allow = text.startswith("@@")
        body = text[4:] if allow else text[2:]
        if "$" in body:
            report.skip("adblock modifier not supported", text)
            return ()
        body = body.rstrip("^|")
        if "*" in body or "/" in body or "^" in body:
            report.skip("adblock wildcard or path not supported", text)
            return ()
        name = normalise_domain(body)
        if name is None:
            report.skip("not a host name", text)
            return ()
        return (Entry(name, allow),)
    if "#" in text:
        text = text.split("#", 1)[0].strip()
    parts = text.split()
    if len(parts) >= 2 and (parts[0] in _HOSTS_PREFIXES or _IPV4.match(parts[0])):
        parts = parts[1:]  # hosts format: the address is ignored, every name is blocked
    out = []
    for part in parts:
        name = normalise_domain(part)
        if name is None:
            report.skip("IP address" if _IPV4.match(part) else "not a host name", text)
        else:
            out.append(Entry(name))
    return tuple(out)


def iter_lines(path: Path) -> Iterator[str]:
    """Lines of a plain or gzip file, decoded as UTF-8 (bad bytes replaced)."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ListFileError(f"cannot open list file {path}: {exc.strerror or exc}") from exc
    with raw:
        magic = raw.read(2)
        raw.seek(0)
        stream: Any = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw
        text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace")
        try:
            yield from text
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ListFileError(f"list file {path} is damaged: {exc}") from exc


def iter_entries(path: Path, report: ParseReport) -> Iterator[Entry]:
    """Every usable entry of a list file; ``report`` counts the rest."""
    plain = _HOSTNAME.match
    for line in iter_lines(path):
        text = line.rstrip("\n")
        if plain(text) and not _IPV4.match(text) and text not in _LOCAL_NAMES:
            # Fast path: a bare, already normalised host name (the shipped lists).
            report.entries += 1
            yield Entry(text)
            continue
        for entry in parse_line(line, report):
            if entry.allow:
                report.allow_entries += 1
            else:
                report.entries += 1
            yield entry
