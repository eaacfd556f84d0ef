"""A full disk under a running `safegate serve` on SQLite: the server may not grow any file past
a limit (RLIMIT_FSIZE, a real failed write in SQLite, not a stand-in), and a parent keeps
changing a child's policy through the API until a change cannot be written. That change gets a
clear 503 with Retry-After (no traceback, no dropped connection), a page gets the same in the
page's words, and so does a child's own page, whose secret token the log never shows; the gate
keeps answering with the last change that was saved, the process lives on, and after a
restart without the limit the database is whole and holds every change that was answered
200."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import dns.rcode
import httpx

from tests.helpers import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    FakeUpstream,
    demo_data_dir,
    query,
    signed_in_client,
    start_web_serve,
)

DEVICE = "127.0.0.2"  # the demo child An's tablet
ROOM = 512 * 1024  # what the database's files may grow by: some twenty commits of WAL


def _answer(port: int, name: str) -> list[str]:
    reply = query(port, name, source=DEVICE)
    assert reply.rcode() == dns.rcode.NOERROR
    return [item.address for rrset in reply.answer for item in rrset]


def test_a_full_disk_gets_a_clear_answer_and_loses_nothing(tmp_path: Path) -> None:
    data = demo_data_dir(tmp_path / "data")
    limit = (data / "safegate.db").stat().st_size + ROOM
    upstream = FakeUpstream().start()
    args = ("--demo", "--no-default-lists", "--data-dir", str(data),
            "--upstream", f"127.0.0.1:{upstream.port}")
    served = start_web_serve(*args, file_size_limit=limit)
    saved: list[str] = []
    try:
        parent = signed_in_client(served.base, DEMO_LOGIN, DEMO_PASSWORD)
        child = parent.get("/api/v1/household").json()["children"][0]["id"]
        link = parent.post(f"/api/v1/children/{child}/child-link",
                           headers={"X-CSRF-Token": parent.csrf}).json()
        refused = None
        for i in range(200):
            name = f"rule{i}.full-disk.example"
            answer = parent.patch(f"/api/v1/children/{child}/policy", json={"deny": [name]},
                                  headers={"X-CSRF-Token": parent.csrf})
            if answer.status_code != 200:
                refused = (name, answer)
                break
            saved.append(name)
        assert refused is not None, "the limit was never reached"
        name, answer = refused
        assert len(saved) >= 2  # the limit leaves room for some changes first
        assert answer.status_code == 503, answer.text
        assert answer.json() == {"error": "the store cannot be reached or written now (a full "
                                          "disk or a stopped database); nothing was changed: "
                                          "try again later"}
        assert answer.headers["retry-after"] == "30"
        # The same keep-alive connection goes on: a page view (it writes its audit entry)
        # is refused in Vietnamese, without a traceback.
        page = parent.get(f"/children/{child}")
        assert page.status_code == 503 and '<html lang="vi">' in page.text
        assert "không đọc hoặc ghi được kho dữ liệu" in page.text
        assert "Traceback" not in page.text + answer.text
        assert parent.get("/healthz").status_code == 200
        # The gate answers with the last change saved; the refused one never reached it.
        assert _answer(served.dns_port, saved[-1]) == ["0.0.0.0"]
        assert _answer(served.dns_port, name) == [upstream.behaviour.address]
        assert served.proc.poll() is None
        # The child's own page writes its audit entry too: refused the same way, and the
        # log names the route, never the link's secret token.
        childs = httpx.get(link["url"], timeout=30)
        assert childs.status_code == 503 and "Traceback" not in childs.text
        parent.close()
    finally:
        served.stop()
    log = served.proc.stdout.read() if served.proc.stdout else ""
    assert "GET /me/{token} failed: OperationalError" in log
    assert link["token"] not in log
    with sqlite3.connect(data / "safegate.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    again = start_web_serve(*args)  # the limit lifted
    try:
        for kept in saved:
            assert _answer(again.dns_port, kept) == ["0.0.0.0"], kept
        assert _answer(again.dns_port, name) == [upstream.behaviour.address]
        parent = signed_in_client(again.base, DEMO_LOGIN, DEMO_PASSWORD)
        assert parent.patch(f"/api/v1/children/{child}/policy", json={"deny": [name]},
                            headers={"X-CSRF-Token": parent.csrf}).status_code == 200
        parent.close()
    finally:
        again.stop()
        upstream.stop()
