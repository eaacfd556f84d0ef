"""Consent operations: give, withdraw and list a child's consents, record how the child's age
was established, and refuse a feature that lacks its consent.

Every change is an ``App.change("policy", …)`` (a consent can change what the gate logs, and
a withdrawal reaches every gate within a second) and writes its audit entry in the same
transaction. The actor is who recorded it ("cli:<os user>", later the web app's user).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safegate.app.bus import touches
from safegate.app.core import App
from safegate.app.family import check_birth_year, this_year
from safegate.app.schedules import find_child
from safegate.privacy import audit
from safegate.privacy import consent as rules
from safegate.privacy.consent import ConsentError
from safegate.privacy.consent_check import consent_refusal
from safegate.store import choices
from safegate.store.models import Consent, Profile
from safegate.store.values import utcnow

__all__ = ["ConsentView", "attest_age", "give_consent", "list_consents", "require_consent",
           "who_consents", "withdraw_consent"]


@dataclass(frozen=True, slots=True)
class ConsentView:
    id: int
    child: str
    purpose: str
    given_by: str
    actor: str
    text_version: str
    language: str
    method: str
    given_at: datetime
    withdrawn_at: datetime | None
    withdrawn_by: str | None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "child": self.child, "purpose": self.purpose,
                "given_by": self.given_by, "actor": self.actor,
                "text_version": self.text_version, "language": self.language,
                "method": self.method, "given_at": self.given_at.isoformat(),
                "withdrawn_at": self.withdrawn_at.isoformat() if self.withdrawn_at else None,
                "withdrawn_by": self.withdrawn_by, "active": self.active}


def _view(row: Consent, child: str) -> ConsentView:
    return ConsentView(row.id, child, row.purpose, row.given_by, row.actor, row.text_version,
                       row.language, row.method, row.given_at, row.withdrawn_at,
                       row.withdrawn_by)


def child_age(profile: Profile, now: datetime | None = None) -> int | None:
    return rules.age(profile.birth_year, this_year(profile.organisation.timezone, now))


def _audit(session: Session, profile: Profile, actor: str, action: str, **detail: Any) -> None:
    audit.append(session, actor=actor, role=detail.pop("role", None), action=action,
                 object_type="consent", object_id=detail.pop("consent_id", None),
                 subject=profile.subject, org_id=profile.org_id, legal_basis="consent",
                 detail=detail)


def give_consent(app: App, child: str, purpose: str, *, by: str, actor: str,
                 language: str = "vi", method: str = "cli", version: str | None = None,
                 now: datetime | None = None) -> ConsentView:
    """Record a consent for ``purpose`` given by the parent or the child (aged 7+), with the
    text version shown (default: the newest). A consent already active is kept as it is."""
    purpose = rules.check_purpose(purpose)
    if language not in choices.LOCALES:
        raise ConsentError(f"language: {language!r} is not one of {', '.join(choices.LOCALES)}")
    if method not in choices.CONSENT_METHODS:
        raise ConsentError(f"method: {method!r} is not one of "
                           f"{', '.join(choices.CONSENT_METHODS)}")
    text = rules.text_version(purpose, version)
    when = now or utcnow()
    with app.change("policy", f"consent {purpose} given") as session:
        profile = find_child(session, child)
        touches(session, profile.id)
        rules.check_giver(by, child_age(profile, when))
        existing = session.scalar(select(Consent).where(
            Consent.profile_id == profile.id, Consent.purpose == purpose,
            Consent.given_by == by, Consent.withdrawn_at.is_(None)))
        if existing is not None and existing.text_version == text.version:
            return _view(existing, profile.name)
        if existing is not None:  # consent to a newer text replaces the older one
            existing.withdrawn_at, existing.withdrawn_by = when, actor
        row = Consent(profile_id=profile.id, purpose=purpose, given_by=by, actor=actor,
                      text_version=text.version, language=language, method=method,
                      given_at=when)
        session.add(row)
        session.flush()
        _audit(session, profile, actor, "consent.give", consent_id=row.id, role=by,
               purpose=purpose, given_by=by, text_version=text.version, language=language,
               method=method)
        return _view(row, profile.name)


def withdraw_consent(app: App, child: str, purpose: str, *, actor: str, by: str | None = None,
                     now: datetime | None = None) -> list[ConsentView]:
    """Withdraw the active consents for ``purpose`` (those ``by`` gave, or all); the gates
    apply it with the change. The consents withdrawn (none: nothing was active)."""
    purpose = rules.check_purpose(purpose)
    if by is not None and by not in choices.CONSENT_GIVERS:
        raise ConsentError(f"by: {by!r} is not one of {', '.join(choices.CONSENT_GIVERS)}")
    when = now or utcnow()
    with app.change("policy", f"consent {purpose} withdrawn") as session:
        profile = find_child(session, child)
        touches(session, profile.id)
        stmt = select(Consent).where(Consent.profile_id == profile.id,
                                     Consent.purpose == purpose,
                                     Consent.withdrawn_at.is_(None))
        if by is not None:
            stmt = stmt.where(Consent.given_by == by)
        rows = list(session.scalars(stmt.order_by(Consent.id)))
        for row in rows:
            row.withdrawn_at, row.withdrawn_by = when, actor
            session.flush()
            _audit(session, profile, actor, "consent.withdraw", consent_id=row.id,
                   purpose=purpose, given_by=row.given_by)
        return [_view(r, profile.name) for r in rows]


def list_consents(app: App, child: str, *, actor: str,
                  active_only: bool = False) -> list[ConsentView]:
    """A child's consents, oldest first (the reading is audited)."""
    with app.sessions().begin() as session:
        profile = find_child(session, child)
        stmt = select(Consent).where(Consent.profile_id == profile.id)
        if active_only:
            stmt = stmt.where(Consent.withdrawn_at.is_(None))
        rows = [_view(r, profile.name) for r in session.scalars(stmt.order_by(Consent.id))]
        _audit(session, profile, actor, "consent.view", count=len(rows))
        return rows


def who_consents(app: App, child: str, now: datetime | None = None) -> tuple[str, ...]:
    """Who must consent for this child: the parent, and the child too from 7 (its age in its
    household's year)."""
    with app.sessions()() as session:
        return rules.givers_needed(child_age(find_child(session, child), now))


def require_consent(app: App, child: str, purpose: str, feature: str,
                    now: datetime | None = None) -> None:
    """ConsentError (one line, saying what to record) unless ``purpose`` has every consent
    it needs for this child."""
    with app.sessions()() as session:
        profile = find_child(session, child)
        refused = consent_refusal(session, profile.id, purpose, feature, now)
        if refused:
            raise ConsentError(refused)


def attest_age(app: App, child: str, birth_year: int, *, attested_by: str, actor: str,
               source: str = "parent_attestation", now: datetime | None = None) -> dict[str, Any]:
    """Record how the child's age was established: the birth year and who attested it."""
    if source not in choices.AGE_SOURCES:
        raise ConsentError(f"source: {source!r} is not one of {', '.join(choices.AGE_SOURCES)}")
    when = now or utcnow()
    with app.change("policy", "age attested") as session:
        profile = find_child(session, child)
        touches(session, profile.id)
        check_birth_year(birth_year, this_year(profile.organisation.timezone, when))
        profile.birth_year = birth_year
        profile.age_source, profile.age_attested_by = source, attested_by
        profile.age_attested_at = when
        session.flush()
        audit.append(session, actor=actor, action="child.age", object_type="profile",
                     subject=profile.subject, org_id=profile.org_id,
                     detail={"source": source})
        return age_record(profile, when)


def age_record(profile: Profile, now: datetime | None = None) -> dict[str, Any]:
    return {"child": profile.name, "birth_year": profile.birth_year,
            "age": child_age(profile, now), "source": profile.age_source,
            "attested_by": profile.age_attested_by,
            "attested_at": profile.age_attested_at.isoformat()
            if profile.age_attested_at else None}
