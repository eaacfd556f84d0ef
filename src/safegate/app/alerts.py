"""The alerts inbox: a caller's children's alerts (from their messages and from DNS signals)
with the redacted snippet decrypted, the guidance in the caller's language and the
"helpful / wrong" answer. Reading is allowed by ``app.access`` (kind ``alert``) and recorded
in the audit log as the caller; a feedback is a change of the alert, checked and audited the
same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safegate.app import access
from safegate.app.accounts import Caller
from safegate.app.core import App
from safegate.app.explain import NotFound
from safegate.policy.schedule import zone
from safegate.policy.timestate import zone_ok
from safegate.protect.guidance import Guidance, GuidanceError, guidance
from safegate.protect.monitor import AlertRecord, list_alerts, set_feedback
from safegate.store import family as repo
from safegate.store.models import Organisation

PER_CHILD = 100  # newest alerts shown per child


@dataclass(frozen=True, slots=True)
class AlertView:
    child_id: int
    child: str
    record: AlertRecord
    guidance: Guidance | None
    local_time: str  # the latest message's time in the household's time zone

    def to_dict(self) -> dict[str, Any]:
        return {**self.record.to_dict(), "child": self.child, "local_time": self.local_time,
                "guidance_text": None if self.guidance is None else self.guidance.to_dict()}


def _guidance(key: str, locale: str) -> Guidance | None:
    try:
        return guidance(key, locale if locale in ("vi", "en") else "vi")
    except GuidanceError:
        return None


def inbox(app: App, caller: Caller, child_id: int | None = None, *,
          per_child: int = PER_CHILD) -> list[AlertView]:
    """The caller's organisation's alerts (or one child's), newest first."""
    if child_id is not None:
        owned = access.check(app, caller, "child", child_id)
        org_id = owned.org_id
    else:
        org_id = caller.org_id
    verdict = access.decide(caller, "alert", "read", org_id)
    if verdict == "hidden":
        raise NotFound(f"no child {child_id}")
    if verdict == "forbidden":
        raise access.Forbidden(f"a {caller.role} may not read alerts")
    key = app.keyring()
    views: list[AlertView] = []
    with app.sessions().begin() as session:
        tz = zone(zone_ok(session.get_one(Organisation, org_id).timezone))
        for profile in repo.org_profiles(session, org_id):
            if child_id is not None and profile.id != child_id:
                continue
            for record in list_alerts(session, profile.id, key, actor=caller.actor,
                                      limit=per_child):
                views.append(AlertView(
                    profile.id, profile.name, record, _guidance(record.guidance, caller.locale),
                    record.last_seen_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")))
    views.sort(key=lambda v: (v.record.last_seen_at, v.record.id), reverse=True)
    return views


def give_feedback(app: App, caller: Caller, alert_id: int | str, value: str | None) -> None:
    """The caller's "helpful" or "wrong" on an alert of their organisation (None clears)."""
    owned = access.check(app, caller, "alert", alert_id, "change")
    with app.sessions().begin() as session:
        set_feedback(session, owned.id, value, actor=caller.actor)
