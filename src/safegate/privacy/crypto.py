"""Field-level encryption for free text from or about a child (ARCHITECTURE.md, "Data protection").

    >>> keys = Keyring.generate()
    >>> token = encrypt_text("em buồn lắm", keys, context="alert.snippet")
    >>> decrypt_text(token, keys, context="alert.snippet")
    'em buồn lắm'

Authenticated encryption: AES-256-GCM with a random 96-bit nonce per value. A token is text,
safe for any column::

    sg1.<key id, 8 hex>.<base64url(nonce ‖ ciphertext ‖ tag)>

The key id lets a keyring hold old keys next to the current one, so keys can be rotated without
re-encrypting everything at once. ``context`` is bound into the tag as associated data: a token
written for one field (say, the snippet of an alert of profile 3) does not decrypt as another.

Where the key comes from (:func:`load_keyring`):

1. ``SAFEGATE_SECRET_KEY``: one or more base64url keys of 32 bytes, separated by commas; the
   first encrypts, all decrypt. Use this when several nodes share one PostgreSQL database.
2. otherwise ``secret.key`` in the data directory, one key a line (first line encrypts), created
   with mode 0600 on first use. Losing this file means losing every encrypted field: back it up
   with the database, but never in the same place as a copy sent to anyone else.

Wrong key, changed ciphertext, wrong context or a value that is not a token all raise
:class:`DecryptionError`, never a lower-level exception.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from safegate.files import publish_private, write_private

__all__ = [
    "KEY_ENV",
    "KEY_FILE",
    "CryptoError",
    "DecryptionError",
    "Keyring",
    "MissingKeyError",
    "decrypt_text",
    "encrypt_text",
    "key_file",
    "key_signature",
    "key_source",
    "load_keyring",
    "save_key_file",
    "token_key_id",
]

KEY_ENV = "SAFEGATE_SECRET_KEY"
KEY_FILE = "secret.key"
TOKEN_PREFIX = "sg1"
_KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16


class CryptoError(Exception):
    """A key that cannot be used (bad format or length, unreadable key file)."""


class DecryptionError(CryptoError):
    """A token that this keyring cannot open: wrong key, changed data, wrong context or garbage."""


class MissingKeyError(CryptoError):
    """No key: ``SAFEGATE_SECRET_KEY`` is not set and ``secret.key`` does not exist."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"safegate key id\0" + key).hexdigest()[:8]


def _parse_key(text: str, where: str) -> bytes:
    try:
        key = _b64decode(text)
    except (binascii.Error, ValueError):
        raise CryptoError(f"{where}: a key must be base64url text") from None
    if len(key) != _KEY_BYTES:
        raise CryptoError(f"{where}: a key must be {_KEY_BYTES} bytes (base64url), "
                          f"this one is {len(key)}")
    return key


@dataclass(frozen=True, slots=True)
class Keyring:
    """Keys for field encryption: ``keys[0]`` encrypts, every key can decrypt."""

    keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise CryptoError("a keyring needs at least one key")
        for key in self.keys:
            if len(key) != _KEY_BYTES:
                raise CryptoError(f"a key must be {_KEY_BYTES} bytes, not {len(key)}")

    @classmethod
    def generate(cls) -> Keyring:
        return cls((AESGCM.generate_key(bit_length=_KEY_BYTES * 8),))

    @classmethod
    def from_text(cls, text: str, where: str = "key") -> Keyring:
        """Keys written as base64url, separated by commas or newlines; ``#`` starts a comment."""
        parts = [p.split("#", 1)[0].strip() for p in text.replace(",", "\n").splitlines()]
        keys = tuple(_parse_key(p, where) for p in parts if p)
        if not keys:
            raise CryptoError(f"{where}: no key found")
        return cls(keys)

    @property
    def key_id(self) -> str:
        """The id of the encrypting key (stored in every token it writes)."""
        return _key_id(self.keys[0])

    @property
    def key_ids(self) -> frozenset[str]:
        """The ids of every key held (the tokens any of them can open)."""
        return frozenset(_key_id(k) for k in self.keys)

    @property
    def ordered_ids(self) -> tuple[str, ...]:
        """The key ids in keyring order (the first encrypts)."""
        return tuple(_key_id(k) for k in self.keys)

    def rotated(self) -> Keyring:
        """This keyring with a new random key in front: it encrypts, every old key reads."""
        return Keyring((AESGCM.generate_key(bit_length=_KEY_BYTES * 8), *self.keys))

    def without(self, key_id: str) -> Keyring:
        """This keyring without the key ``key_id`` (CryptoError for the encrypting key, or one
        it does not hold)."""
        if key_id == self.key_id:
            raise CryptoError(f"key {key_id} is the one new values are encrypted with; "
                              "rotate first")
        if key_id not in self.key_ids:
            raise CryptoError(f"no key {key_id} in the keyring (held: "
                              f"{', '.join(self.ordered_ids)})")
        return Keyring(tuple(k for k in self.keys if _key_id(k) != key_id))

    def export(self) -> str:
        """The keys as text, one a line: the format of ``secret.key``."""
        return "".join(_b64encode(k) + "\n" for k in self.keys)

    def encrypt(self, plaintext: str, *, context: str = "") -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = AESGCM(self.keys[0]).encrypt(nonce, plaintext.encode("utf-8"),
                                              context.encode("utf-8"))
        return f"{TOKEN_PREFIX}.{self.key_id}.{_b64encode(nonce + sealed)}"

    def decrypt(self, token: str, *, context: str = "") -> str:
        if not isinstance(token, str):
            raise DecryptionError("not an encrypted value (expected text)")
        prefix, _, rest = token.partition(".")
        kid, _, body = rest.partition(".")
        if prefix != TOKEN_PREFIX or not kid or not body:
            raise DecryptionError("not an encrypted value (unknown format)")
        try:
            blob = _b64decode(body)
        except (binascii.Error, ValueError):
            raise DecryptionError("not an encrypted value (bad encoding)") from None
        if len(blob) < _NONCE_BYTES + _TAG_BYTES:
            raise DecryptionError("not an encrypted value (too short)")
        candidates = [k for k in self.keys if _key_id(k) == kid]
        if not candidates:
            raise DecryptionError(f"encrypted with key {kid}, which this keyring does not hold "
                                  "(wrong secret key?)")
        nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        for key in candidates:
            try:
                data = AESGCM(key).decrypt(nonce, sealed, context.encode("utf-8"))
            except InvalidTag:
                continue
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                break
        raise DecryptionError("cannot decrypt: the data was changed, or belongs to another "
                              "field or record")


def encrypt_text(plaintext: str, keyring: Keyring, *, context: str = "") -> str:
    """``plaintext`` as a token (see the module docstring); a new nonce every call."""
    return keyring.encrypt(plaintext, context=context)


def decrypt_text(token: str, keyring: Keyring, *, context: str = "") -> str:
    """The plaintext of ``token``; :class:`DecryptionError` if it cannot be opened."""
    return keyring.decrypt(token, context=context)


def token_key_id(token: object) -> str | None:
    """The key id written in ``token``, or None when it is not a token (no decryption)."""
    if not isinstance(token, str):
        return None
    prefix, _, rest = token.partition(".")
    kid, _, body = rest.partition(".")
    if prefix != TOKEN_PREFIX or len(kid) != 8 or not body:
        return None
    return kid


def key_source(data_dir: Path | str, env: Mapping[str, str] | None = None) -> str:
    """Where :func:`load_keyring` takes the key from, for messages (never the key itself)."""
    environ = os.environ if env is None else env
    if environ.get(KEY_ENV, "").strip():
        return f"the environment variable {KEY_ENV}"
    return str(Path(data_dir).expanduser() / KEY_FILE)


def key_signature(data_dir: Path | str, env: Mapping[str, str] | None = None) -> \
        tuple[Any, ...] | None:
    """What changes when the key :func:`load_keyring` would return changes: a digest of
    the environment variable, or the key file's identity (inode, size, change time; the
    file is only ever replaced whole). None when there is no key yet."""
    environ = os.environ if env is None else env
    value = environ.get(KEY_ENV, "").strip()
    if value:
        return ("env", hashlib.sha256(value.encode("utf-8")).hexdigest())
    try:
        st = (Path(data_dir).expanduser() / KEY_FILE).stat()
    except OSError:
        return None
    return ("file", st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def load_keyring(data_dir: Path | str, *, env: Mapping[str, str] | None = None,
                 create: bool = True) -> Keyring:
    """The keyring from ``SAFEGATE_SECRET_KEY`` or ``<data_dir>/secret.key``.

    With ``create`` (the default) a missing key file is created with a new random key, mode
    0600, atomically: two processes starting together end up with the same key.
    """
    environ = os.environ if env is None else env
    if environ.get(KEY_ENV, "").strip():
        return Keyring.from_text(environ[KEY_ENV], f"environment variable {KEY_ENV}")
    path = Path(data_dir).expanduser() / KEY_FILE
    if not path.exists():
        if not create:
            raise MissingKeyError(f"no secret key: {path} does not exist and {KEY_ENV} is "
                                  "not set")
        _create_key_file(path)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise CryptoError(f"cannot read the secret key {path}: {exc}") from None
    return Keyring.from_text(text, str(path))


def key_file(data_dir: Path | str) -> Path:
    return Path(data_dir).expanduser() / KEY_FILE


def save_key_file(data_dir: Path | str, keyring: Keyring) -> Path:
    """Replace ``<data_dir>/secret.key`` with ``keyring`` atomically (0600): a reader sees the
    old keys or the new ones, never half a file."""
    path = key_file(data_dir)
    write_private(path, keyring.export().encode("ascii"))
    return path


def _create_key_file(path: Path) -> None:
    # The first writer wins when two processes start at once; everyone then reads that key.
    publish_private(path, Keyring.generate().export().encode("ascii"))

