"""Parse blocklist files: plain domains, hosts format, adblock rules and regex entries.

Adblock host rules (``||domain^``, ``@@||domain^`` exceptions) become plain entries; a rule
with ``*`` wildcards (``||ads*.example.com^``) and a regex written as ``/.../``
(AdGuard / Pi-hole style) become *pattern* entries: a regular expression searched in the
whole host name (see ``regex_problem`` for the bounds a pattern must keep). A leading
``*.`` (``||*.doubleclick.net^``) only means "and its subdomains": that is a plain entry.

Parsing is streaming (a chunk of about a mebibyte at a time) so that large lists never
sit in memory as Python strings. Every line that is not used is counted with its reason,
never silently dropped; comments and blank lines are not counted. A line longer than
``MAX_LINE_CHARS`` is skipped whole (only its first few kibibytes are ever held), so a
file without line breaks reads in linear time and bounded memory. A reader may be given
a cap on the bytes a file yields (after gzip decompression): a gzip bomb stops there with
``ListTooLarge``.

Most lists (all the shipped ones) are already one normalised host name per line. For
those, ``iter_batches`` checks a whole chunk at once with a few C-level passes (a byte
table, substring searches and numpy over the byte array) and hands every line on as it
is; only the lines that fail those checks go through ``parse_line``. ``iter_entries``
gives the same entries one by one, in file order.
"""

from __future__ import annotations

import gc
import gzip
import re
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import compress
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from safegate.regex_tree import REPEATS, children, sre

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
# Longer lines are skipped: no DNS rule comes near it (a name has at most 253 characters,
# a pattern 256). A reader keeps at most 4 bytes per character of it (UTF-8) plus one
# character: enough to know the line is too long, never the whole of a huge line.
MAX_LINE_CHARS = 4096
_KEEP_BYTES = 4 * (MAX_LINE_CHARS + 1)

SKIP_MODIFIER = "adblock modifier not supported"
SKIP_PATH = "adblock rule with a path (not a DNS rule)"
SKIP_WILDCARD = "adblock wildcard that is not a host pattern"
SKIP_EVERYTHING = "pattern matches every name"
SKIP_REGEX_INVALID = "regex does not compile"
SKIP_REGEX_LONG = "regex or wildcard longer than 256 characters"
SKIP_REGEX_FEATURE = "regex feature not supported (backreference, named group, inline flag)"
SKIP_REGEX_NESTED = "regex with nested quantifiers (may backtrack catastrophically)"
SKIP_REGEX_SLOW = "regex too slow to compile or to match long names"
SKIP_REGEX_LIMIT = "more than 1,000 regex and wildcard entries in one list"
SKIP_COSMETIC = "adblock element-hiding rule (not a DNS rule)"
SKIP_IP = "IP address"
SKIP_LOCAL = "local name (localhost and the like)"
SKIP_NOT_HOST = "not a host name"
SKIP_WORDS = "several words without an address (not hosts format)"
SKIP_LONG_LINE = f"line longer than {MAX_LINE_CHARS:,} characters"


@dataclass
class ParseReport:
    """What a parse did with each line."""

    entries: int = 0  # block entries, plain names and patterns alike
    allow_entries: int = 0
    patterns: int = 0  # the regex and wildcard entries among them (bounded per list)
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def skip(self, reason: str, line: str) -> None:
        self.skipped[reason] += 1
        self.examples.setdefault(reason, line[:120])


class ListFileError(OSError):
    """A list file that cannot be read at all (missing, unreadable, not gzip, not text)."""


class ListTooLarge(ListFileError):
    """A list file that yields more bytes than its reader's cap (after decompression)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A usable entry: a host name, or (``pattern`` set) a regex or wildcard rule, whose
    ``domain`` is then the rule as written (what an explanation shows)."""

    domain: str
    allow: bool = False  # adblock "@@" exception
    pattern: str | None = None  # regex source, searched in the whole host name
    network: str | None = None  # an IP address or CIDR: blocks answers that point into it


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


def _network(text: str) -> str | None:
    """A lone IP address or CIDR on a line: an address rule (answers pointing into it are
    blocked). The unspecified and loopback addresses are never rules: sinkholes answer
    with them."""
    if not (text[0].isdigit() or ":" in text):
        return None
    import ipaddress

    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    if net.network_address.is_unspecified or net.network_address.is_loopback:
        return None
    return str(net)


def _why_not(part: str) -> str:
    """The skip reason for a token that ``normalise_domain`` refused."""
    if _is_ip(part):
        return SKIP_IP
    if part.strip().strip(".").lower() in _LOCAL_NAMES:
        return SKIP_LOCAL
    return SKIP_NOT_HOST


# --- regex and wildcard entries -------------------------------------------------------
#
# A pattern is searched (``re.search``) in the lowercase host name, case-insensitively
# (AdGuard's default): ``Entry.pattern`` is the form to compile with REGEX_FLAGS, wrapped
# in ``(?i:...)`` only when it has uppercase letters (ignoring case makes ``re`` slower,
# and host names reach the index in lowercase). Lists are made by others and the gate
# runs every enabled list's patterns on each name the hash lookup misses, so a pattern
# must keep these bounds:
# at most MAX_PATTERN_LENGTH characters; no backreferences, conditionals, named groups or
# inline global flags (``(?i)`` at the start is accepted and redundant); no quantified
# group that contains another quantifier unless every repetition starts or ends with a
# character the inner quantifiers cannot match (``(\w+\.)*`` is fine, ``(a+)+`` is not);
# compiling takes at most REGEX_COMPILE_SECONDS and a search in probe names up to 253
# characters long at most REGEX_PROBE_SECONDS (CPU time of the checking thread, so that
# other work on a busy machine does not reject a pattern); and it must not match every
# name. A list keeps at most MAX_PATTERNS of them.

MAX_PATTERN_LENGTH = 256
MAX_PATTERNS = 1000
REGEX_FLAGS = re.ASCII
_CHECK_FLAGS = re.ASCII | re.IGNORECASE  # what a pattern means
WILDCARD_PREFIX = r"(?:^|\.)"  # how a wildcard rule's pattern starts (unless with "*")
REGEX_COMPILE_SECONDS = 0.05
REGEX_PROBE_SECONDS = 0.002
PROBE_LENGTHS = (8, 12, 16, 24, 32, 64, 128, 253)

_WILDCARD_HOST = re.compile(r"^[a-z0-9_*-]+(?:\.[a-z0-9_*-]+)*$")

_BACKTRACKING_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT}
_REFERENCES = {sre.GROUPREF, sre.GROUPREF_EXISTS}


def _inner_repeats(seq: Any) -> list[Any]:
    """Every quantified item (that may repeat more than once) inside ``seq``."""
    out = []
    for op, av in seq:
        if op in REPEATS and av[1] > 1:
            out.append((op, av))
        for child in children(op, av):
            out += _inner_repeats(child)
    return out


def _char_matches(item: tuple[Any, Any], ch: int) -> bool:
    """Can the one-character item ``item`` match the character ``ch``? True when unsure."""
    op, av = item
    chars = {ch, ord(chr(ch).lower()), ord(chr(ch).upper())}  # patterns ignore case
    if op is sre.LITERAL:
        return chr(av).lower() == chr(ch).lower()
    if op is sre.NOT_LITERAL:
        return chr(av).lower() != chr(ch).lower()
    if op is sre.ANY:
        return ch != 10
    if op is sre.IN:
        negate = False
        found = False
        for sop, sav in av:
            if sop is sre.NEGATE:
                negate = True
            elif sop is sre.LITERAL:
                found |= sav in chars
            elif sop is sre.RANGE:
                found |= any(sav[0] <= c <= sav[1] for c in chars)
            elif sop is sre.CATEGORY:
                c = chr(ch)
                tests = {
                    sre.CATEGORY_DIGIT: c.isdigit(), sre.CATEGORY_NOT_DIGIT: not c.isdigit(),
                    sre.CATEGORY_WORD: c.isalnum() or c == "_",
                    sre.CATEGORY_NOT_WORD: not (c.isalnum() or c == "_"),
                    sre.CATEGORY_SPACE: c.isspace(), sre.CATEGORY_NOT_SPACE: not c.isspace(),
                }
                found |= tests.get(sav, True)
            else:
                return True
        return found != negate
    return True


def _delimited(body: Any, inner: list[Any]) -> bool:
    """Does every repetition of ``body`` start or end with a literal character that none
    of the quantifiers ``inner`` (inside it) can match? Then a name splits into
    repetitions in one way only, and the nesting cannot backtrack exponentially
    (``(\\w+\\.)*`` is delimited; ``(\\w+\\.\\w+)*`` is not: "a.bc.d" splits twice)."""
    while len(body) == 1 and body[0][0] is sre.SUBPATTERN:  # a group: look inside
        body = body[0][1][3]
    edges = [body[0], body[-1]] if len(body) else []
    for op, av in edges:
        if op is sre.LITERAL and all(len(sub) == 1 and not _char_matches(sub[0], av)
                                      for _, (_, _, sub) in inner):
            return True
    return False


def _structure_problem(seq: Any) -> str | None:
    for op, av in seq:
        if op in _REFERENCES:
            return SKIP_REGEX_FEATURE
        if op in _BACKTRACKING_REPEATS and av[1] > 1:
            inner = _inner_repeats(av[2])
            if inner and not _delimited(av[2], inner):
                return SKIP_REGEX_NESTED
        for child in children(op, av):
            problem = _structure_problem(child)
            if problem:
                return problem
    return None


def _literals(seq: Any) -> set[int]:
    out: set[int] = set()
    for op, av in seq:
        if op is sre.LITERAL:
            out.add(av)
        for child in children(op, av):
            out |= _literals(child)
    return out


def _probes(seq: Any) -> list[str]:
    """Characters to repeat into probe names: the pattern's own literals (what makes a
    backtracking pattern try hardest) and a few common ones."""
    chars = sorted({chr(c).lower() for c in _literals(seq) if 32 < c < 127})[:4]
    return list(dict.fromkeys([*chars, "a", "."]))


def _search_seconds(compiled: re.Pattern[str], name: str) -> float:
    collecting = gc.isenabled()
    gc.disable()  # a collection of the caller's heap is not the pattern's cost
    try:
        started = time.thread_time()
        compiled.search(name)
        return time.thread_time() - started
    finally:
        if collecting:
            gc.enable()


def _too_slow(compiled: re.Pattern[str], chars: list[str]) -> bool:
    """Does a search in a long probe name exceed the budget? Lengths grow slowly, so a
    pattern that blows up is caught at a length where it still returns quickly. A slow
    probe is timed twice more (the best of three counts), so that a pause of the
    machine does not reject a pattern."""
    for n in PROBE_LENGTHS:
        for ch in chars:
            for name in (ch * n, (ch * n)[:-1] + "!"):
                if (_search_seconds(compiled, name) > REGEX_PROBE_SECONDS
                        and min(_search_seconds(compiled, name) for _ in range(2))
                        > REGEX_PROBE_SECONDS):
                    return True
    return False


# A pattern that matches all of these matches every name (``.``, ``^``, ``a*``).
_UNRELATED_NAMES = ("a", "0", "example.com", "xn--p1ai", "_dmarc.q-1.zz")


def regex_problem(source: str, *, probe: bool = True) -> str | None:
    """Why the regex ``source`` may not be used (a skip reason), or None if it may.
    ``probe=False`` skips the timing of searches (for patterns built by
    ``wildcard_regex``, which cannot backtrack badly)."""
    if len(source) > MAX_PATTERN_LENGTH:
        return SKIP_REGEX_LONG
    # A garbage collection of the caller's heap can fall inside the timed compile and
    # would count as the pattern's cost; collections wait until the timing is done.
    collecting = gc.isenabled()
    gc.disable()
    started = time.thread_time()
    try:
        compiled = re.compile(source, _CHECK_FLAGS)
        # As a part of a list's alternation: refuses inline global flags after the start.
        re.compile(f"(?:{source})", _CHECK_FLAGS)
        tree = sre.parse(source, _CHECK_FLAGS)
    except re.error as exc:
        return SKIP_REGEX_FEATURE if "global flags" in str(exc) else SKIP_REGEX_INVALID
    except (RecursionError, OverflowError, ValueError):
        return SKIP_REGEX_INVALID
    finally:
        compile_seconds = time.thread_time() - started
        if collecting:
            gc.enable()
    if compile_seconds > REGEX_COMPILE_SECONDS:
        return SKIP_REGEX_SLOW
    if compiled.groupindex:
        return SKIP_REGEX_FEATURE
    problem = _structure_problem(tree)
    if problem:
        return problem
    if all(compiled.search(name) for name in _UNRELATED_NAMES):
        return SKIP_EVERYTHING
    if probe and _too_slow(compiled, _probes(tree)):
        return SKIP_REGEX_SLOW
    return None


def _has_upper(seq: Any) -> bool:
    for op, av in seq:
        if op in (sre.LITERAL, sre.NOT_LITERAL) and 65 <= av <= 90:
            return True
        if op is sre.IN and any(
                (sop is sre.LITERAL and 65 <= sav <= 90)
                or (sop is sre.RANGE and sav[0] <= 90 and sav[1] >= 65) for sop, sav in av):
            return True
        if any(_has_upper(child) for child in children(op, av)):
            return True
    return False


def search_form(source: str) -> str:
    """The pattern to compile with REGEX_FLAGS for a checked regex ``source``: itself, or
    ``(?i:source)`` when it has uppercase letters (on lowercase names the two agree with
    ``source`` compiled to ignore case)."""
    return f"(?i:{source})" if _has_upper(sre.parse(source, _CHECK_FLAGS)) else source


def wildcard_regex(host: str) -> str:
    """The regex of the adblock host rule ``||host^`` where ``host`` (lowercase ASCII)
    has ``*`` wildcards: the rule matches a name when the glob matches the name or the
    name's end after a dot. Each middle part is matched at its first occurrence inside an
    atomic group, so a search never backtracks into earlier parts (linear, not
    polynomial, in the number of ``*``). With a leading ``*`` the glob may start
    anywhere: the pattern starts with the first literal part, unanchored (a search then
    skips quickly to where that part occurs, instead of scanning from every label)."""
    parts = host.split("*")
    if parts[0]:
        out = [WILDCARD_PREFIX, re.escape(parts[0])]
    else:
        parts = parts[1:]
        if len(parts) == 1:  # "*tail": the name ends with tail
            return f"{re.escape(parts[0])}$"
        out = [re.escape(parts[0])]
    for middle in parts[1:-1]:
        if middle:
            out.append(f"(?>.*?{re.escape(middle)})")
    if parts[-1]:  # (a trailing "*" matches the rest of the name whatever it is)
        out.append(f".*{re.escape(parts[-1])}$")
    return "".join(out)


def suffix_key(pattern: str) -> str | None:
    """The last one or two whole labels every name that ``pattern`` (a search form, see
    ``search_form``) matches must end with, or None if the pattern does not say.

    Known when the pattern ends with literal characters, a dot among them, then ``$``:
    ``(?:^|\\.)ads.*\\.example\\.com$`` gives ``example.com``,
    ``(\\.|^)doubleclick\\.net$`` gives ``net`` ("doubleclick" may end a longer
    label). The index groups patterns by it, so that a lookup searches only the groups
    of the name's last labels and the patterns without one.
    """
    try:
        items = list(sre.parse(pattern, REGEX_FLAGS))
    except (re.error, RecursionError, OverflowError, ValueError):
        return None
    if not items or items[-1] != (sre.AT, sre.AT_END):
        return None
    tail: list[str] = []
    for op, av in reversed(items[:-1]):
        if op is not sre.LITERAL:
            break
        tail.append(chr(av))
    text = "".join(reversed(tail))
    dot = text.find(".")
    if dot < 0 or dot == len(text) - 1:
        return None
    return ".".join(text[dot + 1:].split(".")[-2:])


def _pattern_entry(source: str, text: str, allow: bool, report: ParseReport, *,
                   probe: bool = True) -> tuple[Entry, ...]:
    """A ``/regex/`` line (or a wildcard rule's regex), if it keeps within the bounds."""
    if source.startswith("(?i)"):
        source = source[4:]  # patterns are case-insensitive anyway
    if report.patterns >= MAX_PATTERNS:
        report.skip(SKIP_REGEX_LIMIT, text)
        return ()
    problem = regex_problem(source, probe=probe)
    if problem:
        report.skip(problem, text)
        return ()
    report.patterns += 1
    return (Entry(text, allow, search_form(source)),)


def _host_rule(body: str, text: str, allow: bool, report: ParseReport,
               ) -> tuple[Entry, ...]:
    """An adblock ``||...`` rule (``body`` is what follows the ``||``)."""
    if "$" in body:
        report.skip(SKIP_MODIFIER, text)
        return ()
    host = body.rstrip("^|")
    if "/" in host:
        report.skip(SKIP_PATH, text)
        return ()
    while host.startswith("*."):  # "||*.example.com^" is "||example.com^"
        host = host[2:]
    if "*" not in host or "^" in host or "|" in host:
        name = normalise_domain(host) if "^" not in host and "|" not in host else None
        if name is None:
            report.skip(SKIP_NOT_HOST, text)
            return ()
        return (Entry(name, allow),)
    host = re.sub(r"\*{2,}", "*", host.strip().lower().rstrip("."))
    if not host.isascii():
        labels = [label if "*" in label or label.isascii() else to_ascii(label)
                  for label in host.split(".")]
        if any(label is None or not label.isascii() for label in labels):
            report.skip(SKIP_WILDCARD, text)
            return ()
        host = ".".join(label for label in labels if label is not None).lower()
    if not _WILDCARD_HOST.match(host):
        report.skip(SKIP_WILDCARD, text)
        return ()
    if not host.strip("*."):
        report.skip(SKIP_EVERYTHING, text)
        return ()
    if len(host) > MAX_PATTERN_LENGTH:
        report.skip(SKIP_REGEX_LONG, text)
        return ()
    return _pattern_entry(wildcard_regex(host), text, allow, report, probe=False)


def parse_line(line: str, report: ParseReport) -> tuple[Entry, ...]:
    """The entries of one line of any supported format (empty for comments and skips)."""
    if len(line) > MAX_LINE_CHARS and len(line.rstrip("\r\n")) > MAX_LINE_CHARS:
        report.skip(SKIP_LONG_LINE, line)
        return ()
    text = line.strip()
    if not text or text[0] in "#!" or text.startswith("["):
        return ()
    if text[0] in "|@/":
        allow = text.startswith("@@")
        body = text[2:] if allow else text
        if body.startswith("||"):
            return _host_rule(body[2:], text, allow, report)
        if body.startswith("/") and len(body) > 1:
            end = body.rfind("/")
            if end > 1 and end == len(body) - 1:
                return _pattern_entry(body[1:end], text, allow, report)
            report.skip(SKIP_MODIFIER if body[end + 1:].startswith("$") and end > 1
                        else SKIP_PATH, text)
            return ()
    if "#" in text:
        if _COSMETIC.search(text):
            report.skip(SKIP_COSMETIC, text)
            return ()
        text = text.split("#", 1)[0].strip()
        if not text:
            return ()
    parts = text.split()
    if len(parts) == 1:
        network = _network(parts[0])
        if network is not None:
            return (Entry(parts[0], network=network),)
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


def iter_chunks(path: Path, max_bytes: int | None = None) -> Iterator[bytes]:
    """The bytes of a plain or gzip file in pieces of about ``CHUNK_BYTES`` that end at a
    line break, with universal newlines (``\\r\\n`` and lone ``\\r`` become ``\\n``); the
    last piece gets a final ``\\n`` if it lacks one. A line longer than the piece carried
    over allows (``_KEEP_BYTES``) is cut there and the rest of it dropped: the cut line is
    still longer than ``MAX_LINE_CHARS``, so ``parse_line`` skips it. A damaged file
    raises ListFileError; more than ``max_bytes`` bytes (decompressed) ListTooLarge."""
    raw = _open(path)
    with raw:
        try:
            magic = raw.read(2)
            raw.seek(0)
            stream: Any = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw
            rest = b""  # the start of a line that continues in the next block
            dropping = False  # inside an over-long line: drop bytes up to its end
            total = 0
            while True:
                block = stream.read(CHUNK_BYTES)
                if not block:
                    break
                total += len(block)
                if max_bytes is not None and total > max_bytes:
                    raise ListTooLarge(f"larger than {max_bytes:,} bytes (decompressed)")
                if dropping:
                    start = _first_break(block)
                    if start < 0:
                        continue
                    block = block[start:]
                    dropping = False
                if rest:
                    block = rest + block
                # Cut after the last line break; a final "\r" may be half of a "\r\n".
                cut = max(block.rfind(b"\n"), block.rfind(b"\r", 0, len(block) - 1)) + 1
                rest = block[cut:]
                if len(rest) > _KEEP_BYTES:
                    rest, dropping = _cut_line(rest)
                if cut:
                    yield _newlines(block[:cut])
        except ListTooLarge:
            raise
        except (OSError, EOFError, zlib.error) as exc:
            raise ListFileError(f"list file {path} is damaged: {exc}") from exc
        if rest:
            yield _newlines(rest if rest.endswith(b"\n") else rest + b"\n")


def _first_break(block: bytes) -> int:
    """Where the first line break of ``block`` is, or -1."""
    nl = block.find(b"\n")
    cr = block.find(b"\r", 0, nl if nl >= 0 else len(block))
    return cr if cr >= 0 else nl


def _cut_line(partial: bytes) -> tuple[bytes, bool]:
    """The start of an over-long line to carry on (enough to be skipped as too long), and
    whether the rest of the line is still to come (to be dropped). A final ``\\r`` ends
    the line (or is half of a ``\\r\\n``): it is kept."""
    if partial.endswith(b"\r"):
        return partial[:_KEEP_BYTES] + b"\r", False
    return partial[:_KEEP_BYTES], True


def _newlines(block: bytes) -> bytes:
    if b"\r" in block:
        block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return block


def iter_lines(path: Path, max_bytes: int | None = None) -> Iterator[str]:
    """Lines of a plain or gzip file, decoded as UTF-8 (bad bytes replaced), each with
    its ``\\n`` (see ``iter_chunks`` for over-long lines and ``max_bytes``)."""
    for block in iter_chunks(path, max_bytes):
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


class Batch(NamedTuple):
    """The usable entries of one chunk of a list file."""

    names: list[str]  # block names
    allow: list[str]  # allow names ("@@" rules)
    patterns: list[Entry]  # regex, wildcard and address entries, in file order


def _batch(block: bytes, report: ParseReport) -> Batch:
    """Block and allow names and patterns of one chunk (see ``iter_batches``)."""
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
    patterns: list[Entry] = []
    for line in rest:
        for entry in parse_line(line, report):
            if entry.allow:
                report.allow_entries += 1
            else:
                report.entries += 1
            if entry.pattern is not None or entry.network is not None:
                patterns.append(entry)
            elif entry.allow:
                allow.append(entry.domain)
            else:
                plain.append(entry.domain)
    return Batch(plain, allow, patterns)


def iter_batches(path: Path, report: ParseReport, max_bytes: int | None = None,
                 ) -> Iterator[Batch]:
    """Every usable entry of a list file, a chunk at a time: block names, allow names and
    patterns (a ``Batch``).

    The same entries as ``iter_entries`` (not in file order) at a fraction of the cost;
    ``report`` counts the rest.
    """
    for block in iter_chunks(path, max_bytes):
        yield _batch(block, report)


def iter_entries(path: Path, report: ParseReport, max_bytes: int | None = None,
                 ) -> Iterator[Entry]:
    """Every usable entry of a list file in file order; ``report`` counts the rest."""
    plain = _HOSTNAME.match
    for line in iter_lines(path, max_bytes):
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
