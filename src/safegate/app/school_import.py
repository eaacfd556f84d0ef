"""Bulk import of a school's students and devices from a CSV file (docs/web.md, "Schools").

Columns (a header row with these names, in any order; UTF-8, comma or semicolon):
``class, student, birth_year, device, kind, address``. One row per device; a student with no
device has empty device columns; a student with several devices has several rows. ``address``
is an IP address, a CIDR network or a MAC address. Classes and students that do not exist
yet are created (classes in the given school year); existing students of the same class are
reused.

All or nothing, like ``app.family_file``: the whole file is checked first and every bad row
is named by its row number (the header is row 1) and column; nothing is written unless
every row is good, and then everything is written in one change.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safegate.app.core import App
from safegate.app.family import (
    FamilyError,
    check_birth_year,
    check_choice,
    check_ip,
    check_mac,
    check_name,
    preset_policy,
    this_year,
)
from safegate.app.family_file import ImportProblems
from safegate.app.school import (
    add_class_windows,
    check_school_year,
    class_windows,
    create_class,
    find_class,
    find_school,
    school_year_of,
)
from safegate.privacy import audit
from safegate.store import choices
from safegate.store import family as repo
from safegate.store.models import ClassMember, Device, Policy, Profile, Schedule, SchoolClass
from safegate.store.policy_fields import validate_policy_changes

COLUMNS = ("class", "student", "birth_year", "device", "kind", "address")
REQUIRED = ("class", "student", "birth_year")
MAX_BYTES = 1_000_000  # a school of a few thousand pupils fits many times over
MAX_ROWS = 20_000


@dataclass(frozen=True, slots=True)
class Row:
    line: int  # the row number in the file (header: 1)
    klass: str
    student: str
    birth_year: int
    device: str | None
    kind: str
    ip: str | None
    mac: str | None


def decode(data: bytes) -> str:
    """The file's text (UTF-8, a byte-order mark allowed), or one clear error."""
    if len(data) > MAX_BYTES:
        raise ImportProblems([f"the file is {len(data):,} bytes; the limit is "
                              f"{MAX_BYTES:,} bytes (split it by class)"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportProblems([f"the file is not UTF-8 text (byte {exc.start}); save it as "
                              "CSV UTF-8"]) from None


def _address(value: str, where: str) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    if value.count(":") == 5 or value.count("-") == 5:
        return None, check_mac(value, where)
    return check_ip(value, where), None


def parse_rows(text: str, year_now: int) -> list[Row]:
    """Every row checked (pure): the rows, or ImportProblems naming each bad row and column."""
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportProblems(["the file is empty: the first row names the columns "
                              f"({', '.join(COLUMNS)})"]) from None
    except csv.Error as exc:
        raise ImportProblems([f"row 1: {exc}"]) from None
    problems = [f"row 1: unknown column {h!r} (columns: {', '.join(COLUMNS)})"
                for h in header if h not in COLUMNS]
    problems += [f"row 1: column {c!r} is missing" for c in REQUIRED if c not in header]
    if problems:
        raise ImportProblems(problems)
    rows: list[Row] = []
    seen: dict[tuple[str, str], int] = {}
    students: dict[str, tuple[str, int, int]] = {}
    try:
        for line, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                problems.append(f"row {line}: more than {MAX_ROWS:,} rows; split the file")
                break
            if len(values) != len(header):
                problems.append(f"row {line}: {len(values)} values for {len(header)} columns")
                continue
            row = _check_row(line, dict(zip(header, (v.strip() for v in values), strict=True)),
                             year_now, problems)
            if row is None:
                continue
            key = row.student.casefold()
            earlier = students.setdefault(key, (row.klass, row.birth_year, line))
            if earlier[:2] != (row.klass, row.birth_year):
                problems.append(f"row {line}, column student: {row.student!r} is in row "
                                f"{earlier[2]} with another class or birth year")
                continue
            if row.device is not None:
                pair = (key, row.device.casefold())
                if pair in seen:
                    problems.append(f"row {line}, column device: {row.student!r} has a "
                                    f"device {row.device!r} in row {seen[pair]} already")
                    continue
                seen[pair] = line
            rows.append(row)
    except csv.Error as exc:
        problems.append(f"row {reader.line_num}: {exc}")
    if problems:
        raise ImportProblems(problems)
    if not rows:
        raise ImportProblems(["the file has a header but no students"])
    return rows


def _check_row(line: int, cells: dict[str, str], year_now: int,
               problems: list[str]) -> Row | None:
    before = len(problems)

    def run(column: str, check: Any) -> Any:
        try:
            return check()
        except FamilyError as exc:
            message = str(exc).split(": ", 1)[-1]
            problems.append(f"row {line}, column {column}: {message}")
            return None

    klass = run("class", lambda: check_name(cells.get("class", ""), "class"))
    student = run("student", lambda: check_name(cells.get("student", ""), "student"))
    raw_year = cells.get("birth_year", "")
    year: int | None = None
    if not raw_year.isdigit():
        problems.append(f"row {line}, column birth_year: {raw_year!r} is not a year")
    else:
        year = int(raw_year)
        run("birth_year", lambda: check_birth_year(year, year_now))
    device_name = cells.get("device", "")
    kind_text = cells.get("kind", "") or "other"
    address = cells.get("address", "")
    device = None
    kind = "other"
    ip = mac = None
    if device_name:
        device = run("device", lambda: check_name(device_name, "device"))
        kind = run("kind", lambda: check_choice(kind_text, choices.DEVICE_KINDS, "kind")) \
            or "other"
        ip, mac = run("address", lambda: _address(address, "address")) or (None, None)
    elif address or cells.get("kind", ""):
        problems.append(f"row {line}, column device: a kind or address needs a device name")
    if len(problems) > before or klass is None or student is None or year is None:
        return None
    return Row(line, klass, student, year, device, kind, ip, mac)


def import_csv(app: App, org_id: int, data: bytes, *, school_year: str | None = None,
               actor: str = "system") -> dict[str, Any]:
    """Import a (checked) school's CSV: counts of classes, students and devices created, or
    ImportProblems and nothing written.

    Written in bulk (one flush for the students, one for the rest): the one-row helpers of
    ``store.family`` re-read the whole school for every student, which made a 500-row file
    take seconds and grew with the square of its size."""
    text = decode(data)
    with app.change("policy", "school CSV import") as session:
        org = find_school(session, org_id)
        year = check_school_year(school_year) if school_year else school_year_of(
            datetime.now(UTC), org.timezone)
        rows = parse_rows(text, this_year(org.timezone))
        problems: list[str] = []
        created = {"classes": 0, "students": 0, "devices": 0}
        classes: dict[str, SchoolClass] = {}
        for row in rows:
            if row.klass.casefold() not in classes:
                klass = find_class(session, org, row.klass, year)
                if klass is None:
                    klass = create_class(session, org, row.klass, year)
                    created["classes"] += 1
                classes[row.klass.casefold()] = klass
        existing = {p.name.casefold(): p for p in repo.org_profiles(session, org.id)}
        members = {m.profile_id: m.class_id for m in session.scalars(
            select(ClassMember).join(SchoolClass, SchoolClass.id == ClassMember.class_id)
            .where(SchoolClass.org_id == org.id))}
        students: dict[str, tuple[Profile, SchoolClass]] = {}
        new: list[Profile] = []
        for row in rows:
            key = row.student.casefold()
            if key in students:
                continue
            klass = classes[row.klass.casefold()]
            profile = existing.get(key)
            if profile is None:
                band = check_birth_year(row.birth_year, this_year(org.timezone))
                policy = Policy(**validate_policy_changes(preset_policy(band)))
                profile = Profile(org_id=org.id, name=row.student, birth_year=row.birth_year,
                                  preset=band.id, policy=policy)
                session.add(profile)
                new.append(profile)
            elif members.get(profile.id, klass.id) != klass.id:
                problems.append(f"row {row.line}, column student: {row.student!r} is "
                                "already in another class")
                continue
            students[key] = (profile, klass)
        session.flush()
        for profile in new:
            audit.append(session, actor=actor, action="child.add", object_type="profile",
                         subject=profile.subject, org_id=org.id,
                         detail={"preset": profile.preset, "via": "csv"})
        created["students"] = len(new)
        joining = [(p, k) for p, k in students.values() if p.id not in members]
        session.add_all(ClassMember(profile_id=p.id, class_id=k.id) for p, k in joining)
        first_rows: dict[str, int] = {}
        for row in rows:
            first_rows.setdefault(row.student.casefold(), row.line)
        problems += _class_hours(session, joining, first_rows, actor)
        reused = [p.id for p in existing.values() if p.name.casefold() in students]
        taken = {(d.profile_id, d.name.casefold()) for d in session.scalars(
            select(Device).where(Device.profile_id.in_(reused)))} if reused else set()
        for row in rows:
            if row.device is None or row.student.casefold() not in students:
                continue
            profile = students[row.student.casefold()][0]
            if (profile.id, row.device.casefold()) in taken:
                problems.append(f"row {row.line}, column device: {row.student!r} has a "
                                f"device named {row.device!r} already")
                continue
            session.add(Device(profile_id=profile.id, name=row.device, kind=row.kind,
                               ip_cidr=row.ip, mac=row.mac))
            created["devices"] += 1
        if problems:
            raise ImportProblems(problems)  # rolls the whole change back
        session.flush()
        return {**created, "rows": len(rows), "school_year": year}


def _class_hours(session: Session, joining: list[tuple[Profile, SchoolClass]],
                 lines: dict[str, int], actor: str) -> list[str]:
    """Give each child joining a class the class's school-hours windows (as
    ``app.school.move_pupil`` does); the problems: a child with an own window of the same
    name, named by the student's first row."""
    problems: list[str] = []
    templates: dict[int, list[Schedule]] = {}
    for profile, klass in joining:
        if klass.id not in templates:
            templates[klass.id] = class_windows(session, klass.id)
        windows = templates[klass.id]
        clash = add_class_windows(session, profile, windows, klass.id, actor)
        if clash:
            problems.append(f"row {lines[profile.name.casefold()]}, column class: "
                            f"{profile.name!r} already has a schedule named {clash!r}, "
                            f"as class {klass.name!r} does")
    return problems
