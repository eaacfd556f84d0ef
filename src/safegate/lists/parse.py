"""Parse blocklist files: plain domains, hosts format, and simple adblock rules.

Parsing is streaming (a chunk of about a mebibyte at a time) so that large lists never
sit in memory as Python strings. Every line that is not used is counted with its reason,
never silently dropped; comments and blank lines are not counted.

Most lists (all the shipped ones) are already one normalised host name per line. For
those, ``iter_batches`` checks a whole chunk at once with a few C-level passes (a byte
table, substring searches and numpy over the byte array) and hands every line on as it
is; only the lines that fail those checks go through ``parse_line``. ``iter_entries``
gives the same entries one by one, in file order.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import compress
from pathlib import Path
from typing import Any

import numpy as np

try:
    import idna as _idna
except ImportError:  # pragma: no cover - idna comes with dnspython's usual installs
    _idna = None  # type: ignore[assignment]

_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
                       r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_HOSTS_PREFIXES = ("0.0.0.0", "127.0.0.1", "::", "::1", "::0", "0:0:0:0:0:0:0:0")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "local", "broadcasthost",
                          "ip6-localhost", "ip6-loopback", "0.0.0.0"})
# Adblock element-hiding and scriptlet rules ("example.com##.ad", "#@#", "#?#", "#$#",
# "#%#", "#@$#"...): they hide parts of a page and must never block the whole domain.
# A "##" after a space is an ordinary comment.
_COSMETIC = re.compile(r"[^\s#]#(?:[@?$%]|@[?$%])?#")

CHUNK_BYTES = 1 << 20

SKIP_MODIFIER = "adblock modifier not supported"
SKIP_WILDCARD = "adblock wildcard or path not supported"
SKIP_COSMETIC = "adblock element-hiding rule (not a DNS rule)"
SKIP_IP = "IP address"
SKIP_LOCAL = "local name (localhost and the like)"
SKIP_NOT_HOST = "not a host name"
SKIP_WORDS = "several words without an address (not hosts format)"


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


def to_ascii(name: str) -> str | None:
    """The IDNA (punycode) form of a Unicode name, or None if it has none.

    Uses IDNA 2008 with UTS #46 mapping (what browsers send: ``straße.de`` is
    ``xn--strae-oqa.de``) when the ``idna`` package is present, else (or when IDNA 2008
    refuses the name) Python's IDNA 2003 codec.
    """
    if _idna is not None:
        try:
            return str(_idna.encode(name, uts46=True, transitional=False).decode("ascii"))
        except (UnicodeError, ValueError):  # idna.IDNAError is a UnicodeError
            pass
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def normalise_domain(raw: str) -> str | None:
    """Lowercase ASCII/IDNA form of a host name, or None if it is not one."""
    name = raw.strip().strip(".").lower()
    if name.startswith("*."):
        name = name[2:]
    if not name:
        return None
    if not name.isascii():
        ascii_name = to_ascii(name)
        if ascii_name is None:
            return None
        name = ascii_name.lower()
    if not _HOSTNAME.match(name) or _IPV4.match(name) or name in _LOCAL_NAMES:
        return None
    return name


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return bool(_IPV4.match(text))
    return True


def _why_not(part: str) -> str:
    """The skip reason for a token that ``normalise_domain`` refused."""
    if _is_ip(part):
        return SKIP_IP
    if part.strip().strip(".").lower() in _LOCAL_NAMES:
        return SKIP_LOCAL
    return SKIP_NOT_HOST


def parse_line(line: str, report: ParseReport) -> tuple[Entry, ...]:
    """The entries of one line of any supported format (empty for comments and skips)."""
    text = line.strip()
    if not text or text[0] in "#!" or text.startswith("["):
        return ()
    if text.startswith("@@||") or text.startswith("||"):
        allow = text.startswith("@@")
        body = text[4:] if allow else text[2:]
        if "$" in body:
            report.skip(SKIP_MODIFIER, text)
            return ()
        body = body.rstrip("^|")
        if "*" in body or "/" in body or "^" in body:
            report.skip(SKIP_WILDCARD, text)
            return ()
        name = normalise_domain(body)
        if name is None:
            report.skip(SKIP_NOT_HOST, text)
            return ()
        return (Entry(name, allow),)
    if "#" in text:
        if _COSMETIC.search(text):
            report.skip(SKIP_COSMETIC, text)
            return ()
        text = text.split("#", 1)[0].strip()
        if not text:
            return ()
    parts = text.split()
    if len(parts) >= 2:
        if not (parts[0] in _HOSTS_PREFIXES or _IPV4.match(parts[0])):
            # Not hosts format ("sp ace.example", "bad.com CNAME ."): no word is a
            # trustworthy name on its own.
            report.skip(SKIP_WORDS, text)
            return ()
        parts = parts[1:]  # hosts format: the address is ignored, every name is blocked
    out = []
    for part in parts:
        name = normalise_domain(part)
        if name is None:
            report.skip(_why_not(part), text)
        else:
            out.append(Entry(name))
    return tuple(out)


# --- reading files ---------------------------------------------------------------------


def _open(path: Path) -> Any:
    try:
        return path.open("rb")
    except OSError as exc:
        raise ListFileError(f"cannot open list file {path}: {exc.strerror or exc}") from exc


def iter_chunks(path: Path) -> Iterator[bytes]:
    """The bytes of a plain or gzip file in pieces of about ``CHUNK_BYTES`` that end at a
    line break, with universal newlines (``\\r\\n`` and lone ``\\r`` become ``\\n``); the
    last piece gets a final ``\\n`` if it lacks one. A damaged file raises ListFileError."""
    raw = _open(path)
    with raw:
        try:
            magic = raw.read(2)
            raw.seek(0)
            stream: Any = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw
            rest = b""
            while True:
                block = stream.read(CHUNK_BYTES)
                if not block:
                    break
                if rest:
                    block = rest + block
                # Cut after the last line break; a final "\r" may be half of a "\r\n".
                cut = max(block.rfind(b"\n"), block.rfind(b"\r", 0, len(block) - 1)) + 1
                if cut == 0:
                    rest = block  # no complete line yet: read on
                    continue
                rest = block[cut:]
                yield _newlines(block[:cut])
        except (OSError, EOFError, zlib.error) as exc:
            raise ListFileError(f"list file {path} is damaged: {exc}") from exc
        if rest:
            yield _newlines(rest if rest.endswith(b"\n") else rest + b"\n")


def _newlines(block: bytes) -> bytes:
    if b"\r" in block:
        block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return block


def iter_lines(path: Path) -> Iterator[str]:
    """Lines of a plain or gzip file, decoded as UTF-8 (bad bytes replaced), each with
    its ``\\n``."""
    for block in iter_chunks(path):
        lines = block.decode("utf-8", "replace").split("\n")
        lines.pop()  # every chunk ends with "\n"
        for line in lines:
            yield line + "\n"


# Bytes a normalised host name line may contain.
_NAME_BYTES = np.zeros(256, dtype=bool)
_NAME_BYTES[list(b"abcdefghijklmnopqrstuvwxyz0123456789-_.\n")] = True
_NOT_DIGIT_OR_DOT = np.ones(256, dtype=bool)
_NOT_DIGIT_OR_DOT[list(b"0123456789.\n")] = False
_DOT, _NL, _HYPHEN = ord("."), ord("\n"), ord("-")


def _plain_lines(block: bytes) -> np.ndarray:
    """For each line of ``block`` (which ends with ``\\n``): is it certainly a normalised
    host name that ``parse_line`` would take as it is?

    True means: 1 to 253 octets of ``[a-z0-9_.-]``, labels of 1 to 63 octets that neither
    start nor end with a hyphen, and not only digits and dots (IPv4-like lines take the
    slow path). That is what the ``_HOSTNAME`` expression accepts, so the fast path never
    changes a result. Local names ("localhost"...) are the caller's to check.
    """
    arr = np.frombuffer(block, dtype=np.uint8)
    is_nl = arr == _NL
    ends = np.flatnonzero(is_nl)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts
    ok = (lengths >= 1) & (lengths <= 253)
    if not ok.any():
        return ok
    # A line may not start with "." or "-" (an empty first label, or a hyphen at its edge).
    line_first = arr[starts]
    ok &= (line_first != _DOT) & (line_first != _HYPHEN)
    # Lines of digits and dots only (like 1.2.3.4) take the slow path.
    ok &= np.logical_or.reduceat(_NOT_DIGIT_OR_DOT[arr], starts)
    is_dot = arr == _DOT
    is_hy = arr == _HYPHEN
    sep = is_dot | is_nl
    # Bytes a name cannot have; "..", ".\\n" (empty label); ".-", "-.", "-\\n" (hyphen at
    # a label's edge).
    bad = ~_NAME_BYTES[arr]
    bad[:-1] |= (is_dot[:-1] & (sep[1:] | is_hy[1:])) | (is_hy[:-1] & sep[1:])
    # Labels longer than 63: gaps between separators ("." or line end).
    seps = np.flatnonzero(sep)
    gaps = np.diff(seps, prepend=-1)
    bad_at = np.concatenate((np.flatnonzero(bad), seps[gaps > 64]))
    if bad_at.size:
        ok[np.searchsorted(ends, bad_at)] = False
    return ok


def _batch(block: bytes, report: ParseReport) -> tuple[list[str], list[str]]:
    """Block and allow names of one chunk (see ``iter_batches``)."""
    ok = _plain_lines(block)
    lines = block.decode("utf-8", "replace").split("\n")
    lines.pop()  # the block ends with "\n"
    local = not _LOCAL_NAMES.isdisjoint(lines)
    if not local and ok.all():
        plain, rest = lines, []
    else:
        mask = ok.tolist()
        if local:
            mask = [m and line not in _LOCAL_NAMES for m, line in zip(mask, lines, strict=True)]
        plain = list(compress(lines, mask))
        rest = list(compress(lines, [not m for m in mask]))  # in file order, for the report
    report.entries += len(plain)
    allow: list[str] = []
    for line in rest:
        for entry in parse_line(line, report):
            if entry.allow:
                report.allow_entries += 1
                allow.append(entry.domain)
            else:
                report.entries += 1
                plain.append(entry.domain)
    return plain, allow


def iter_batches(path: Path, report: ParseReport) -> Iterator[tuple[list[str], list[str]]]:
    """Every usable entry of a list file, a chunk at a time: (block names, allow names).

    The same entries as ``iter_entries`` (not in file order) at a fraction of the cost;
    ``report`` counts the rest.
    """
    for block in iter_chunks(path):
        yield _batch(block, report)


def iter_entries(path: Path, report: ParseReport) -> Iterator[Entry]:
    """Every usable entry of a list file in file order; ``report`` counts the rest."""
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
