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
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from safegate.privacy import audit
from safegate.privacy.consent import ConsentError
from safegate.privacy.consent_check import consent_refusal
from safegate.privacy.crypto import (
    DecryptionError,
    Keyring,
    decrypt_text,
    encrypt_text,
    token_key_id,
)
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
from safegate.protect.spool import PendingAlert, Spool, SpoolEntry
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
    "Retry",
    "StoreOutcome",
    "describe_error",
    "find_profile",
    "is_transient",
    "list_alerts",
    "open_snippet",
    "parse_message",
    "parse_time",
    "set_feedback",
    "snippet_context",
    "store_alert",
    "store_spooled",
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


def seal_snippet(text: str, key: Keyring, profile_id: int) -> str:
    """``text`` encrypted as the snippet of an alert about ``profile_id``."""
    return encrypt_text(text, key, context=snippet_context(profile_id))


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
    snippet: str | None  # None: it cannot be decrypted (``snippet_error`` says why)
    guidance: str
    count: int
    feedback: str | None
    feedback_at: datetime | None
    found_by: str | None = None
    snippet_error: str | None = None

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
            **({"snippet_error": self.snippet_error} if self.snippet_error else {}),
        }


def open_snippet(token: str, key: Keyring, profile_id: int) -> tuple[str | None, str | None]:
    """(plaintext, None), or (None, why) when the snippet cannot be decrypted."""
    try:
        return decrypt_text(token, key, context=snippet_context(profile_id)), None
    except DecryptionError as exc:
        why = str(exc)
        return None, why if why.startswith("cannot decrypt") else f"cannot decrypt: {why}"


def _record(alert: Alert, key: Keyring) -> AlertRecord:
    snippet, error = open_snippet(alert.snippet, key, alert.profile_id)
    return AlertRecord(
        id=alert.id, profile_id=alert.profile_id, created_at=alert.created_at,
        last_seen_at=alert.last_seen_at, conversation=alert.conversation,
        category=alert.category, severity=alert.severity, score=alert.score,
        snippet=snippet, guidance=alert.guidance, count=alert.count, feedback=alert.feedback,
        feedback_at=alert.feedback_at, found_by=alert.found_by, snippet_error=error,
    )


def _audit(session: Session, actor: str, action: str, object_id: int | str | None,
           **detail: Any) -> None:
    audit.append(session, actor=actor, action=action, object_type="alert",
                 object_id=object_id, subject=_subject(session, detail.get("profile_id")),
                 detail=detail)


def _subject(session: Session, profile_id: object) -> str | None:
    profile = session.get(Profile, profile_id) if isinstance(profile_id, int) else None
    return profile.subject if profile is not None else None


def list_alerts(session: Session, profile_id: int | None, key: Keyring, *,
                actor: str | None = None, limit: int | None = None) -> list[AlertRecord]:
    """A profile's alerts (``None``: every profile's), newest first, snippets decrypted.

    A snippet that cannot be decrypted (a key the keyring does not hold, changed data) is
    listed with ``snippet`` None and ``snippet_error`` saying so; the rest still reads.
    With ``actor`` the viewing is recorded in the audit log (flushes only)."""
    stmt = select(Alert).order_by(Alert.last_seen_at.desc(), Alert.id.desc())
    if profile_id is not None:
        stmt = stmt.where(Alert.profile_id == profile_id)
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


@dataclass(frozen=True, slots=True)
class Retry:
    """How often a transaction that failed for a passing reason is tried, and the waits
    between the tries (``first_delay``, then doubling)."""

    tries: int = 4
    first_delay: float = 0.5

    def delays(self) -> list[float]:
        """The waits before the second, third… try."""
        return [self.first_delay * 2 ** i for i in range(max(self.tries, 1) - 1)]


def is_transient(exc: BaseException) -> bool:
    """A database error that may be gone in a moment: the server unreachable or restarting,
    the connection dropped, SQLite locked or busy. Worth another try."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError)


def describe_error(exc: BaseException) -> str:
    """An error in one line without SQL or parameters (they could carry a conversation id)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        first = (str(exc.orig).strip().splitlines() or [""])[0]
        return f"{type(exc.orig).__name__}: {first}" if first else type(exc.orig).__name__
    return type(exc).__name__


@dataclass(frozen=True, slots=True)
class StoreOutcome:
    """What storing one pending alert did; ``alert`` is None for a drop."""

    action: str  # create | merge | drop | already (a spool record stored before)
    alert: Alert | None = None
    escalated: bool = False
    reason: str = ""


SPOOL_MARK = "alert_spool"  # audit object_type recording that a spool record was stored


def store_alert(session: Session, pending: PendingAlert, key: Keyring, *, limits: Limits,
                actor: str) -> StoreOutcome:
    """Create ``pending`` or merge it into a stored alert (deduplication and rate limits from
    :func:`decide`); flushes only. Needs no decryption: a wrong key cannot stop it."""
    at, pid = pending.at, pending.profile_id
    rows = session.scalars(
        select(Alert).where(
            Alert.profile_id == pid,
            Alert.created_at > at - limits.lookback,
            Alert.created_at < at + limits.dedupe_window,
        )
    ).all()
    recent = [StoredAlert(a.id, a.conversation, a.category, a.severity, a.created_at)
              for a in rows]
    decision = decide(pending.conversation, pending.category, pending.severity, at, recent,
                      limits)
    if decision.action == "drop":
        return StoreOutcome("drop", reason=decision.reason)
    if decision.action == "create":
        alert = Alert(
            profile_id=pid, created_at=at, last_seen_at=at,
            conversation=pending.conversation, category=pending.category,
            severity=decision.severity, score=pending.score, snippet=pending.snippet,
            guidance=pending.guidance, count=1, found_by=pending.found_by,
        )
        session.add(alert)
        session.flush()
        _audit(session, actor, "alert.create", alert.id, profile_id=pid,
               category=alert.category, severity=alert.severity)
        return StoreOutcome("create", alert)
    alert = session.get_one(Alert, decision.alert_id, with_for_update=True)
    alert.count += 1
    alert.created_at = min(alert.created_at, at)
    alert.last_seen_at = max(alert.last_seen_at, at)
    alert.score = max(alert.score, pending.score)
    if decision.escalated:  # the worse evidence is what the parent should read
        alert.severity = decision.severity
        alert.guidance = pending.guidance
        alert.found_by = pending.found_by
        alert.snippet = pending.snippet
    elif token_key_id(alert.snippet) not in key.key_ids:
        alert.snippet = pending.snippet  # unreadable evidence: give the parent readable one
    session.flush()
    _audit(session, actor, "alert.update", alert.id, profile_id=pid,
           category=alert.category, severity=alert.severity, count=alert.count)
    return StoreOutcome("merge", alert, escalated=decision.escalated)


def store_spooled(session: Session, pending: PendingAlert, key: Keyring, *, limits: Limits,
                  actor: str) -> StoreOutcome:
    """:func:`store_alert` for a spool record, exactly once: the record's id goes into the
    audit log in the same transaction, and a record found there is not stored again."""
    done = session.scalar(select(AuditLog.id).where(AuditLog.object_type == SPOOL_MARK,
                                                    AuditLog.object_id == pending.spool_id))
    if done is not None:
        return StoreOutcome("already")
    if session.get(Profile, pending.profile_id) is None:
        # The child was deleted (with its data) since: nothing to store, and the record
        # must not block the ones behind it.
        outcome = StoreOutcome("drop", reason="the child no longer exists")
    else:
        outcome = store_alert(session, pending, key, limits=limits, actor=actor)
    audit.append(session, actor=actor, action="alert.replay", object_type=SPOOL_MARK,
                 object_id=pending.spool_id,
                 subject=_subject(session, pending.profile_id),
                 detail={"profile_id": pending.profile_id, "result": outcome.action,
                         "alert_id": outcome.alert.id if outcome.alert else None})
    session.flush()
    return outcome


@dataclass
class MonitorStats:
    lines: int = 0
    messages: int = 0
    child_messages: int = 0
    errors: int = 0
    created: int = 0
    updated: int = 0
    suppressed: int = 0
    spooled: int = 0  # alerts this run could not store and put in the spool
    replayed: int = 0  # spooled alerts (of any run) stored now
    waiting: int = 0  # alerts left in the spool at the end
    stopped: str | None = None  # why the watch stopped early (a consent withdrawn)
    alerts: dict[str, set[int]] = field(default_factory=dict)  # category → alert ids touched

    def summary(self, profile: str) -> str:
        cats = ", ".join(f"{k} {len(v)}" for k, v in sorted(self.alerts.items()))
        spool = ""
        if self.spooled or self.replayed or self.waiting:
            spool = (f", {self.spooled} spooled (the store failed), {self.replayed} replayed "
                     f"from the spool, {self.waiting} still waiting in it")
        return (f"monitor {profile}: {self.messages} messages ({self.child_messages} from the "
                f"child), {self.created} alerts created, {self.updated} updated, "
                f"{self.suppressed} suppressed by the rate limit, {self.errors} bad lines"
                + spool + (f" [{cats}]" if cats else ""))


CONSENT_RECHECK = 1.0  # seconds: a withdrawn consent stops a running watch within this


class Monitor:
    """Turns a stream of one child's messages into stored alerts.

    It needs the child's ``message_monitoring`` consent (the parent's, and the child's from 7):
    without it the constructor raises ConsentError, and a consent withdrawn while it runs
    stops it within :data:`CONSENT_RECHECK` seconds (``feed`` raises ConsentError; ``run``
    reports it as its last output and reads no further line).

    Each message is classified; a message with any evidence also re-scores its conversation's
    last :data:`WINDOW` messages for grooming escalation. Each message's alerts are committed
    together before its output is returned. A transaction that fails for a passing reason
    (:func:`is_transient`) is tried again (``retry``); alerts that still cannot be stored go
    to ``spool`` (encrypted as in the database) and are replayed when the store works again:
    at the start of :meth:`run`, after the next alert stored, and at the end. Without a spool
    the error is raised.
    """

    def __init__(self, engine: Engine, profile: ProfileRef, key: Keyring, *,
                 child_sender: str | None = None, limits: Limits | None = None,
                 window: int = WINDOW, clock: Callable[[], datetime] = utcnow,
                 actor: str = "monitor", safety: SafetyEngine | None = None,
                 spool: Spool | None = None, retry: Retry | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 consent_recheck: float = CONSENT_RECHECK) -> None:
        """``safety``: the text engine (default: the main path; ``safegate monitor`` adds
        the deep layer where it can run). ``consent_recheck``: seconds between reads of the
        consent (0: before every message)."""
        self.profile = profile
        self.key = key
        self.child_sender = child_sender or profile.name
        self.limits = limits or Limits()
        self.window = window
        self.clock = clock
        self.actor = actor
        self.stats = MonitorStats()
        self.spool = spool
        self.retry = retry or Retry()
        self._sleep = sleep
        self._sessions = session_factory(engine)
        self._safety = safety
        self._conversations: OrderedDict[str, deque[tuple[str, str]]] = OrderedDict()
        self._spool_dirty = spool is not None  # the spool may hold records to replay
        self._consent_recheck = consent_recheck
        self._consent_checked = -1.0  # monotonic time of the last check that passed
        self.require_consent()

    # -- consent

    def require_consent(self) -> None:
        """ConsentError unless the child's message_monitoring consent is recorded (read from
        the store at most once per ``consent_recheck`` seconds)."""
        now = time.monotonic()
        if self._consent_checked >= 0 and now - self._consent_checked < self._consent_recheck:
            return
        try:
            with self._sessions() as session:
                refused = consent_refusal(session, self.profile.id, "message_monitoring",
                                          "monitor", self.clock())
        except Exception as exc:
            # The store gone for a moment: the consent read last stands (alerts go to the
            # spool meanwhile); on the first check there is none, so the error goes up.
            if self._consent_checked < 0 or not is_transient(exc):
                raise
            return
        if refused:
            raise ConsentError(refused)
        self._consent_checked = now

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
        """Replay the spool, feed every line, replay again; ``emit`` gets one JSON text per
        output object."""
        def out(objs: list[dict[str, Any]]) -> None:
            for obj in objs:
                emit(json.dumps(obj, ensure_ascii=False))

        out(self.replay_spool())
        try:
            for line in lines:
                try:
                    outputs = self.feed_line(line)
                except ConsentError as exc:  # withdrawn: read nothing more
                    self.stats.stopped = str(exc)
                    out([{"error": str(exc), "line": self.stats.lines}])
                    break
                except Exception as exc:  # one bad message must not stop the watch
                    # (describe_error: a statement's parameters carry the conversation id)
                    log.error("monitor: line %d failed: %s", self.stats.lines,
                              describe_error(exc))
                    self.stats.errors += 1
                    outputs = [{"error": f"internal error: {type(exc).__name__}: {exc}",
                                "line": self.stats.lines}]
                out(outputs)
        finally:  # Ctrl-C too: what the store takes now is not left waiting
            out(self.replay_spool())
            self.stats.waiting = self.spool.count() if self.spool is not None else 0
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

    def pending(self, message: Message, candidate: Candidate) -> tuple[PendingAlert, str]:
        """``candidate`` as an alert to store (snippet encrypted), and the snippet's text."""
        snippet = make_snippet(candidate.evidence)
        return PendingAlert(
            profile_id=self.profile.id, conversation=message.conversation,
            category=candidate.category, severity=candidate.severity, score=candidate.score,
            guidance=candidate.guidance, found_by=candidate.found_by, at=message.at,
            snippet=seal_snippet(snippet, self.key, self.profile.id),
        ), snippet

    def feed(self, message: Message) -> list[dict[str, Any]]:
        self.require_consent()
        self.stats.messages += 1
        if message.from_child:
            self.stats.child_messages += 1
        if not message.text.strip():
            return []
        found = self.candidates(message)
        if not found:
            return []
        items = [self.pending(message, c) for c in found]

        def store(session: Session) -> list[StoreOutcome]:
            return [store_alert(session, p, self.key, limits=self.limits, actor=self.actor)
                    for p, _ in items]

        try:
            outcomes = self._transaction(store)
        except Exception as exc:
            if self.spool is None:
                raise
            return self._spool(items, exc)
        outputs = [o for (p, text), outcome in zip(items, outcomes, strict=True)
                   if (o := self._output(p, outcome, text)) is not None]
        if self._spool_dirty:  # the store works again: what waited goes in now
            outputs += self.replay_spool()
        return outputs

    def _transaction(self, work: Callable[[Session], list[StoreOutcome]],
                     ) -> list[StoreOutcome]:
        """``work`` in one transaction, tried again after a transient error."""
        delays = self.retry.delays()
        for attempt in range(len(delays) + 1):
            try:
                with self._sessions.begin() as session:
                    return work(session)
            except Exception as exc:
                if attempt == len(delays) or not is_transient(exc):
                    raise
                log.warning("monitor %s: the store failed (%s); trying again in %.1f s",
                            self.profile.name, describe_error(exc), delays[attempt])
                self._sleep(delays[attempt])
        raise AssertionError("unreachable")

    def _spool(self, items: list[tuple[PendingAlert, str]],
               exc: Exception) -> list[dict[str, Any]]:
        assert self.spool is not None
        log.error("monitor %s: %d alert%s not stored (%s): kept in %s until the store works",
                  self.profile.name, len(items), "" if len(items) == 1 else "s",
                  describe_error(exc), self.spool.path)
        outputs = []
        for pending, text in items:
            self.spool.append(pending)
            self.stats.spooled += 1
            outputs.append({
                "id": None, "profile": self.profile.name, "conversation": pending.conversation,
                "category": pending.category, "severity": pending.severity,
                "score": round(pending.score, 4), "snippet": text, "guidance": pending.guidance,
                "found_by": pending.found_by, "count": None, "deduplicated": None,
                "escalated": None, "time": pending.at.isoformat(), "spooled": True,
            })
        self._spool_dirty = True
        return outputs

    def _output(self, pending: PendingAlert, outcome: StoreOutcome, text: str | None,
                ) -> dict[str, Any] | None:
        """Count a stored alert in the stats; its output object (None for a drop)."""
        if outcome.action == "drop":
            self.stats.suppressed += 1
            log.info("monitor %s: %s alert not created (%s)", self.profile.name,
                     pending.category, outcome.reason)
            return None
        alert = outcome.alert
        if alert is None:
            return None
        if outcome.action == "create":
            self.stats.created += 1
        else:
            self.stats.updated += 1
        self.stats.alerts.setdefault(alert.category, set()).add(alert.id)
        if alert.snippet == pending.snippet and text is not None:
            snippet: str | None = text
        else:
            snippet, _ = open_snippet(alert.snippet, self.key, alert.profile_id)
        profile = (self.profile.name if alert.profile_id == self.profile.id
                   else f"id:{alert.profile_id}")
        return {
            "id": alert.id, "profile": profile, "conversation": alert.conversation,
            "category": alert.category, "severity": alert.severity,
            "score": round(alert.score, 4), "snippet": snippet, "guidance": alert.guidance,
            "found_by": alert.found_by,
            "count": alert.count, "deduplicated": outcome.action == "merge",
            "escalated": outcome.escalated, "time": pending.at.isoformat(),
        }

    # -- the spool

    def _replayer(self, pending: PendingAlert) -> Callable[[Session], list[StoreOutcome]]:
        def work(session: Session) -> list[StoreOutcome]:
            return [store_spooled(session, pending, self.key, limits=self.limits,
                                  actor=self.actor)]
        return work

    def replay_spool(self) -> list[dict[str, Any]]:
        """Store what waits in the spool (every profile's), oldest first, each record exactly
        once; stop at the first failure and keep the rest. Output objects carry
        ``"replayed": true``."""
        if self.spool is None or not self._spool_dirty:
            return []
        outputs: list[dict[str, Any]] = []
        with self.spool.locked():
            entries = self.spool.entries()
            keep: list[SpoolEntry] = []
            failed = False
            for entry in entries:
                pending = entry.alert
                if failed or pending is None:
                    keep.append(entry)
                    continue
                try:
                    outcome = self._transaction(self._replayer(pending))[0]
                except Exception as exc:
                    log.warning("monitor %s: the spool cannot be replayed yet (%s)",
                                self.profile.name, describe_error(exc))
                    failed = True
                    keep.append(entry)
                    continue
                if outcome.action == "already":
                    continue
                self.stats.replayed += 1
                text, _ = open_snippet(pending.snippet, self.key, pending.profile_id)
                out = self._output(pending, outcome, text)
                if out is not None:
                    outputs.append({**out, "replayed": True})
            if len(keep) != len(entries):
                self.spool.rewrite(keep)
            self._spool_dirty = failed  # unreadable lines wait for a person, not a retry
        return outputs
