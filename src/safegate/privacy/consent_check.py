"""Whether the store holds the consents a feature needs, for code outside the app layer (the
``Monitor`` library class checks its own): the active consents of a child, and the refusal
message when one is missing. The rules are ``safegate.privacy.consent``'s."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from safegate.privacy import consent as rules
from safegate.store.models import Consent, Organisation, Profile

__all__ = ["active_consents", "consent_refusal"]


_ACTIVE = select(Consent.purpose, Consent.given_by).where(  # built once: every page asks
    Consent.profile_id == bindparam("profile_id"), Consent.withdrawn_at.is_(None))


def active_consents(session: Session, profile_id: int) -> set[tuple[str, str]]:
    """The (purpose, given_by) pairs of the child's consents not withdrawn."""
    return {(p, g) for p, g in session.connection().execute(_ACTIVE,
                                                            {"profile_id": profile_id})}


def consent_refusal(session: Session, profile_id: int, purpose: str, feature: str,
                    now: datetime | None = None) -> str | None:
    """The one-line refusal of ``feature`` for want of ``purpose`` consent; None when every
    consent it needs is recorded (the child's age in its household's year)."""
    row = session.execute(select(Profile.name, Profile.birth_year, Organisation.timezone)
                          .join(Organisation, Organisation.id == Profile.org_id)
                          .where(Profile.id == profile_id)).one_or_none()
    if row is None:
        return f"{feature}: no child with id {profile_id}"
    name, birth_year, timezone = row
    zone = ZoneInfo(timezone)
    year = (now.astimezone(zone) if now is not None else datetime.now(zone)).year
    lacking = rules.missing(purpose, active_consents(session, profile_id),
                            rules.age(birth_year, year))
    return rules.refusal(feature, purpose, name, lacking) if lacking else None
