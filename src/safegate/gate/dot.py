"""DNS over TLS (RFC 7858): the gate's TCP framing inside TLS, on port 853.

A device is known by the server name it asks for (SNI): ``{label}.{dot_hostname}``, where
the label is the device's token or its DoT label (``policy.compiled.dot_label``: the token
as one lowercase hostname label, which is what Android's Private DNS accepts). A connection
without a known label is served like a plain client of its address (see
``Gate.admit_token``). Handshake failures and garbage end that connection only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from safegate.gate.server import Gate, TcpServer

log = logging.getLogger(__name__)

HANDSHAKE_SECONDS = 10.0  # a client that does not finish its TLS handshake is cut off
_SNI_ATTR = "safegate_server_name"


class TlsError(ValueError):
    """The certificate or key cannot be used."""


def _remember_sni(sslobj: Any, server_name: str | None, _ctx: ssl.SSLContext) -> None:
    # Runs during the handshake; the SSLObject is the one the transport exposes later.
    with contextlib.suppress(AttributeError):  # an SSL object without a __dict__
        setattr(sslobj, _SNI_ATTR, server_name)


def tls_context(cert: str | Path, key: str | Path, alpn: Sequence[str] = ()) -> ssl.SSLContext:
    """A server context (TLS 1.2 or later) that records each connection's SNI."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise TlsError(f"cannot load the TLS certificate {cert} with key {key}: {exc}") from exc
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    ctx.sni_callback = _remember_sni
    return ctx


def server_name(writer: asyncio.StreamWriter) -> str | None:
    """The SNI the client sent on this TLS connection (None: none or not TLS)."""
    sslobj = writer.get_extra_info("ssl_object")
    name = getattr(sslobj, _SNI_ATTR, None) if sslobj is not None else None
    return name if isinstance(name, str) else None


def token_from_sni(name: str | None, hostname: str) -> str | None:
    """The first label of ``{label}.{hostname}`` (None for any other name)."""
    if not name or not hostname:
        return None
    label, dot, rest = name.rstrip(".").partition(".")
    if not dot or not label or rest.lower() != hostname.lower().strip("."):
        return None
    return label


async def start_dot(gate: Gate, host: str, port: int, context: ssl.SSLContext,
                    hostname: str, *,
                    reuse_port: bool = False) -> tuple[asyncio.AbstractServer, int]:
    """Serve DoT on ``host:port`` (0: a free port). Returns the server and its port."""

    def token_of(writer: asyncio.StreamWriter) -> str | None:
        return token_from_sni(server_name(writer), hostname)

    server = await asyncio.start_server(TcpServer(gate, token_of).handle, host, port,
                                        ssl=context, ssl_handshake_timeout=HANDSHAKE_SECONDS,
                                        reuse_address=True, reuse_port=reuse_port or None)
    bound = server.sockets[0].getsockname()[1]
    return server, int(bound)
