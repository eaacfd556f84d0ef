"""Keys are never silently replaced when encrypted data exists; undecryptable alerts are listed
as such; every file under the data directory is the service user's alone (0600 in 0700)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from safegate.privacy.crypto import KEY_ENV, KEY_FILE, Keyring, load_keyring
from safegate.privacy.keys import keyring_problem
from safegate.store import make_engine, session_factory, sqlite_url
from safegate.store.models import Alert
from tests.helpers import REPO, demo_data_dir

SELF_HARM = {"sender": "An", "time": "2026-12-01T20:00:00",
             "text": "tao muốn chết, không muốn sống nữa", "conversation": "diary"}
BULLYING = {"sender": "hs7a2", "time": "2026-12-01T20:05:00",
            "text": "mày ngu như con chó, cả lớp ghét mày", "conversation": "lop-7a2"}


def _safegate(args: list[str], *, env: dict[str, str] | None = None, stdin: str = "",
              umask: int | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGATE_")}
    cmd = [sys.executable, "-m", "safegate.cli", *args]
    if umask is not None:  # the shell sets the umask the process starts with
        cmd = ["sh", "-c", f'umask {umask:03o} && exec "$@"', "sh", *cmd]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120,
                          env={**base, **(env or {})})


def _monitor(data: Path, lines: list[dict[str, Any]], env: dict[str, str] | None = None,
             ) -> subprocess.CompletedProcess[str]:
    return _safegate(["monitor", "-p", "An", "--no-deep", "--data-dir", str(data)], env=env,
                     stdin="".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))


# --- the decision -------------------------------------------------------------------------


def test_keyring_problem_decides_from_key_ids() -> None:
    assert keyring_problem({}, None, "d/secret.key") is None  # a new install: any key
    missing = keyring_problem({"aaaa1111": 3}, None, "d/secret.key")
    assert missing and "3 encrypted values" in missing and "d/secret.key is missing" in missing
    assert "Restore the key from the backup" in missing and KEY_ENV in missing
    wrong = keyring_problem({"aaaa1111": 1}, frozenset({"bbbb2222"}), "d/secret.key")
    assert wrong and "bbbb2222" in wrong and "aaaa1111" in wrong and "backup" in wrong
    # one of several keys matches (rotation): allowed; the rest lists as "cannot decrypt"
    assert keyring_problem({"aaaa1111": 1, "cccc3333": 1}, frozenset({"aaaa1111"}), "x") is None
    # only values that are not tokens (corrupted): a key is needed, any key may be used
    assert keyring_problem({None: 1}, None, "x")
    assert keyring_problem({None: 1}, frozenset({"bbbb2222"}), "x") is None


# --- refusing a missing or wrong key -------------------------------------------------------


@pytest.fixture
def data_with_alert(tmp_path: Path) -> Path:
    data = demo_data_dir(tmp_path / "data")
    done = _monitor(data, [SELF_HARM])
    assert done.returncode == 0, done.stderr
    assert (data / KEY_FILE).exists()
    return data


def test_a_missing_key_file_is_refused_not_replaced(data_with_alert: Path) -> None:
    data = data_with_alert
    (data / KEY_FILE).unlink()
    for args in (["monitor", "-p", "An", "--no-deep"], ["alerts", "list"]):
        result = _safegate([*args, "--data-dir", str(data)], stdin=json.dumps(BULLYING) + "\n")
        assert result.returncode == 1, result.stdout
        assert str(data / KEY_FILE) in result.stderr and "is missing" in result.stderr
        assert "backup" in result.stderr and KEY_ENV in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
        assert not (data / KEY_FILE).exists()  # no new key was made
    engine = make_engine(sqlite_url(data))
    with engine.connect() as conn:
        assert conn.execute(select(Alert.category)).scalars().all() == ["self_harm"]
    engine.dispose()


def test_a_wrong_key_file_or_environment_key_is_refused(data_with_alert: Path) -> None:
    data = data_with_alert
    right = (data / KEY_FILE).read_text()
    (data / KEY_FILE).write_text(Keyring.generate().export())
    result = _monitor(data, [BULLYING])
    assert result.returncode == 1 and "is not the one" in result.stderr
    assert str(data / KEY_FILE) in result.stderr and "backup" in result.stderr
    (data / KEY_FILE).write_text(right)
    other = Keyring.generate().export().strip()
    result = _monitor(data, [BULLYING], env={KEY_ENV: other})
    assert result.returncode == 1 and f"the environment variable {KEY_ENV}" in result.stderr
    assert other not in result.stderr + result.stdout  # the key itself is never shown
    assert _monitor(data, [BULLYING]).returncode == 0  # the right key: on it goes


def test_an_encrypted_request_message_alone_is_enough_to_refuse_a_new_key(
        tmp_path: Path) -> None:
    """A child's unblock-request message is encrypted like an alert snippet: a store that
    holds only such messages must not get a new key either (nor a request without one)."""
    data = demo_data_dir(tmp_path / "data")
    silent = _safegate(["request", "add", "Bình", "silent.example", "--data-dir", str(data)])
    assert silent.returncode == 0, silent.stderr
    asked = _safegate(["request", "add", "An", "games.example", "--message", "cho con chơi",
                       "--data-dir", str(data)])
    assert asked.returncode == 0, asked.stderr
    (data / KEY_FILE).unlink()
    result = _safegate(["alerts", "list", "--data-dir", str(data)])
    assert result.returncode == 1 and "1 encrypted value" in result.stderr, result.stderr
    assert not (data / KEY_FILE).exists()


def test_a_new_install_still_creates_its_key(tmp_path: Path) -> None:
    data = demo_data_dir(tmp_path / "data")
    assert not (data / KEY_FILE).exists()
    result = _safegate(["alerts", "list", "--data-dir", str(data)])
    assert result.returncode == 0 and "no alerts" in result.stdout
    assert (data / KEY_FILE).exists()


# --- listing what cannot be decrypted -------------------------------------------------------


def test_alerts_list_shows_undecryptable_alerts_and_reads_the_rest(tmp_path: Path) -> None:
    data = demo_data_dir(tmp_path / "data")
    old = load_keyring(data, env={})
    assert _monitor(data, [SELF_HARM]).returncode == 0
    # rotation gone wrong: a new key first, the old one lost, one alert under each key
    new = Keyring.generate()
    (data / KEY_FILE).write_text(new.export() + old.export())
    assert _monitor(data, [BULLYING]).returncode == 0
    (data / KEY_FILE).write_text(new.export())
    result = _safegate(["alerts", "list", "--data-dir", str(data), "--json"])
    assert result.returncode == 0, result.stderr
    rows = {r["category"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert "ngu" in rows["bullying"]["snippet"]
    assert rows["self_harm"]["snippet"] is None
    assert rows["self_harm"]["snippet_error"].startswith("cannot decrypt")
    assert "1 snippet cannot be decrypted" in result.stderr and "Traceback" not in result.stderr

    # a corrupted value (one character changed) lists as "cannot decrypt" too
    engine = make_engine(sqlite_url(data))
    with session_factory(engine).begin() as session:
        alert = session.scalars(select(Alert).where(Alert.category == "bullying")).one()
        token = alert.snippet
        alert.snippet = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    engine.dispose()
    text = _safegate(["alerts", "list", "--data-dir", str(data), "-p", "An"])
    assert text.returncode == 0, text.stderr
    assert text.stdout.count("[cannot decrypt") == 2 and "self_harm" in text.stdout
    assert "2 snippets cannot be decrypted" in text.stderr


# --- file modes -------------------------------------------------------------------------------


def _loose(root: Path) -> list[str]:
    """Everything under ``root`` (and root) that group or others may use."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode != want:
            found.append(f"{path.relative_to(root.parent)} {mode:o}")
    return found


def test_files_under_a_fresh_data_dir_are_private_whatever_the_umask(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    # the store's migration on a data directory not there yet
    made = _safegate(["migrate", "--data-dir", str(data)], umask=0o022)
    assert made.returncode == 0, made.stderr
    assert (data / "safegate.db").exists()
    assert _loose(tmp_path / "fresh") == []

    # the demo household, then a watch: key file, alerts, WAL and SHM while it runs
    seed = ("from pathlib import Path; from tests.helpers import REPO, demo_data_dir; "
            f"demo_data_dir(Path({str(data)!r}))")
    base = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGATE_")}
    subprocess.run(["sh", "-c", 'umask 022 && exec "$@"', "sh", sys.executable, "-c", seed],
                   check=True, timeout=120, env=base, cwd=REPO)
    proc = subprocess.Popen(
        ["sh", "-c", 'umask 022 && exec "$@"', "sh", sys.executable, "-m", "safegate.cli",
         "monitor", "-p", "An", "--no-deep", "--data-dir", str(data)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**base, "PYTHONUNBUFFERED": "1"})
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(SELF_HARM, ensure_ascii=False) + "\n")
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline())["category"] == "self_harm"
    names = {p.name for p in data.iterdir()}
    assert {"safegate.db", "safegate.db-wal", "safegate.db-shm", KEY_FILE} <= names, names
    running = _loose(tmp_path / "fresh")
    _, err = proc.communicate(json.dumps(BULLYING, ensure_ascii=False) + "\n", timeout=120)
    assert proc.returncode == 0, err
    assert running == [] and _loose(tmp_path / "fresh") == []
