"""The gate's DNS wire code against dnspython (the reference) and against hostile input.

Every packet a client can send reaches ``parse_query``, and every upstream answer reaches
``scan_response``: both must either succeed or raise ``WireError``, never anything else.
"""

from __future__ import annotations

import struct
from typing import Any, cast

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safegate.gate import wire
from safegate.gate.wire import Query, WireError

FUZZ = settings(max_examples=400, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
MAC = bytes.fromhex("a1b2c3d4e5f6")


def make_query(name: str | dns.name.Name, rdtype: int | str = "A", **kwargs: Any) -> bytes:
    """A query made by dnspython, with ID 0x1234."""
    message = dns.message.make_query(name, dns.rdatatype.RdataType.make(rdtype), **kwargs)
    message.id = 0x1234
    return message.to_wire()


def mac_option() -> dns.edns.Option:
    """dnsmasq's --add-mac option: EDNS option 65001 with the 6-byte MAC."""
    return dns.edns.GenericOption(cast(dns.edns.OptionType, wire.OPTION_MAC_DNSMASQ), MAC)


def header(qid: int = 7, flags: int = 0x0100, qd: int = 1, an: int = 0, ns: int = 0,
           ar: int = 0) -> bytes:
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


QUESTION = b"\x07example\x03com\x00" + struct.pack("!HH", 1, 1)
OPT = wire.opt_record(1232)


def name_wire(name: dns.name.Name) -> bytes:
    data = name.to_wire()
    assert data is not None
    return data


def canonical_text(name: dns.name.Name) -> str:
    if name == dns.name.root:
        return ""
    return name.canonicalize().to_text(omit_final_dot=True)


def assert_same(query: Query, data: bytes) -> None:
    """``query`` (ours) says what dnspython says about ``data``."""
    ref = dns.message.from_wire(data)
    q = ref.question[0]
    assert query.id == ref.id
    assert query.flags == ref.flags
    assert query.name == canonical_text(q.name)
    assert query.qtype == q.rdtype
    assert query.qclass == q.rdclass
    assert query.question_end == 12 + len(name_wire(q.name)) + 4
    assert query.edns == (ref.edns >= 0)
    if ref.edns >= 0:
        assert query.udp_size == max(512, ref.payload)
        assert query.do == bool(ref.ednsflags & dns.flags.DO)
        assert query.edns_version == ref.edns
        assert query.options == tuple((o.otype, o.to_wire()) for o in ref.options)
    else:
        assert query.udp_size == 512
        assert not query.do
        assert query.options == ()


# ------------------------------------------------------------------ parse_query: valid


ALL_TYPES = sorted(int(t) for t in dns.rdatatype.RdataType if t != dns.rdatatype.OPT)


@pytest.mark.parametrize("rdtype", ALL_TYPES + [65280, 65535])
def test_every_qtype(rdtype: int) -> None:
    data = make_query("www.example.com", rdtype)
    query = wire.parse_query(data)
    assert_same(query, data)
    assert query.qtype == rdtype


@pytest.mark.parametrize("name", [
    "example.com", "WwW.ExAmPlE.cOm", "a.b.c.d.e.f.g.example.co.uk", "_dmarc.example.com",
    "bücher.example", "xn--bcher-kva.example", "đại-học.vn", "1.0.0.127.in-addr.arpa",
    "x" * 63 + ".com", ".".join(["abcdefghi"] * 25), "com", ".",
])
@pytest.mark.parametrize("edns", [None, 0])
def test_names_match_dnspython(name: str, edns: int | None) -> None:
    data = make_query(name, "A", use_edns=edns)
    query = wire.parse_query(data)
    assert_same(query, data)
    assert query.name == query.name.lower()


def test_0x20_name_is_lowercased_and_question_bytes_kept() -> None:
    data = make_query("WwW.GoOgLe.CoM", "AAAA")
    query = wire.parse_query(data)
    assert query.name == "www.google.com"
    assert data[12 : query.question_end].startswith(b"\x03WwW\x06GoOgLe\x03CoM\x00")


def test_root_name() -> None:
    query = wire.parse_query(make_query(".", "NS"))
    assert query.name == ""
    assert query.question_end == 12 + 1 + 4


@pytest.mark.parametrize("rdtype", ["ANY", "HTTPS", "SVCB", "TXT", "PTR"])
@pytest.mark.parametrize("payload", [512, 1232, 4096, 65535])
@pytest.mark.parametrize("do", [False, True])
def test_edns_payload_do_and_mac_option(rdtype: str, payload: int, do: bool) -> None:
    options = [mac_option(),
               dns.edns.ECSOption("192.0.2.0", 24)]
    data = make_query("Example.ORG", rdtype, use_edns=0, payload=payload, want_dnssec=do,
                      options=options)
    query = wire.parse_query(data)
    assert_same(query, data)
    assert query.option(wire.OPTION_MAC_DNSMASQ) == MAC
    assert query.option(1234) is None
    assert query.do is do and query.udp_size == payload


def test_small_payload_is_raised_to_512() -> None:
    query = wire.parse_query(make_query("a.example", "A", use_edns=0, payload=100))
    assert query.edns and query.udp_size == 512


def test_flags_rd_cd_are_reported() -> None:
    message = dns.message.make_query("a.example", "A")
    message.flags |= dns.flags.CD
    message.flags &= ~dns.flags.RD
    query = wire.parse_query(message.to_wire())
    assert query.cd and not query.rd and query.opcode == 0


def test_records_in_answer_and_authority_are_skipped() -> None:
    rr = wire.rr(b"\xc0\x0c", wire.TYPE_A, 60, bytes(4))
    data = header(an=1, ns=1, ar=1) + QUESTION + rr + rr + OPT
    query = wire.parse_query(data)
    assert query.name == "example.com" and query.edns


def test_trailing_bytes_are_ignored() -> None:
    data = make_query("example.com", "A", use_edns=0)
    assert wire.parse_query(data + b"\x00junk") == wire.parse_query(data)


@given(labels=st.lists(st.binary(min_size=1, max_size=20), min_size=0, max_size=8),
       rdtype=st.integers(0, 65535), rdclass=st.sampled_from([1, 3, 4, 254, 255]),
       qid=st.integers(0, 65535), flags=st.integers(0, 0xFFFF))
@FUZZ
def test_any_name_matches_dnspython(labels: list[bytes], rdtype: int, rdclass: int, qid: int,
                                    flags: int) -> None:
    """Arbitrary label bytes (dots, backslashes, spaces, non-ASCII, upper case...) give
    exactly dnspython's lowercased text, so two different names never share a text."""
    flags &= ~(wire.FLAG_QR | 0x7800)
    name = dns.name.Name([*labels, b""])
    data = header(qid, flags) + name_wire(name) + struct.pack("!HH", rdtype, rdclass)
    query = wire.parse_query(data)
    assert_same(query, data)


def test_special_octets_are_escaped_like_dnspython() -> None:
    name = dns.name.Name([b"a.b", b"C\\D", b"sp ace", b"\xc9\xe9\x00", b'q"();@$', b"com", b""])
    data = header() + name_wire(name) + struct.pack("!HH", 1, 1)
    query = wire.parse_query(data)
    assert query.name == r"a\.b.c\\d.sp\032ace.\201\233\000.q\"\(\)\;\@\$.com"
    assert_same(query, data)
    # Only ASCII is case-folded: "É" (0xC9) and "é" (0xE9) stay different names.
    assert wire.labels_to_text([b"\xc9"]) != wire.labels_to_text([b"\xe9"])


def test_name_of_exactly_255_octets() -> None:
    labels = [b"a" * 63, b"b" * 63, b"c" * 63, b"d" * 61]
    data = header() + _name(*labels) + b"\x00\x01\x00\x01"
    query = wire.parse_query(data)
    assert_same(query, data)
    with pytest.raises(WireError) as info:
        wire.parse_query(header() + _name(*labels[:3], b"d" * 62) + b"\x00\x01\x00\x01")
    assert info.value.rcode == wire.RCODE_FORMERR


# ------------------------------------------------------------------ parse_query: malformed


def _name(*labels: bytes) -> bytes:
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"


LONG_NAME = _name(*([b"a" * 63] * 4))  # 4 * 64 + 1 = 257 octets
FORMERR_CASES = {
    "zero questions": header(qd=0),
    "zero questions with a question": header(qd=0) + QUESTION,
    "two questions": header(qd=2) + QUESTION + QUESTION,
    "question cut in the name": header() + QUESTION[:5],
    "question cut in the type": header() + QUESTION[:-3],
    "question without its terminating label": header() + b"\x07example",
    "label longer than 63 (0x40)": header() + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01",
    "label type 0x80": header() + b"\x80abc\x00\x00\x01\x00\x01",
    "name longer than 255": header() + LONG_NAME + b"\x00\x01\x00\x01",
    "compressed question (pointer to itself)": header() + b"\xc0\x0c\x00\x01\x00\x01",
    "compressed question (pointer into header)": header() + b"\xc0\x02\x00\x01\x00\x01",
    "compressed question (suffix pointer)": header() + b"\x03www\xc0\x0c\x00\x01\x00\x01",
    "record owner pointer loop": header(ar=1) + QUESTION + b"\x01a\xc0\x1d"
    + struct.pack("!HHIH", 1, 1, 0, 0),
    "record owner forward pointer": header(ar=1) + QUESTION + b"\xc0\x30"
    + struct.pack("!HHIH", 1, 1, 0, 0) + b"\x00" * 8,
    "record owner pointer to itself": header(ar=1) + QUESTION + b"\xc0\x1d"
    + struct.pack("!HHIH", 1, 1, 0, 0),
    "record owner bad label type": header(ar=1) + QUESTION + b"\x41"
    + struct.pack("!HHIH", 1, 1, 0, 0),
    "record count past the end": header(ar=1) + QUESTION,
    "record header truncated": header(ar=1) + QUESTION + OPT[:6],
    "record data past the end": header(ar=1) + QUESTION + b"\x00"
    + struct.pack("!HHIH", 41, 1232, 0, 16) + b"\x00\x0f\x00\x02ab",
    "two OPT records": header(ar=2) + QUESTION + OPT + OPT,
    "OPT in the answer section": header(an=1) + QUESTION + OPT,
    "OPT owner not the root": header(ar=1) + QUESTION + b"\xc0\x0c" + OPT[1:],
    "EDNS option truncated": header(ar=1) + QUESTION + b"\x00"
    + struct.pack("!HHIH", 41, 1232, 0, 3) + b"\x00\x0f\x00",
    "EDNS option data past rdata": header(ar=1) + QUESTION + b"\x00"
    + struct.pack("!HHIH", 41, 1232, 0, 6) + b"\x00\x0f\x00\x08ab",
    "too many records": header(an=100) + QUESTION
    + wire.rr(b"\xc0\x0c", 1, 0, bytes(4)) * 100,
}


@pytest.mark.parametrize("case", sorted(FORMERR_CASES))
def test_formerr(case: str) -> None:
    data = FORMERR_CASES[case]
    with pytest.raises(WireError) as info:
        wire.parse_query(data)
    assert info.value.rcode == wire.RCODE_FORMERR
    _assert_error_response(data, wire.RCODE_FORMERR)


def _assert_error_response(data: bytes, rcode: int) -> None:
    response = wire.error_response(data, rcode)
    assert response is not None
    parsed = dns.message.from_wire(response)
    assert parsed.id == struct.unpack_from("!H", data)[0]
    assert parsed.rcode() == rcode
    assert parsed.flags & dns.flags.QR
    assert parsed.opcode() == (struct.unpack_from("!H", data, 2)[0] >> 11) & 0xF
    assert not parsed.question and not parsed.answer


@pytest.mark.parametrize("data", [b"", b"\x12", bytes(11)])
def test_short_packets_are_dropped(data: bytes) -> None:
    with pytest.raises(WireError) as info:
        wire.parse_query(data)
    assert info.value.rcode is None
    assert wire.error_response(data, wire.RCODE_FORMERR) is None


def test_responses_are_dropped() -> None:
    request = dns.message.make_query("example.com", "A")
    data = dns.message.make_response(request).to_wire()
    with pytest.raises(WireError) as info:
        wire.parse_query(data)
    assert info.value.rcode is None
    assert wire.error_response(data, wire.RCODE_FORMERR) is None


@pytest.mark.parametrize("opcode", [dns.opcode.IQUERY, dns.opcode.STATUS, dns.opcode.NOTIFY,
                                    dns.opcode.UPDATE, 15])
def test_other_opcodes_are_not_implemented(opcode: int) -> None:
    message = dns.message.make_query("example.com", "SOA")
    message.set_opcode(dns.opcode.Opcode.make(opcode))
    data = message.to_wire()
    with pytest.raises(WireError) as info:
        wire.parse_query(data)
    assert info.value.rcode == wire.RCODE_NOTIMP
    _assert_error_response(data, wire.RCODE_NOTIMP)


def test_edns_version_1_is_badvers() -> None:
    data = make_query("example.com", "A", use_edns=1)
    with pytest.raises(WireError) as info:
        wire.parse_query(data)
    assert info.value.rcode == wire.RCODE_BADVERS
    response = wire.error_response(data, wire.RCODE_BADVERS)
    assert response is not None
    parsed = dns.message.from_wire(response)
    assert parsed.id == 0x1234
    assert parsed.rcode() == dns.rcode.BADVERS
    assert parsed.edns == 0


# ------------------------------------------------------------------ fuzzing


def _valid_queries() -> list[bytes]:
    out = [
        make_query("www.example.com", "A"),
        make_query("WwW.ExAmPlE.cOm", "AAAA", use_edns=0, want_dnssec=True),
        make_query("bücher.example", "HTTPS", use_edns=0,
                   options=[mac_option()]),
        make_query(".", "NS", use_edns=0, payload=4096),
        make_query("4.3.2.1.in-addr.arpa", "PTR"),
        header(an=1, ar=1) + QUESTION + wire.rr(b"\xc0\x0c", 1, 0, bytes(4)) + OPT,
    ]
    return out


VALID_QUERIES = _valid_queries()


def _parse_or_wire_error(data: bytes) -> Query | None:
    try:
        query = wire.parse_query(data)
    except WireError as exc:
        assert exc.rcode in (None, wire.RCODE_FORMERR, wire.RCODE_NOTIMP, wire.RCODE_BADVERS)
        response = wire.error_response(data, exc.rcode) if exc.rcode is not None else None
        if response is not None:
            assert dns.message.from_wire(response).id == struct.unpack_from("!H", data)[0]
        return None
    assert 12 < query.question_end <= len(data)
    return query


@given(st.binary(max_size=600))
@FUZZ
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    _parse_or_wire_error(data)


@given(st.binary(min_size=12, max_size=80))
@FUZZ
def test_fuzz_arbitrary_bodies_behind_a_query_header(body: bytes) -> None:
    _parse_or_wire_error(header(ar=1) + body)
    _parse_or_wire_error(header() + body)


@st.composite
def mutated_query(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(VALID_QUERIES)))
    for _ in range(draw(st.integers(1, 4))):
        bit = draw(st.integers(0, len(data) * 8 - 1))
        data[bit // 8] ^= 1 << (bit % 8)
    if draw(st.booleans()):
        del data[draw(st.integers(0, len(data))):]
    if draw(st.booleans()):
        data += draw(st.binary(min_size=1, max_size=40))
    return bytes(data)


@given(mutated_query())
@FUZZ
def test_fuzz_mutated_queries(data: bytes) -> None:
    query = _parse_or_wire_error(data)
    if query is None:
        return
    try:
        ref = dns.message.from_wire(data, ignore_trailing=True)
    except Exception:  # dnspython is stricter in places (and has its own limits)
        return
    if len(ref.question) == 1:
        assert query.id == ref.id
        assert query.name == canonical_text(ref.question[0].name)
        assert query.qtype == ref.question[0].rdtype


@pytest.mark.parametrize("base", range(len(VALID_QUERIES)))
def test_truncation_at_every_offset(base: int) -> None:
    data = VALID_QUERIES[base]
    full = wire.parse_query(data)
    records_start = full.question_end
    for cut in range(len(data)):
        prefix = data[:cut]
        if cut < 12:
            with pytest.raises(WireError) as info:
                wire.parse_query(prefix)
            assert info.value.rcode is None
        elif cut < len(data) and (cut < records_start or data[7] | data[9] | data[11]):
            # Anything short of the whole question, or of the records the header
            # announces, is malformed.
            with pytest.raises(WireError) as info:
                wire.parse_query(prefix)
            assert info.value.rcode == wire.RCODE_FORMERR, cut


# ------------------------------------------------------------------ building answers


@pytest.mark.parametrize("edns", [None, 0])
@pytest.mark.parametrize("do", [False, True])
def test_block_answer_parses_and_echoes_question(edns: int | None, do: bool) -> None:
    data = make_query("AdS.ExAmple.COM", "A", use_edns=edns, want_dnssec=do and edns == 0)
    query = wire.parse_query(data)
    answer = wire.rr(wire.QNAME_POINTER, wire.TYPE_A, 60, bytes(4))
    ede = wire.ede_option(wire.EDE_FILTERED, "adult:shadowwhisperer/adult:example.com")
    response = wire.build_response(data, query, wire.RCODE_NOERROR, [answer], options=(ede,))
    assert response[12 : query.question_end] == data[12 : query.question_end]
    parsed = dns.message.from_wire(response)
    assert parsed.id == query.id
    assert parsed.flags & dns.flags.QR and parsed.flags & dns.flags.RD
    assert parsed.flags & dns.flags.RA
    assert parsed.rcode() == dns.rcode.NOERROR
    assert str(parsed.question[0].name) == "AdS.ExAmple.COM."
    assert len(parsed.answer) == 1
    rrset = parsed.answer[0]
    assert rrset.ttl == 60 and rrset[0].address == "0.0.0.0"
    assert struct.unpack_from("!HHHH", response, 4) == (1, 1, 0, 1 if edns == 0 else 0)
    if edns == 0:
        assert parsed.edns == 0
        assert bool(parsed.ednsflags & dns.flags.DO) is (do and edns == 0)
        (option,) = parsed.options
        assert isinstance(option, dns.edns.EDEOption)
        assert option.code == wire.EDE_FILTERED
        assert option.text == "adult:shadowwhisperer/adult:example.com"
    else:
        assert parsed.edns == -1


@pytest.mark.parametrize("rcode", [wire.RCODE_NXDOMAIN, wire.RCODE_NOERROR])
def test_negative_answer_with_soa(rcode: int) -> None:
    data = make_query("blocked.example", "AAAA", use_edns=0)
    query = wire.parse_query(data)
    soa = wire.rr(wire.encode_name("resolver.arpa"), wire.TYPE_SOA, 60,
                  wire.soa_rdata("resolver.arpa", 60))
    response = wire.build_response(data, query, rcode, (), (soa,), aa=True)
    parsed = dns.message.from_wire(response)
    assert parsed.rcode() == rcode
    assert parsed.flags & dns.flags.AA
    assert not parsed.answer
    (rrset,) = parsed.authority
    assert rrset.rdtype == dns.rdatatype.SOA and rrset[0].minimum == 60
    assert str(rrset[0].rname) == "hostmaster.resolver.arpa."
    scanned = wire.scan_response(response, query.question_end)
    assert scanned.negative_ttl == 60 and scanned.rcode == rcode


@pytest.mark.parametrize("rcode", [wire.RCODE_SERVFAIL, wire.RCODE_REFUSED])
def test_empty_error_answers(rcode: int) -> None:
    data = make_query("x.example", "A", use_edns=0)
    query = wire.parse_query(data)
    response = wire.build_response(data, query, rcode, options=(wire.ede_option(23, "down"),))
    parsed = dns.message.from_wire(response)
    assert parsed.rcode() == rcode and parsed.id == query.id
    assert parsed.options[0].code == 23


def test_response_flags() -> None:
    query_flags = wire.FLAG_RD | wire.FLAG_CD | wire.FLAG_AD | 0x0040  # Z bit too
    flags = wire.response_flags(query_flags, wire.RCODE_NXDOMAIN, aa=True, tc=True)
    assert flags & wire.FLAG_QR and flags & wire.FLAG_RA and flags & wire.FLAG_AA
    assert flags & wire.FLAG_TC and flags & wire.FLAG_RD and flags & wire.FLAG_CD
    assert not flags & wire.FLAG_AD and not flags & 0x0040
    assert flags & 0xF == wire.RCODE_NXDOMAIN


@pytest.mark.parametrize("do", [False, True])
@pytest.mark.parametrize("cd", [False, True])
def test_make_query_parses_with_dnspython(do: bool, cd: bool) -> None:
    data = wire.make_query(0xBEEF, wire.question("Example.COM", wire.TYPE_HTTPS), do=do, cd=cd,
                           udp_size=4096)
    parsed = dns.message.from_wire(data)
    assert parsed.id == 0xBEEF
    assert parsed.question[0].rdtype == dns.rdatatype.HTTPS
    assert str(parsed.question[0].name) == "Example.COM."
    assert parsed.flags & dns.flags.RD
    assert bool(parsed.flags & dns.flags.CD) is cd
    assert parsed.edns == 0 and parsed.payload == 4096
    assert bool(parsed.ednsflags & dns.flags.DO) is do
    assert wire.question("", wire.TYPE_NS) == b"\x00\x00\x02\x00\x01"


def test_encode_name_rejects_bad_names() -> None:
    for bad in ("a..b", "x" * 64 + ".com", ".".join(["a" * 60] * 5), "bücher.example"):
        with pytest.raises(WireError):
            wire.encode_name(bad)


# ------------------------------------------------------------------ scanning answers


def _response(request: bytes, *, rcode: int = 0, answer: tuple[dns.rrset.RRset, ...] = (),
              authority: tuple[dns.rrset.RRset, ...] = (),
              additional: tuple[dns.rrset.RRset, ...] = ()) -> bytes:
    message = dns.message.make_response(dns.message.from_wire(request))
    message.set_rcode(dns.rcode.Rcode.make(rcode))
    message.answer.extend(answer)
    message.authority.extend(authority)
    message.additional.extend(additional)
    return message.to_wire()


def _rebuild(response: bytes, question_end: int, scanned: wire.Scanned, tail: bytes) -> bytes:
    """A response from the scanned parts, the way the gate builds it from its cache."""
    an, ns, ar = scanned.counts
    qid, flags = struct.unpack_from("!HH", response)
    return struct.pack("!HHHHHH", qid, flags, 1, an, ns, ar) + response[12:question_end] + tail


def rrset(name: str, ttl: int, rdtype: str, *values: str) -> dns.rrset.RRset:
    return dns.rrset.from_text(name, ttl, "IN", rdtype, *values)


def test_cname_chain_and_addresses() -> None:
    request = make_query("WWW.Example.com", "A", use_edns=0)
    response = _response(request, answer=(
        rrset("WWW.Example.com.", 300, "CNAME", "edge.cdn.example.net."),
        rrset("edge.cdn.example.net.", 200, "CNAME", "A1.Cdn.Example.NET."),
        rrset("a1.cdn.example.net.", 60, "A", "192.0.2.1", "192.0.2.2"),
        rrset("a1.cdn.example.net.", 60, "AAAA", "2001:db8::1"),
    ))
    assert response.count(b"\xc0") >= 3  # dnspython compressed the names
    query = wire.parse_query(request)
    scanned = wire.scan_response(response, query.question_end)
    assert scanned.cnames == ("edge.cdn.example.net", "a1.cdn.example.net")
    # (dnspython keeps an rdataset as a set: the order of the two A records varies)
    assert sorted(scanned.addresses) == sorted([
        bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]),
        bytes.fromhex("20010db8000000000000000000000001")])
    assert scanned.counts == (5, 0, 0)
    assert scanned.min_ttl == 60 and scanned.rcode == 0
    assert scanned.ttls == (300, 200, 60, 60, 60)
    assert scanned.negative_ttl is None


@pytest.mark.parametrize("elapsed", [0, 1, 59, 60, 61, 299, 10_000])
def test_with_ttls_ages_every_record(elapsed: int) -> None:
    request = make_query("example.com", "MX", use_edns=0)
    response = _response(
        request,
        answer=(rrset("example.com.", 300, "MX", "10 mx1.example.com.", "20 mx2.example.com."),),
        authority=(rrset("example.com.", 3600, "NS", "ns1.example.com."),),
        additional=(rrset("mx1.example.com.", 60, "A", "192.0.2.25"),
                    rrset("ns1.example.com.", 120, "AAAA", "2001:db8::53")),
    )
    question_end = wire.parse_query(request).question_end
    scanned = wire.scan_response(response, question_end)
    assert scanned.counts == (2, 1, 2)  # the OPT record is not part of the tail
    tail = wire.with_ttls(scanned.tail, scanned.ttl_offsets, scanned.ttls, elapsed)
    assert len(tail) == len(scanned.tail)
    aged = dns.message.from_wire(_rebuild(response, question_end, scanned, tail))
    original = dns.message.from_wire(response)
    assert aged.edns == -1
    for before, after in zip(original.sections[1:], aged.sections[1:], strict=True):
        for old, new in zip(before, after, strict=True):
            assert old.name == new.name and set(old) == set(new)
            assert new.ttl == max(0, old.ttl - elapsed)
    fixed = wire.with_fixed_ttl(scanned.tail, scanned.ttl_offsets, 30)
    stale = dns.message.from_wire(_rebuild(response, question_end, scanned, fixed))
    assert {r.ttl for section in stale.sections[1:] for r in section} == {30}


@pytest.mark.parametrize(("soa_ttl", "minimum", "expected"),
                         [(900, 300, 300), (60, 3600, 60), (0, 300, 0)])
def test_negative_ttl_from_soa(soa_ttl: int, minimum: int, expected: int) -> None:
    request = make_query("nope.example.com", "A")
    soa = rrset("example.com.", soa_ttl, "SOA",
                f"ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 {minimum}")
    response = _response(request, rcode=dns.rcode.NXDOMAIN, authority=(soa,))
    scanned = wire.scan_response(response, wire.parse_query(request).question_end)
    assert scanned.rcode == wire.RCODE_NXDOMAIN
    assert scanned.negative_ttl == expected
    assert scanned.counts == (0, 1, 0) and scanned.min_ttl is None


def test_opt_removed_and_extended_rcode_kept() -> None:
    request = make_query("example.com", "A", use_edns=0)
    response = _response(request, rcode=dns.rcode.BADCOOKIE)
    question_end = wire.parse_query(request).question_end
    scanned = wire.scan_response(response, question_end)
    assert scanned.rcode == dns.rcode.BADCOOKIE
    assert scanned.counts == (0, 0, 0) and scanned.tail == b""


def test_additional_records_after_an_opt_are_dropped() -> None:
    request = make_query("example.com", "NS", use_edns=0)
    question_end = wire.parse_query(request).question_end
    ns = wire.rr(b"\xc0\x0c", wire.TYPE_NS, 300, b"\x03ns1\xc0\x0c")
    glue_before = wire.rr(b"\x03ns0\xc0\x0c", wire.TYPE_A, 300, bytes([192, 0, 2, 9]))
    glue_after = wire.rr(b"\x03ns1\xc0\x0c", wire.TYPE_A, 300, bytes([192, 0, 2, 1]))
    response = (header(0x1234, 0x8180, 1, 1, 0, 3) + request[12:question_end] + ns
                + glue_before + wire.opt_record(1232) + glue_after)
    scanned = wire.scan_response(response, question_end)
    assert scanned.counts == (1, 0, 1)
    assert scanned.tail == ns + glue_before
    parsed = dns.message.from_wire(_rebuild(response, question_end, scanned, scanned.tail))
    assert parsed.edns == -1 and len(parsed.additional) == 1


def test_ttl_with_top_bit_counts_as_zero() -> None:
    request = make_query("example.com", "A")
    question_end = wire.parse_query(request).question_end
    answer = wire.rr(b"\xc0\x0c", wire.TYPE_A, 0x80000010, bytes(4))
    response = header(0x1234, 0x8180, 1, 1) + request[12:question_end] + answer
    scanned = wire.scan_response(response, question_end)
    assert scanned.ttls == (0,) and scanned.min_ttl == 0
    assert dns.message.from_wire(_rebuild(response, question_end, scanned,
                                          scanned.tail)).answer[0].ttl == 0


SCAN_ERRORS = {
    "no question": header(0x1234, 0x8180, 0),
    "two questions": header(0x1234, 0x8180, 2) + QUESTION + QUESTION,
    "other question length": header(0x1234, 0x8180) + b"\x02ex\x03com\x00\x00\x01\x00\x01",
    "answer past the end": header(0x1234, 0x8180, 1, 1) + QUESTION,
    "rdata past the end": header(0x1234, 0x8180, 1, 1) + QUESTION
    + wire.rr(b"\xc0\x0c", 1, 60, bytes(4))[:-1],
    "forward pointer": header(0x1234, 0x8180, 1, 1) + QUESTION
    + wire.rr(b"\xc0\x40", 1, 60, bytes(4)),
    "pointer loop": header(0x1234, 0x8180, 1, 1) + QUESTION
    + wire.rr(b"\x01a\xc0\x1d", 1, 60, bytes(4)),
    "pointer into the header": header(0x1234, 0x8180, 1, 1) + QUESTION
    + wire.rr(b"\xc0\x04", 1, 60, bytes(4)),
    "OPT in the answer": header(0x1234, 0x8180, 1, 1) + QUESTION + OPT,
    "two OPT records": header(0x1234, 0x8180, 1, 0, 0, 2) + QUESTION + OPT + OPT,
    "CNAME past its rdata": header(0x1234, 0x8180, 1, 2) + QUESTION
    + wire.rr(b"\xc0\x0c", 5, 60, b"\x03cdn") + wire.rr(b"\xc0\x0c", 1, 60, bytes(4)),
    "SOA truncated": header(0x1234, 0x8183, 1, 0, 1) + QUESTION
    + wire.rr(b"\xc0\x0c", 6, 60, b"\xc0\x0c\xc0\x0c" + bytes(12)),
}


@pytest.mark.parametrize("case", sorted(SCAN_ERRORS))
def test_scan_errors(case: str) -> None:
    with pytest.raises(WireError):
        wire.scan_response(SCAN_ERRORS[case], len(QUESTION) + 12)


@pytest.mark.parametrize("edns_opt", [b"", wire.opt_record(1232, do=True)])
def test_truncated_form(edns_opt: bytes) -> None:
    request = make_query("Big.Example.com", "TXT", use_edns=0)
    query = wire.parse_query(request)
    response = _response(request, answer=(rrset("big.example.com.", 60, "TXT",
                                                 *[f'"{"x" * 200}"'] * 10),))
    small = wire.truncated(response, query.question_end, edns_opt)
    parsed = dns.message.from_wire(small)
    assert parsed.flags & dns.flags.TC and parsed.flags & dns.flags.QR
    assert parsed.id == 0x1234 and not parsed.answer
    assert small[12 : query.question_end] == request[12 : query.question_end]
    assert parsed.edns == (0 if edns_opt else -1)


def _valid_responses() -> list[tuple[bytes, int]]:
    out = []
    request = make_query("www.example.com", "A", use_edns=0)
    qe = wire.parse_query(request).question_end
    out.append((_response(request, answer=(
        rrset("www.example.com.", 300, "CNAME", "cdn.example.net."),
        rrset("cdn.example.net.", 60, "A", "192.0.2.1", "192.0.2.2"))), qe))
    request = make_query("nope.example.com", "AAAA")
    qe = wire.parse_query(request).question_end
    out.append((_response(request, rcode=3, authority=(rrset(
        "example.com.", 900, "SOA", "ns1.example.com. h.example.com. 1 2 3 4 300"),)), qe))
    request = make_query("example.com", "MX", use_edns=0)
    qe = wire.parse_query(request).question_end
    out.append((_response(
        request, answer=(rrset("example.com.", 300, "MX", "10 mx1.example.com."),),
        additional=(rrset("mx1.example.com.", 60, "A", "192.0.2.25"),)), qe))
    return out


VALID_RESPONSES = _valid_responses()


def _scan_or_wire_error(data: bytes, question_end: int) -> None:
    try:
        scanned = wire.scan_response(data, question_end)
    except WireError:
        return
    assert len(scanned.ttl_offsets) == len(scanned.ttls) == sum(scanned.counts)
    assert all(0 <= off <= len(scanned.tail) - 4 for off in scanned.ttl_offsets)
    aged = wire.with_ttls(scanned.tail, scanned.ttl_offsets, scanned.ttls, 7)
    assert len(aged) == len(scanned.tail)


@given(st.binary(max_size=400), st.integers(0, 420))
@FUZZ
def test_fuzz_scan_arbitrary_bytes(data: bytes, question_end: int) -> None:
    _scan_or_wire_error(data, question_end)


@given(st.sampled_from(VALID_RESPONSES), st.data())
@FUZZ
def test_fuzz_scan_mutated_responses(base: tuple[bytes, int], draw: st.DataObject) -> None:
    response, question_end = base
    data = bytearray(response)
    for _ in range(draw.draw(st.integers(1, 4))):
        bit = draw.draw(st.integers(0, len(data) * 8 - 1))
        data[bit // 8] ^= 1 << (bit % 8)
    if draw.draw(st.booleans()):
        del data[draw.draw(st.integers(0, len(data))):]
    if draw.draw(st.booleans()):
        data += draw.draw(st.binary(min_size=1, max_size=40))
    _scan_or_wire_error(bytes(data), question_end)


@pytest.mark.parametrize("base", range(len(VALID_RESPONSES)))
def test_scan_truncation_at_every_offset(base: int) -> None:
    response, question_end = VALID_RESPONSES[base]
    wire.scan_response(response, question_end)
    for cut in range(len(response)):
        with pytest.raises(WireError):
            wire.scan_response(response[:cut], question_end)
