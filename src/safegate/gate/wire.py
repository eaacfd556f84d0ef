"""DNS wire format: parse queries, scan upstream answers, build responses.

Pure functions over ``bytes``; no object tree per message. The hot path reads only the
header and the question; everything else is done once per cache miss. dnspython is the
reference these functions are tested against.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

# Record types and codes used by the gate.
TYPE_A = 1
TYPE_NS = 2
TYPE_CNAME = 5
TYPE_SOA = 6
TYPE_PTR = 12
TYPE_TXT = 16
TYPE_AAAA = 28
TYPE_OPT = 41
TYPE_SVCB = 64
TYPE_HTTPS = 65
TYPE_ANY = 255
CLASS_IN = 1

RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_SERVFAIL = 2
RCODE_NXDOMAIN = 3
RCODE_NOTIMP = 4
RCODE_REFUSED = 5
RCODE_BADVERS = 16  # extended rcode: upper 8 bits live in the OPT TTL field

FLAG_QR = 0x8000
FLAG_AA = 0x0400
FLAG_TC = 0x0200
FLAG_RD = 0x0100
FLAG_RA = 0x0080
FLAG_AD = 0x0020
FLAG_CD = 0x0010

EDNS_DO = 0x8000
OPTION_EDE = 15  # RFC 8914 extended DNS error
OPTION_MAC_DNSMASQ = 65001  # dnsmasq --add-mac (binary, base64 or text)
EDE_FILTERED = 17
EDE_STALE_ANSWER = 3

MAX_NAME = 255
MAX_LABEL = 63
MAX_POINTER_JUMPS = 32
MIN_UDP_PAYLOAD = 512
DEFAULT_UDP_PAYLOAD = 1232

_HEADER = struct.Struct("!HHHHHH")
_QTAIL = struct.Struct("!HH")
_RR_FIXED = struct.Struct("!HHIH")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")


class WireError(ValueError):
    """A message that cannot be processed; ``rcode`` is what to answer (or None: drop)."""

    def __init__(self, message: str, rcode: int | None = RCODE_FORMERR) -> None:
        super().__init__(message)
        self.rcode = rcode


class Query(NamedTuple):
    """The parts of a query the gate needs (immutable; a tuple, cheap to create)."""

    id: int
    flags: int
    name: str  # lowercase presentation form without trailing dot ("" for the root)
    qtype: int
    qclass: int
    question_end: int  # offset just past the question
    edns: bool
    udp_size: int  # the client's advertised payload size (512 without EDNS)
    do: bool
    edns_version: int
    options: tuple[tuple[int, bytes], ...]

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF

    @property
    def rd(self) -> bool:
        return bool(self.flags & FLAG_RD)

    @property
    def cd(self) -> bool:
        return bool(self.flags & FLAG_CD)

    def option(self, code: int) -> bytes | None:
        for c, value in self.options:
            if c == code:
                return value
        return None


def read_name(data: bytes, offset: int) -> tuple[list[bytes], int]:
    """Read a possibly compressed name at ``offset``.

    Returns the labels and the offset just past the name *in place* (after the first
    pointer, if any). As in dnspython, every pointer must point strictly before where the
    name (or the previous pointer's target) started, which rules out loops and forward
    pointers; pointers into the header, long labels and long names are rejected too.
    """
    labels: list[bytes] = []
    total = 1
    end = -1
    jumps = 0
    pos = offset
    limit = offset  # the next pointer must point below this
    size = len(data)
    while True:
        if pos >= size:
            raise WireError("name runs past the end of the message")
        length = data[pos]
        if length == 0:
            pos += 1
            break
        kind = length & 0xC0
        if kind == 0xC0:
            if pos + 1 >= size:
                raise WireError("truncated compression pointer")
            target = ((length & 0x3F) << 8) | data[pos + 1]
            if end < 0:
                end = pos + 2
            if target >= limit:
                raise WireError("compression pointer does not point backwards")
            if target < 12:
                raise WireError("compression pointer into the header")
            jumps += 1
            if jumps > MAX_POINTER_JUMPS:
                raise WireError("too many compression pointers")
            pos = limit = target
            continue
        if kind:
            raise WireError("unsupported label type")
        start = pos + 1
        pos = start + length
        if pos > size:
            raise WireError("label runs past the end of the message")
        total += length + 1
        if total > MAX_NAME:
            raise WireError("name longer than 255 octets")
        labels.append(data[start:pos])
    return labels, (end if end >= 0 else pos)


# Octets that dnspython writes as themselves in a label: printable ASCII except the
# specials it escapes with a backslash. ``_PLAIN_AND_DOT`` adds the label separator.
_SPECIAL = b'"().;\\@$'
_PLAIN = bytes(c for c in range(0x21, 0x7F) if c not in _SPECIAL)
_PLAIN_AND_DOT = _PLAIN + b"."


def _escape_label(label: bytes) -> str:
    out = []
    for c in label.lower():
        if c in _SPECIAL:
            out.append("\\" + chr(c))
        elif 0x20 < c < 0x7F:
            out.append(chr(c))
        else:
            out.append(f"\\{c:03d}")
    return "".join(out)


def labels_to_text(labels: list[bytes]) -> str:
    """Lowercase presentation form without the final dot ("" for the root).

    The same text as dnspython's ``name.canonicalize().to_text(omit_final_dot=True)``:
    only ASCII letters are lowercased (DNS case-insensitivity is ASCII only), octets
    outside printable ASCII become ``\\DDD`` and the specials ``"().;\\@$`` (and a dot
    inside a label) get a backslash, so two different names never share a text.
    """
    raw = b".".join(labels)
    if not raw.translate(None, _PLAIN_AND_DOT) and raw.count(b".") == len(labels) - 1:
        return raw.lower().decode("ascii")  # the usual case: a few C passes, no loop
    return ".".join(_escape_label(label) for label in labels)


def encode_name(name: str) -> bytes:
    """Encode a presentation-form ASCII name (no escapes) to wire format."""
    if name in ("", "."):
        return b"\x00"
    out = bytearray()
    for label in name.rstrip(".").split("."):
        try:
            raw = label.encode("ascii")
        except UnicodeEncodeError:
            raise WireError(f"non-ASCII label in {name!r} (use the IDNA form)", None) from None
        if not raw or len(raw) > MAX_LABEL:
            raise WireError(f"bad label in {name!r}", None)
        out.append(len(raw))
        out += raw
    out.append(0)
    if len(out) > MAX_NAME:
        raise WireError(f"name too long: {name!r}", None)
    return bytes(out)


_QUESTION_NAME_END = MAX_NAME + 12
_new_query = tuple.__new__  # Query(...) without NamedTuple's Python-level __new__


def _question_name(data: bytes) -> tuple[list[bytes], int]:
    """The labels of the question name at offset 12 and the offset past it. A query's
    question is the first name of the message, so it can never be compressed."""
    labels: list[bytes] = []
    append = labels.append
    pos = 12
    size = len(data)
    while True:
        if pos >= size:
            raise WireError("question truncated")
        length = data[pos]
        if not length:
            return labels, pos + 1
        if length > MAX_LABEL:
            if length & 0xC0 == 0xC0:
                raise WireError("compressed name in the question")
            raise WireError("unsupported label type")
        end = pos + 1 + length
        if end >= _QUESTION_NAME_END:  # with the root label still to come: over 255 octets
            raise WireError("name longer than 255 octets")
        if end > size:
            raise WireError("question truncated")
        append(data[pos + 1 : end])
        pos = end


def parse_query(data: bytes) -> Query:
    """Parse a query's header, question and EDNS OPT record.

    Raises WireError with the rcode to answer: FORMERR for malformed messages, NOTIMP for
    opcodes other than QUERY, BADVERS for EDNS versions above 0, or rcode None when the
    message should be dropped (too short for a header, or a response).
    """
    if len(data) < 12:
        raise WireError("shorter than a DNS header", None)
    qid, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(data)
    if flags & FLAG_QR:
        raise WireError("message is a response, not a query", None)
    if flags & 0x7800:
        raise WireError(f"opcode {(flags >> 11) & 0xF} not implemented", RCODE_NOTIMP)
    if qdcount != 1:
        raise WireError(f"{qdcount} questions (exactly one is supported)")
    # The usual question name, fast (every cache miss parses one): its ``labels_to_text``
    # when it is well formed and every label is plain (no escapes needed); else None, and
    # ``_question_name`` reads it (and raises what is wrong with it). No slice per label:
    # the length octets of one copy of the name become dots.
    name: str | None = None
    size = len(data)
    pos = 12
    count = 0
    while pos < size:
        length = data[pos]
        if not length:
            if pos < _QUESTION_NAME_END:
                if count:
                    text = bytearray(data[13:pos])
                    inner = 13 + data[12]
                    while inner < pos:
                        text[inner - 13] = 46  # "."
                        inner += 1 + data[inner]
                    if not text.translate(None, _PLAIN_AND_DOT) and \
                            text.count(46) == count - 1:
                        name = text.lower().decode("ascii")
                else:
                    name = ""
            break
        if length > MAX_LABEL:
            break
        pos += 1 + length
        count += 1
    if name is None:
        labels, pos = _question_name(data)
        name = labels_to_text(labels)
    else:
        pos += 1
    question_end = pos + 4
    if question_end > len(data):
        raise WireError("question truncated")
    qtype, qclass = _QTAIL.unpack_from(data, pos)
    if not (ancount or nscount or arcount):
        # The usual query: no records at all (trailing bytes are ignored, as below).
        return _new_query(Query, (qid, flags, name, qtype, qclass,
                                  question_end, False, MIN_UDP_PAYLOAD, False, 0, ()))
    edns = False
    udp_size = MIN_UDP_PAYLOAD
    do = False
    version = 0
    options: tuple[tuple[int, bytes], ...] = ()
    pos = question_end
    total = ancount + nscount + arcount
    if total > 65:
        raise WireError("too many records in a query")
    first_additional = ancount + nscount
    for index in range(total):
        _, pos_after_name = read_name(data, pos)
        if pos_after_name + 10 > len(data):
            raise WireError("record truncated")
        rtype, rclass, ttl, rdlen = _RR_FIXED.unpack_from(data, pos_after_name)
        rdata = pos_after_name + 10
        end = rdata + rdlen
        if end > len(data):
            raise WireError("record data truncated")
        if rtype == TYPE_OPT:
            if index < first_additional:
                raise WireError("OPT record outside the additional section")
            if edns:
                raise WireError("more than one OPT record")
            if data[pos] != 0:
                raise WireError("OPT record owner is not the root")
            edns = True
            udp_size = max(MIN_UDP_PAYLOAD, rclass)
            version = (ttl >> 16) & 0xFF
            do = bool(ttl & EDNS_DO)
            options = _parse_options(data, rdata, end)
        pos = end
    # Bytes after the last record are tolerated (like BIND) and ignored.
    if edns and version > 0:
        raise WireError(f"EDNS version {version} not supported", RCODE_BADVERS)
    return Query(qid, flags, name, qtype, qclass, question_end, edns,
                 udp_size, do, version, options)


def _parse_options(data: bytes, start: int, end: int) -> tuple[tuple[int, bytes], ...]:
    out = []
    pos = start
    while pos < end:
        if pos + 4 > end:
            raise WireError("EDNS option truncated")
        code, length = struct.unpack_from("!HH", data, pos)
        pos += 4
        if pos + length > end:
            raise WireError("EDNS option data truncated")
        out.append((code, data[pos : pos + length]))
        pos += length
    return tuple(out)


# --- responses -----------------------------------------------------------------------


def response_flags(query_flags: int, rcode: int, *, aa: bool = False, tc: bool = False) -> int:
    """Header flags for an answer to a query with ``query_flags``."""
    flags = FLAG_QR | (query_flags & (0x7800 | FLAG_RD | FLAG_CD)) | FLAG_RA | (rcode & 0xF)
    if aa:
        flags |= FLAG_AA
    if tc:
        flags |= FLAG_TC
    return flags


def opt_record(
    udp_size: int = DEFAULT_UDP_PAYLOAD,
    *,
    do: bool = False,
    ext_rcode: int = 0,
    options: tuple[tuple[int, bytes], ...] = (),
) -> bytes:
    """An OPT pseudo-record for the additional section."""
    rdata = b"".join(_U16.pack(c) + _U16.pack(len(v)) + v for c, v in options)
    ttl = ((ext_rcode >> 4) & 0xFF) << 24 | (EDNS_DO if do else 0)
    return b"\x00" + _RR_FIXED.pack(TYPE_OPT, udp_size, ttl, len(rdata)) + rdata


def ede_option(info_code: int, text: str = "") -> tuple[int, bytes]:
    """An Extended DNS Error option (RFC 8914)."""
    return (OPTION_EDE, _U16.pack(info_code) + text.encode("utf-8")[:200])


def rr(owner: bytes, rtype: int, ttl: int, rdata: bytes, rclass: int = CLASS_IN) -> bytes:
    """One resource record; ``owner`` is wire format (e.g. ``b"\\xc0\\x0c"``)."""
    return owner + _RR_FIXED.pack(rtype, rclass, ttl, len(rdata)) + rdata


QNAME_POINTER = b"\xc0\x0c"


def soa_rdata(zone_ns: str, ttl: int) -> bytes:
    """A synthetic SOA for local negative answers (minimum = ``ttl``)."""
    mname = encode_name(zone_ns)
    rname = encode_name("hostmaster." + zone_ns)
    return mname + rname + struct.pack("!IIIII", 1, 3600, 600, 86400, ttl)


def build_response(
    data: bytes,
    query: Query,
    rcode: int,
    answers: list[bytes] | tuple[bytes, ...] = (),
    authority: list[bytes] | tuple[bytes, ...] = (),
    *,
    aa: bool = False,
    options: tuple[tuple[int, bytes], ...] = (),
) -> bytes:
    """A complete response echoing the client's question bytes (0x20 case preserved)."""
    additional = b""
    arcount = 0
    if query.edns:
        additional = opt_record(do=query.do, ext_rcode=rcode, options=options)
        arcount = 1
    header = _HEADER.pack(
        query.id,
        response_flags(query.flags, rcode, aa=aa),
        1,
        len(answers),
        len(authority),
        arcount,
    )
    body = b"".join(answers) + b"".join(authority)
    return header + data[12 : query.question_end] + body + additional


def error_response(data: bytes, rcode: int) -> bytes | None:
    """FORMERR/NOTIMP/… for a message we could not parse: echo the header, no sections.

    Returns None when there is not even a header to answer.
    """
    if len(data) < 12:
        return None
    qid, flags = struct.unpack_from("!HH", data)
    if flags & FLAG_QR:
        return None
    ext = 0
    if rcode > 15:
        ext, rcode = rcode, rcode & 0xF
    hdr = _HEADER.pack(qid, response_flags(flags, rcode), 0, 0, 0, 1 if ext else 0)
    if ext:
        return hdr + opt_record(ext_rcode=ext)
    return hdr


def truncated(response: bytes, question_end: int, edns_opt: bytes) -> bytes:
    """The TC=1 form of ``response``: header and question only (plus OPT)."""
    qid, flags = struct.unpack_from("!HH", response)
    hdr = _HEADER.pack(qid, flags | FLAG_TC, 1, 0, 0, 1 if edns_opt else 0)
    return hdr + response[12:question_end] + edns_opt


# --- scanning upstream answers ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scanned:
    """What the gate needs from an upstream response, computed once per cache miss."""

    rcode: int
    flags: int
    counts: tuple[int, int, int]  # answer, authority, additional (OPT removed)
    tail: bytes  # sections after the question, upstream OPT removed
    ttl_offsets: tuple[int, ...]  # offsets of TTL fields within ``tail``
    ttls: tuple[int, ...]
    cnames: tuple[str, ...]  # CNAME targets in the answer section
    addresses: tuple[bytes, ...]  # A/AAAA rdata in the answer section
    negative_ttl: int | None  # from the SOA in authority (RFC 2308), if any
    min_ttl: int | None  # smallest TTL of the answer section


def scan_response(data: bytes, question_end: int) -> Scanned:
    """Walk an upstream response once; raise WireError if it is malformed.

    ``question_end`` is where the question of our query ends; the response must carry one
    question of that length. The tail is the answer, authority and additional records up
    to the upstream's OPT record (the gate writes its own OPT). Additional records that
    follow an OPT are checked but dropped: removing the OPT would shift offsets that their
    compression pointers may use, and additional data is optional. A TTL with the top bit
    set counts as 0 and is rewritten so (RFC 2181 §8).
    """
    size = len(data)
    if size < 12:
        raise WireError("response shorter than a header")
    _, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(data)
    if qdcount != 1:
        raise WireError("response does not carry exactly one question")
    _, qname_end = read_name(data, 12)
    if qname_end + 4 != question_end or question_end > size:
        raise WireError("response question does not match the query")
    pos = question_end
    cut = -1  # offset of the OPT record: the tail stops there
    ttl_offsets: list[int] = []
    ttls: list[int] = []
    cnames: list[str] = []
    addresses: list[bytes] = []
    negative_ttl: int | None = None
    min_ttl: int | None = None
    n_answer = n_authority = n_additional = 0
    zeroed: list[int] = []
    ext_rcode = 0
    in_an_ns = ancount + nscount
    for index in range(in_an_ns + arcount):
        start = pos
        _, after_name = read_name(data, pos)
        if after_name + 10 > size:
            raise WireError("record truncated")
        rtype, _rclass, ttl, rdlen = _RR_FIXED.unpack_from(data, after_name)
        rdata = after_name + 10
        end = rdata + rdlen
        if end > size:
            raise WireError("record data truncated")
        pos = end
        if rtype == TYPE_OPT:
            if index < in_an_ns:
                raise WireError("OPT record outside the additional section")
            if cut >= 0:
                raise WireError("more than one OPT record")
            ext_rcode = ttl >> 24
            cut = start
            continue
        if cut >= 0:
            continue
        if ttl > 0x7FFFFFFF:
            ttl = 0
            zeroed.append(after_name + 4 - question_end)
        ttl_offsets.append(after_name + 4 - question_end)
        ttls.append(ttl)
        if index < ancount:
            n_answer += 1
            min_ttl = ttl if min_ttl is None or ttl < min_ttl else min_ttl
            if rtype == TYPE_CNAME:
                labels, p = read_name(data, rdata)
                if p > end:
                    raise WireError("CNAME target runs past its record")
                cnames.append(labels_to_text(labels))
            elif (rtype == TYPE_A and rdlen == 4) or (rtype == TYPE_AAAA and rdlen == 16):
                addresses.append(data[rdata:end])
        elif index < in_an_ns:
            n_authority += 1
            if rtype == TYPE_SOA:
                _, p = read_name(data, rdata)
                _, p = read_name(data, p)
                if p + 20 > end:
                    raise WireError("SOA record truncated")
                minimum = _U32.unpack_from(data, p + 16)[0]
                negative_ttl = min(ttl, minimum)
        else:
            n_additional += 1
    tail = data[question_end : (cut if cut >= 0 else pos)]
    if zeroed:
        buf = bytearray(tail)
        for off in zeroed:
            _U32.pack_into(buf, off, 0)
        tail = bytes(buf)
    return Scanned(
        rcode=(flags & 0xF) | (ext_rcode << 4),
        flags=flags,
        counts=(n_answer, n_authority, n_additional),
        tail=tail,
        ttl_offsets=tuple(ttl_offsets),
        ttls=tuple(ttls),
        cnames=tuple(cnames),
        addresses=tuple(addresses),
        negative_ttl=negative_ttl,
        min_ttl=min_ttl,
    )


# Record types whose RDATA holds names that may be compressed (RFC 1035 §3.3, RFC 3597 §4):
# type → (names at the start, then the rest copied as is). Any other type is copied whole.
_RDATA_NAMES = {TYPE_CNAME: 1, TYPE_NS: 1, TYPE_PTR: 1, 39: 1, TYPE_SOA: 2}  # 39: DNAME
TYPE_MX = 15


def _wire_name(labels: list[bytes]) -> bytes:
    return b"".join(bytes((len(label),)) + label.lower() for label in labels) + b"\x00"


def expand_records(message: bytes, start: int, count: int) -> tuple[list[bytes], int]:
    """The ``count`` records of ``message`` from offset ``start``, each rewritten without
    compression pointers (owner names and the names inside CNAME, NS, PTR, DNAME, SOA and MX
    data, lowercased), so that they can be placed anywhere in another message. Returns the
    records and the offset past the last one; WireError if a record is malformed."""
    out: list[bytes] = []
    pos = start
    size = len(message)
    for _ in range(count):
        labels, after = read_name(message, pos)
        if after + 10 > size:
            raise WireError("record truncated")
        rtype, rclass, ttl, rdlen = _RR_FIXED.unpack_from(message, after)
        rdata = after + 10
        end = rdata + rdlen
        if end > size:
            raise WireError("record data truncated")
        names = _RDATA_NAMES.get(rtype, 0)
        if rtype == TYPE_MX and rdlen >= 3:
            exchange, p = read_name(message, rdata + 2)
            data = message[rdata : rdata + 2] + _wire_name(exchange)
        elif names:
            p = rdata
            parts = []
            for _ in range(names):
                name_labels, p = read_name(message, p)
                parts.append(_wire_name(name_labels))
            data = b"".join(parts) + message[p:end]
        else:
            p = end
            data = message[rdata:end]
        if p > end:
            raise WireError("a name runs past its record")
        out.append(_wire_name(labels) + _RR_FIXED.pack(rtype, rclass, ttl, len(data)) + data)
        pos = end
    return out, pos


def with_ttls(tail: bytes, offsets: tuple[int, ...], ttls: tuple[int, ...], elapsed: int) -> bytes:
    """``tail`` with every TTL reduced by ``elapsed`` seconds (not below 0)."""
    if not offsets or elapsed <= 0:
        return tail
    buf = bytearray(tail)
    for off, ttl in zip(offsets, ttls, strict=True):
        _U32.pack_into(buf, off, max(0, ttl - elapsed))
    return bytes(buf)


def with_fixed_ttl(tail: bytes, offsets: tuple[int, ...], ttl: int) -> bytes:
    """``tail`` with every TTL set to ``ttl`` (serve-stale answers use 30 s)."""
    buf = bytearray(tail)
    for off in offsets:
        _U32.pack_into(buf, off, ttl)
    return bytes(buf)


def question(name: str, qtype: int, qclass: int = CLASS_IN) -> bytes:
    """Wire form of a question section for a presentation-form name."""
    return encode_name(name) + _QTAIL.pack(qtype, qclass)


def make_query(qid: int, question_bytes: bytes, *, do: bool = False, cd: bool = False,
               udp_size: int = DEFAULT_UDP_PAYLOAD) -> bytes:
    """A recursive query with EDNS, as the gate sends upstream."""
    flags = FLAG_RD | (FLAG_CD if cd else 0)
    return _HEADER.pack(qid, flags, 1, 0, 0, 1) + question_bytes + opt_record(udp_size, do=do)
