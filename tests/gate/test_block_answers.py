"""Block answers are built from precomputed records: the same bytes as building each one
with ``wire.build_response``, for every mode, type, style and EDNS use."""

from __future__ import annotations

import itertools

import dns.message
import dns.rdatatype

from safegate.gate import answers, wire
from safegate.gate.answers import BlockStyle
from safegate.policy.decide import Decision


def reference_block(data: bytes, query: wire.Query, decision: Decision, mode: str,
                    style: BlockStyle) -> bytes:
    """The block answer as it was built before the records were precomputed."""
    options = (wire.ede_option(wire.EDE_FILTERED, decision.reason or ""),)
    soa = wire.rr(wire.encode_name(answers.LOCAL_SOA_NAME), wire.TYPE_SOA, style.ttl,
                  wire.soa_rdata(answers.LOCAL_SOA_NAME, style.ttl))
    if decision.action == "nxdomain" or mode == "nxdomain":
        return wire.build_response(data, query, wire.RCODE_NXDOMAIN, (), (soa,),
                                   options=options)
    address: bytes | None = None
    if query.qtype == wire.TYPE_A:
        address = style.blockpage_v4 if mode == "blockpage" and style.blockpage_v4 \
            else answers.NULL_V4
    elif query.qtype == wire.TYPE_AAAA:
        address = style.blockpage_v6 if mode == "blockpage" else answers.NULL_V6
    if address is None:
        return wire.build_response(data, query, wire.RCODE_NOERROR, (), (soa,),
                                   options=options)
    answer = wire.rr(wire.QNAME_POINTER, query.qtype, style.ttl, address)
    return wire.build_response(data, query, wire.RCODE_NOERROR, (answer,), options=options)


STYLES = [BlockStyle(), BlockStyle(ttl=10, blockpage_v4=bytes([10, 9, 8, 7])),
          BlockStyle.from_settings(30, "10.0.0.1", "fd00::1")]
DECISIONS = [Decision("block", "adult", "hagezi/nsfw:bad.example"),
             Decision("nxdomain", "bypass", "builtin:use-application-dns.net"),
             Decision("block", None, None)]


def test_block_answers_match_the_reference() -> None:
    for style, decision, mode, qtype, edns in itertools.product(
            STYLES, DECISIONS, ("null", "nxdomain", "blockpage"),
            ("A", "AAAA", "MX", "HTTPS", "TXT"), (None, 0)):
        for do in (False, True) if edns is not None else (False,):
            msg = dns.message.make_query("WwW.Bad.Example", dns.rdatatype.from_text(qtype),
                                         use_edns=edns, want_dnssec=do)
            msg.id = 4321
            data = msg.to_wire()
            query = wire.parse_query(data)
            got = answers.block_response(data, query, decision, mode, style)
            assert got == reference_block(data, query, decision, mode, style), \
                (style, decision, mode, qtype, edns, do)
            dns.message.from_wire(got)  # well formed
