"""Where a request comes from, as the audit log and the sign-in rate limit see it: the socket
peer, or, only when that peer is one of ``web.trusted_proxies``, the nearest address in its
X-Forwarded-For header that is not itself a trusted proxy. A client cannot choose its own
address by sending the header straight to the web app."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from fastapi import Request

from safegate.web.security import sg_app

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

__all__ = ["address_from", "client_address", "sign_in_allowed"]


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = text.strip().strip('"')
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address,
             trusted: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def address_from(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client's address: ``peer`` unless it is a trusted proxy that forwarded the request;
    then the header's addresses from the right, skipping trusted proxies (an unparsable
    entry stops the walk: the last good address is kept)."""
    found = _ip(peer)
    if found is None or not forwarded_for or not _trusted(found, trusted):
        return peer
    for part in reversed(forwarded_for.split(",")):
        hop = _ip(part)
        if hop is None:
            break
        found = hop
        if not _trusted(hop, trusted):
            break
    return str(found)


def client_address(request: Request) -> str:
    """This request's client address (``?`` when the server does not know the peer)."""
    peer = request.client.host if request.client else "?"
    networks = getattr(request.app.state, "trusted_proxies", None)
    if networks is None:
        networks = tuple(ipaddress.ip_network(n, strict=False)
                         for n in sg_app(request).settings["web.trusted_proxies"])
        request.app.state.trusted_proxies = networks
    return address_from(peer, request.headers.get("x-forwarded-for"), networks)


def sign_in_allowed(request: Request) -> bool:
    """Whether this request's client may make one more sign-in attempt (a password or a code)
    now: the per-address limit (``web.login_attempts_per_minute``), counting this one."""
    return bool(request.app.state.login_limit.allow(client_address(request)))
