"""Which key the store's encrypted fields need, and refusing to run with another one.

A new key is made only for a store without encrypted data. When rows hold ciphertext, a
missing key file (or ``SAFEGATE_SECRET_KEY``) or a key none of them was written with stops the
command with what to do: a new key would make every stored value unreadable and mix new
values under another key. Tokens carry their key's id (:mod:`safegate.privacy.crypto`), so
the check reads ids, it decrypts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from safegate.privacy.crypto import (
    KEY_ENV,
    TOKEN_PREFIX,
    CryptoError,
    Keyring,
    MissingKeyError,
    key_source,
    load_keyring,
)
from safegate.store.models import Alert, UnblockRequest

__all__ = ["ENCRYPTED_COLUMNS", "KeyMismatchError", "keyring_problem", "load_store_keyring",
           "stored_key_ids"]

# Every column that holds field-encryption tokens (None where a row has no such value).
ENCRYPTED_COLUMNS: tuple[InstrumentedAttribute[Any], ...] = (Alert.snippet,
                                                             UnblockRequest.message)
_TOKEN_PREFIX = TOKEN_PREFIX + "."


class KeyMismatchError(CryptoError):
    """The key at hand cannot be the one the store's encrypted data was written with."""


def stored_key_ids(session: Session) -> dict[str | None, int]:
    """How many encrypted values the store holds per key id (None: not a token)."""
    counts: dict[str | None, int] = {}
    for column in ENCRYPTED_COLUMNS:
        prefix = func.substr(column, 1, len(_TOKEN_PREFIX))
        kid = func.substr(column, len(_TOKEN_PREFIX) + 1, 8)
        rows = session.execute(select(prefix, kid, func.count()).where(column.is_not(None))
                               .group_by(prefix, kid)).all()
        for pre, key_id, n in rows:
            which = key_id if pre == _TOKEN_PREFIX and key_id else None
            counts[which] = counts.get(which, 0) + int(n)
    return counts


def _values(n: int) -> str:
    return f"{n} encrypted value{'' if n == 1 else 's'}"


def keyring_problem(stored: Mapping[str | None, int], held: frozenset[str] | None,
                    source: str) -> str | None:
    """Why the keys ``held`` (None: no key at all) must not be used on a store whose encrypted
    values carry the key ids ``stored``; None when they may."""
    total = sum(stored.values())
    if total == 0:
        return None
    restore = (f"Restore the key from the backup made with the database (into {source}, or "
               f"set {KEY_ENV}) and run again; nothing was changed. A new key cannot read "
               "them.")
    if held is None:
        return f"the store holds {_values(total)} but there is no secret key ({source} is " \
               f"missing). {restore}"
    written_with = sorted(k for k in stored if k is not None)
    if written_with and not set(written_with) & held:
        return (f"the secret key from {source} (key id {', '.join(sorted(held))}) is not the "
                f"one the store's {_values(total)} were written with (key id "
                f"{', '.join(written_with)}). {restore}")
    return None


def load_store_keyring(session: Session, data_dir: Path | str,
                       env: Mapping[str, str] | None = None) -> Keyring:
    """The keyring for this store: created only while the store holds no encrypted value;
    :class:`KeyMismatchError` (a CryptoError) when it is missing or the wrong one."""
    stored = stored_key_ids(session)
    key: Keyring | None
    try:
        key = load_keyring(data_dir, env=env, create=not sum(stored.values()))
    except MissingKeyError:
        key = None
    problem = keyring_problem(stored, None if key is None else key.key_ids,
                              key_source(data_dir, env))
    if problem is not None:
        raise KeyMismatchError(problem)
    assert key is not None  # no problem means a key, or a store without encrypted values
    return key
