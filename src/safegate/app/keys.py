"""Key rotation without downtime (docs/privacy.md, "Keys").

``rotate`` puts a new key in front of ``secret.key``: every process that loads the keyring
afterwards encrypts with it, and every older key still reads. ``reencrypt`` moves the values
written with older keys (every column of :data:`FIELDS` and the alert spool) to the current
key in batches, each committed on its own, so it can stop at any point and be run again; the
gate's jobs leader runs it hourly, once across nodes. ``retire`` removes an old key only when
no value uses it any more. Each step is recorded in the audit log (key ids only).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from safegate.app.core import App
from safegate.app.requests import message_context
from safegate.app.second_factor import secret_context
from safegate.files import locked
from safegate.privacy import audit
from safegate.privacy.crypto import (
    KEY_ENV,
    CryptoError,
    Keyring,
    key_file,
    key_source,
    save_key_file,
    token_key_id,
)
from safegate.privacy.keys import (
    EncryptedField,
    reencrypt_batch,
    retire_problem,
    stored_key_ids,
)
from safegate.protect.monitor import snippet_context
from safegate.protect.spool import Spool
from safegate.store.models import AccountTotp, Alert, UnblockRequest

__all__ = ["FIELDS", "key_status", "reencrypt", "retire_key", "rotate_key"]

# Every encrypted column with the associated data its values are sealed with.
FIELDS: tuple[EncryptedField, ...] = (
    EncryptedField("alert snippets", Alert.snippet, Alert.profile_id, snippet_context),
    EncryptedField("unblock-request messages", UnblockRequest.message,
                   UnblockRequest.profile_id, message_context),
    EncryptedField("TOTP secrets", AccountTotp.secret, AccountTotp.account_id, secret_context),
)


def _from_environment(app: App) -> bool:
    return key_source(app.data_dir) != str(key_file(app.data_dir))


def _refuse_environment(app: App, what: str) -> None:
    if _from_environment(app):
        raise CryptoError(
            f"the keys come from {KEY_ENV}, which SafeGate cannot change: to {what}, edit "
            f"{KEY_ENV} on every node (keys separated by commas, the first encrypts; "
            "`safegate keys generate` prints a new key) and restart them")


def _spool_key_ids(app: App) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in Spool(app.data_dir).entries():
        kid = token_key_id(entry.alert.snippet) if entry.alert else None
        if kid is not None:
            counts[kid] = counts.get(kid, 0) + 1
    return counts


def key_status(app: App) -> dict[str, Any]:
    """The keys held (the first encrypts), how many stored values use each, and values
    written with a key that is not held."""
    keyring = app.keyring()
    with app.sessions()() as session:
        stored = stored_key_ids(session)
    spooled = _spool_key_ids(app)
    held = keyring.ordered_ids
    keys: list[dict[str, Any]] = [
        {"id": kid, "encrypts": i == 0, "values": stored.get(kid, 0),
         "spooled": spooled.get(kid, 0)} for i, kid in enumerate(held)]
    unknown = {str(k): n for k, n in stored.items() if k not in held}
    old = sum(stored.get(k, 0) + spooled.get(k, 0) for k in held[1:])
    return {"source": key_source(app.data_dir), "keys": keys, "not_held": unknown,
            "to_reencrypt": old}


def rotate_key(app: App, *, actor: str) -> dict[str, Any]:
    """A new key in front of ``secret.key``; the old ones stay and still read."""
    _refuse_environment(app, "rotate")
    with locked(key_file(app.data_dir).with_name("secret.key.lock")):
        current = app.keyring()  # refuses a missing or wrong key before anything changes
        new = current.rotated()
        with app.sessions().begin() as session:
            audit.append(session, actor=actor, action="keys.rotate", object_type="keyring",
                         object_id=new.key_id, legal_basis="legal_obligation",
                         detail={"new": new.key_id, "previous": list(current.ordered_ids)})
            save_key_file(app.data_dir, new)  # inside the transaction: no entry, no new key
    return {"new": new.key_id, "keys": list(new.ordered_ids)}


def _reencrypt_spool(app: App, keyring: Keyring) -> tuple[int, int]:
    spool = Spool(app.data_dir)
    moved = failed = 0
    with spool.locked():
        entries = spool.entries()
        out = []
        for entry in entries:
            alert = entry.alert
            if alert is None or token_key_id(alert.snippet) == keyring.key_id:
                out.append(entry)
                continue
            context = snippet_context(alert.profile_id)
            try:
                plain = keyring.decrypt(alert.snippet, context=context)
            except CryptoError:
                failed += 1
                out.append(entry)
                continue
            again = dataclasses.replace(alert, snippet=keyring.encrypt(plain, context=context))
            out.append(dataclasses.replace(entry, line=again.to_json(), alert=again))
            moved += 1
        if moved:
            spool.rewrite(out)
    return moved, failed


def reencrypt(app: App, *, actor: str, batch: int = 500,
              limit: int | None = None) -> dict[str, Any]:
    """Move values written with older keys to the current one, ``batch`` rows a transaction
    (at most ``limit`` values in all, when given: the rest wait for the next run)."""
    with app.sessions()() as session:
        stored = stored_key_ids(session)
    spooled = _spool_key_ids(app)
    if not sum(stored.values()) and not spooled:  # nothing encrypted: no key needed
        return {"key": None, "moved": {f.name: 0 for f in FIELDS} | {"spooled alerts": 0},
                "failed": 0, "remaining": 0}
    keyring = app.keyring()
    per_field: dict[str, int] = {}
    failed = 0
    left = limit
    for field in FIELDS:
        after, moved = 0, 0
        while left is None or left > 0:
            size = batch if left is None else min(batch, left)
            with app.sessions().begin() as session:
                done = reencrypt_batch(session, field, keyring, after_id=after, limit=size)
            moved += done.moved
            failed += done.failed
            if left is not None:
                left -= done.moved + done.failed
            if done.last_id is None:
                break
            after = done.last_id
        per_field[field.name] = moved
    moved_spool = spool_failed = 0
    if left is None or left > 0:
        moved_spool, spool_failed = _reencrypt_spool(app, keyring)
    per_field["spooled alerts"] = moved_spool
    failed += spool_failed
    total = sum(per_field.values())
    with app.sessions().begin() as session:
        remaining = sum(n for k, n in stored_key_ids(session).items() if k != keyring.key_id)
        if total:  # (values that cannot be decrypted are counted, not audited every hour)
            audit.append(session, actor=actor, action="keys.reencrypt", object_type="keyring",
                         object_id=keyring.key_id, legal_basis="legal_obligation",
                         detail={"moved": per_field, "failed": failed,
                                 "remaining": remaining})
    return {"key": keyring.key_id, "moved": per_field, "failed": failed,
            "remaining": remaining + sum(n for k, n in _spool_key_ids(app).items()
                                         if k != keyring.key_id)}


def retire_key(app: App, key_id: str, *, actor: str) -> dict[str, Any]:
    """Remove the old key ``key_id`` from ``secret.key``; refused while any value uses it."""
    _refuse_environment(app, "retire a key")
    with locked(key_file(app.data_dir).with_name("secret.key.lock")):
        keyring = app.keyring()
        remaining = keyring.without(key_id)  # refuses the encrypting key or an unknown one
        with app.sessions().begin() as session:
            problem = retire_problem(stored_key_ids(session), key_id,
                                     waiting=_spool_key_ids(app).get(key_id, 0))
            if problem is not None:
                raise CryptoError(problem)
            audit.append(session, actor=actor, action="keys.retire", object_type="keyring",
                         object_id=key_id, legal_basis="legal_obligation",
                         detail={"retired": key_id, "keys": list(remaining.ordered_ids)})
            save_key_file(app.data_dir, remaining)
    return {"retired": key_id, "keys": list(remaining.ordered_ids)}
