"""Answers the gate makes itself: blocks, bypass canaries, the local zone, failures."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

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
    soa = wire.rr(wire.encode_name(LOCAL_SOA_NAME), wire.TYPE_SOA, ttl,
                  wire.soa_rdata(LOCAL_SOA_NAME, ttl))
    return wire.build_response(data, query, rcode, (), (soa,), options=options, aa=aa)


def block_response(
    data: bytes, query: Query, decision: Decision, mode: str, style: BlockStyle
) -> bytes:
    """The answer to a blocked name. The reason goes into an Extended DNS Error
    (RFC 8914, code 17 "Filtered") for clients that speak EDNS."""
    options = (wire.ede_option(wire.EDE_FILTERED, decision.reason or ""),)
    if decision.action == "nxdomain" or mode == "nxdomain":
        return _negative(data, query, wire.RCODE_NXDOMAIN, style.ttl, options)
    address: bytes | None = None
    if query.qtype == wire.TYPE_A:
        address = style.blockpage_v4 if mode == "blockpage" and style.blockpage_v4 else NULL_V4
    elif query.qtype == wire.TYPE_AAAA:
        # In blockpage mode without an IPv6 page: NODATA, so browsers fall back to IPv4.
        address = style.blockpage_v6 if mode == "blockpage" else NULL_V6
    if address is None:
        return _negative(data, query, wire.RCODE_NOERROR, style.ttl, options)
    answer = wire.rr(wire.QNAME_POINTER, query.qtype, style.ttl, address)
    return wire.build_response(data, query, wire.RCODE_NOERROR, (answer,), options=options)


REWRITE_TTL = 300  # the TTL of a safe-search CNAME (capped by the target's own TTL)


def rewrite_cname(query: Query, target: str, ttl: int) -> bytes:
    """The CNAME record of a safe-search rewrite: the queried name → the enforced endpoint."""
    return wire.rr(wire.QNAME_POINTER, wire.TYPE_CNAME, ttl, wire.encode_name(target))


def rewrite_response(data: bytes, query: Query, target: str) -> bytes:
    """A rewritten name asked for another type than A, AAAA or HTTPS: the CNAME alone. The
    name is an alias now, and an alias has no other data (RFC 1034 §3.6.2); nothing is
    asked upstream."""
    answer = rewrite_cname(query, target, REWRITE_TTL)
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
