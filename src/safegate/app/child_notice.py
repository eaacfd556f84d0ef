"""The notice a child aged 7+ reads about what SafeGate keeps about them: the facts read from
the store (devices, the log level in effect and its retention, how many alerts, the consents
in force, the data requests) composed with the words for the child's age band
(``safegate.privacy.child_notice``). Reading it is recorded in the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safegate.app.activity import retention_of
from safegate.app.consent import child_age
from safegate.app.core import App
from safegate.privacy import audit
from safegate.privacy.child_notice import ChildFacts, compose
from safegate.store.models import Alert, Consent, DataSubjectRequest, Device, Profile

__all__ = ["child_facts", "child_notice", "notice_in"]

LOG_DAYS = {"full": "querylog.retention_days", "domains": "retention.aggregates_days"}


def child_facts(app: App, session: Session, profile: Profile) -> ChildFacts:
    """What the store holds for ``profile``."""
    level = retention_of(session, profile).log_level
    devices = tuple(sorted(session.scalars(select(Device.name).where(
        Device.profile_id == profile.id)), key=str.casefold))
    alerts = session.scalar(select(func.count()).select_from(Alert).where(
        Alert.profile_id == profile.id)) or 0
    consents = tuple((c.purpose, c.given_by, c.text_version) for c in session.scalars(
        select(Consent).where(Consent.profile_id == profile.id,
                              Consent.withdrawn_at.is_(None)).order_by(Consent.given_at)))
    requests = tuple((r.kind, r.status, r.opened_at.date().isoformat())
                     for r in session.scalars(select(DataSubjectRequest).where(
                         DataSubjectRequest.profile_id == profile.id)
                         .order_by(DataSubjectRequest.opened_at)))
    return ChildFacts(name=profile.name, age=child_age(profile), devices=devices,
                      log_level=level,
                      log_days=app.settings[LOG_DAYS[level]] if level in LOG_DAYS else 0,
                      alerts=int(alerts), alert_days=app.settings["alerts.retention_days"],
                      consents=consents, requests=requests)


def child_notice(app: App, profile_id: int, language: str, band: str | None = None, *,
                 actor: str, role: str | None = None) -> dict[str, Any]:
    """The notice for a (checked) child in ``language`` and ``band`` (None: from the age),
    with the facts it was made from; the view is audited."""
    with app.sessions().begin() as session:
        return notice_in(app, session, session.get_one(Profile, profile_id), language, band,
                         actor=actor, role=role)


def notice_in(app: App, session: Session, profile: Profile, language: str,
              band: str | None = None, *, actor: str, role: str | None = None
              ) -> dict[str, Any]:
    """:func:`child_notice` in the caller's transaction (the child's own link reads the link
    and the notice in one)."""
    facts = child_facts(app, session, profile)
    notice = compose(facts, language, band)
    audit.append(session, actor=actor, role=role, action="child.notice_view",
                 object_type="child", object_id=profile.id, subject=profile.subject,
                 org_id=profile.org_id,
                 detail={"version": notice["version"], "band": notice["band"],
                         "language": language})
    notice["child_id"] = profile.id
    notice["facts"] = {"devices": list(facts.devices), "log_level": facts.log_level,
                       "log_retention_days": facts.log_days, "alerts": facts.alerts,
                       "alert_retention_days": facts.alert_days,
                       "consents": [{"purpose": p, "given_by": g, "version": v}
                                    for p, g, v in facts.consents],
                       "requests": [{"kind": k, "status": s, "opened": d}
                                    for k, s, d in facts.requests]}
    return notice
