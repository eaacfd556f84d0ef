"""Monitoring I/O: messages in, encrypted alerts out (the decisions are in :mod:`.alerts`).

A message is one JSON object::

    {"sender": "stranger01", "time": "2026-12-01T20:15:00+07:00", "text": "…",
     "conversation": "roblox-dm-42"}

``time`` is ISO 8601 (without an offset: the organisation's time zone) or unix seconds (values
of 10^11 and more are taken as milliseconds); without it, now. The child's own messages are
those whose ``sender`` equals the child's sender name (case and surrounding spaces ignored), or
that carry ``"from_child": true``; ``"from_child": false`` overrides a matching sender.

Alerts are stored with their snippet encrypted (:mod:`safegate.privacy.crypto`, bound to the
profile), and every creation, update, listing (with an actor) and feedback is written to the
audit log without any of the child's text.
"""

from __future__ import annotations

import json
import logging
import math
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from safegate.privacy.crypto import Keyring, decrypt_text, encrypt_text
from safegate.protect.alerts import (
    CHILD,
    Candidate,
    Limits,
    StoredAlert,
    decide,
    grooming_candidate,
    make_snippet,
    message_candidates,
    with_escalation,
)
from safegate.store import choices
from safegate.store.db import session_factory
from safegate.store.errors import StoreError
from safegate.store.models import Alert, AuditLog, Organisation, Profile
from safegate.store.values import utcnow
from safegate.textio import clean_text

if TYPE_CHECKING:
    from safegate.safety.engine import Engine as SafetyEngine

__all__ = [
    "AlertRecord",
    "Message",
    "MessageError",
    "Monitor",
    "MonitorStats",
    "ProfileRef",
    "find_profile",
    "list_alerts",
    "parse_message",
    "parse_time",
    "set_feedback",
    "snippet_context",
]

log = logging.getLogger(__name__)

CONVERSATION_MAX = 200  # the column's length
WINDOW = 20  # messages one grooming escalation may span (safety.conversation's default)
MAX_CONVERSATIONS = 10_000  # conversation windows kept in memory (least recently used go)
_MS_FROM = 1e11  # unix times from here on are milliseconds (1e11 s is the year 5138)


# --- messages -----------------------------------------------------------------------------


class MessageError(ValueError):
    """A line that is not a usable message; the text says what is wrong with it."""


@dataclass(frozen=True, slots=True)
class Message:
    sender: str | None
    text: str
    conversation: str
    at: datetime  # UTC
    from_child: bool


def parse_time(value: Any, tz: tzinfo, now: datetime) -> datetime:
    """A message's ``time`` as an aware UTC datetime (see the module docstring)."""
    if value is None:
        return now
    if isinstance(value, bool):
        raise MessageError("time must be ISO 8601 text or unix seconds, not true/false")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise MessageError(f"time {value!r} is neither ISO 8601 nor unix seconds") \
                    from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=tz)
            return parsed.astimezone(UTC)
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds) or seconds < 0:
            raise MessageError(f"time {value!r} is not a usable unix time")
        if seconds >= _MS_FROM:
            seconds /= 1000.0
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise MessageError(f"time {value!r} is out of range") from None
    raise MessageError("time must be ISO 8601 text or unix seconds")


def _same_sender(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def parse_message(line: str, *, child_sender: str, tz: tzinfo = UTC,
                  now: datetime | None = None) -> Message:
    """One JSONL line as a :class:`Message`; :class:`MessageError` says why it is not one."""
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise MessageError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise MessageError("a message must be a JSON object")
    text = obj.get("text")
    if not isinstance(text, str):
        raise MessageError("text is missing or not a string")
    conversation = obj.get("conversation")
    if isinstance(conversation, int) and not isinstance(conversation, bool):
        conversation = str(conversation)
    if not isinstance(conversation, str) or not conversation.strip():
        raise MessageError("conversation (an id) is missing or empty")
    if len(conversation) > CONVERSATION_MAX:
        raise MessageError(f"conversation id longer than {CONVERSATION_MAX} characters")
    sender = obj.get("sender")
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if sender is not None and not isinstance(sender, str):
        raise MessageError("sender must be a string")
    flag = obj.get("from_child")
    if flag is not None and not isinstance(flag, bool):
        raise MessageError("from_child must be true or false")
    if sender is None and flag is None:
        raise MessageError("sender is missing (or say \"from_child\": true/false)")
    from_child = flag if flag is not None else _same_sender(str(sender), child_sender)
    at = parse_time(obj.get("time"), tz, now or utcnow())
    # A lone surrogate (a JSON "\ud800" escape) cannot be encoded, stored or encrypted.
    return Message(None if sender is None else clean_text(sender), clean_text(text),
                   clean_text(conversation), at, from_child)


# --- profiles -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfileRef:
    id: int
    name: str
    org_id: int
    timezone: str

    @property
    def tz(self) -> tzinfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(choices.DEFAULT_TIMEZONE)


def find_profile(session: Session, spec: str) -> ProfileRef:
    """The profile named ``spec`` (or ``id:N``); StoreError lists the profiles otherwise."""
    rows = session.execute(
        select(Profile.id, Profile.name, Profile.org_id, Organisation.timezone,
               Organisation.name)
        .join(Organisation, Organisation.id == Profile.org_id)
        .order_by(Profile.id)
    ).all()
    wanted = spec.strip()
    if wanted.lower().startswith("id:") and wanted[3:].strip().isdigit():
        found = [r for r in rows if r[0] == int(wanted[3:])]
    else:
        found = [r for r in rows if r[1] == wanted] or [
            r for r in rows if _same_sender(r[1], wanted)]
    if len(found) == 1:
        pid, name, org_id, timezone, _ = found[0]
        return ProfileRef(pid, name, org_id, timezone)
    if found:
        which = ", ".join(f"id:{r[0]} ({r[4]})" for r in found)
        raise StoreError(f"several profiles are named {spec!r}: {which}; pass --profile id:N")
    names = ", ".join(f"{r[1]} (id:{r[0]})" for r in rows) or "none yet"
    raise StoreError(f"no profile named {spec!r}; profiles: {names}")


# --- alerts in the store ------------------------------------------------------------------


def snippet_context(profile_id: int) -> str:
    """The associated data a snippet is encrypted with: it opens only for its own profile."""
    return f"alert.snippet:{profile_id}"


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert with its snippet decrypted."""

    id: int
    profile_id: int
    created_at: datetime
    last_seen_at: datetime
    conversation: str
    category: str
    severity: str
    score: float
    snippet: str
    guidance: str
    count: int
    feedback: str | None
    feedback_at: datetime | None
    found_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "profile_id": self.profile_id,
            "created_at": self.created_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
            "conversation": self.conversation, "category": self.category,
            "severity": self.severity, "score": round(self.score, 4), "snippet": self.snippet,
            "guidance": self.guidance, "count": self.count, "feedback": self.feedback,
            "feedback_at": self.feedback_at.isoformat() if self.feedback_at else None,
            "found_by": self.found_by,
        }


def _record(alert: Alert, key: Keyring) -> AlertRecord:
    return AlertRecord(
        id=alert.id, profile_id=alert.profile_id, created_at=alert.created_at,
        last_seen_at=alert.last_seen_at, conversation=alert.conversation,
        category=alert.category, severity=alert.severity, score=alert.score,
        snippet=decrypt_text(alert.snippet, key, context=snippet_context(alert.profile_id)),
        guidance=alert.guidance, count=alert.count, feedback=alert.feedback,
        feedback_at=alert.feedback_at, found_by=alert.found_by,
    )


def _audit(session: Session, actor: str, action: str, object_id: int | str | None,
           **detail: Any) -> None:
    session.add(AuditLog(actor=actor, action=action, object_type="alert",
                         object_id=None if object_id is None else str(object_id),
                         detail=detail))


def list_alerts(session: Session, profile_id: int, key: Keyring, *,
                actor: str | None = None, limit: int | None = None) -> list[AlertRecord]:
    """A profile's alerts, newest first, snippets decrypted (DecryptionError for a wrong key).

    With ``actor`` the viewing is recorded in the audit log (flushes only)."""
    stmt = (select(Alert).where(Alert.profile_id == profile_id)
            .order_by(Alert.last_seen_at.desc(), Alert.id.desc()))
    if limit is not None:
        stmt = stmt.limit(limit)
    records = [_record(a, key) for a in session.scalars(stmt)]
    if actor is not None:
        _audit(session, actor, "alert.view", None, profile_id=profile_id, count=len(records))
        session.flush()
    return records


def set_feedback(session: Session, alert_id: int, value: str | None, *,
                 actor: str = "unknown") -> None:
    """Record a parent's ``helpful`` or ``wrong`` on an alert (None clears it); flushes only."""
    if value is not None and value not in choices.ALERT_FEEDBACK:
        raise StoreError(f"feedback {value!r} is not allowed; allowed: "
                         f"{', '.join(choices.ALERT_FEEDBACK)} (or none to clear)")
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise StoreError(f"alert {alert_id!r} does not exist")
    alert.feedback = value
    alert.feedback_at = None if value is None else utcnow()
    _audit(session, actor, "alert.feedback", alert_id, profile_id=alert.profile_id,
           feedback=value)
    session.flush()


# --- the monitor --------------------------------------------------------------------------


@dataclass
class MonitorStats:
    lines: int = 0
    messages: int = 0
    child_messages: int = 0
    errors: int = 0
    created: int = 0
    updated: int = 0
    suppressed: int = 0
    alerts: dict[str, set[int]] = field(default_factory=dict)  # category → alert ids touched

    def summary(self, profile: str) -> str:
        cats = ", ".join(f"{k} {len(v)}" for k, v in sorted(self.alerts.items()))
        return (f"monitor {profile}: {self.messages} messages ({self.child_messages} from the "
                f"child), {self.created} alerts created, {self.updated} updated, "
                f"{self.suppressed} suppressed by the rate limit, {self.errors} bad lines"
                + (f" [{cats}]" if cats else ""))


class Monitor:
    """Turns a stream of one child's messages into stored alerts.

    Each message is classified; a message with any evidence also re-scores its conversation's
    last :data:`WINDOW` messages for grooming escalation. Each message's alerts are committed
    together before its output is returned.
    """

    def __init__(self, engine: Engine, profile: ProfileRef, key: Keyring, *,
                 child_sender: str | None = None, limits: Limits | None = None,
                 window: int = WINDOW, clock: Callable[[], datetime] = utcnow,
                 actor: str = "monitor", safety: SafetyEngine | None = None) -> None:
        """``safety``: the text engine (default: the main path; ``safegate monitor`` adds
        the deep layer where it can run)."""
        self.profile = profile
        self.key = key
        self.child_sender = child_sender or profile.name
        self.limits = limits or Limits()
        self.window = window
        self.clock = clock
        self.actor = actor
        self.stats = MonitorStats()
        self._sessions = session_factory(engine)
        self._safety = safety
        self._conversations: OrderedDict[str, deque[tuple[str, str]]] = OrderedDict()

    # -- input

    def feed_line(self, line: str) -> list[dict[str, Any]]:
        """Output objects for one input line: alerts, or one error object."""
        self.stats.lines += 1
        if not line.strip():
            return []
        try:
            message = parse_message(line, child_sender=self.child_sender,
                                    tz=self.profile.tz, now=self.clock())
        except MessageError as exc:
            self.stats.errors += 1
            return [{"error": str(exc), "line": self.stats.lines}]
        return self.feed(message)

    def run(self, lines: Iterable[str], emit: Callable[[str], None]) -> MonitorStats:
        """Feed every line; ``emit`` gets one JSON text per output object."""
        for line in lines:
            try:
                outputs = self.feed_line(line)
            except Exception as exc:  # one bad message must not stop the watch
                log.exception("monitor: line %d failed", self.stats.lines)
                self.stats.errors += 1
                outputs = [{"error": f"internal error: {type(exc).__name__}: {exc}",
                            "line": self.stats.lines}]
            for obj in outputs:
                emit(json.dumps(obj, ensure_ascii=False))
        return self.stats

    # -- one message

    def _conversation(self, conversation: str) -> deque[tuple[str, str]]:
        window = self._conversations.pop(conversation, None)
        if window is None:
            window = deque(maxlen=self.window)
            while len(self._conversations) >= MAX_CONVERSATIONS:
                self._conversations.popitem(last=False)
        self._conversations[conversation] = window
        return window

    def candidates(self, message: Message) -> list[Candidate]:
        """The alert candidates of ``message`` in its conversation (no storage)."""
        from safegate.safety.conversation import score_conversation
        from safegate.safety.engine import default_engine

        safety = self._safety or default_engine()
        result = safety.classify(message.text)
        window = self._conversation(message.conversation)
        who = CHILD if message.from_child else f"other:{message.sender or '?'}"
        window.append((who, message.text))
        found = message_candidates(result, message.text, from_child=message.from_child)
        if result.spans:  # escalation only changes when a message carries a signal
            conv = score_conversation(list(window), window=self.window, engine=safety)
            grooming = grooming_candidate(conv, [text for _, text in window])
            found = with_escalation(found, grooming)
        return found

    def feed(self, message: Message) -> list[dict[str, Any]]:
        self.stats.messages += 1
        if message.from_child:
            self.stats.child_messages += 1
        if not message.text.strip():
            return []
        found = self.candidates(message)
        if not found:
            return []
        outputs: list[dict[str, Any]] = []
        with self._sessions.begin() as session:
            for candidate in found:
                out = self._store(session, message, candidate)
                if out is not None:
                    outputs.append(out)
        return outputs

    def _store(self, session: Session, message: Message,
               candidate: Candidate) -> dict[str, Any] | None:
        at, pid = message.at, self.profile.id
        rows = session.scalars(
            select(Alert).where(
                Alert.profile_id == pid,
                Alert.created_at > at - self.limits.lookback,
                Alert.created_at < at + self.limits.dedupe_window,
            )
        ).all()
        recent = [StoredAlert(a.id, a.conversation, a.category, a.severity, a.created_at)
                  for a in rows]
        decision = decide(message.conversation, candidate.category, candidate.severity, at,
                          recent, self.limits)
        if decision.action == "drop":
            self.stats.suppressed += 1
            log.info("monitor %s: %s alert not created (%s)", self.profile.name,
                     candidate.category, decision.reason)
            return None
        context = snippet_context(pid)
        if decision.action == "create":
            snippet = make_snippet(candidate.evidence)
            alert = Alert(
                profile_id=pid, created_at=at, last_seen_at=at,
                conversation=message.conversation, category=candidate.category,
                severity=decision.severity, score=candidate.score,
                snippet=encrypt_text(snippet, self.key, context=context),
                guidance=candidate.guidance, count=1, found_by=candidate.found_by,
            )
            session.add(alert)
            session.flush()
            _audit(session, self.actor, "alert.create", alert.id, profile_id=pid,
                   category=alert.category, severity=alert.severity)
            self.stats.created += 1
        else:
            alert = session.get_one(Alert, decision.alert_id, with_for_update=True)
            alert.count += 1
            alert.created_at = min(alert.created_at, at)
            alert.last_seen_at = max(alert.last_seen_at, at)
            alert.score = max(alert.score, candidate.score)
            if decision.escalated:  # the worse evidence is what the parent should read
                alert.severity = decision.severity
                alert.guidance = candidate.guidance
                alert.found_by = candidate.found_by
                snippet = make_snippet(candidate.evidence)
                alert.snippet = encrypt_text(snippet, self.key, context=context)
            else:
                snippet = decrypt_text(alert.snippet, self.key, context=context)
            session.flush()
            _audit(session, self.actor, "alert.update", alert.id, profile_id=pid,
                   category=alert.category, severity=alert.severity, count=alert.count)
            self.stats.updated += 1
        self.stats.alerts.setdefault(alert.category, set()).add(alert.id)
        return {
            "id": alert.id, "profile": self.profile.name, "conversation": alert.conversation,
            "category": alert.category, "severity": alert.severity,
            "score": round(alert.score, 4), "snippet": snippet, "guidance": alert.guidance,
            "found_by": alert.found_by,
            "count": alert.count, "deduplicated": decision.action == "merge",
            "escalated": decision.escalated, "time": at.isoformat(),
        }
