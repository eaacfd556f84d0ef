"""Consent on SQLite and PostgreSQL: giving, withdrawing and listing; who may consent at which
age; the texts; the audit entries; what a missing consent does to the policy shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from safegate.app.consent import (
    attest_age,
    give_consent,
    list_consents,
    require_consent,
    withdraw_consent,
)
from safegate.app.core import App
from safegate.app.family import add_child, add_org, show_policy
from safegate.config import load_settings
from safegate.privacy import audit
from safegate.privacy.consent import ConsentError, current_text, describe, texts
from safegate.store.choices import CONSENT_PURPOSES, LOCALES
from safegate.store.models import AuditLog, Consent

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    made = App(load_settings(env={}, overrides={
        "server.database_url": engine.url.render_as_string(hide_password=False),
        "server.data_dir": str(tmp_path / "app")}))
    add_org(made, "Nhà Lan")
    add_child(made, "Minh", 2015, now=NOW)  # 11 in 2026
    add_child(made, "Bé", 2022, now=NOW)  # 4 in 2026
    yield made
    made.close()


def test_every_purpose_has_a_text_in_both_languages_for_parents_and_children() -> None:
    assert {t.purpose for t in texts()} == set(CONSENT_PURPOSES)
    for purpose in CONSENT_PURPOSES:
        t = current_text(purpose)
        for lang in LOCALES:
            assert len(t.text[lang]) > 40 and len(t.child_text[lang]) > 40
        assert t.text["vi"] != t.text["en"]
    assert describe("alerts", "en", for_child=True)["text"].startswith("When SafeGate")
    with pytest.raises(ConsentError, match="not a version"):
        describe("alerts", "en", version="1999-01")


def test_monitoring_needs_the_parent_and_the_child_aged_7_or_over(app: App) -> None:
    with pytest.raises(ConsentError, match="from the parent and the child"):
        require_consent(app, "Minh", "message_monitoring", "monitor", now=NOW)
    give_consent(app, "Minh", "message_monitoring", by="parent", actor="parent:Lan", now=NOW)
    with pytest.raises(ConsentError, match=r"no message_monitoring consent from the child"):
        require_consent(app, "Minh", "message_monitoring", "monitor", now=NOW)
    view = give_consent(app, "Minh", "message_monitoring", by="child", actor="child:Minh",
                        language="vi", now=NOW)
    assert view.text_version == current_text("message_monitoring").version
    require_consent(app, "Minh", "message_monitoring", "monitor", now=NOW)  # no error now
    # A 4-year-old cannot consent; the parent's consent is enough for her.
    with pytest.raises(ConsentError, match="themselves from 7"):
        give_consent(app, "Bé", "alerts", by="child", actor="child:Bé", now=NOW)
    give_consent(app, "Bé", "alerts", by="parent", actor="parent:Lan", now=NOW)
    require_consent(app, "Bé", "alerts", "alerts", now=NOW)


def test_withdrawal_is_recorded_and_refuses_again(app: App, engine: Engine) -> None:
    for by in ("parent", "child"):
        give_consent(app, "Minh", "message_monitoring", by=by, actor=f"{by}:x", now=NOW)
    again = give_consent(app, "Minh", "message_monitoring", by="parent", actor="p", now=NOW)
    assert again.given_by == "parent"  # the same active consent, not a second one
    gone = withdraw_consent(app, "Minh", "message_monitoring", by="child", actor="child:Minh")
    assert [v.given_by for v in gone] == ["child"] and gone[0].withdrawn_at is not None
    with pytest.raises(ConsentError, match="from the child"):
        require_consent(app, "Minh", "message_monitoring", "monitor", now=NOW)
    assert withdraw_consent(app, "Minh", "message_monitoring", by="child", actor="x") == []
    listed = list_consents(app, "Minh", actor="cli:test")
    assert [(v.given_by, v.active) for v in listed] == [("parent", True), ("child", False)]
    assert [v.given_by for v in list_consents(app, "Minh", actor="t", active_only=True)] == \
        ["parent"]
    with engine.connect() as conn:
        rows = conn.execute(select(AuditLog.action, AuditLog.subject, AuditLog.legal_basis,
                                   AuditLog.detail).where(AuditLog.action.startswith("consent."))
                            .order_by(AuditLog.seq)).all()
        consents = conn.execute(select(Consent.withdrawn_by)).scalars().all()
    assert [r[0] for r in rows] == ["consent.give", "consent.give", "consent.withdraw",
                                    "consent.view", "consent.view"]
    assert len({r[1] for r in rows}) == 1 and rows[0][1] and rows[0][2] == "consent"
    assert all("Minh" not in str(r) for r in rows)  # the pseudonym, never the name
    assert sorted(consents, key=str) == [None, "child:Minh"]
    with app.sessions()() as session:
        assert audit.verify(session).ok


def test_full_query_log_falls_back_to_aggregates_without_consent(app: App) -> None:
    policy = show_policy(app, "Minh")
    assert policy["log_level"] == "full" and policy["log_level_in_effect"] == "domains"
    assert "full_query_log consent" in policy["log_level_note"]
    give_consent(app, "Minh", "full_query_log", by="parent", actor="p")
    give_consent(app, "Minh", "full_query_log", by="child", actor="c")
    policy = show_policy(app, "Minh")
    assert policy["log_level_in_effect"] == "full" and "log_level_note" not in policy


def test_age_attestation_and_bad_input(app: App) -> None:
    data = attest_age(app, "Minh", 2014, attested_by="parent:Lan", actor="cli:t", now=NOW)
    assert data["birth_year"] == 2014 and data["age"] == 12
    assert data["source"] == "parent_attestation" and data["attested_by"] == "parent:Lan"
    with pytest.raises(ValueError, match="birth_year"):
        attest_age(app, "Minh", 1990, attested_by="p", actor="a", now=NOW)
    with pytest.raises(ConsentError, match="source"):
        attest_age(app, "Minh", 2014, attested_by="p", actor="a", source="guess")
    with pytest.raises(ConsentError, match="purpose"):
        give_consent(app, "Minh", "selling", by="parent", actor="p")
    with pytest.raises(ValueError, match="no child named"):
        give_consent(app, "Nobody", "alerts", by="parent", actor="p")
