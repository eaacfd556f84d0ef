"""DNS over HTTPS (RFC 8484) at ``/dns-query/{token}``: HTTP/2 (what browsers and kdig
speak, negotiated by ALPN or by the HTTP/2 preface) and a minimal HTTP/1.1.

``handle_request`` is the whole DoH logic as a function of one request (method, target,
content type, body, client address → status, content type, body): the listeners here call
it, and the web app can mount it on its own port. The token in the path identifies the
device (``Gate.admit_token``); the answer comes from the gate's usual pipeline
(``Gate.answer``). Paths carry secrets: neither a path nor a token is ever logged.

Limits: request heads of at most ``MAX_HEAD`` bytes, bodies of at most ``MAX_BODY`` bytes
(a DNS message is at most 65535), ``MAX_STREAMS`` concurrent HTTP/2 streams per connection,
``max_tcp_connections`` connections, an idle timeout. Bad input gets a 4xx and, where the
framing cannot be trusted any more, the connection is closed; the listener goes on.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import ipaddress
import logging
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from safegate.gate import wire
from safegate.gate.dot import HANDSHAKE_SECONDS
from safegate.gate.server import Gate, in_networks

log = logging.getLogger(__name__)

DNS_MESSAGE = "application/dns-message"
PATH = "/dns-query"
MAX_BODY = 65535
MAX_HEAD = 16 * 1024
MAX_STREAMS = 100
IDLE_SECONDS = 60.0
H2_PREFACE_LINE = b"PRI * HTTP/2.0\r\n"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            411: "Length Required", 413: "Content Too Large", 415: "Unsupported Media Type",
            429: "Too Many Requests", 431: "Request Header Fields Too Large",
            500: "Internal Server Error", 501: "Not Implemented"}


@dataclass(frozen=True, slots=True)
class DohReply:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


class DohError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def reply(self) -> DohReply:
        return DohReply(self.status, (self.reason + "\n").encode())


def parse_request(method: str, target: str, content_type: str | None,
                  body: bytes) -> tuple[str | None, bytes]:
    """(token or None, DNS message) of a DoH request; DohError for anything else."""
    path, _, query = target.partition("?")
    if path == PATH or path == PATH + "/":
        token = None
    elif path.startswith(PATH + "/"):
        token = path[len(PATH) + 1:]
        if not _TOKEN.fullmatch(token):
            raise DohError(404, "not found")
    else:
        raise DohError(404, "not found")
    if method == "GET":
        values = parse_qs(query, keep_blank_values=True).get("dns")
        if not values or len(values) != 1 or not values[0]:
            raise DohError(400, "a GET needs one dns= parameter")
        text = values[0]
        if len(text) > (MAX_BODY * 4) // 3 + 4 or not re.fullmatch(r"[A-Za-z0-9_-]+=*", text):
            raise DohError(400, "dns= is not base64url")
        try:
            message = base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise DohError(400, "dns= is not base64url") from None
    elif method == "POST":
        if (content_type or "").split(";")[0].strip().lower() != DNS_MESSAGE:
            raise DohError(415, f"the body must be {DNS_MESSAGE}")
        if len(body) > MAX_BODY:
            raise DohError(413, "the body is larger than a DNS message")
        message = body
    else:
        raise DohError(405, "only GET and POST")
    if len(message) < 12:
        raise DohError(400, "not a DNS message")
    return token, message


async def answer_message(gate: Gate, token: str | None, ip: str, message: bytes) -> DohReply:
    """The gate's answer to one DNS message from the device with ``token`` at ``ip``."""
    client = gate.admit_token(ip, token)
    if client.limiter is not None and not client.limiter.allow():
        gate.stats.rate_limited += 1
        return DohReply(429, b"slow down\n")
    try:
        response = await gate.answer(message, client, None)
    except Exception:
        gate.stats.handler_errors += 1
        log.exception("error answering a DoH query from %s", ip)
        response = wire.error_response(message, wire.RCODE_SERVFAIL)
    if response is None:
        return DohReply(400, b"not a DNS query\n")
    return DohReply(200, response, DNS_MESSAGE)


async def handle_request(gate: Gate, method: str, target: str, content_type: str | None,
                         body: bytes, ip: str) -> DohReply:
    """One DoH request, whole: what a web framework would mount at /dns-query."""
    try:
        token, message = parse_request(method, target, content_type, body)
    except DohError as exc:
        log.debug("DoH request from %s refused: %d %s", ip, exc.status, exc.reason)
        return exc.reply()
    return await answer_message(gate, token, ip, message)


def client_address(peer: str, forwarded_for: str | None, plain: bool,
                   trusted: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str:
    """The client's address: the peer's, or behind a trusted reverse proxy (plain-HTTP DoH)
    the last address of X-Forwarded-For (the one that proxy added). Nobody else's header is
    believed."""
    if not plain or not forwarded_for:
        return peer
    try:
        if not in_networks(ipaddress.ip_address(peer.split("%", 1)[0]), trusted):
            return peer
        return str(ipaddress.ip_address(forwarded_for.split(",")[-1].strip()))
    except ValueError:
        return peer


class DohServer:
    """The DoH listener: TLS (ALPN h2 or http/1.1), or plain HTTP behind a proxy."""

    def __init__(self, gate: Gate, *, plain: bool = False) -> None:
        self.gate = gate
        self.plain = plain
        self.connections = 0

    def _ip(self, peer: str, headers: dict[str, str]) -> str:
        return client_address(peer, headers.get("x-forwarded-for"), self.plain,
                              self.gate.options.trusted_forwarders)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        peer = peername[0] if peername else "?"
        if self.connections >= self.gate.options.max_tcp_connections:
            self.gate.stats.tcp_rejected += 1
            writer.transport.abort()
            return
        self.connections += 1
        try:
            sslobj = writer.get_extra_info("ssl_object")
            alpn = sslobj.selected_alpn_protocol() if sslobj is not None else None
            if alpn == "h2":
                await self._http2(reader, writer, peer, b"")
            else:
                await self._http1(reader, writer, peer, allow_h2c=sslobj is None)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, ssl.SSLError):
            pass
        except Exception:
            self.gate.stats.handler_errors += 1
            log.exception("DoH connection from %s failed", peer)
        finally:
            self.connections -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2.0)

    # -- HTTP/1.1 --------------------------------------------------------------------------

    async def _http1(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     peer: str, allow_h2c: bool) -> None:
        first = True
        while True:
            try:
                async with asyncio.timeout(IDLE_SECONDS):
                    line = await reader.readuntil(b"\r\n")
            except asyncio.IncompleteReadError:
                return
            except (asyncio.LimitOverrunError, ValueError):
                await self._send1(writer, DohReply(431, b"request line too long\n"), True)
                return
            if first and allow_h2c and line == H2_PREFACE_LINE:
                await self._http2(reader, writer, peer, line)  # HTTP/2 with prior knowledge
                return
            first = False
            head = await self._read_head(reader, line)
            if head is None:
                await self._send1(writer, DohReply(431, b"request head too large\n"), True)
                return
            parts = line.decode("latin-1").strip().split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                await self._send1(writer, DohReply(400, b"bad request line\n"), True)
                return
            method, target, version = parts
            headers = head
            close = (version == "HTTP/1.0" and headers.get("connection", "").lower()
                     != "keep-alive") or headers.get("connection", "").lower() == "close"
            if "transfer-encoding" in headers:
                await self._send1(writer, DohReply(411, b"send a Content-Length\n"), True)
                return
            try:
                length = int(headers.get("content-length", "0"))
                if length < 0:
                    raise ValueError
            except ValueError:
                await self._send1(writer, DohReply(400, b"bad Content-Length\n"), True)
                return
            if length > MAX_BODY:
                # The body is not read: the connection cannot be reused.
                await self._send1(writer, DohReply(413, b"body too large\n"), True)
                return
            async with asyncio.timeout(IDLE_SECONDS):
                body = await reader.readexactly(length) if length else b""
            reply = await handle_request(self.gate, method, target,
                                         headers.get("content-type"), body,
                                         self._ip(peer, headers))
            await self._send1(writer, reply, close)
            if close:
                return

    @staticmethod
    async def _read_head(reader: asyncio.StreamReader, line: bytes) -> dict[str, str] | None:
        size = len(line)
        headers: dict[str, str] = {}
        while True:
            async with asyncio.timeout(IDLE_SECONDS):
                try:
                    raw = await reader.readuntil(b"\r\n")
                except (asyncio.LimitOverrunError, ValueError):
                    return None
            size += len(raw)
            if size > MAX_HEAD:
                return None
            if raw == b"\r\n":
                return headers
            name, colon, value = raw.decode("latin-1").partition(":")
            if colon:
                key = name.strip().lower()
                value = value.strip()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value

    @staticmethod
    async def _send1(writer: asyncio.StreamWriter, reply: DohReply, close: bool) -> None:
        head = (f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Error')}\r\n"
                f"Content-Type: {reply.content_type}\r\n"
                f"Content-Length: {len(reply.body)}\r\n"
                f"Cache-Control: no-store\r\n"
                f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n")
        writer.write(head.encode("latin-1") + reply.body)
        await writer.drain()

    # -- HTTP/2 ----------------------------------------------------------------------------

    async def _http2(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     peer: str, already: bytes) -> None:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding="latin-1"))
        conn.local_settings = h2.settings.Settings(client=False, initial_values={
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: MAX_STREAMS,
            h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: MAX_HEAD,
        })
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        streams: dict[int, _Stream] = {}
        windows = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()
        data = already
        try:
            while True:
                if data:
                    try:
                        events = conn.receive_data(data)
                    except h2.exceptions.ProtocolError:
                        writer.write(conn.data_to_send())
                        return
                    for event in events:
                        if isinstance(event, h2.events.ConnectionTerminated):
                            writer.write(conn.data_to_send())
                            return
                        self._h2_event(conn, event, streams, windows, tasks, writer, peer)
                    writer.write(conn.data_to_send())
                    await writer.drain()
                async with asyncio.timeout(IDLE_SECONDS):
                    data = await reader.read(65536)
                if not data:
                    return
        finally:
            for task in tasks:
                task.cancel()

    def _h2_event(self, conn: h2.connection.H2Connection, event: Any,
                  streams: dict[int, _Stream], windows: asyncio.Event,
                  tasks: set[asyncio.Task[None]], writer: asyncio.StreamWriter,
                  peer: str) -> None:
        if isinstance(event, h2.events.RequestReceived):
            headers = {_text(k): _text(v) for k, v in event.headers or ()}
            streams[event.stream_id] = _Stream(headers)
        elif isinstance(event, h2.events.DataReceived):
            conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            stream = streams.get(event.stream_id)
            if stream is None:
                return
            stream.body += event.data or b""
            if len(stream.body) > MAX_BODY:
                del streams[event.stream_id]
                self._h2_reply(conn, event.stream_id, DohReply(413, b"body too large\n"),
                               end_only=True)
                # The whole answer went out: the rest of the body is not wanted (RFC 9113
                # §8.1).
                with contextlib.suppress(h2.exceptions.H2Error):
                    conn.reset_stream(event.stream_id, h2.errors.ErrorCodes.NO_ERROR)
                return
        elif isinstance(event, h2.events.StreamEnded):  # (also when a frame above ended it)
            self._h2_start(conn, event.stream_id, streams, windows, tasks, writer, peer)
        elif isinstance(event, h2.events.StreamReset):
            streams.pop(event.stream_id, None)
        elif isinstance(event, h2.events.WindowUpdated):
            windows.set()

    def _h2_start(self, conn: h2.connection.H2Connection, stream_id: int,
                  streams: dict[int, _Stream], windows: asyncio.Event,
                  tasks: set[asyncio.Task[None]], writer: asyncio.StreamWriter,
                  peer: str) -> None:
        stream = streams.pop(stream_id, None)
        if stream is None:
            return
        task = asyncio.get_running_loop().create_task(
            self._h2_answer(conn, stream_id, stream, windows, writer, peer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _h2_answer(self, conn: h2.connection.H2Connection, stream_id: int,
                         stream: _Stream, windows: asyncio.Event,
                         writer: asyncio.StreamWriter, peer: str) -> None:
        h = stream.headers
        reply = await handle_request(self.gate, h.get(":method", ""), h.get(":path", ""),
                                     h.get("content-type"), stream.body, self._ip(peer, h))
        try:
            self._h2_reply(conn, stream_id, reply, end_only=False)
            body = reply.body
            while body:
                window = min(conn.local_flow_control_window(stream_id),
                             conn.max_outbound_frame_size)
                if window <= 0:
                    windows.clear()
                    writer.write(conn.data_to_send())
                    async with asyncio.timeout(IDLE_SECONDS):
                        await windows.wait()
                    continue
                conn.send_data(stream_id, body[:window], end_stream=len(body) <= window)
                body = body[window:]
            writer.write(conn.data_to_send())
            await writer.drain()
        except (h2.exceptions.H2Error, ConnectionError, TimeoutError):
            return  # the stream or the connection went away

    @staticmethod
    def _h2_reply(conn: h2.connection.H2Connection, stream_id: int, reply: DohReply,
                  end_only: bool) -> None:
        headers = [(":status", str(reply.status)), ("content-type", reply.content_type),
                   ("content-length", str(len(reply.body))), ("cache-control", "no-store")]
        if end_only:
            with contextlib.suppress(h2.exceptions.H2Error):
                conn.send_headers(stream_id, headers)
                conn.send_data(stream_id, reply.body, end_stream=True)
            return
        conn.send_headers(stream_id, headers, end_stream=not reply.body)


@dataclass(slots=True)
class _Stream:
    headers: dict[str, str]
    body: bytes = b""


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


async def start_doh(gate: Gate, host: str, port: int, context: ssl.SSLContext | None, *,
                    plain: bool = False,
                    reuse_port: bool = False) -> tuple[asyncio.AbstractServer, int]:
    """Serve DoH on ``host:port`` (0: a free port) with TLS, or plain HTTP when ``plain``."""
    server = await asyncio.start_server(
        DohServer(gate, plain=plain).handle, host, port, ssl=context,
        ssl_handshake_timeout=HANDSHAKE_SECONDS if context is not None else None,
        reuse_address=True, reuse_port=reuse_port or None, limit=MAX_HEAD)
    return server, int(server.sockets[0].getsockname()[1])
