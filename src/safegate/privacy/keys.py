"""Which key the store's encrypted fields need, refusing to run with another one, and moving
values to the current key after a rotation.

A new key is made only for a store without encrypted data. When rows hold ciphertext, a
missing key file (or ``SAFEGATE_SECRET_KEY``) or a key none of them was written with stops the
command with what to do: a new key would make every stored value unreadable and mix new
values under another key. Tokens carry their key's id (:mod:`safegate.privacy.crypto`), so
the check reads ids, it decrypts nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from safegate.privacy.crypto import (
    KEY_ENV,
    TOKEN_PREFIX,
    CryptoError,
    DecryptionError,
    Keyring,
    MissingKeyError,
    key_source,
    load_keyring,
)
from safegate.store.models import AccountTotp, Alert, UnblockRequest

__all__ = ["ENCRYPTED_COLUMNS", "Batch", "EncryptedField", "KeyMismatchError", "keyring_problem",
           "load_store_keyring", "reencrypt_batch", "retire_problem", "stored_key_ids"]

# Every column that holds field-encryption tokens (None where a row has no such value).
ENCRYPTED_COLUMNS: tuple[InstrumentedAttribute[Any], ...] = (Alert.snippet,
                                                             UnblockRequest.message,
                                                             AccountTotp.secret)
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


def retire_problem(stored: Mapping[str | None, int], key_id: str, *, waiting: int = 0) -> \
        str | None:
    """Why the key ``key_id`` must stay (values still written with it, in the store or, as
    ``waiting``, elsewhere such as the alert spool); None when it may go."""
    left = stored.get(key_id, 0) + waiting
    if not left:
        return None
    return (f"{_values(left)} still use key {key_id}; run `safegate keys reencrypt` until "
            "none do (nothing was changed)")


@dataclass(frozen=True, slots=True)
class EncryptedField:
    """A column of encrypted values and the associated data each value was sealed with (from
    the row's owner, e.g. its profile id)."""

    name: str
    column: InstrumentedAttribute[Any]
    owner: InstrumentedAttribute[Any]
    context: Callable[[Any], str]


@dataclass(frozen=True, slots=True)
class Batch:
    moved: int  # now under the current key
    failed: int  # could not be decrypted with any key held (left as they are)
    last_id: int | None  # the id to continue after; None when the column is done


def reencrypt_batch(session: Session, field: EncryptedField, keyring: Keyring, *,
                    after_id: int = 0, limit: int = 500) -> Batch:
    """Move up to ``limit`` values of ``field`` not yet under the current key (rows with an
    id above ``after_id``) to it, in the caller's transaction. Each row is updated only if its
    value is still the one read, so a concurrent write is never overwritten."""
    model = field.column.class_
    ident = model.id
    current = f"{_TOKEN_PREFIX}{keyring.key_id}."
    rows = session.execute(
        select(ident, field.owner, field.column)
        .where(field.column.is_not(None), ident > after_id,
               func.substr(field.column, 1, len(current)) != current)
        .order_by(ident).limit(limit)).all()
    moved = failed = 0
    for row_id, owner, token in rows:
        context = field.context(owner)
        try:
            plain = keyring.decrypt(token, context=context)
        except DecryptionError:
            failed += 1
            continue
        done = session.execute(update(model).where(ident == row_id, field.column == token)
                               .values({field.column.key: keyring.encrypt(plain,
                                                                          context=context)}))
        moved += int(getattr(done, "rowcount", 0) or 0)
    last = int(rows[-1][0]) if len(rows) == limit else None
    return Batch(moved, failed, last)
