"""Answers the gate makes itself: blocks, bypass canaries, the local zone, failures."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from functools import lru_cache

from safegate.gate import wire
from safegate.gate.wire import Query
from safegate.policy.decide import Decision

NULL_V4 = bytes(4)
NULL_V6 = bytes(16)
LOCAL_SOA_NAME = "resolver.arpa"


@dataclass(frozen=True, slots=True)
class BlockStyle:
    """How blocked names are answered (from settings; a profile may choose the mode)."""

    ttl: int = 60
    blockpage_v4: bytes | None = None
    blockpage_v6: bytes | None = None

    @classmethod
    def from_settings(cls, ttl: int, ipv4: str, ipv6: str) -> BlockStyle:
        return cls(
            ttl=ttl,
            blockpage_v4=ipaddress.IPv4Address(ipv4).packed if ipv4 else None,
            blockpage_v6=ipaddress.IPv6Address(ipv6).packed if ipv6 else None,
        )


def _negative(data: bytes, query: Query, rcode: int, ttl: int, options: tuple,
              aa: bool = False) -> bytes:
    return wire.build_response(data, query, rcode, (), (_soa(ttl),), options=options, aa=aa)


def block_response(
    data: bytes, query: Query, decision: Decision, mode: str, style: BlockStyle
) -> bytes:
    """The answer to a blocked name. The reason goes into an Extended DNS Error
    (RFC 8914, code 17 "Filtered") for clients that speak EDNS.

    The same bytes as ``wire.build_response`` with the answer or SOA record of
    ``_block_body``, which is built once per style, mode and kind of type."""
    nx = decision.action == "nxdomain" or mode == "nxdomain"
    qtype = query.qtype
    kind = qtype if qtype == wire.TYPE_A or qtype == wire.TYPE_AAAA else 0
    # The style by its fields: a dataclass's __hash__ is a Python call per query.
    rcode, body, an, ns = _block_body(style.ttl, style.blockpage_v4, style.blockpage_v6,
                                      "nxdomain" if nx else mode, kind)
    # wire.response_flags(query.flags, rcode), inline.
    flags = _RESPONSE_BITS | (query.flags & _ECHOED_BITS) | rcode
    if query.edns:
        options = (wire.ede_option(wire.EDE_FILTERED, decision.reason or ""),)
        additional = wire.opt_record(do=query.do, ext_rcode=rcode, options=options)
        header = _HEADER.pack(query.id, flags, 1, an, ns, 1)
        return header + data[12 : query.question_end] + body + additional
    return _HEADER.pack(query.id, flags, 1, an, ns, 0) + data[12 : query.question_end] + body


def block_body(style: BlockStyle, mode: str, qtype: int) -> tuple[int, bytes, int, int]:
    """(rcode, the records after the question, answer count, authority count) of the answer
    to a name that ``mode`` blocks (a block decision, not an NXDOMAIN one), for a query of
    type ``qtype`` (A, AAAA, or 0 for any other type): what ``block_response`` puts after
    the question (gate/fastblock.py builds the same answers)."""
    return _block_body(style.ttl, style.blockpage_v4, style.blockpage_v6, mode, qtype)


_RESPONSE_BITS = wire.FLAG_QR | wire.FLAG_RA
_ECHOED_BITS = 0x7800 | wire.FLAG_RD | wire.FLAG_CD  # opcode, RD, CD


_HEADER = struct.Struct("!HHHHHH")


@lru_cache(maxsize=64)
def _block_body(ttl: int, blockpage_v4: bytes | None, blockpage_v6: bytes | None, mode: str,
                qtype: int) -> tuple[int, bytes, int, int]:
    """(rcode, the records after the question, answer count, authority count) of a block
    answer in the style ``ttl``, ``blockpage_*`` and ``mode`` ("nxdomain" for an NXDOMAIN
    block) to a query of type ``qtype`` (A, AAAA, or 0 for any other type)."""
    style = BlockStyle(ttl, blockpage_v4, blockpage_v6)
    if mode == "nxdomain":
        return wire.RCODE_NXDOMAIN, _soa(style.ttl), 0, 1
    address: bytes | None = None
    if qtype == wire.TYPE_A:
        address = style.blockpage_v4 if mode == "blockpage" and style.blockpage_v4 else NULL_V4
    elif qtype == wire.TYPE_AAAA:
        # In blockpage mode without an IPv6 page: NODATA, so browsers fall back to IPv4.
        address = style.blockpage_v6 if mode == "blockpage" else NULL_V6
    if address is None:
        return wire.RCODE_NOERROR, _soa(style.ttl), 0, 1
    return wire.RCODE_NOERROR, wire.rr(wire.QNAME_POINTER, qtype, style.ttl, address), 1, 0


def _soa(ttl: int) -> bytes:
    return wire.rr(wire.encode_name(LOCAL_SOA_NAME), wire.TYPE_SOA, ttl,
                   wire.soa_rdata(LOCAL_SOA_NAME, ttl))


REWRITE_TTL = 300  # the TTL of a safe-search CNAME (capped by the target's own TTL)


def rewrite_cname(target: str, ttl: int) -> bytes:
    """The CNAME record of a safe-search rewrite: the queried name → the enforced endpoint."""
    return wire.rr(wire.QNAME_POINTER, wire.TYPE_CNAME, ttl, wire.encode_name(target))


def rewrite_response(data: bytes, query: Query, target: str) -> bytes:
    """A rewritten name asked for another type than A, AAAA or HTTPS: the CNAME alone. The
    name is an alias now, and an alias has no other data (RFC 1034 §3.6.2); nothing is
    asked upstream."""
    answer = rewrite_cname(target, REWRITE_TTL)
    return wire.build_response(data, query, wire.RCODE_NOERROR, (answer,))


def local_response(data: bytes, query: Query) -> bytes:
    """resolver.arpa (RFC 9462): answered here. No designated encrypted resolver is
    advertised yet, so every type is NODATA with our SOA."""
    return _negative(data, query, wire.RCODE_NOERROR, 300, (), aa=True)


def servfail(data: bytes, query: Query, text: str = "") -> bytes:
    options = (wire.ede_option(23, text),) if text else ()  # 23: Network Error
    return wire.build_response(data, query, wire.RCODE_SERVFAIL, options=options)


def refused(data: bytes, query: Query) -> bytes:
    return wire.build_response(data, query, wire.RCODE_REFUSED)
