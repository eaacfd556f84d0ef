"""Key rotation on SQLite and PostgreSQL: new writes use the new key while old values still
read, re-encryption moves every encrypted value (alerts, request messages, the spool) in
resumable batches, retiring a key is refused while anything uses it; and a backup (database
copy + key file) restored elsewhere reads, through the real command line."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from safegate.app.core import App
from safegate.app.family import add_child, add_org
from safegate.app.keys import FIELDS, key_status, reencrypt, retire_key, rotate_key
from safegate.app.requests import create as create_request
from safegate.app.requests import list_requests
from safegate.config import load_settings
from safegate.privacy import audit
from safegate.privacy.crypto import KEY_FILE, CryptoError, encrypt_text, token_key_id
from safegate.privacy.keys import ENCRYPTED_COLUMNS
from safegate.protect.monitor import list_alerts, snippet_context
from safegate.protect.spool import PendingAlert, Spool
from safegate.store.models import Alert, AuditLog, Profile, UnblockRequest
from tests.helpers import cli, demo_data_dir, wait_until

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SNIPPETS = ["tối nay gặp nhau ở công viên nhé", "đừng nói với bố mẹ", "gửi ảnh cho anh đi"]


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    add_org(made, "Nhà Lan")
    add_child(made, "Minh", 2014, now=NOW, actor="cli:lan")
    yield made
    made.close()


def _fill(app: App) -> int:
    key = app.keyring()
    with app.sessions().begin() as session:
        pid = session.scalars(select(Profile.id)).one()
        for text in SNIPPETS:
            session.add(Alert(profile_id=pid, last_seen_at=NOW, conversation="c",
                              category="grooming", severity="urgent", score=0.9,
                              snippet=encrypt_text(text, key, context=snippet_context(pid)),
                              guidance="grooming"))
    create_request(app, "Minh", "games.example", message="cho con chơi một lúc",
                   actor="child")
    Spool(app.data_dir).append(PendingAlert(
        profile_id=pid, conversation="c", category="bullying", severity="warning", score=0.5,
        guidance="bullying", found_by="rules", at=NOW,
        snippet=encrypt_text("mày ngu lắm", key, context=snippet_context(pid))))
    return pid


def _key_ids(app: App) -> list[str | None]:
    with app.sessions()() as session:
        ids = [token_key_id(v) for v in session.scalars(select(Alert.snippet))]
        ids += [token_key_id(v) for v in session.scalars(select(UnblockRequest.message))]
    return ids + [token_key_id(e.alert.snippet) for e in Spool(app.data_dir).entries()
                  if e.alert]


def _readable(app: App, pid: int) -> tuple[list[str | None], list[str | None]]:
    key = app.keyring()
    with app.sessions()() as session:
        snippets = sorted((a.snippet or "") for a in list_alerts(session, pid, key))
    return snippets, [r.message for r in list_requests(app)]


def test_every_encrypted_column_is_reencrypted() -> None:
    assert {f.column for f in FIELDS} == set(ENCRYPTED_COLUMNS)


def test_rotate_reencrypt_retire(app: App) -> None:
    pid = _fill(app)
    old = app.keyring().key_id
    before = _readable(app, pid)
    assert sorted(SNIPPETS) == before[0] and before[1] == ["cho con chơi một lúc"]

    new = rotate_key(app, actor="cli:op")["new"]
    assert new != old and app.keyring().ordered_ids == (new, old)
    assert _readable(app, pid) == before  # old values read under the new keyring
    create_request(app, "Minh", "video.example", message="con xem bài giảng", actor="child")
    assert _key_ids(app).count(new) == 1  # the new write used the new key

    status = key_status(app)
    assert [(k["id"], k["encrypts"], k["values"], k["spooled"]) for k in status["keys"]] == \
        [(new, True, 1, 0), (old, False, 4, 1)]
    assert status["to_reencrypt"] == 5
    with pytest.raises(CryptoError, match=f"5 encrypted values still use key {old}"):
        retire_key(app, old, actor="cli:op")
    with pytest.raises(CryptoError, match="rotate first"):
        retire_key(app, new, actor="cli:op")

    first = reencrypt(app, actor="cli:op", batch=1, limit=2)  # stops part-way
    assert sum(first["moved"].values()) == 2 and first["remaining"] == 3
    assert _key_ids(app).count(old) == 3
    rest = reencrypt(app, actor="cli:op", batch=2)  # and goes on from there
    assert rest["moved"] == {"alert snippets": 1, "unblock-request messages": 1,
                             "TOTP secrets": 0,
                             "spooled alerts": 1} and rest["remaining"] == 0
    assert set(_key_ids(app)) == {new}
    assert reencrypt(app, actor="cli:op")["moved"] == {
        "alert snippets": 0, "unblock-request messages": 0, "TOTP secrets": 0,
        "spooled alerts": 0}

    assert retire_key(app, old, actor="cli:op")["keys"] == [new]
    assert app.keyring().ordered_ids == (new,)
    assert (app.data_dir / KEY_FILE).stat().st_mode & 0o777 == 0o600
    after = _readable(app, pid)
    assert after[0] == before[0] and sorted(m or "" for m in after[1]) == \
        ["cho con chơi một lúc", "con xem bài giảng"]
    spooled = Spool(app.data_dir).entries()[0].alert
    assert spooled is not None
    assert app.keyring().decrypt(spooled.snippet, context=snippet_context(pid)) == "mày ngu lắm"

    with app.sessions()() as session:
        assert audit.verify(session).ok
        actions = session.scalars(select(AuditLog.action).where(
            AuditLog.action.like("keys.%")).order_by(AuditLog.seq)).all()
        details = " ".join(json.dumps(d) for d in session.scalars(select(AuditLog.detail)))
    assert actions == ["keys.rotate", "keys.reencrypt", "keys.reencrypt", "keys.retire"]
    assert "cho con" not in details and "công viên" not in details


def test_rotation_refuses_keys_from_the_environment(app: App, monkeypatch: pytest.MonkeyPatch,
                                                    ) -> None:
    _fill(app)
    monkeypatch.setenv("SAFEGATE_SECRET_KEY", (app.data_dir / KEY_FILE).read_text().strip())
    with pytest.raises(CryptoError, match="SAFEGATE_SECRET_KEY on every node"):
        rotate_key(app, actor="cli:op")


def _backup(data: Path, to: Path) -> None:
    """What docs/privacy.md says to do: an online copy of the database, and the key file."""
    to.mkdir(mode=0o700)
    source = sqlite3.connect(data / "safegate.db")
    copy = sqlite3.connect(to / "safegate.db")
    with copy:
        source.backup(copy)
    source.close()
    copy.close()
    shutil.copy2(data / KEY_FILE, to / KEY_FILE)


def _ok(*args: str) -> str:
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_restored_backup_reads_and_a_stale_key_file_is_refused(tmp_path: Path) -> None:
    data = demo_data_dir(tmp_path / "data")
    _ok("request", "add", "An", "games.example", "--message", "cho con chơi với bạn",
        "--data-dir", str(data))
    _backup(data, tmp_path / "backup1")
    restored = tmp_path / "restored"
    shutil.copytree(tmp_path / "backup1", restored)
    listed = json.loads(_ok("request", "list", "--json", "--data-dir", str(restored)))
    assert [r["message"] for r in listed] == ["cho con chơi với bạn"]

    # Rotated and re-encrypted, then the old key retired: the first backup's key file no
    # longer opens the live data; a backup taken after the rotation does.
    rotated = json.loads(_ok("keys", "rotate", "--json", "--data-dir", str(data)))
    new, old = rotated["keys"]
    moved = json.loads(_ok("keys", "reencrypt", "--json", "--data-dir", str(data)))
    assert moved["remaining"] == 0 and moved["moved"]["unblock-request messages"] == 1
    _ok("keys", "retire", old, "--data-dir", str(data))
    status = json.loads(_ok("keys", "status", "--json", "--data-dir", str(data)))
    assert [k["id"] for k in status["keys"]] == [new]
    stale = tmp_path / "stale"
    _backup(data, stale)
    shutil.copy2(tmp_path / "backup1" / KEY_FILE, stale / KEY_FILE)
    refused = cli("request", "list", "--data-dir", str(stale))
    assert refused.returncode == 1 and "is not the one" in refused.stderr
    assert "Traceback" not in refused.stderr
    _backup(data, tmp_path / "backup2")
    listed = json.loads(_ok("request", "list", "--json", "--data-dir",
                            str(tmp_path / "backup2")))
    assert [r["message"] for r in listed] == ["cho con chơi với bạn"]


def test_a_running_gate_moves_old_values_to_the_new_key(app: App, engine: Engine,
                                                         make_gate: Any) -> None:
    _fill(app)
    new = rotate_key(app, actor="cli:op")["new"]
    url = engine.url.render_as_string(hide_password=False)
    make_gate(data_dir=app.data_dir, **{"server.database_url": url})

    def entries() -> list[AuditLog]:
        with app.sessions()() as session:
            return list(session.scalars(select(AuditLog).where(
                AuditLog.action == "keys.reencrypt")))

    assert wait_until(lambda: len(entries()) == 1, 15)  # written after the last batch
    assert set(_key_ids(app)) == {new}
    entry = entries()[0]
    assert entry.actor == "gate:jobs" and entry.detail["remaining"] == 0


def test_reencrypt_on_a_store_without_encrypted_values_makes_no_key(app: App) -> None:
    done = reencrypt(app, actor="gate:jobs")
    assert done["key"] is None and sum(done["moved"].values()) == 0
    assert not (app.data_dir / KEY_FILE).exists()


def test_the_key_is_checked_against_the_store_again_when_its_file_changes(app: App) -> None:
    from safegate.privacy.crypto import Keyring, save_key_file
    from safegate.privacy.keys import KeyMismatchError

    _fill(app)
    held = app.keyring()
    assert app.keyring() is held  # checked once, then reused while the file is the same
    save_key_file(app.data_dir, Keyring.generate())  # a key the store was not written with
    with pytest.raises(KeyMismatchError, match="not the one the store"):
        app.keyring()
    save_key_file(app.data_dir, held)  # the right key back
    assert app.keyring().key_ids == held.key_ids
