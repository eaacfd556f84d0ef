"""Alerts reach parents without opening the app: each account's notification preferences, its
browsers' Web Push subscriptions, and the delivery job.

:func:`deliver` finds the alerts of the last ``notify.max_age_hours`` that a parent (role
parent or school_admin) of the child's organisation has not yet received on a channel they
turned on, and sends them: warnings wait for the end of quiet hours, urgent alerts never
wait. Every attempt is recorded in ``alert_delivery`` (one row per alert, account and
channel), so a sent alert is never sent again and a failed one is tried again after a
growing wait (``notify.retry_delay`` doubled) until ``notify.max_tries``. Nothing is sent for
a child whose ``alerts`` consents are missing. The gate's jobs leader runs it every
``notify.deliver_interval`` seconds (as ``safegate alerts deliver``, a child process); cron
can run the same command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from safegate.app.accounts import Caller
from safegate.app.core import App
from safegate.config import Settings
from safegate.policy.schedule import zone
from safegate.policy.timestate import zone_ok
from safegate.privacy import audit
from safegate.privacy.consent_check import consent_refusal
from safegate.protect.delivery import Message, Prefs, compose, outcome, parse_clock, wanted
from safegate.protect.senders import Gone, PushSender, SendError, SmtpSender, Subscription
from safegate.protect.senders import vapid_keys as _vapid_keys
from safegate.store import choices
from safegate.store.models import (
    Account,
    Alert,
    AlertDelivery,
    NotifyPrefs,
    Organisation,
    Profile,
    PushSubscription,
)
from safegate.store.values import utcnow

log = logging.getLogger(__name__)

RECIPIENT_ROLES = ("parent", "school_admin")
ACTOR = "alert notifications"
MAX_SUBSCRIPTIONS = 20  # browsers per account; the oldest goes when a new one comes


# ---------------------------------------------------------------- preferences


def _prefs(row: NotifyPrefs | None) -> Prefs:
    if row is None:
        return Prefs()
    return Prefs(row.email, row.push, row.quiet_start, row.quiet_end, row.min_severity,
                 row.weekly_report)


def get_prefs(app: App, caller: Caller) -> Prefs:
    with app.sessions()() as session:
        return _prefs(session.get(NotifyPrefs, caller.account_id))


def set_prefs(app: App, caller: Caller, *, email: bool | None = None, push: bool | None = None,
              quiet_start: str | None = None, quiet_end: str | None = None,
              min_severity: str | None = None, clear_quiet: bool = False,
              weekly_report: bool | None = None) -> Prefs:
    """Change the caller's own preferences (None: unchanged); ValueError names a bad field."""
    start = parse_clock(quiet_start, "quiet_start")
    end = parse_clock(quiet_end, "quiet_end")
    if (start is None) != (end is None) and not clear_quiet:
        raise ValueError("quiet hours need both a start and an end (HH:MM)")
    if min_severity is not None and min_severity not in choices.ALERT_SEVERITIES:
        raise ValueError(f"min_severity: {min_severity!r} is not one of "
                         f"{', '.join(choices.ALERT_SEVERITIES)}")
    with app.sessions().begin() as session:
        row = session.get(NotifyPrefs, caller.account_id)
        if row is None:
            row = NotifyPrefs(account_id=caller.account_id, email=True, push=False,
                              min_severity="warning", weekly_report=True)
            session.add(row)
        if email is not None:
            row.email = email
        if push is not None:
            row.push = push
        if clear_quiet:
            row.quiet_start = row.quiet_end = None
        elif start is not None:
            row.quiet_start, row.quiet_end = start, end
        if min_severity is not None:
            row.min_severity = min_severity
        if weekly_report is not None:
            row.weekly_report = weekly_report
        session.flush()
        return _prefs(row)


# ---------------------------------------------------------------- Web Push subscriptions


def push_public_key(app: App) -> str:
    """The VAPID public key browsers subscribe with (made on first use)."""
    return _vapid_keys(app.data_dir)[1]


def _check_subscription(endpoint: str, p256dh: str, auth: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("https", "http") or not parts.netloc or len(endpoint) > 1000:
        raise ValueError("endpoint: not a push service address (https://…, at most 1000 "
                         "characters)")
    for name, value, size in (("p256dh", p256dh, 200), ("auth", auth, 100)):
        if not value or len(value) > size or not all(
                c.isalnum() or c in "-_=" for c in value):
            raise ValueError(f"keys.{name}: missing or not base64url")


def add_subscription(app: App, caller: Caller, endpoint: str, p256dh: str,
                     auth: str) -> int:
    """Store a browser's subscription for the caller (the same endpoint again: its keys are
    replaced and it becomes the caller's). Returns how many the caller has."""
    _check_subscription(endpoint, p256dh, auth)
    with app.sessions().begin() as session:
        row = session.scalar(select(PushSubscription).where(
            PushSubscription.endpoint == endpoint.strip()))
        if row is None:
            row = PushSubscription(endpoint=endpoint.strip(), account_id=caller.account_id,
                                   p256dh=p256dh, auth=auth)
            session.add(row)
        else:
            row.account_id, row.p256dh, row.auth = caller.account_id, p256dh, auth
        session.flush()
        ids = list(session.scalars(select(PushSubscription.id).where(
            PushSubscription.account_id == caller.account_id)
            .order_by(PushSubscription.id.desc())))
        if len(ids) > MAX_SUBSCRIPTIONS:
            session.execute(delete(PushSubscription).where(
                PushSubscription.id.in_(ids[MAX_SUBSCRIPTIONS:])))
        return min(len(ids), MAX_SUBSCRIPTIONS)


def remove_subscription(app: App, caller: Caller, endpoint: str) -> bool:
    """Forget one of the caller's own subscriptions; False when it has no such one."""
    with app.sessions().begin() as session:
        done = session.execute(delete(PushSubscription).where(
            PushSubscription.account_id == caller.account_id,
            PushSubscription.endpoint == endpoint.strip()))
        return bool(getattr(done, "rowcount", 0))


# ---------------------------------------------------------------- delivery


@dataclass(frozen=True, slots=True)
class Senders:
    """Where messages go; None: that channel is not configured."""

    email: Callable[[str, Message], None] | None = None
    push: PushSender | None = None


def email_sender(settings: Settings) -> Callable[[str, Message], None] | None:
    """The SMTP sender of the settings; None without notify.smtp_host."""
    if not settings["notify.smtp_host"]:
        return None
    if not settings["notify.smtp_from"]:
        raise ValueError("notify.smtp_from is needed with notify.smtp_host")
    return SmtpSender(settings["notify.smtp_host"], settings["notify.smtp_port"],
                      settings["notify.smtp_from"], settings["notify.smtp_user"],
                      settings["notify.smtp_password"], settings["notify.smtp_starttls"],
                      settings["notify.smtp_timeout"]).send


def senders_from(settings: Settings) -> Senders:
    """The senders the settings configure (e-mail needs notify.smtp_host and smtp_from)."""
    pem, _public = _vapid_keys(settings.data_dir)
    return Senders(email_sender(settings), PushSender(pem, settings["notify.vapid_subject"]))


@dataclass(slots=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    gave_up: int = 0
    held: int = 0  # quiet hours, or below the account's least severity
    no_consent: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "failed": self.failed, "gave_up": self.gave_up,
                "held": self.held, "no_consent": self.no_consent, "errors": self.errors}

    def summary(self) -> str:
        return (f"alerts deliver: {self.sent} sent, {self.failed} failed (retried later), "
                f"{self.gave_up} given up, {self.held} held, {self.no_consent} without "
                f"consent")


@dataclass(frozen=True, slots=True)
class _Task:
    alert_id: int
    account_id: int
    channel: str
    to: str | None  # e-mail address; None for push
    message: Message
    tries: int  # before this one
    subject: str | None  # the child's pseudonym, for the audit log
    org_id: int
    severity: str


def escalated(record: AlertDelivery, severity: str) -> bool:
    """An alert sent (or given up) as a warning that is urgent now: its parents hear again."""
    return record.status != "failed" and record.severity != "urgent" and severity == "urgent"


def _consented(session: Session, profile: Profile, now: datetime) -> bool:
    return consent_refusal(session, profile.id, "alerts", "alerts", now) is None


def _tasks(session: Session, settings: Settings, senders: Senders, now: datetime,
           report: DeliveryReport) -> list[_Task]:
    cutoff = now - timedelta(hours=settings["notify.max_age_hours"])
    rows = session.execute(
        select(Alert, Profile, Organisation)
        .join(Profile, Profile.id == Alert.profile_id)
        .join(Organisation, Organisation.id == Profile.org_id)
        .where(Alert.created_at >= cutoff).order_by(Alert.id)).all()
    if not rows:
        return []
    done = {(d.alert_id, d.account_id, d.channel): d for d in session.scalars(
        select(AlertDelivery).where(AlertDelivery.alert_id.in_([a.id for a, _, _ in rows])))}
    tasks: list[_Task] = []
    subscribed = set(session.scalars(select(PushSubscription.account_id).distinct()))
    accounts: dict[int, list[Account]] = {}
    consent: dict[int, bool] = {}
    for alert, profile, org in rows:
        if profile.id not in consent:
            consent[profile.id] = _consented(session, profile, now)
        if not consent[profile.id]:
            report.no_consent += 1
            continue
        if org.id not in accounts:
            accounts[org.id] = list(session.scalars(select(Account).where(
                Account.org_id == org.id, Account.role.in_(RECIPIENT_ROLES))
                .order_by(Account.id)))
        local = now.astimezone(zone(zone_ok(org.timezone))).time()
        for account in accounts[org.id]:
            prefs = _prefs(session.get(NotifyPrefs, account.id))
            channels: list[tuple[str, str | None]] = []
            if prefs.email and account.email and senders.email is not None:
                channels.append(("email", account.email))
            if prefs.push and senders.push is not None and account.id in subscribed:
                channels.append(("push", None))
            for channel, to in channels:
                record = done.get((alert.id, account.id, channel))
                if record is not None and escalated(record, alert.severity):
                    record = None  # became urgent since: a new message, tried afresh
                elif record is not None and (record.status != "failed" or (
                        record.next_try_at is not None and record.next_try_at > now)):
                    continue
                if not wanted(alert.severity, prefs, local):
                    report.held += 1
                    continue
                message = compose(alert_id=alert.id, child=profile.name,
                                  severity=alert.severity, category=alert.category,
                                  guidance_key=alert.guidance, locale=account.locale,
                                  base_url=settings["notify.base_url"])
                tasks.append(_Task(alert.id, account.id, channel, to, message,
                                   record.tries if record else 0, profile.subject, org.id,
                                   alert.severity))
    return tasks


def _send(app: App, senders: Senders, task: _Task) -> None:
    """Send one task; SendError when nothing went out."""
    if task.channel == "email":
        assert senders.email is not None and task.to is not None
        senders.email(task.to, task.message)
        return
    assert senders.push is not None
    with app.sessions()() as session:
        subs = list(session.scalars(select(PushSubscription).where(
            PushSubscription.account_id == task.account_id).order_by(PushSubscription.id)))
    if not subs:
        raise SendError("push: no browser of this account is subscribed")
    errors: list[str] = []
    delivered = 0
    for sub in subs:
        try:
            senders.push.send_to(Subscription(sub.endpoint, sub.p256dh, sub.auth),
                                 task.message)
            delivered += 1
        except Gone as exc:
            errors.append(str(exc))
            with app.sessions().begin() as session:
                session.execute(delete(PushSubscription).where(PushSubscription.id == sub.id))
        except SendError as exc:
            errors.append(str(exc))
    if not delivered:
        raise SendError("; ".join(errors)[:290])


def _record(app: App, task: _Task, error: str | None, settings: Settings,
            now: datetime) -> str:
    tries = task.tries + 1
    status, next_try = outcome(tries, error, settings["notify.max_tries"],
                               settings["notify.retry_delay"], now)
    with app.sessions().begin() as session:
        row = session.scalar(select(AlertDelivery).where(
            AlertDelivery.alert_id == task.alert_id,
            AlertDelivery.account_id == task.account_id,
            AlertDelivery.channel == task.channel))
        if row is None:
            row = AlertDelivery(alert_id=task.alert_id, account_id=task.account_id,
                                channel=task.channel)
            session.add(row)
        row.tried(status, tries, error, next_try, now)
        row.severity = task.severity
        if error is None:
            audit.append(session, actor=ACTOR, action="alert.notify", object_type="alert",
                         object_id=task.alert_id, subject=task.subject, org_id=task.org_id,
                         detail={"channel": task.channel, "account_id": task.account_id})
    return status


def deliver(app: App, senders: Senders | None = None, *,
            now: datetime | None = None) -> DeliveryReport:
    """Send what is due (see the module docstring); a failed send is logged in one line
    (never a password or the message) and tried again later."""
    settings = app.settings
    senders = senders if senders is not None else senders_from(settings)
    now = now or utcnow()
    report = DeliveryReport()
    with app.sessions()() as session:
        tasks = _tasks(session, settings, senders, now, report)
    for task in tasks:
        try:
            _send(app, senders, task)
            error = None
        except SendError as exc:
            error = str(exc)
        status = _record(app, task, error, settings, now)
        if status == "sent":
            report.sent += 1
            continue
        setattr(report, status, getattr(report, status) + 1)
        report.errors.append(f"alert {task.alert_id} to account {task.account_id} "
                             f"by {task.channel}: {error}")
        log.warning("alert %d to account %d by %s: %s (try %d%s)", task.alert_id,
                    task.account_id, task.channel, error, task.tries + 1,
                    "; given up" if status == "gave_up" else "; will retry")
    return report
