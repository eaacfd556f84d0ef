"""Normalisation of values stored in the database: e-mail, MAC, IP/CIDR, device tokens, time."""

from __future__ import annotations

import ipaddress
import re
import secrets
from datetime import UTC, datetime

from safegate.store.errors import StoreError

_HEX12 = re.compile(r"[0-9a-f]{12}")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_device_token() -> str:
    """A random URL-safe token (16 random bytes, 22 characters) for DoH/DoT URLs."""
    return secrets.token_urlsafe(16)


def new_subject() -> str:
    """A random pseudonym for a child (32 hex digits): what audit entries name instead of the
    child, and all that is left of an erased child."""
    return secrets.token_hex(16)


def normalise_email(value: str) -> str:
    """Trimmed and lowercased; must contain one ``@`` with text on both sides."""
    email = value.strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in email):
        raise StoreError(f"email {value!r} is not an e-mail address")
    return email


def normalise_mac(value: str) -> str:
    """``AA-BB-CC-DD-EE-FF``, ``aabb.ccdd.eeff``, ``aabbccddeeff``… → ``aa:bb:cc:dd:ee:ff``."""
    digits = re.sub(r"[\s:.\-]", "", value).lower()
    if not _HEX12.fullmatch(digits):
        raise StoreError(f"mac {value!r} is not a MAC address (expected aa:bb:cc:dd:ee:ff)")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def normalise_ip_cidr(value: str) -> str:
    """An address (``192.168.1.20``) or a network (``10.0.0.0/24``) in canonical form."""
    text = value.strip()
    try:
        if "/" in text:
            return str(ipaddress.ip_network(text, strict=True))
        return str(ipaddress.ip_address(text))
    except ValueError as exc:
        raise StoreError(
            f"ip_cidr {value!r} is not an IP address or network ({exc}); "
            "expected e.g. 192.168.1.20 or 10.0.0.0/24"
        ) from None
