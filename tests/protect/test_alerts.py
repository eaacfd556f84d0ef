"""Alerts: the pure decisions (safegate.protect.alerts), the guidance, and the monitor against
real databases (SQLite in tmp_path; PostgreSQL when SAFEGATE_TEST_DATABASE_URL is set) with the
real safety engine and PII detector."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, select

from safegate.privacy.crypto import Keyring
from safegate.protect import guidance as guide
from safegate.protect.alerts import (
    CHILD,
    SNIPPET_LIMIT,
    Evidence,
    Limits,
    StoredAlert,
    decide,
    excerpt,
    make_snippet,
    message_candidates,
    redact_with_span,
)
from safegate.protect.feedback import summarise
from safegate.protect.monitor import (
    Message,
    MessageError,
    Monitor,
    ProfileRef,
    find_profile,
    list_alerts,
    parse_message,
    set_feedback,
)
from safegate.protect.retention import purge_alerts, retention_cutoff
from safegate.safety import CATEGORIES, classify
from safegate.safety.types import SEVERITIES
from safegate.store import StoreError, choices, session_factory
from safegate.store.models import Alert, AuditLog, Profile
from safegate.store.repo import create_demo_household

T0 = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)

GROOMING = [
    ("stranger99", "chào em, em xinh quá, dễ thương ghê"),
    ("An", "hihi em cảm ơn anh"),
    ("stranger99", "anh nạp kim cương free fire cho em nhé"),
    ("An", "thật ạ? em cảm ơn"),
    ("stranger99", "add zalo anh nhé, mình nói chuyện riêng cho tiện"),
    ("stranger99", "gửi anh ảnh của em đi, đừng nói với bố mẹ nhé"),
]


# --- the pure parts -----------------------------------------------------------------------


def test_alert_choices_match_the_engine() -> None:
    """The text engine's categories, then the gate's DNS signals (safegate.protect.signals)."""
    from safegate.protect.signals import BYPASS, INFECTED

    assert (*CATEGORIES, BYPASS, INFECTED) == choices.ALERT_CATEGORIES


def test_excerpt_keeps_short_text_and_cuts_long_text_around_the_evidence() -> None:
    assert excerpt("  hello\n\nworld ", 2, 7) == "hello world"
    text = "mở đầu " * 40 + "ĐÂY LÀ BẰNG CHỨNG" + " kết thúc" * 40
    start = text.index("ĐÂY")
    out = excerpt(text, start, start + len("ĐÂY LÀ BẰNG CHỨNG"))
    assert len(out) <= SNIPPET_LIMIT
    assert "ĐÂY LÀ BẰNG CHỨNG" in out
    assert out.startswith("…") and out.endswith("…")
    assert " mở" not in out[:3] and "đầu" in out  # cut at a space, not inside a word
    very_long = "x" * 500
    assert excerpt(very_long, 100, 400) == "…" + "x" * (SNIPPET_LIMIT - 2) + "…"


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab  \nđêxyz.", min_size=0, max_size=600), st.data())
def test_excerpt_is_short_and_holds_short_evidence(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 60)))
    out = excerpt(text, start, end)
    assert len(out) <= SNIPPET_LIMIT
    evidence = re.sub(r"\s+", " ", text[start:end]).strip()
    assert evidence in out


def test_redact_with_span_follows_the_evidence_across_placeholders() -> None:
    text = "gọi 0912345678 nhé, em muốn chết, mail an@example.com"
    start = text.index("em muốn chết")
    red, a, b = redact_with_span(text, start, start + len("em muốn chết"))
    assert red == "gọi [PHONE] nhé, em muốn chết, mail [EMAIL]"
    assert red[a:b] == "em muốn chết"
    # a span that cuts into an entity grows to the whole placeholder
    red, a, b = redact_with_span(text, 6, 9)
    assert red[a:b] == "[PHONE]"


def test_snippet_never_shows_personal_data_even_when_it_is_the_evidence() -> None:
    text = "ok vậy nhé, sđt của em là 0912 345 678, nhà em ở 12 ngõ 34 đường Láng, Đống Đa"
    snippet = make_snippet([Evidence(text, text.index("0912"), text.index("0912") + 12)])
    assert "[PHONE]" in snippet and "0912" not in snippet and "345 678" not in snippet
    assert "Láng" not in snippet


def test_snippet_of_several_messages_stays_short() -> None:
    ev = [Evidence("a " * 200 + "BAD" + " b" * 200, 400, 403),
          Evidence("c " * 200 + "WORSE" + " d" * 200, 400, 405)]
    snippet = make_snippet(ev)
    assert len(snippet) <= SNIPPET_LIMIT and "BAD" in snippet and "WORSE" in snippet


def test_message_candidates_depend_on_who_wrote_it() -> None:
    phone = "sđt của em là 0912 345 678"
    assert [c.category for c in message_candidates(classify(phone), phone, from_child=True)] \
        == ["pii_disclosure"]
    assert message_candidates(classify(phone), phone, from_child=False) == []

    insult = "mày ngu như con chó, cả lớp ghét mày"
    [at_child] = message_candidates(classify(insult), insult, from_child=False)
    [by_child] = message_candidates(classify(insult), insult, from_child=True)
    assert (at_child.category, at_child.severity, at_child.guidance) == \
        ("bullying", "warning", "bullying")
    assert by_child.guidance == "bullying_by_child"

    sad = "tao muốn chết, không muốn sống nữa"
    [own] = message_candidates(classify(sad), sad, from_child=True)
    [friend] = message_candidates(classify(sad), sad, from_child=False)
    assert (own.severity, own.guidance) == ("urgent", "self_harm")
    assert (friend.severity, friend.guidance) == ("urgent", "self_harm_other")

    assert message_candidates(classify("hôm nay trời đẹp"), "hôm nay trời đẹp",
                              from_child=True) == []


@pytest.mark.parametrize("text", ["đẹp trai vl", "hay vl, nghe mãi không chán",
                                  "tao sẽ giết mày", "mày ngu như con chó",
                                  "gửi anh ảnh của em đi, đừng nói với bố mẹ nhé"])
def test_a_candidate_has_the_severity_the_engine_gave_its_label(text: str) -> None:
    """The alert keeps the engine's own per-label severity (profanity as an intensifier is
    info, so no alert; a threat is urgent), rather than working one out again."""
    result = classify(text)
    found = {c.category: c.severity for c in message_candidates(result, text, from_child=False)}
    expected = {c: level for c, level in result.levels.items() if level in ("warning", "urgent")}
    assert found == expected and set(result.levels) == set(result.labels)
    assert result.severity == max(result.levels.values(), key=SEVERITIES.index, default="none")


def _stored(i: int, minutes: int, *, conversation: str = "c", category: str = "bullying",
            severity: str = "warning") -> StoredAlert:
    return StoredAlert(i, conversation, category, severity, T0 + timedelta(minutes=minutes))


def test_decide_deduplicates_per_conversation_and_category_within_the_window() -> None:
    recent = [_stored(1, 0), _stored(2, 10, conversation="other")]
    assert decide("c", "bullying", "warning", T0 + timedelta(hours=2), recent).action == "merge"
    assert decide("c", "bullying", "warning", T0 + timedelta(hours=2), recent).alert_id == 1
    assert decide("c", "scam", "warning", T0, recent).action == "create"
    assert decide("new", "bullying", "warning", T0, recent).action == "create"
    assert decide("c", "bullying", "warning", T0 + timedelta(hours=7), recent).action \
        == "create"
    early = decide("c", "bullying", "warning", T0 - timedelta(hours=1), recent)
    assert early.action == "merge"  # messages may arrive out of order
    worse = decide("c", "bullying", "urgent", T0 + timedelta(minutes=5), recent)
    assert (worse.action, worse.severity, worse.escalated) == ("merge", "urgent", True)
    milder = decide("c", "bullying", "warning", T0, [_stored(1, 0, severity="urgent")])
    assert (milder.severity, milder.escalated) == ("urgent", False)
    with pytest.raises(ValueError):
        decide("c", "bullying", "info", T0, recent)


def test_decide_rate_limits_new_non_urgent_alerts_only() -> None:
    limits = Limits(max_per_window=3)
    full = [_stored(i, i, conversation=f"c{i}") for i in range(3)]
    at = T0 + timedelta(minutes=30)
    dropped = decide("new", "scam", "warning", at, full, limits)
    assert dropped.action == "drop" and "rate limit" in dropped.reason
    assert decide("new", "self_harm", "urgent", at, full, limits).action == "create"
    assert decide("c1", "bullying", "warning", at, full, limits).action == "merge"
    # urgent alerts do not use up the allowance, and it comes back after the window
    urgent = [_stored(i, i, conversation=f"c{i}", severity="urgent") for i in range(3)]
    assert decide("new", "scam", "warning", at, urgent, limits).action == "create"
    assert decide("new", "scam", "warning", T0 + timedelta(minutes=61), full, limits).action \
        == "create"


def test_parse_message() -> None:
    tz = ProfileRef(1, "An", 1, "Asia/Ho_Chi_Minh").tz
    m = parse_message('{"sender": " an ", "time": "2026-12-01T20:00:00", "text": "hi", '
                      '"conversation": 7}', child_sender="An", tz=tz)
    assert m == Message(" an ", "hi", "7", T0, True)
    m = parse_message('{"sender": "An", "from_child": false, "time": 1796130000, "text": "x",'
                      ' "conversation": "c"}', child_sender="An", tz=tz)
    assert not m.from_child and m.at == datetime.fromtimestamp(1796130000, UTC)
    m = parse_message('{"from_child": true, "time": 1796130000123, "text": "", '
                      '"conversation": "c"}', child_sender="An", tz=tz)
    assert m.from_child and m.at.year == 2026  # milliseconds
    m = parse_message('{"sender": "x", "time": "2026-12-01T13:00:00Z", "text": "", '
                      '"conversation": "c"}', child_sender="An", tz=tz)
    assert m.at == T0
    for bad, why in [
        ("{not json", "not JSON"),
        ("[1, 2]", "object"),
        ('{"sender": "x", "conversation": "c"}', "text"),
        ('{"sender": "x", "text": "t"}', "conversation"),
        ('{"sender": "x", "text": "t", "conversation": "' + "c" * 201 + '"}', "longer"),
        ('{"text": "t", "conversation": "c"}', "sender"),
        ('{"sender": "x", "text": "t", "conversation": "c", "time": "yesterday"}', "ISO"),
        ('{"sender": "x", "text": "t", "conversation": "c", "time": true}', "time"),
        ('{"sender": "x", "text": "t", "conversation": "c", "from_child": "yes"}', "from_child"),
    ]:
        with pytest.raises(MessageError, match=why):
            parse_message(bad, child_sender="An", tz=tz)


# --- guidance -----------------------------------------------------------------------------


def test_guidance_for_every_alert_category_in_both_languages() -> None:
    keys = set(guide.keys())
    assert set(CATEGORIES) <= keys
    assert {"self_harm_other", "bullying_by_child"} <= keys
    for key in keys:
        for locale in guide.LOCALES:
            g = guide.guidance(key, locale)
            assert g.title and g.meaning and g.next and g.talk
            text = guide.render(key, locale)
            assert g.title in text


@pytest.mark.parametrize("key", ["self_harm", "self_harm_other", "grooming"])
def test_urgent_guidance_has_the_hotline_and_what_to_do_now(key: str) -> None:
    for locale in guide.LOCALES:
        g = guide.guidance(key, locale)
        assert g.hotline is not None and "111" in g.hotline
        assert g.now and any("111" in step for step in g.now)
        assert "111" in guide.render(key, locale)
    assert "Tổng đài quốc gia bảo vệ trẻ em" in guide.render("grooming", "vi")
    grooming_now = " ".join(guide.guidance("grooming", "en").now)
    for must in ("evidence", "confront", "Be with your child"):
        assert must in grooming_now


def test_guidance_errors() -> None:
    with pytest.raises(guide.GuidanceError, match="unknown guidance key"):
        guide.guidance("nope")
    with pytest.raises(guide.GuidanceError, match="locale"):
        guide.guidance("scam", "fr")
    good = {"hotline": {"number": "111", "vi": "111", "en": "111"},
            "labels": {"vi": {}, "en": {}}}
    entry = {"title": "t", "meaning": "m", "next": ["n"], "talk": ["k"]}
    assert guide.parse({**good, "x": {"vi": entry, "en": entry}}).entries
    with pytest.raises(guide.GuidanceError, match="missing"):
        guide.parse({**good, "x": {"vi": entry}})
    with pytest.raises(guide.GuidanceError, match="now"):
        guide.parse({**good, "x": {"hotline": True, "vi": entry, "en": entry}})


# --- the monitor against real databases ----------------------------------------------------


@pytest.fixture
def profile(engine: Engine) -> ProfileRef:
    with session_factory(engine).begin() as session:
        create_demo_household(session)
        return find_profile(session, "An")


@pytest.fixture(scope="module")
def key() -> Keyring:
    return Keyring.generate()


def _feed(monitor: Monitor, messages: list[tuple[str, str]], conversation: str = "c1",
          start: datetime = T0, step: timedelta = timedelta(minutes=1)) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i, (sender, text) in enumerate(messages):
        at = start + i * step
        out += monitor.feed(Message(sender, text, conversation, at, sender == "An"))
    return out


def _alerts(engine: Engine, profile: ProfileRef, key: Keyring) -> list[object]:
    with session_factory(engine)() as session:
        return list(list_alerts(session, profile.id, key))


def test_find_profile(engine: Engine, profile: ProfileRef) -> None:
    with session_factory(engine)() as session:
        assert find_profile(session, "an").id == profile.id
        assert find_profile(session, f"id:{profile.id}").name == "An"
        with pytest.raises(StoreError, match=r"no profile named 'Nobody'; profiles: An .*Bình"):
            find_profile(session, "Nobody")


def test_grooming_escalation_gives_one_urgent_alert_with_the_hotline(
        engine: Engine, profile: ProfileRef, key: Keyring) -> None:
    monitor = Monitor(engine, profile, key)
    out = _feed(monitor, GROOMING)
    [alert] = _alerts(engine, profile, key)
    assert (alert.category, alert.severity, alert.guidance) == ("grooming", "urgent", "grooming")
    assert alert.count == len(out) >= 1 and out[-1]["severity"] == "urgent"
    assert "đừng nói với bố mẹ" in alert.snippet and len(alert.snippet) <= SNIPPET_LIMIT
    assert "111" in guide.render(alert.guidance, "vi")
    assert "111" in guide.render(alert.guidance, "en")
    # the child's harmless replies alone never make a grooming alert
    monitor2 = Monitor(engine, profile, key)
    assert _feed(monitor2, [("An", "hihi em cảm ơn anh")], conversation="c2") == []


def test_self_harm_bullying_and_personal_data(engine: Engine, profile: ProfileRef,
                                              key: Keyring) -> None:
    monitor = Monitor(engine, profile, key)
    [harm] = _feed(monitor, [("An", "tao muốn chết, không muốn sống nữa")], "diary")
    assert (harm["category"], harm["severity"], harm["guidance"]) == \
        ("self_harm", "urgent", "self_harm")
    [bully] = _feed(monitor, [("lop7a2_bad", "mày ngu như con chó, cả lớp ghét mày")], "class")
    assert (bully["category"], bully["severity"], bully["guidance"]) == \
        ("bullying", "warning", "bullying")
    [pii] = _feed(monitor, [("An", "sđt của em là 0912 345 678, tối gọi em nha")], "dm")
    assert pii["category"] == "pii_disclosure" and pii["severity"] == "warning"
    assert "[PHONE]" in str(pii["snippet"]) and "0912" not in str(pii["snippet"])
    # someone else's number is not the child giving theirs away
    assert _feed(monitor, [("shop", "gọi shop 0912 345 678 nhé")], "shop") == []
    stored = {a.category: a for a in _alerts(engine, profile, key)}
    assert set(stored) == {"self_harm", "bullying", "pii_disclosure"}
    assert "0912" not in stored["pii_disclosure"].snippet
    assert monitor.stats.created == 3 and monitor.stats.child_messages == 2


def test_same_conversation_twice_is_deduplicated(engine: Engine, profile: ProfileRef,
                                                 key: Keyring) -> None:
    insult = [("bully", "mày ngu như con chó, cả lớp ghét mày")]
    first = Monitor(engine, profile, key)
    [a] = _feed(first, insult)
    second = Monitor(engine, profile, key)  # a new process: the store remembers
    [b] = _feed(second, insult, start=T0 + timedelta(hours=1))
    assert (a["deduplicated"], b["deduplicated"]) == (False, True)
    assert a["id"] == b["id"] and b["count"] == 2
    [alert] = _alerts(engine, profile, key)
    assert alert.count == 2 and alert.last_seen_at == T0 + timedelta(hours=1)
    assert alert.created_at == T0
    # another conversation, or the same one 7 hours later, is a new alert
    _feed(second, insult, conversation="c9")
    _feed(second, insult, start=T0 + timedelta(hours=8))
    assert len(_alerts(engine, profile, key)) == 3


def test_rate_limit_drops_warnings_but_never_urgent_alerts(engine: Engine, profile: ProfileRef,
                                                           key: Keyring) -> None:
    monitor = Monitor(engine, profile, key, limits=Limits(max_per_window=10))
    insult = [("bully", "mày ngu như con chó, cả lớp ghét mày")]
    for i in range(12):
        _feed(monitor, insult, conversation=f"group{i}", start=T0 + timedelta(minutes=i))
    assert (monitor.stats.created, monitor.stats.suppressed) == (10, 2)
    [urgent] = _feed(monitor, [("An", "i want to kill myself")], conversation="late",
                     start=T0 + timedelta(minutes=20))
    assert urgent["severity"] == "urgent" and not urgent["deduplicated"]
    # deduplication still works while the limit holds
    [again] = _feed(monitor, insult, conversation="group3", start=T0 + timedelta(minutes=30))
    assert again["deduplicated"] and again["count"] == 2
    assert len(_alerts(engine, profile, key)) == 11


def test_feedback_is_validated_stored_and_audited(engine: Engine, profile: ProfileRef,
                                                  key: Keyring) -> None:
    monitor = Monitor(engine, profile, key)
    [out] = _feed(monitor, [("bully", "you are so ugly and stupid, nobody likes you")])
    alert_id = int(str(out["id"]))
    sessions = session_factory(engine)
    with sessions.begin() as session:
        set_feedback(session, alert_id, "helpful", actor="phuhuynh@example.vn")
    with sessions() as session:
        [record] = list_alerts(session, profile.id, key)
        assert record.feedback == "helpful" and record.feedback_at is not None
    with sessions.begin() as session:
        set_feedback(session, alert_id, "wrong")
        with pytest.raises(StoreError, match="allowed: helpful, wrong"):
            set_feedback(session, alert_id, "useless")
        with pytest.raises(StoreError, match="does not exist"):
            set_feedback(session, alert_id + 1000, "helpful")
    with sessions.begin() as session:
        assert list_alerts(session, profile.id, key, actor="phuhuynh@example.vn")[0].feedback \
            == "wrong"
        set_feedback(session, alert_id, None)
    with sessions() as session:
        [record] = list_alerts(session, profile.id, key)
        assert record.feedback is None and record.feedback_at is None
        actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
        assert actions == ["alert.create", "alert.feedback", "alert.feedback", "alert.view",
                           "alert.feedback"]
        # the audit log never holds the child's text
        details = " ".join(str(d) for d in session.scalars(select(AuditLog.detail)))
        assert "ugly" not in details


def test_snippet_is_ciphertext_in_the_database(engine: Engine, profile: ProfileRef,
                                               key: Keyring, tmp_path: Path) -> None:
    monitor = Monitor(engine, profile, key)
    _feed(monitor, [("An", "sđt của em là 0912 345 678, tối gọi em nha"),
                    ("An", "tao muốn chết, không muốn sống nữa")])
    with engine.connect() as conn:
        raw = conn.execute(select(Alert.snippet)).scalars().all()
    assert len(raw) == 2 and all(s.startswith("sg1.") for s in raw)
    assert not any("muốn chết" in s or "PHONE" in s for s in raw)
    pii, harm = sorted(_alerts(engine, profile, key), key=lambda a: a.category)
    assert "muốn chết" in harm.snippet and "[PHONE]" in pii.snippet
    if engine.dialect.name == "sqlite":
        engine.dispose()  # checkpoint the WAL into the file
        blob = b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir() if p.is_file())
        for secret in ("muốn chết", "0912 345 678", "[PHONE]"):
            assert secret.encode() not in blob
    # a wrong key is listed as "cannot decrypt" (no crash, nothing shown), and a snippet
    # moved to another profile does not open
    with session_factory(engine)() as session:
        wrong = list_alerts(session, profile.id, Keyring.generate())
    assert len(wrong) == 2 and all(a.snippet is None for a in wrong)
    assert all((a.snippet_error or "").startswith("cannot decrypt") for a in wrong)
    with session_factory(engine).begin() as session:
        other = session.scalars(select(Profile.id).where(Profile.name == "Bình")).one()
        session.execute(Alert.__table__.update().values(profile_id=other))
    with session_factory(engine)() as session:
        moved = list_alerts(session, other, key)
    assert len(moved) == 2 and all(a.snippet is None and a.snippet_error for a in moved)


def test_alerts_go_with_their_profile(engine: Engine, profile: ProfileRef, key: Keyring) -> None:
    _feed(Monitor(engine, profile, key), [("An", "tao muốn chết, không muốn sống nữa")])
    with session_factory(engine).begin() as session:
        session.execute(delete(Profile).where(Profile.id == profile.id))
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Alert)) == 0


def test_monitor_tells_the_child_apart_by_sender(engine: Engine, profile: ProfileRef,
                                                 key: Keyring) -> None:
    monitor = Monitor(engine, profile, key, child_sender="an_2015")
    line = '{"sender": "AN_2015", "text": "sđt của em là 0912 345 678", "conversation": "x"}'
    [out] = monitor.feed_line(line)
    assert out["category"] == "pii_disclosure"
    assert monitor.feed_line("oops") == [{"error": "not JSON: Expecting value: line 1 column 1 "
                                          "(char 0)", "line": 2}]
    assert monitor.stats.child_messages == 1 and monitor.stats.errors == 1
    assert CHILD not in str(out)


# --- retention ----------------------------------------------------------------------------


def test_retention_cutoff() -> None:
    assert retention_cutoff(T0, 90) == T0 - timedelta(days=90)
    assert retention_cutoff(T0, 0) is None  # kept forever
    with pytest.raises(ValueError, match="0 \\(forever\\) or more"):
        retention_cutoff(T0, -1)


def test_purge_deletes_alerts_past_retention_by_their_latest_message(
        engine: Engine, profile: ProfileRef, key: Keyring) -> None:
    cutoff = T0 - timedelta(days=90)
    insult = [("bully", "mày ngu như con chó, cả lớp ghét mày")]
    monitor = Monitor(engine, profile, key)
    _feed(monitor, insult, conversation="old", start=cutoff - timedelta(days=3))
    # first message before the cut-off, the latest after it: still being added to, kept
    _feed(monitor, insult * 2, conversation="spanning", start=cutoff - timedelta(hours=1),
          step=timedelta(hours=2))
    _feed(monitor, [("An", "tao muốn chết, không muốn sống nữa")], conversation="recent",
          start=T0)
    assert len(_alerts(engine, profile, key)) == 3

    assert purge_alerts(engine, cutoff) == 1
    kept = {a.conversation: a for a in _alerts(engine, profile, key)}
    assert set(kept) == {"spanning", "recent"}
    assert kept["spanning"].created_at < cutoff < kept["spanning"].last_seen_at
    assert purge_alerts(engine, cutoff) == 0  # nothing left to purge: no audit entry either
    with session_factory(engine)() as session:
        [entry] = session.scalars(select(AuditLog).where(AuditLog.action == "alert.purge"))
    assert (entry.actor, entry.object_type, entry.object_id) == ("retention", "alert", None)
    assert entry.detail == {"count": 1, "before": cutoff.isoformat(timespec="seconds")}

    assert purge_alerts(engine, T0 + timedelta(days=1), actor="operator") == 2
    assert _alerts(engine, profile, key) == []


def test_feedback_summary_per_category_and_layer() -> None:
    rows = summarise([("self_harm", "deep", "wrong", 3), ("self_harm", "deep", "helpful", 1),
                      ("self_harm", "deep", None, 2), ("self_harm", "rules", "helpful", 4),
                      ("bullying", None, None, 5)])
    assert [(r.category, r.found_by, r.alerts, r.helpful, r.wrong, r.unanswered) for r in rows] \
        == [("bullying", "unknown", 5, 0, 0, 5), ("self_harm", "deep", 6, 1, 3, 2),
            ("self_harm", "rules", 4, 4, 0, 0)]
    assert rows[0].helpful_share is None and rows[1].helpful_share == 0.25
    assert rows[2].to_dict()["helpful_share"] == 1.0
