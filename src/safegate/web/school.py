"""School pages and API (docs/web.md, "Schools"): the classes of the caller's school (a
teacher: their own), a class with its children, renaming a class or moving it to another
school year, taking a child out of a class, a school-hours window for a whole class, the
CSV import of students and devices with its row errors, and the infected-device alerts.

Every handler checks through ``app.access`` (``check_class`` for a class, ``check_org`` for
the school) and calls the app layer; the school is always the caller's organisation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from safegate.app import access, school
from safegate.app.family_file import ImportProblems
from safegate.app.schedules import WindowSpec
from safegate.app.school_import import MAX_BYTES, import_csv
from safegate.web import i18n
from safegate.web.pages import FormStr, OptStr, Signed, back, render
from safegate.web.security import CSRF_FIELD, Auth, api_auth, check_form_csrf, sg_app

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/school", tags=["school"])
Authed = Annotated[Auth, Depends(api_auth)]
UPLOAD_SLACK = 64 * 1024  # multipart headers and boundaries around the file
# What a school-hours window from the class page blocks unless it blocks everything.
SCHOOL_HOURS = ("games", "social", "video", "gambling")


def _is_admin(auth: Auth) -> bool:
    try:
        access.check_org(auth.caller, auth.caller.org_id, "change")
    except (access.Forbidden, LookupError):
        return False
    return True


def _classes(request: Request, auth: Auth) -> list[school.ClassView]:
    app = sg_app(request)
    teacher = auth.caller.account_id if auth.caller.role == "teacher" else None
    if teacher is None:
        access.check_org(auth.caller, auth.caller.org_id)
    return school.list_classes(app, auth.caller.org_id, teacher_id=teacher)


def _alerts(request: Request, auth: Auth) -> list[dict[str, Any]]:
    access.check_org(auth.caller, auth.caller.org_id, kind="alert")
    return school.infected_devices(sg_app(request), auth.caller.org_id,
                                   actor=auth.caller.actor)


def _school_page(request: Request, auth: Auth, status: int = 200,
                 problems: list[str] | None = None, imported: dict[str, Any] | None = None,
                 ) -> Response:
    admin = _is_admin(auth)
    return render(request, "school.html", auth.caller.locale, status=status, auth=auth,
                  classes=_classes(request, auth), admin=admin,
                  alerts=_alerts(request, auth) if admin else None, problems=problems,
                  imported=imported, max_kb=MAX_BYTES // 1000,
                  note=request.query_params.get("note"))


@router.get("/school")
def school_page(request: Request, auth: Signed) -> Response:
    return _school_page(request, auth)


@router.post("/school/classes")
def add_class(request: Request, auth: Signed, name: FormStr, school_year: OptStr = None,
              csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    access.check_org(auth.caller, auth.caller.org_id, "change")
    made = school.add_class(sg_app(request), auth.caller.org_id, name, school_year or None,
                            actor=auth.caller.actor)
    return back(f"/school/classes/{made.id}", "saved")


@router.post("/school/import")
async def import_page(request: Request, auth: Signed) -> Response:
    _ = i18n.gettext_for(auth.caller.locale)
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_BYTES + UPLOAD_SLACK:
        return await _in_thread(_school_page, request, auth, 413, [
            _("The file is too large: at most %(kb)s kB. Split it by class.")
            % {"kb": MAX_BYTES // 1000}])
    form = await request.form(max_files=1, max_fields=5)
    check_form_csrf(auth, str(form.get(CSRF_FIELD) or ""))
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return await _in_thread(_school_page, request, auth, 400,
                                [_("Choose a CSV file to upload.")])
    data = await upload.read(MAX_BYTES + 1)
    year = str(form.get("school_year") or "") or None
    return await _in_thread(_import_and_show, request, auth, data, year)


async def _in_thread(fn: Any, *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)


def _import_and_show(request: Request, auth: Auth, data: bytes,
                     year: str | None) -> Response:
    access.check_org(auth.caller, auth.caller.org_id, "change")
    try:
        done = import_csv(sg_app(request), auth.caller.org_id, data, school_year=year,
                          actor=auth.caller.actor)
    except ImportProblems as exc:
        return _school_page(request, auth, 400, problems=exc.problems)
    return _school_page(request, auth, imported=done)


@router.get("/school/classes/{class_id}")
def class_page(request: Request, auth: Signed, class_id: int) -> Response:
    app = sg_app(request)
    cid = access.check_class(app, auth.caller, class_id)
    view, pupils = school.class_children(app, cid, actor=auth.caller.actor)
    admin = _is_admin(auth)
    others = [c for c in school.list_classes(app, auth.caller.org_id) if c.id != cid] \
        if admin else []
    return render(request, "school_class.html", auth.caller.locale, auth=auth, klass=view,
                  pupils=pupils, admin=admin, others=others,
                  note=request.query_params.get("note"))


@router.post("/school/classes/{class_id}/schedule")
def class_window(request: Request, auth: Signed, class_id: int, name: FormStr, days: FormStr,
                 start: FormStr, end: FormStr, csrf: OptStr = None,
                 block_all: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    cid = access.check_class(sg_app(request), auth.caller, class_id, "change")
    spec = WindowSpec(name=name, days=days, start=start, end=end,
                      block_all=block_all == "on",
                      block_categories=() if block_all == "on" else SCHOOL_HOURS)
    school.class_schedule(sg_app(request), cid, spec, actor=auth.caller.actor)
    return back(f"/school/classes/{cid}", "saved")


@router.post("/school/classes/{class_id}/teachers")
def class_teacher(request: Request, auth: Signed, class_id: int, login: FormStr,
                  csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    cid = access.check_class(sg_app(request), auth.caller, class_id, "change")
    school.assign_teacher(sg_app(request), cid, login, actor=auth.caller.actor)
    return back(f"/school/classes/{cid}", "saved")


@router.post("/school/classes/{class_id}")
def change_class(request: Request, auth: Signed, class_id: int, name: OptStr = None,
                 school_year: OptStr = None, csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    cid = access.check_class(sg_app(request), auth.caller, class_id, "change")
    school.change_class(sg_app(request), cid, name=name, school_year=school_year,
                        actor=auth.caller.actor)
    return back(f"/school/classes/{cid}", "saved")


def _pupil(request: Request, auth: Auth, class_id: int,
           child_id: int | str) -> tuple[int, int]:
    """The class and the child, both checked for a change."""
    cid = access.check_class(sg_app(request), auth.caller, class_id, "change")
    owned = access.check(sg_app(request), auth.caller, "child", child_id, "change")
    return cid, owned.profile_id


@router.post("/school/classes/{class_id}/pupils/remove")
def remove_pupil(request: Request, auth: Signed, class_id: int, child: FormStr,
                 csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    cid, pid = _pupil(request, auth, class_id, child)
    school.remove_pupil(sg_app(request), cid, pid, actor=auth.caller.actor)
    return back(f"/school/classes/{cid}", "saved")


@router.post("/school/classes/{class_id}/pupils/move")
def move_pupil(request: Request, auth: Signed, class_id: int, child: FormStr, to: FormStr,
               csrf: OptStr = None) -> Response:
    """Move a child of this class into the class ``to`` (both checked)."""
    check_form_csrf(auth, csrf)
    access.check_class(sg_app(request), auth.caller, class_id, "change")
    cid, pid = _pupil(request, auth, _class_ref(to), child)
    school.move_pupil(sg_app(request), cid, pid, actor=auth.caller.actor)
    return back(f"/school/classes/{cid}", "saved")


def _class_ref(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"to: {value!r} is not a class") from None


# ---------------------------------------------------------------- API


class ClassBody(BaseModel):
    name: str
    school_year: str | None = Field(None, description="YYYY-YYYY; empty: the current one")


class ClassChangeBody(BaseModel):
    name: str | None = Field(None, description="a new name; empty: kept")
    school_year: str | None = Field(None, description="YYYY-YYYY; empty: kept")


class WindowBody(BaseModel):
    name: str
    days: str = Field(description="e.g. mon-fri")
    start: str = Field(description="HH:MM")
    end: str = Field(description="HH:MM")
    block_all: bool = False
    block_categories: list[str] = []
    block_services: list[str] = []
    allow: list[str] = []


@api.get("/classes")
def api_classes(request: Request, auth: Authed) -> list[dict[str, Any]]:
    """The classes of the caller's school (a teacher: their own)."""
    return [c.to_dict() for c in _classes(request, auth)]


@api.post("/classes")
def api_add_class(request: Request, auth: Authed, body: ClassBody) -> dict[str, Any]:
    access.check_org(auth.caller, auth.caller.org_id, "change")
    return school.add_class(sg_app(request), auth.caller.org_id, body.name,
                            body.school_year, actor=auth.caller.actor).to_dict()


@api.get("/classes/{class_id}")
def api_class(request: Request, auth: Authed, class_id: int) -> dict[str, Any]:
    cid = access.check_class(sg_app(request), auth.caller, class_id)
    view, pupils = school.class_children(sg_app(request), cid, actor=auth.caller.actor)
    return {**view.to_dict(), "pupils": [p.to_dict() for p in pupils]}


@api.patch("/classes/{class_id}")
def api_change_class(request: Request, auth: Authed, class_id: int,
                     body: ClassChangeBody) -> dict[str, Any]:
    """Rename the class or move it to another school year (its children and teachers go
    with it)."""
    cid = access.check_class(sg_app(request), auth.caller, class_id, "change")
    return school.change_class(sg_app(request), cid, name=body.name,
                               school_year=body.school_year,
                               actor=auth.caller.actor).to_dict()


@api.delete("/classes/{class_id}/pupils/{child_id}")
def api_remove_pupil(request: Request, auth: Authed, class_id: int,
                     child_id: int) -> dict[str, Any]:
    """Take a child out of the class (the child stays in the school; the class's teachers
    no longer see them)."""
    cid, pid = _pupil(request, auth, class_id, child_id)
    return school.remove_pupil(sg_app(request), cid, pid, actor=auth.caller.actor).to_dict()


@api.put("/classes/{class_id}/pupils/{child_id}")
def api_move_pupil(request: Request, auth: Authed, class_id: int,
                   child_id: int) -> dict[str, Any]:
    """Put a child of the school into the class, out of the class they were in (if any):
    the old class's school-hours windows leave the child, the new class's come with them."""
    cid, pid = _pupil(request, auth, class_id, child_id)
    return school.move_pupil(sg_app(request), cid, pid, actor=auth.caller.actor).to_dict()


@api.post("/classes/{class_id}/schedules")
def api_class_window(request: Request, auth: Authed, class_id: int,
                     body: WindowBody) -> list[dict[str, Any]]:
    """One window for every child of the class (one change)."""
    cid = access.check_class(sg_app(request), auth.caller, class_id, "change")
    spec = WindowSpec(name=body.name, days=body.days, start=body.start, end=body.end,
                      block_all=body.block_all, block_categories=tuple(body.block_categories),
                      block_services=tuple(body.block_services), allow=tuple(body.allow))
    return school.class_schedule(sg_app(request), cid, spec, actor=auth.caller.actor)


@api.post("/import")
async def api_import(request: Request, auth: Authed,
                     school_year: str | None = None) -> Response:
    """The CSV file as the request body (text/csv): every row imported, or nothing and
    ``problems`` naming each bad row and column (HTTP 400)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BYTES:
        raise HTTPException(413, f"the file is too large: at most {MAX_BYTES:,} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BYTES:
            raise HTTPException(413, f"the file is too large: at most {MAX_BYTES:,} bytes")
    return await _in_thread(_api_import, request, auth, bytes(data), school_year)


def _api_import(request: Request, auth: Auth, data: bytes, year: str | None) -> Response:
    access.check_org(auth.caller, auth.caller.org_id, "change")
    try:
        done = import_csv(sg_app(request), auth.caller.org_id, data, school_year=year,
                          actor=auth.caller.actor)
    except ImportProblems as exc:
        return JSONResponse({"error": str(exc).splitlines()[0], "problems": exc.problems},
                            status_code=400)
    return JSONResponse(done)


@api.get("/infected-devices")
def api_infected(request: Request, auth: Authed) -> list[dict[str, Any]]:
    """The school's devices with infected-device alerts (DNS signals), newest first."""
    return _alerts(request, auth)
