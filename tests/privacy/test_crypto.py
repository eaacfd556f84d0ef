"""safegate.privacy.crypto: field encryption, keys from a file or the environment."""

from __future__ import annotations

import base64
import stat
import threading
from pathlib import Path

import pytest

from safegate.privacy.crypto import (
    KEY_ENV,
    KEY_FILE,
    CryptoError,
    DecryptionError,
    Keyring,
    decrypt_text,
    encrypt_text,
    load_keyring,
)

TEXT = "em buồn lắm, không muốn sống nữa — sđt 0912 345 678"


def test_round_trip_and_fresh_nonce() -> None:
    keys = Keyring.generate()
    a = encrypt_text(TEXT, keys, context="alert.snippet:1")
    b = encrypt_text(TEXT, keys, context="alert.snippet:1")
    assert a != b  # a new nonce each time
    assert a.startswith(f"sg1.{keys.key_id}.")
    assert "0912" not in a and "buồn" not in a
    assert decrypt_text(a, keys, context="alert.snippet:1") == TEXT
    assert decrypt_text(encrypt_text("", keys), keys) == ""


def test_wrong_key_fails_cleanly() -> None:
    token = encrypt_text(TEXT, Keyring.generate())
    with pytest.raises(DecryptionError, match="wrong secret key"):
        decrypt_text(token, Keyring.generate())


def test_same_key_id_but_different_key_fails_cleanly() -> None:
    """A forged token that names our key id still cannot be opened."""
    keys, other = Keyring.generate(), Keyring.generate()
    forged = encrypt_text(TEXT, other).split(".")
    forged[1] = keys.key_id
    with pytest.raises(DecryptionError):
        decrypt_text(".".join(forged), keys)


@pytest.mark.parametrize("change", ["flip", "truncate", "context"])
def test_changed_data_or_context_fails_cleanly(change: str) -> None:
    keys = Keyring.generate()
    token = encrypt_text(TEXT, keys, context="alert.snippet:1")
    context = "alert.snippet:1"
    if change == "flip":
        head, body = token.rsplit(".", 1)
        raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        raw[-1] ^= 1
        token = head + "." + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    elif change == "truncate":
        token = token[:-6]
    else:
        context = "alert.snippet:2"  # another profile's snippet
    with pytest.raises(DecryptionError):
        decrypt_text(token, keys, context=context)


@pytest.mark.parametrize("garbage", ["", "hello", "sg1..", "sg1.abcd1234.!!!", "sg1.x.AAAA"])
def test_not_a_token_fails_cleanly(garbage: str) -> None:
    with pytest.raises(DecryptionError):
        decrypt_text(garbage, Keyring.generate())


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    keys = load_keyring(data, env={})
    path = data / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_keyring(data, env={})
    assert again == keys
    token = encrypt_text(TEXT, keys)
    assert decrypt_text(token, again) == TEXT
    assert not [p for p in data.iterdir() if p.name != KEY_FILE]  # no temporary left behind


def test_missing_key_file_without_create(tmp_path: Path) -> None:
    with pytest.raises(CryptoError, match=KEY_ENV):
        load_keyring(tmp_path, env={}, create=False)


def test_processes_starting_together_share_one_key(tmp_path: Path) -> None:
    found: list[Keyring] = []

    def load() -> None:
        found.append(load_keyring(tmp_path, env={}))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(found) == 8 and len(set(found)) == 1


def test_environment_key_wins_and_rotation(tmp_path: Path) -> None:
    old, new = Keyring.generate(), Keyring.generate()
    old_token = encrypt_text(TEXT, old)
    env = {KEY_ENV: f"{new.export().strip()}, {old.export().strip()}"}
    keys = load_keyring(tmp_path, env=env)
    assert not (tmp_path / KEY_FILE).exists()  # the environment key is used, no file made
    assert keys.key_id == new.key_id  # the first key encrypts
    assert decrypt_text(old_token, keys) == TEXT  # older keys still decrypt
    assert decrypt_text(encrypt_text(TEXT, keys), new) == TEXT


@pytest.mark.parametrize("bad", ["not base64 at all!", base64.urlsafe_b64encode(b"short").decode()])
def test_bad_keys_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(CryptoError, match=KEY_ENV):
        load_keyring(tmp_path, env={KEY_ENV: bad})
    (tmp_path / KEY_FILE).write_text(bad + "\n")
    with pytest.raises(CryptoError, match=KEY_FILE):
        load_keyring(tmp_path, env={})
