"""Schools: classes of a school year, the children in each class and the teachers assigned to
it, a school-hours window for a whole class at once, and the school's infected-device alerts.

Callers check the class or organisation first (``app.access.check_class`` / ``check_org``);
these functions take ids that were checked. Mistakes raise ``SchoolError`` (one line).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safegate.app.bus import touches
from safegate.app.core import App
from safegate.app.family import check_name
from safegate.app.schedules import WindowSpec, audit_change, describe, find_child, window_row
from safegate.policy.schedule import ScheduleError
from safegate.privacy import audit
from safegate.store.models import (
    Account,
    Alert,
    ClassMember,
    ClassTeacher,
    Organisation,
    Profile,
    Schedule,
    SchoolClass,
)

_YEAR = re.compile(r"^(\d{4})-(\d{4})$")


class SchoolError(ValueError):
    """Bad input for a school operation; the message names the field."""


@dataclass(frozen=True, slots=True)
class ClassView:
    id: int
    name: str
    school_year: str
    children: int
    teachers: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "school_year": self.school_year,
                "children": self.children, "teachers": list(self.teachers)}


@dataclass(frozen=True, slots=True)
class Pupil:
    id: int
    name: str
    birth_year: int | None
    devices: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "birth_year": self.birth_year,
                "devices": self.devices}


# ---------------------------------------------------------------- checks (pure)


def school_year_of(now: datetime, tz: str) -> str:
    """The Vietnamese school year a moment falls in (it starts in August/September)."""
    local = now.astimezone(ZoneInfo(tz))
    first = local.year if local.month >= 8 else local.year - 1
    return f"{first}-{first + 1}"


def check_school_year(value: str) -> str:
    found = _YEAR.match(value.strip())
    if found is None or int(found.group(2)) != int(found.group(1)) + 1:
        raise SchoolError(f"school_year: {value!r} is not a school year like 2026-2027")
    return value.strip()


# ---------------------------------------------------------------- classes


def find_school(session: Session, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise SchoolError(f"no organisation {org_id}")
    if org.kind != "school":
        raise SchoolError(f"{org.name!r} is a {org.kind}, not a school: classes belong to "
                          "schools")
    return org


def find_class(session: Session, org: Organisation, name: str,
               school_year: str) -> SchoolClass | None:
    """The school's class of that name (any case) in that year. Compared in Python: SQLite's
    ``lower()`` folds ASCII letters only, so "Ú6a" was not found as "ú6A" and adding it again
    met the unique constraint (a 500, found by the API fuzzer)."""
    wanted = name.casefold()
    for row in session.scalars(select(SchoolClass).where(
            SchoolClass.org_id == org.id, SchoolClass.school_year == school_year)):
        if row.name.casefold() == wanted:
            return row
    return None


def create_class(session: Session, org: Organisation, name: str,
                 school_year: str) -> SchoolClass:
    row = SchoolClass(org_id=org.id, name=name, school_year=school_year)
    session.add(row)
    session.flush()
    return row


def add_class(app: App, org_id: int, name: str, school_year: str | None = None, *,
              actor: str = "operator") -> ClassView:
    name = check_name(name)
    with app.sessions().begin() as session:
        org = find_school(session, org_id)
        year = check_school_year(school_year) if school_year else school_year_of(
            datetime.now(UTC), org.timezone)
        if find_class(session, org, name, year) is not None:
            raise SchoolError(f"name: {org.name!r} has a class {name!r} in {year} already")
        row = create_class(session, org, name, year)
        audit.append(session, actor=actor, action="class.add", object_type="class",
                     object_id=row.id, org_id=org.id,
                     detail={"name": name, "school_year": year})
        return _class_view(session, row)


def _class_view(session: Session, row: SchoolClass) -> ClassView:
    count = session.scalar(select(func.count()).where(ClassMember.class_id == row.id)) or 0
    teachers = session.scalars(select(Account).join(
        ClassTeacher, ClassTeacher.account_id == Account.id).where(
        ClassTeacher.class_id == row.id).order_by(Account.id))
    return ClassView(row.id, row.name, row.school_year, int(count),
                     tuple(a.display_name for a in teachers))


def list_classes(app: App, org_id: int, *, teacher_id: int | None = None) -> list[ClassView]:
    """The school's classes (only those of one teacher's account, when named)."""
    with app.sessions()() as session:
        stmt = select(SchoolClass).where(SchoolClass.org_id == org_id)
        if teacher_id is not None:
            stmt = stmt.join(ClassTeacher, ClassTeacher.class_id == SchoolClass.id).where(
                ClassTeacher.account_id == teacher_id)
        rows = session.scalars(stmt.order_by(SchoolClass.school_year.desc(), SchoolClass.name))
        return [_class_view(session, r) for r in rows]


def class_children(app: App, class_id: int, *, actor: str) -> tuple[ClassView, list[Pupil]]:
    """A (checked) class and its children; the listing is audited."""
    with app.sessions().begin() as session:
        row = session.get_one(SchoolClass, class_id)
        profiles = list(session.scalars(select(Profile).join(
            ClassMember, ClassMember.profile_id == Profile.id).where(
            ClassMember.class_id == class_id).order_by(Profile.name)))
        pupils = [Pupil(p.id, p.name, p.birth_year, len(p.devices)) for p in profiles]
        audit.append(session, actor=actor, action="child.view", object_type="class",
                     object_id=str(class_id), org_id=row.org_id,
                     detail={"class": class_id, "count": len(pupils)})
        return _class_view(session, row), pupils


def assign_teacher(app: App, class_id: int, login: str, *,
                   actor: str = "operator") -> ClassView:
    """Assign a teacher's account (of the same school) to a (checked) class: a permission
    change, audited."""
    from safegate.app.accounts import AccountError, normalise_login

    try:
        kind, value = normalise_login(login)
    except AccountError as exc:
        raise SchoolError(str(exc)) from None
    with app.sessions().begin() as session:
        row = session.get_one(SchoolClass, class_id)
        column = Account.email if kind == "email" else Account.phone
        account = session.scalar(select(Account).where(column == value,
                                                       Account.org_id == row.org_id))
        if account is None or account.role != "teacher":
            raise SchoolError(f"teacher: no teacher account {value!r} in this school")
        if session.get(ClassTeacher, (class_id, account.id)) is None:
            session.add(ClassTeacher(class_id=class_id, account_id=account.id))
            session.flush()
            audit.append(session, actor=actor, action="class.teacher_assign",
                         object_type="class", object_id=class_id, org_id=row.org_id,
                         detail={"account": account.id})
        return _class_view(session, row)


def change_class(app: App, class_id: int, *, name: str | None = None,
                 school_year: str | None = None, actor: str = "operator") -> ClassView:
    """Rename a (checked) class or move it to another school year (6A of 2025-2026 becomes
    7A of 2026-2027): its children and teachers go with it. Audited."""
    with app.sessions().begin() as session:
        row = session.get_one(SchoolClass, class_id)
        org = find_school(session, row.org_id)
        new_name = row.name if name is None or not name.strip() else check_name(name)
        year = row.school_year if school_year is None or not school_year.strip() \
            else check_school_year(school_year)
        same = find_class(session, org, new_name, year)
        if same is not None and same.id != row.id:
            raise SchoolError(f"name: {org.name!r} has a class {new_name!r} in {year} already")
        before = {"name": row.name, "school_year": row.school_year}
        row.name, row.school_year = new_name, year
        session.flush()
        changed = {k: [v, getattr(row, k)] for k, v in before.items() if getattr(row, k) != v}
        if changed:
            audit.append(session, actor=actor, action="class.change", object_type="class",
                         object_id=class_id, org_id=row.org_id, detail=changed)
        return _class_view(session, row)


def remove_pupil(app: App, class_id: int, child_id: int, *,
                 actor: str = "operator") -> ClassView:
    """Take a child out of a (checked) class: the class's teachers no longer see the child
    and the class's school-hours windows leave the child. The child stays in the school with
    their devices, policy and own windows (``move_pupil`` or a CSV import may put them in
    another class). One change, audited."""
    with app.change("policy", f"class {class_id} child {child_id} removed") as session:
        row = session.get_one(SchoolClass, class_id)
        member = session.get(ClassMember, child_id)
        if member is None or member.class_id != class_id:
            raise SchoolError(f"child: no child {child_id} in class {row.name!r}")
        profile = session.get_one(Profile, child_id)
        touches(session, profile.id)
        _drop_class_windows(session, profile, class_id, actor)
        session.delete(member)
        session.flush()
        audit.append(session, actor=actor, action="class.member_remove", object_type="class",
                     object_id=class_id, subject=profile.subject, org_id=row.org_id,
                     detail={"class": class_id})
        return _class_view(session, row)


def move_pupil(app: App, class_id: int, child_id: int, *,
               actor: str = "operator") -> ClassView:
    """Put a child of the school into a (checked) class, out of the class they were in (if
    any): the old class's school-hours windows leave the child and the new class's come
    with them, in one change. Refused, with nothing changed, when the child is of another
    organisation or already has a window of the same name as one of the new class's."""
    with app.change("policy", f"class {class_id} child {child_id} moved in") as session:
        row = session.get_one(SchoolClass, class_id)
        profile = session.get_one(Profile, child_id)
        if profile.org_id != row.org_id:
            raise SchoolError(f"child: {profile.name!r} is not in this class's school")
        member = session.get(ClassMember, child_id)
        old = None if member is None else member.class_id
        if old == class_id:
            raise SchoolError(f"child: {profile.name!r} is in class {row.name!r} already")
        touches(session, profile.id)
        if old is not None:
            _drop_class_windows(session, profile, old, actor)
        clash = add_class_windows(session, profile, class_windows(session, class_id),
                                  class_id, actor)
        if clash:
            raise ScheduleError(f"{profile.name} already has a schedule named {clash!r}, "
                                f"as class {row.name!r} does")
        if member is None:
            session.add(ClassMember(profile_id=profile.id, class_id=class_id))
        else:
            member.class_id = class_id
        session.flush()
        audit.append(session, actor=actor, action="class.member_move", object_type="class",
                     object_id=class_id, subject=profile.subject, org_id=row.org_id,
                     detail={"class": class_id, "from": old})
        return _class_view(session, row)


def class_windows(session: Session, class_id: int) -> list[Schedule]:
    """The class's school-hours windows, one of each name (as its children have them)."""
    seen: dict[str, Schedule] = {}
    for window in session.scalars(select(Schedule).where(Schedule.class_id == class_id)
                                  .order_by(Schedule.name, Schedule.id)):
        seen.setdefault(window.name.casefold(), window)
    return list(seen.values())


def add_class_windows(session: Session, profile: Profile, templates: Sequence[Schedule],
                      class_id: int, actor: str) -> str | None:
    """Put copies of a class's windows on a child joining it, each audited; or, when the
    child has a window of the same name as one of them, nothing and that name."""
    if not templates:
        return None
    own = {n.casefold() for n in session.scalars(
        select(Schedule.name).where(Schedule.profile_id == profile.id))}
    clash = sorted(w.name for w in templates if w.name.casefold() in own)
    if clash:
        return clash[0]
    for template in templates:
        window = copy_window(template, profile.id)
        session.add(window)
        session.flush()
        audit_change(session, profile, actor, "schedule.add", object_type="schedule",
                     object_id=window.id, via="class", class_id=class_id)
    return None


def copy_window(template: Schedule, profile_id: int) -> Schedule:
    return Schedule(profile_id=profile_id, name=template.name, days=template.days,
                    start_minute=template.start_minute, end_minute=template.end_minute,
                    action=template.action, block_all=template.block_all,
                    categories=list(template.categories), services=list(template.services),
                    allow=list(template.allow), enabled=template.enabled,
                    class_id=template.class_id)


def _drop_class_windows(session: Session, profile: Profile, class_id: int,
                        actor: str) -> None:
    """Remove from ``profile`` the windows class ``class_id`` put on it, each audited."""
    for window in session.scalars(select(Schedule).where(
            Schedule.profile_id == profile.id, Schedule.class_id == class_id)):
        audit_change(session, profile, actor, "schedule.remove", object_type="schedule",
                     object_id=window.id, via="class", class_id=class_id)
        session.delete(window)
    session.flush()


# ---------------------------------------------------------------- school hours


def class_schedule(app: App, class_id: int, spec: WindowSpec, *,
                   actor: str = "operator") -> list[dict[str, Any]]:
    """The same window for every child of a (checked) class: one change on the bus, all or
    nothing (a child who already has a window of that name is named in the refusal); each
    child's new window audited as ``actor``."""
    template = window_row(spec)
    with app.change("policy", f"class {class_id} schedule {template.name}") as session:
        row = session.get_one(SchoolClass, class_id)
        org = session.get_one(Organisation, row.org_id)
        profiles = list(session.scalars(select(Profile).join(
            ClassMember, ClassMember.profile_id == Profile.id).where(
            ClassMember.class_id == class_id).order_by(Profile.name)))
        if not profiles:
            raise SchoolError(f"class {row.name!r} has no children yet")
        taken = [p.name for p in profiles if session.scalar(select(Schedule.id).where(
            Schedule.profile_id == p.id, Schedule.name == template.name)) is not None]
        if taken:
            raise ScheduleError(f"already have a schedule named {template.name!r}: "
                                f"{', '.join(taken)}")
        now = datetime.now(UTC)
        out = []
        for profile in profiles:
            touches(session, profile.id)
            window = window_row(spec)
            window.profile_id, window.class_id = profile.id, class_id
            session.add(window)
            session.flush()
            audit_change(session, profile, actor, "schedule.add", object_type="schedule",
                         object_id=window.id, via="class", class_id=class_id)
            out.append({"child": profile.name, "child_id": profile.id,
                        **describe(window, org.timezone, now)})
        return out


# ---------------------------------------------------------------- infected devices


def infected_devices(app: App, org_id: int, *, actor: str,
                     profile_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """The DNS signals' ``infected_device`` alerts of the organisation's children, one line
    per device (newest first): how many detections, first and last seen. Audited."""
    with app.sessions().begin() as session:
        stmt = (select(Alert, Profile).join(Profile, Profile.id == Alert.profile_id)
                .where(Profile.org_id == org_id, Alert.category == "infected_device"))
        if profile_ids is not None:
            stmt = stmt.where(Profile.id.in_(list(profile_ids)))
        per: dict[tuple[int, str], dict[str, Any]] = {}
        for alert, profile in session.execute(stmt.order_by(Alert.id)).all():
            device = alert.conversation.removeprefix("dns:")
            line = per.setdefault((profile.id, device), {
                "child": profile.name, "child_id": profile.id, "device": device,
                "detections": 0, "alerts": 0, "first_seen": alert.created_at,
                "last_seen": alert.last_seen_at})
            line["detections"] += alert.count
            line["alerts"] += 1
            line["first_seen"] = min(line["first_seen"], alert.created_at)
            line["last_seen"] = max(line["last_seen"], alert.last_seen_at)
        lines = sorted(per.values(), key=lambda d: d["last_seen"], reverse=True)
        audit.append(session, actor=actor, action="alert.view", object_type="organisation",
                     org_id=org_id, detail={"kind": "infected_device", "count": len(lines)})
        return [{**d, "first_seen": d["first_seen"].isoformat(),
                 "last_seen": d["last_seen"].isoformat()} for d in lines]


def school_id(app: App, ref: str | None) -> int:
    """The id of a school organisation by name or ``id:N`` (None: the only organisation)."""
    from safegate.store import family as repo

    with app.sessions()() as session:
        return find_school(session, repo.find_org(session, ref).id).id


def class_exists(app: App, class_id: int) -> int:
    """``class_id`` if there is such a class (operators' commands, which see every school)."""
    with app.sessions()() as session:
        if session.get(SchoolClass, class_id) is None:
            raise SchoolError(f"no class {class_id}")
        return class_id


def child_id(app: App, ref: str) -> int:
    """A child's id by name or ``id:N`` (operators' commands)."""
    with app.sessions()() as session:
        return find_child(session, ref).id
