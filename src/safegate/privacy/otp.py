"""One-time codes of a second sign-in factor (RFC 4226 HOTP, RFC 6238 TOTP: HMAC-SHA1,
six digits, 30-second steps) and single-use recovery codes. Pure functions over the
standard library; storing the secret (encrypted) and the last step used is the caller's job.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

STEP = 30  # seconds
DIGITS = 6
DRIFT = 1  # steps accepted either side of now (a phone's clock a little off)
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommendation for HMAC-SHA1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def new_secret() -> str:
    """A random shared secret in base32 without padding (what authenticator apps take)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    text = secret.replace(" ", "").upper()
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except ValueError:
        raise ValueError("the TOTP secret is not base32") from None


def hotp(secret: str, counter: int) -> str:
    """RFC 4226: the code for ``counter``."""
    mac = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10 ** DIGITS).zfill(DIGITS)


def step_at(unix_time: float) -> int:
    return int(unix_time // STEP)


def totp(secret: str, unix_time: float) -> str:
    """RFC 6238: the code shown at ``unix_time``."""
    return hotp(secret, step_at(unix_time))


def clean_code(text: str) -> str:
    """What a person typed, without spaces or dashes."""
    return "".join(ch for ch in text if ch not in " -\t").strip()


def matching_step(secret: str, code: str, unix_time: float, *, after: int | None = None,
                  drift: int = DRIFT) -> int | None:
    """The time step whose code ``code`` is (within ``drift`` steps of now and later than
    ``after``, the last step already used: a code works once), or None."""
    typed = clean_code(code)
    if len(typed) != DIGITS or not typed.isdigit():
        return None
    now = step_at(unix_time)
    found = None
    for step in range(now - drift, now + drift + 1):  # every candidate: no early exit timing
        if hmac.compare_digest(hotp(secret, step), typed) and (after is None or step > after):
            found = step
    return found


def provisioning_uri(secret: str, account: str, issuer: str = "SafeGate") -> str:
    """The otpauth:// URI an authenticator app reads from a QR code."""
    label = quote(f"{issuer}:{account}", safe=":@")
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1",
                       "digits": DIGITS, "period": STEP})
    return f"otpauth://totp/{label}?{query}"


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Recovery codes to print or write down: ``xxxxx-xxxxx`` (about 49 bits each)."""
    def one() -> str:
        chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        return f"{chars[:5]}-{chars[5:]}"

    return [one() for _ in range(count)]


def recovery_digest(code: str) -> str:
    """How a recovery code is stored: SHA-256 of its normalised form (the codes are random,
    49 bits each, and tried under the sign-in rate limit; a slow hash would add nothing)."""
    typed = clean_code(code).lower()
    return hashlib.sha256(f"safegate-recovery:{typed}".encode()).hexdigest()
