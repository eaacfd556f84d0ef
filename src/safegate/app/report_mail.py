"""Last week's report by e-mail: on Monday from 07:00 in the organisation's time zone, each
parent of a household with an e-mail address (and the weekly report left on in their
notification preferences) receives one message covering the children whose ``reports``
consents are recorded: blocked attempts and the categories behind most of them, alerts, days
over a time budget, and a link to the printable report when ``notify.base_url`` is set.

Each ``school_admin`` of a school (e-mail address, weekly report on) receives one message
for the whole school instead: per class (and the children in no class) the number of
students, how many of them were counted (those with the ``reports`` consents), their blocked
attempts, the three categories behind most of them and their alerts. Counts and category
names only: never a child's name, a site or a message.

Each account's week is recorded in ``report_delivery``: a sent report is never sent again,
a failed one is tried again after a growing wait (``notify.retry_delay`` doubled, at most
``notify.max_tries`` tries). Only the most recent week is sent; a week missed while the gate
was down is not sent late. The gate's jobs leader runs :func:`send_weekly_reports` hourly
(``safegate alerts weekly-reports`` runs it once, for cron).
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from safegate.app.core import App
from safegate.app.notify import Senders, senders_from
from safegate.app.reports import ChildReport, child_report
from safegate.lists.services import service
from safegate.lists.taxonomy import categories
from safegate.policy.schedule import zone
from safegate.policy.timestate import zone_ok
from safegate.privacy import audit
from safegate.privacy.consent import ConsentError
from safegate.protect.delivery import Message, outcome
from safegate.protect.senders import SendError
from safegate.store.models import (
    Account,
    ClassMember,
    NotifyPrefs,
    Organisation,
    Profile,
    ReportDelivery,
    SchoolClass,
)
from safegate.store.values import utcnow

log = logging.getLogger(__name__)

ACTOR = "weekly report e-mail"
DUE_FROM = time(7, 0)  # Monday, local: last week's report is due from then on
TOP_CATEGORIES = 3


def due_week(local_now: datetime) -> date:
    """The Monday of the most recent local week whose report is due at ``local_now``: the
    week that ended last Sunday once Monday 07:00 has come, the one before until then. Pure."""
    monday = local_now.date() - timedelta(days=local_now.weekday())
    if local_now.weekday() == 0 and local_now.time() < DUE_FROM:
        return monday - timedelta(days=14)
    return monday - timedelta(days=7)


# ---------------------------------------------------------------- the message

_TEXT = {
    "vi": {
        "subject": "[SafeGate] Báo cáo tuần {first} – {last}: {children}",
        "intro": "Tuần {first} – {last} của con qua SafeGate:",
        "blocked": "{child}: {n} lần truy cập bị chặn",
        "most": "nhiều nhất: {cats}",
        "none": "{child}: không có truy cập nào bị chặn",
        "alerts": "{n} cảnh báo",
        "over": "vượt giới hạn thời gian cho {target} {days} ngày",
        "link": "Báo cáo đầy đủ (có thể in): {url}",
        "open": "Mở SafeGate, trang của con, mục Báo cáo, để xem báo cáo đầy đủ.",
        "talk": "Hãy dành vài phút cùng con nói về tuần vừa qua. Khi cần hỗ trợ, gọi Tổng "
                "đài quốc gia bảo vệ trẻ em 111 (miễn phí).",
        "why": "Bạn nhận thư này vì đã bật báo cáo tuần qua thư điện tử trong SafeGate "
               "(trang Cảnh báo, mục Thông báo); tắt ở đó nếu không muốn nhận nữa.",
    },
    "en": {
        "subject": "[SafeGate] Weekly report {first} – {last}: {children}",
        "intro": "Your children's week {first} – {last} through SafeGate:",
        "blocked": "{child}: {n} blocked attempt{s}",
        "most": "most: {cats}",
        "none": "{child}: nothing was blocked",
        "alerts": "{n} alert{s}",
        "over": "over the time budget for {target} on {days} day{s}",
        "link": "The full report (printable): {url}",
        "open": "Open SafeGate, the child's page, Report, for the full report.",
        "talk": "Take a few minutes with your child to talk about the week. For help, call "
                "the national child protection hotline 111 (free).",
        "why": "You receive this because the weekly report by e-mail is on in SafeGate "
               "(Alerts page, Notifications); turn it off there to stop it.",
    },
}


_GROUPS = {
    "vi": {"social": "mạng xã hội", "video": "video", "games": "trò chơi", "chat": "nhắn tin",
           "ai": "chatbot AI", "shopping": "mua sắm", "music": "âm nhạc",
           "streaming": "phim và truyền hình", "education": "học tập", "other": "khác"},
    "en": {"social": "social networks", "video": "video", "games": "games", "chat": "chat",
           "ai": "AI chatbots", "shopping": "shopping", "music": "music",
           "streaming": "films and TV", "education": "learning", "other": "other"},
}


def _category_names(locale: str) -> dict[str, str]:
    return {c.id: (c.name_en if locale == "en" else c.name_vi) for c in categories()}


def _target_name(target: str, locale: str) -> str:
    """A budget's target as a parent reads it: a group's name, or a service's."""
    if target.startswith("group:"):
        group = target.removeprefix("group:")
        return _GROUPS[locale].get(group, group)
    try:
        found = service(target)
    except ValueError:
        return target
    return found.name if locale == "en" else found.name_vi


def compose_weekly(reports: list[ChildReport], *, locale: str, base_url: str) -> Message:
    """One parent's weekly e-mail over ``reports`` (one per child, the same week), in
    ``locale`` (vi or en): counts and category names only, never a site or a message. Pure."""
    loc = locale if locale in _TEXT else "vi"
    text = _TEXT[loc]
    names = _category_names(loc)
    first, last = reports[0].first, reports[0].last
    span = {"first": _day(first, loc), "last": _day(last, loc)}
    lines = [text["intro"].format(**span), ""]
    for r in reports:
        if r.blocked_total:
            parts = [text["blocked"].format(child=r.child, n=r.blocked_total,
                                            s=_s(r.blocked_total))]
            parts.append(text["most"].format(
                cats=_categories(r.by_category[:TOP_CATEGORIES], names)))
        else:
            parts = [text["none"].format(child=r.child)]
        if r.alerts:
            parts.append(text["alerts"].format(n=r.alerts, s=_s(r.alerts)))
        for b in r.budgets:
            if b.over_days:
                parts.append(text["over"].format(target=_target_name(b.target, loc),
                                                 days=b.over_days,
                                                 s="" if b.over_days == 1 else "s"))
        line = "- " + "; ".join(parts) + "."
        if base_url:
            url = (f"{base_url.rstrip('/')}/children/{r.child_id}/report/print"
                   f"?period=week&day={r.last.isoformat()}")
            line += "\n  " + text["link"].format(url=url)
        lines.append(line)
    if not base_url:
        lines += ["", text["open"]]
    lines += ["", text["talk"], "", text["why"]]
    subject = text["subject"].format(**span, children=", ".join(r.child for r in reports))
    home = f"{base_url.rstrip('/')}/household" if base_url else None
    return Message(subject=subject, body="\n".join(lines), url=home)


def _day(d: date, locale: str) -> str:
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
              "Dec")
    return f"{d.day:02d}/{d.month:02d}" if locale == "vi" else f"{d.day} {months[d.month - 1]}"


# ---------------------------------------------------------------- a school's message

_SCHOOL_TEXT = {
    "vi": {
        "subject": "[SafeGate] Báo cáo tuần {first} – {last}: {school}",
        "intro": "Tuần {first} – {last} của {school} qua SafeGate, theo lớp. Chỉ tính các "
                 "học sinh đã có đồng ý cho báo cáo (của cha mẹ, và của học sinh từ 7 "
                 "tuổi): đã tính {counted} trong {students} học sinh.",
        "class": "Lớp {name} ({year})",
        "no_class": "Chưa xếp lớp",
        "counted": "tính {counted} trong {students} học sinh",
        "blocked": "{n} lần truy cập bị chặn",
        "most": "nhiều nhất: {cats}",
        "none": "không có truy cập nào bị chặn",
        "alerts": "{n} cảnh báo",
        "link": "Trang của trường: {url}",
        "open": "Mở SafeGate, trang Trường học, để xem các lớp.",
        "talk": "Chỉ có số liệu và tên nhóm nội dung: thư này không nêu tên học sinh, trang "
                "web hay tin nhắn nào. Khi cần hỗ trợ một học sinh, gọi Tổng đài quốc gia "
                "bảo vệ trẻ em 111 (miễn phí).",
        "why": "Bạn nhận thư này vì là quản trị SafeGate của trường và đã bật báo cáo tuần "
               "qua thư điện tử (trang Cảnh báo, mục Thông báo); tắt ở đó nếu không muốn "
               "nhận nữa.",
    },
    "en": {
        "subject": "[SafeGate] Weekly report {first} – {last}: {school}",
        "intro": "{school}'s week {first} – {last} through SafeGate, per class. Only the "
                 "students whose reports consents are recorded (the parent's, and the "
                 "student's from 7) are counted: {counted} of {students} students.",
        "class": "Class {name} ({year})",
        "no_class": "Without a class",
        "counted": "{counted} of {students} students counted",
        "blocked": "{n} blocked attempt{s}",
        "most": "most: {cats}",
        "none": "nothing was blocked",
        "alerts": "{n} alert{s}",
        "link": "The school's page: {url}",
        "open": "Open SafeGate, the School page, for the classes.",
        "talk": "Counts and category names only: this message names no student, site or "
                "message. To get help for a student, call the national child protection "
                "hotline 111 (free).",
        "why": "You receive this as your school's SafeGate administrator because the weekly "
               "report by e-mail is on (Alerts page, Notifications); turn it off there to "
               "stop it.",
    },
}


@dataclass(frozen=True, slots=True)
class ClassWeek:
    """One class's week in a school's message: counts and categories only."""

    name: str | None  # None: the school's children in no class
    school_year: str | None
    students: int
    counted: int  # the students with the reports consents: the figures below are theirs
    blocked: int
    by_category: tuple[tuple[str, int], ...]  # most first, at most TOP_CATEGORIES
    alerts: int


def class_week(name: str | None, school_year: str | None, students: int,
               reports: list[ChildReport]) -> ClassWeek:
    """A class's week from its counted students' reports: their sums, nothing of a child.
    Pure."""
    by_category: Counter[str] = Counter()
    for r in reports:
        by_category.update(dict(r.by_category))
    return ClassWeek(name, school_year, students, len(reports),
                     sum(r.blocked_total for r in reports),
                     tuple(sorted(by_category.items(),
                                  key=lambda item: (-item[1], item[0]))[:TOP_CATEGORIES]),
                     sum(r.alerts for r in reports))


def compose_school_weekly(school: str, classes: list[ClassWeek], *, first: date, last: date,
                          locale: str, base_url: str) -> Message:
    """A school admin's weekly e-mail: per class, its students, how many were counted, their
    blocked attempts, top categories and alerts, in ``locale`` (vi or en). Pure."""
    loc = locale if locale in _SCHOOL_TEXT else "vi"
    text = _SCHOOL_TEXT[loc]
    names = _category_names(loc)
    span = {"first": _day(first, loc), "last": _day(last, loc), "school": school}
    lines = [text["intro"].format(**span, counted=sum(c.counted for c in classes),
                                  students=sum(c.students for c in classes)), ""]
    for c in classes:
        title = (text["no_class"] if c.name is None
                 else text["class"].format(name=c.name, year=c.school_year))
        parts = [text["counted"].format(counted=c.counted, students=c.students)]
        if c.blocked:
            parts.append(text["blocked"].format(n=c.blocked, s=_s(c.blocked)))
            parts.append(text["most"].format(cats=_categories(c.by_category, names)))
        elif c.counted:
            parts.append(text["none"])
        if c.counted:
            parts.append(text["alerts"].format(n=c.alerts, s=_s(c.alerts)))
        lines.append(f"- {title}: " + "; ".join(parts) + ".")
    home = f"{base_url.rstrip('/')}/school" if base_url else None
    lines += ["", text["link"].format(url=home) if home else text["open"]]
    lines += ["", text["talk"], "", text["why"]]
    return Message(subject=text["subject"].format(**span), body="\n".join(lines), url=home)


def _categories(counts: Iterable[tuple[str, int]], names: Mapping[str, str]) -> str:
    """"Name n, name n" for the categories behind the most blocked attempts."""
    return ", ".join(f"{names.get(cid, cid)} {n}" for cid, n in counts)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


# ---------------------------------------------------------------- the run


@dataclass(slots=True)
class ReportMailReport:
    sent: int = 0
    failed: int = 0
    gave_up: int = 0
    no_consent: int = 0  # accounts none of whose children (or students) has the reports consents
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"weekly reports: {self.sent} sent, {self.failed} failed (retried later), "
                f"{self.gave_up} given up, {self.no_consent} without the reports consent")

    def to_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "failed": self.failed, "gave_up": self.gave_up,
                "no_consent": self.no_consent, "errors": list(self.errors)}


@dataclass(frozen=True, slots=True)
class _Class:
    """A school's class as its admin's task lists it (``name`` None: the children in no
    class)."""

    name: str | None
    school_year: str | None
    children: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Due:
    account_id: int
    to: str
    locale: str
    week: date
    children: tuple[int, ...]
    tries: int
    kind: str = "household"  # or "school": the organisation's kind, which message is sent
    org: str = ""
    classes: tuple[_Class, ...] = ()  # a school's, every child in one of them


# Who receives a weekly report: an account of this role in an organisation of this kind.
RECIPIENTS = {"household": "parent", "school": "school_admin"}


def _due(app: App, now: datetime) -> list[_Due]:
    """The accounts whose report for their organisation's most recent week is due."""
    due: list[_Due] = []
    with app.sessions()() as session:
        rows = session.execute(
            select(Account, Organisation)
            .join(Organisation, Organisation.id == Account.org_id)
            .where(or_(*(and_(Organisation.kind == kind, Account.role == role)
                         for kind, role in RECIPIENTS.items())),
                   Account.email.is_not(None))
            .order_by(Account.id)).all()
        for account, org in rows:
            prefs = session.get(NotifyPrefs, account.id)
            if prefs is not None and not prefs.weekly_report:
                continue
            week = due_week(now.astimezone(zone(zone_ok(org.timezone))))
            record = session.scalar(select(ReportDelivery).where(
                ReportDelivery.account_id == account.id,
                ReportDelivery.week == week.isoformat()))
            if record is not None and (record.status != "failed" or (
                    record.next_try_at is not None and record.next_try_at > now)):
                continue
            children = tuple(session.scalars(select(Profile.id).where(
                Profile.org_id == org.id).order_by(Profile.id)))
            if children:
                classes = _classes(session, org.id, children) if org.kind == "school" else ()
                due.append(_Due(account.id, str(account.email), account.locale or "vi",
                                week, children, record.tries if record else 0, org.kind,
                                org.name, classes))
    return due


def _classes(session: Session, org_id: int, children: tuple[int, ...]) -> tuple[_Class, ...]:
    """The school's classes that have children (by school year, newest first, then name),
    and its children in no class last."""
    members: dict[int, list[int]] = {}
    for profile_id, class_id in session.execute(
            select(ClassMember.profile_id, ClassMember.class_id)
            .join(SchoolClass, SchoolClass.id == ClassMember.class_id)
            .where(SchoolClass.org_id == org_id).order_by(ClassMember.profile_id)):
        members.setdefault(class_id, []).append(profile_id)
    found = [_Class(row.name, row.school_year, tuple(members[row.id]))
             for row in session.scalars(select(SchoolClass).where(
                 SchoolClass.id.in_(list(members))).order_by(
                 SchoolClass.school_year.desc(), SchoolClass.name))]
    placed = {i for c in found for i in c.children}
    rest = tuple(i for i in children if i not in placed)
    return (*found, _Class(None, None, rest)) if rest else tuple(found)


def _reports(app: App, task: _Due, now: datetime,
             made: dict[tuple[int, date], ChildReport | None]) -> list[ChildReport]:
    """The week's report of each child with the reports consents (each made is audited;
    ``made`` keeps them for the run, so a child is reported once however many accounts
    receive the report)."""
    last = (task.week + timedelta(days=6)).isoformat()
    found = []
    for profile_id in task.children:
        key = (profile_id, task.week)
        if key not in made:
            try:
                made[key] = child_report(app, profile_id, "week", last, actor=ACTOR, now=now)
            except ConsentError:
                made[key] = None
        if (r := made[key]) is not None:
            found.append(r)
    return found


def _compose(task: _Due, reports: list[ChildReport], base_url: str) -> Message:
    """The task's message: a household's by child, a school's by class."""
    if task.kind != "school":
        return compose_weekly(reports, locale=task.locale, base_url=base_url)
    counted = {r.child_id: r for r in reports}
    weeks = [class_week(c.name, c.school_year, len(c.children),
                        [counted[i] for i in c.children if i in counted])
             for c in task.classes]
    return compose_school_weekly(task.org, weeks, first=task.week,
                                 last=task.week + timedelta(days=6), locale=task.locale,
                                 base_url=base_url)


def _record(app: App, task: _Due, error: str | None, children: list[ChildReport],
            now: datetime) -> str:
    settings = app.settings
    tries = task.tries + 1
    status, next_try = outcome(tries, error, settings["notify.max_tries"],
                               settings["notify.retry_delay"], now)
    with app.sessions().begin() as session:
        row = session.scalar(select(ReportDelivery).where(
            ReportDelivery.account_id == task.account_id,
            ReportDelivery.week == task.week.isoformat()))
        if row is None:
            row = ReportDelivery(account_id=task.account_id, week=task.week.isoformat())
            session.add(row)
        row.tried(status, tries, error, next_try, now)
        if error is None:
            for r in children:
                profile = session.get_one(Profile, r.child_id)
                audit.append(session, actor=ACTOR, action="report.send",
                             object_type="profile", object_id=r.child_id,
                             subject=profile.subject, org_id=profile.org_id,
                             legal_basis="consent",
                             detail={"account_id": task.account_id,
                                     "week": task.week.isoformat()})
    return status


def send_weekly_reports(app: App, senders: Senders | None = None, *,
                        now: datetime | None = None) -> ReportMailReport:
    """Send every due weekly report once (see the module docstring). Without an e-mail
    sender (``notify.smtp_host``) nothing is due."""
    now = now or utcnow()
    senders = senders if senders is not None else senders_from(app.settings)
    report = ReportMailReport()
    if senders.email is None:
        return report
    made: dict[tuple[int, date], ChildReport | None] = {}
    for task in _due(app, now):
        children = _reports(app, task, now, made)
        if not children:
            report.no_consent += 1
            continue
        message = _compose(task, children, app.settings["notify.base_url"])
        try:
            senders.email(task.to, message)
            error = None
        except SendError as exc:
            error = str(exc)[:290]
        status = _record(app, task, error, children, now)
        if status == "sent":
            report.sent += 1
            continue
        setattr(report, status, getattr(report, status) + 1)
        report.errors.append(f"weekly report to account {task.account_id}: {error}")
        log.warning("weekly report to account %d: %s (try %d%s)", task.account_id, error,
                    task.tries + 1, "; given up" if status == "gave_up" else "; will retry")
    return report
