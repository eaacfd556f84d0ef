#!/usr/bin/env python3
"""Fake upstream DNS server for benchmarks: answers everything, instantly, from loopback.

* A    -> 192.0.2.1   (TEST-NET-1), TTL 3600
* AAAA -> 2001:db8::1 (documentation prefix), TTL 3600
* any other type -> NOERROR, no answer (NODATA)
* the question is echoed byte for byte (so 0x20 case randomisation survives); an EDNS OPT
  record in the query is answered with a minimal OPT record (UDP size 1232).
* UDP and TCP (length-prefixed, several queries per connection) on the same port.
* ``TXT _stats.fake-upstream.`` returns the query counters (``udp=N tcp=N``) so that a
  benchmark can check how many queries reached the upstream during a measured run.

The hot path does no DNS parsing beyond walking the question name; no dnspython.
Uses uvloop when importable. Stops on SIGTERM/SIGINT, or by itself after --max-seconds.

Usage: fake_upstream.py --port 5300 [--host 127.0.0.1] [--max-seconds 7200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import struct
import sys

TTL = 3600
A_RDATA = bytes([192, 0, 2, 1])
AAAA_RDATA = bytes.fromhex("20010db8000000000000000000000001")
STATS_QNAME = b"\x06_stats\x0dfake-upstream\x00"
# Minimal OPT RR: root name, type 41, UDP payload 1232, ext-rcode/version/flags 0, rdlen 0.
OPT_RR = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"

_A_TAIL = b"\xc0\x0c\x00\x01\x00\x01" + struct.pack("!IH", TTL, 4) + A_RDATA
_AAAA_TAIL = b"\xc0\x0c\x00\x1c\x00\x01" + struct.pack("!IH", TTL, 16) + AAAA_RDATA

counters = {"udp": 0, "tcp": 0}


def answer(q: bytes) -> bytes | None:
    """Build the response to one DNS query message, or None to drop it."""
    n = len(q)
    if n < 17 or q[2] & 0x80:  # too short, or a response
        return None
    # Walk the question name (no compression in questions).
    i = 12
    while True:
        if i >= n:
            return None
        ln = q[i]
        if ln == 0:
            break
        if ln & 0xC0:
            return None
        i += ln + 1
    end = i + 5  # zero byte + qtype + qclass
    if end > n:
        return None
    qtype = (q[i + 1] << 8) | q[i + 2]
    has_opt = q[10] or q[11]  # ARCOUNT > 0: assume an OPT record
    rd = q[2] & 0x01
    # flags: QR=1, opcode 0, AA=0, TC=0, RD copied; RA=1, RCODE=0
    flags1 = 0x80 | rd
    if qtype == 1:
        tail, ancount = _A_TAIL, 1
    elif qtype == 28:
        tail, ancount = _AAAA_TAIL, 1
    elif qtype == 16 and q[12:i + 1].lower() == STATS_QNAME:
        txt = f"udp={counters['udp']} tcp={counters['tcp']}".encode()
        rdata = bytes([len(txt)]) + txt
        tail = b"\xc0\x0c\x00\x10\x00\x01" + struct.pack("!IH", 0, len(rdata)) + rdata
        ancount = 1
    else:
        tail, ancount = b"", 0
    header = q[0:2] + bytes([flags1, 0x80, 0, 1, 0, ancount, 0, 0, 0, 1 if has_opt else 0])
    if has_opt:
        return header + q[12:end] + tail + OPT_RR
    return header + q[12:end] + tail


class UDPServer(asyncio.DatagramProtocol):
    transport: asyncio.DatagramTransport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        counters["udp"] += 1
        r = answer(data)
        if r is not None:
            self.transport.sendto(r, addr)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable
        pass


class TCPServer(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        out = []
        while len(self.buf) >= 2:
            ln = (self.buf[0] << 8) | self.buf[1]
            if len(self.buf) < 2 + ln:
                break
            msg, self.buf = self.buf[2:2 + ln], self.buf[2 + ln:]
            counters["tcp"] += 1
            r = answer(msg)
            if r is not None:
                out.append(struct.pack("!H", len(r)) + r)
        if out and self.transport is not None:
            self.transport.write(b"".join(out))


async def main_async(host: str, port: int, max_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(UDPServer, local_addr=(host, port))
    sock = transport.get_extra_info("socket")
    with contextlib.suppress(OSError):
        import socket

        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    server = await loop.create_server(TCPServer, host, port, reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"fake_upstream: listening on {host}:{port} (udp+tcp)", file=sys.stderr, flush=True)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max_seconds)
    server.close()
    transport.close()
    print(f"fake_upstream: stopping, udp={counters['udp']} tcp={counters['tcp']}",
          file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--max-seconds", type=float, default=7200.0,
                    help="exit by itself after this many seconds (default 7200)")
    args = ap.parse_args()
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    runner(main_async(args.host, args.port, args.max_seconds))


if __name__ == "__main__":
    main()
