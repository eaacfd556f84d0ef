"""Unblock requests on SQLite and PostgreSQL: create (merged duplicates, the per-child limit,
the message redacted and encrypted), list, approve for minutes / until a time / for good,
decline; each decision a policy change on the bus."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from safegate.app.core import App
from safegate.app.family import add_child, add_device, add_org, show_policy
from safegate.app.requests import (
    MAX_PENDING,
    MESSAGE_LIMIT,
    RequestError,
    approve,
    create,
    decline,
    list_requests,
    message_context,
    prepare_message,
)
from safegate.config import load_settings
from safegate.policy.schedule import ScheduleError
from safegate.privacy.crypto import DecryptionError, decrypt_text, token_key_id
from safegate.store.errors import StoreError
from safegate.store.models import AuditLog, ChangeLog, TemporaryAllow, UnblockRequest

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 17:00 in Hà Nội
PHONE = "0912 345 678"
MESSAGE = f"con cần trang này để làm bài tập, gọi mẹ số {PHONE} nhé"


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    add_org(made, "Nhà Trần")
    add_child(made, "An", 2018, now=NOW)
    add_child(made, "Bé", 2022, now=NOW)
    add_device(made, "An", "Máy tính bảng", kind="tablet", ip="10.0.0.2")
    yield made
    made.close()


def r_profile(app: App) -> int:
    with app.sessions()() as session:
        return int(session.scalars(select(UnblockRequest.profile_id)).one())


def _changes(app: App) -> list[str]:
    with app.sessions()() as session:
        return list(session.scalars(select(ChangeLog.reason).order_by(ChangeLog.version)))


def test_a_message_is_cut_redacted_and_stored_encrypted(app: App) -> None:
    assert prepare_message(None) is None and prepare_message("  \n ") is None
    assert len(prepare_message("a" * 1000) or "") == MESSAGE_LIMIT
    r = create(app, "an", "Vi.Wikipedia.org.", device="máy tính bảng", message=MESSAGE, now=NOW)
    assert (r.child, r.device, r.domain, r.status) == ("An", "Máy tính bảng",
                                                       "vi.wikipedia.org", "pending")
    assert r.message is not None and "làm bài tập" in r.message
    assert PHONE not in r.message and "345" not in r.message and "[PHONE]" in r.message
    with app.sessions()() as session:
        raw = session.scalars(select(UnblockRequest.message)).one()
        audit = " ".join(str(a.detail) for a in session.scalars(select(AuditLog)))
    assert raw is not None and "bài tập" not in raw and "345" not in raw
    assert token_key_id(raw) == app.keyring().key_id  # a token of the household's key
    assert decrypt_text(raw, app.keyring(), context=message_context(r_profile(app))) == r.message
    with pytest.raises(DecryptionError):  # bound to this child: another child's cannot open it
        decrypt_text(raw, app.keyring(), context=message_context(r_profile(app) + 1))
    assert "bài tập" not in audit and "345" not in audit and "vi.wikipedia.org" in audit
    assert not any("bài tập" in c for c in _changes(app))
    # the message opens with the household's key only, and for this child only
    [listed] = list_requests(app, "An")
    assert listed.message == r.message


def test_asking_again_merges_and_a_child_has_at_most_ten_waiting(app: App) -> None:
    first = create(app, "An", "game.example", now=NOW)
    again = create(app, "An", "www.game.example", message="làm ơn", device="Máy tính bảng")
    assert not first.merged and first.message is None
    assert again.merged is False  # another name: another request
    third = create(app, "An", "game.example", message="con xin mà")
    assert third.merged and third.id == first.id and third.message == "con xin mà"
    for i in range(MAX_PENDING - 2):
        create(app, "An", f"site{i}.example")
    with pytest.raises(RequestError, match="10 requests waiting"):
        create(app, "An", "one-more.example")
    create(app, "An", "game.example")  # merging is always possible
    create(app, "Bé", "one-more.example")  # another child has her own limit
    decline(app, first.id)
    create(app, "An", "one-more.example")  # an answered request frees a place
    for bad, why in ((("An", "not a domain"), ScheduleError),
                     (("Nobody", "x.example"), ScheduleError)):
        with pytest.raises(why):
            create(app, *bad)
    with pytest.raises(StoreError, match="device"):
        create(app, "An", "x.example", device="Fridge")


def test_approve_for_minutes_until_a_time_or_for_good_and_decline(app: App) -> None:
    a = create(app, "An", "khanacademy.org", now=NOW)
    b = create(app, "An", "scratch.mit.edu", now=NOW)
    c = create(app, "An", "duolingo.com", now=NOW)
    d = create(app, "Bé", "tiktok.com", now=NOW)
    before = len(_changes(app))

    done = approve(app, a.id, minutes=30, now=NOW)
    assert done.status == "approved" and done.until == NOW + timedelta(minutes=30)
    assert done.local_until == "2026-12-01T17:30+07:00" and done.decided_by == "parent"
    until = approve(app, b.id, until="20:15", now=NOW)
    assert until.local_until == "2026-12-01T20:15+07:00"
    with app.sessions()() as session:
        allows = {t.domain: t.until for t in session.scalars(select(TemporaryAllow))}
    assert allows == {"khanacademy.org": NOW + timedelta(minutes=30),
                      "scratch.mit.edu": datetime(2026, 12, 1, 13, 15, tzinfo=UTC)}

    good = approve(app, c.id, forever=True, now=NOW)
    assert good.until is None and good.local_until is None
    assert "duolingo.com" in show_policy(app, "An")["allow"]
    assert "duolingo.com" not in show_policy(app, "Bé")["allow"]

    no = decline(app, d.id, now=NOW)
    assert no.status == "declined" and "tiktok.com" not in show_policy(app, "Bé")["allow"]
    reasons = _changes(app)[before:]
    assert len(reasons) == 4 and all(r.startswith("request ") for r in reasons)

    for rid in (a.id, d.id):
        with pytest.raises(RequestError, match="already"):
            approve(app, rid, minutes=5)
        with pytest.raises(RequestError, match="already"):
            decline(app, rid)
    e = create(app, "An", "wikipedia.org")
    for kwargs in ({}, {"minutes": 5, "forever": True}, {"minutes": 5, "until": "10:00"}):
        with pytest.raises(RequestError, match="one of"):
            approve(app, e.id, **kwargs)  # type: ignore[arg-type]
    for kwargs in ({"minutes": 0}, {"until": "25:00"}):
        with pytest.raises(ScheduleError):
            approve(app, e.id, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(RequestError, match="no request"):
        approve(app, 9999, minutes=5)
    with app.sessions()() as session:  # failed decisions changed nothing
        assert session.scalar(select(func.count()).select_from(UnblockRequest).where(
            UnblockRequest.status == "pending")) == 1


def test_listing_pending_or_all_per_child_or_organisation(app: App) -> None:
    add_org(app, "Trường Kim Đồng", "school")
    add_child(app, "Cúc", 2015, org="Trường Kim Đồng", now=NOW)
    a = create(app, "An", "a.example")
    b = create(app, "An", "b.example")
    create(app, "Bé", "c.example")
    create(app, "Cúc", "d.example")
    approve(app, a.id, minutes=5)
    assert [r.domain for r in list_requests(app, "An")] == ["b.example"]
    assert [r.domain for r in list_requests(app, "An", everything=True)] == ["b.example",
                                                                             "a.example"]
    assert {r.domain for r in list_requests(app, org="Nhà Trần")} == {"b.example", "c.example"}
    assert {r.child for r in list_requests(app)} == {"An", "Bé", "Cúc"}
    list_requests(app, actor="test")
    with app.sessions()() as session:
        assert session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "request.view")) == 1
    assert b.id != a.id


def test_a_childs_page_shows_the_newest_requests_in_one_audited_read(app: App) -> None:
    from safegate.app.accounts import add_user, authenticate
    from safegate.app.overview import child_page

    add_user(app, "phuhuynh@example.vn", "mật khẩu dài 2026", org="Nhà Trần")
    parent = authenticate(app, "phuhuynh@example.vn", "mật khẩu dài 2026")
    made = [create(app, "An", f"r{i}.example") for i in range(5)]
    approve(app, made[0].id, minutes=5)
    decline(app, made[2].id)
    approve(app, made[3].id, forever=True)
    create(app, "Bé", "other.example")
    with app.sessions()() as session:
        profile_id = int(session.scalar(select(UnblockRequest.profile_id).where(
            UnblockRequest.id == made[0].id)) or 0)
        before = session.scalar(select(func.count()).select_from(AuditLog)) or 0
    # Pending oldest first, then decided newest first; the same order list_requests gives.
    every = [r.domain for r in list_requests(app, "An", everything=True)]
    assert every == ["r1.example", "r4.example", "r3.example", "r2.example", "r0.example"]
    page = child_page(app, profile_id, parent, requests=3)
    assert [r.domain for r in page.requests] == every[:3]
    assert page.summary.name == "An" and page.summary.pending_requests == 2
    assert page.policy["child"] == "An"
    with app.sessions()() as session:
        entries = session.scalars(select(AuditLog).where(AuditLog.seq > before)
                                  .order_by(AuditLog.seq)).all()
        # list_requests wrote nothing (no actor); the page wrote one entry naming the account.
        assert [(e.action, e.actor) for e in entries] == [("child.view",
                                                           "phuhuynh@example.vn")]
        assert entries[0].detail["requests"] == 3
