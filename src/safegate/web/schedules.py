"""A child's schedule on the web: the weekly grid of its windows (bedtime, school hours,
recreation) in the household's time zone, a form to add a window or change one in place,
remove, enable and disable, and the same operations in the API. The rules and messages are the
app layer's (``app.schedules``, the same as ``safegate schedule``); every object is checked
through ``app.access`` first, and every change is audited as the signed-in account."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from safegate.app import access, overview, schedules
from safegate.lists.services import services
from safegate.lists.taxonomy import categories
from safegate.policy.schedule import DAY_NAMES, ScheduleError, zone
from safegate.web import errors, i18n, weekgrid
from safegate.web.pages import back, render
from safegate.web.security import CSRF_FIELD, Auth, api_auth, check_form_csrf, page_auth, sg_app

router = APIRouter(tags=["v1"])
Signed = Annotated[Auth, Depends(page_auth)]
Authed = Annotated[Auth, Depends(api_auth)]
KINDS = ("block_all", "block", "allow")
EMPTY_FORM: dict[str, Any] = {"name": "", "days": [], "start": "", "end": "",
                              "kind": "block_all", "categories": [], "services": [],
                              "allow": ""}


class WindowBody(BaseModel):
    """A window as ``safegate schedule add`` takes it."""

    name: str
    days: str = Field(description="mon-fri, sat,sun, daily, weekdays, weekends…")
    start: str = Field(description="local time HH:MM")
    end: str = Field(description="local time HH:MM; not after start: the next day")
    block_all: bool = False
    allow: list[str] = Field([], description="with block_all: domains still allowed")
    block_categories: list[str] = []
    block_services: list[str] = []
    allow_categories: list[str] = []
    allow_services: list[str] = []

    def spec(self) -> schedules.WindowSpec:
        return schedules.WindowSpec(**{**self.model_dump(), "allow": tuple(self.allow)})


class EnableBody(BaseModel):
    enabled: bool


def form_spec(form: dict[str, Any]) -> schedules.WindowSpec:
    """The window a parent filled in on the page (days ticked, what it does chosen)."""
    days = [d for d in DAY_NAMES if d in form["days"]]
    if not days:
        raise ScheduleError("no days given")
    kind = form["kind"] if form["kind"] in KINDS else "block_all"
    cats, svcs = tuple(form["categories"]), tuple(form["services"])
    allow = tuple(d for d in form["allow"].replace(",", " ").split() if d)
    return schedules.WindowSpec(
        name=form["name"], days=",".join(days), start=form["start"], end=form["end"],
        block_all=kind == "block_all", allow=allow if kind == "block_all" else (),
        block_categories=cats if kind == "block" else (),
        block_services=svcs if kind == "block" else (),
        allow_categories=cats if kind == "allow" else (),
        allow_services=svcs if kind == "allow" else ())


def window_form(window: dict[str, Any]) -> dict[str, Any]:
    """The page's form filled in with a window as ``list_schedules`` describes it."""
    kind = "block_all" if window["block_all"] else window["action"]
    return {"name": window["name"], "days": weekgrid.day_list(window["days"]),
            "start": window["from"], "end": window["to"], "kind": kind,
            "categories": list(window["categories"]), "services": list(window["services"]),
            "allow": " ".join(window["allow"])}


def _posted(data: Any) -> dict[str, Any]:
    """The window form as posted."""
    return {"name": str(data.get("name") or ""), "days": [str(v) for v in data.getlist("day")],
            "start": str(data.get("start") or ""), "end": str(data.get("end") or ""),
            "kind": str(data.get("kind") or ""),
            "categories": [str(v) for v in data.getlist("category")],
            "services": [str(v) for v in data.getlist("service")],
            "allow": str(data.get("allow") or "")}


def _page(request: Request, auth: Auth, child_id: int, form: dict[str, Any] | None = None,
          error: str | None = None, status: int = 200, editing: str | None = None
          ) -> Response:
    app = sg_app(request)
    owned = access.check(app, auth.caller, "child", child_id)
    english = auth.caller.locale == "en"
    names = {**{c.id: c.name_en if english else c.name_vi for c in categories()},
             **{s.id: s.name if english else s.name_vi for s in services()}}
    windows = [{**w, "day_list": weekgrid.day_list(w["days"]),
                "what_local": ", ".join(names.get(x, x) for x in [*w["categories"],
                                                                   *w["services"]])}
               for w in schedules.list_schedules(app, owned.child_ref)]
    can_change = access.may(auth.caller, owned, "change")
    if editing is None and can_change:
        wanted = request.query_params.get("edit")
        found = [w for w in windows if w["name"] == wanted]
        if found:
            editing, form = wanted, window_form(found[0])
    tz = overview.household(app, owned.org_id).timezone
    local = datetime.now(UTC).astimezone(zone(tz))
    child = overview.child_summary(app, owned.profile_id)
    return render(request, "schedules.html", auth.caller.locale, status=status, auth=auth,
                  child=child, windows=windows, grid=weekgrid.grid(windows), timezone=tz,
                  now_day=local.weekday(), now_hour=local.hour, days=DAY_NAMES,
                  categories=categories(), services=services(), form=form or EMPTY_FORM,
                  error=error, note=request.query_params.get("note"), editing=editing,
                  can_change=can_change)


@router.get("/children/{child_id}/schedules", include_in_schema=False)
def schedule_page(request: Request, auth: Signed, child_id: int) -> Response:
    return _page(request, auth, child_id)


@router.post("/children/{child_id}/schedules", include_in_schema=False)
async def add_window(request: Request, auth: Signed, child_id: int) -> Response:
    data = await request.form()
    csrf = str(data.get(CSRF_FIELD) or "")
    return await run_in_threadpool(_add_window, request, auth, child_id, csrf, _posted(data))


def _add_window(request: Request, auth: Auth, child_id: int, csrf: str,
                form: dict[str, Any]) -> Response:
    check_form_csrf(auth, csrf)
    owned = access.check(sg_app(request), auth.caller, "child", child_id, "change")
    try:
        schedules.add_schedule(sg_app(request), owned.child_ref, form_spec(form),
                               actor=auth.caller.actor)
    except ValueError as exc:  # the app layer's message, in the page's language; form kept
        message = errors.localise(str(exc).splitlines()[0],
                                  i18n.gettext_for(auth.caller.locale))
        return _page(request, auth, child_id, form=form, error=message, status=400)
    return back(f"/children/{child_id}/schedules", "saved")


@router.post("/children/{child_id}/schedules/edit", include_in_schema=False)
async def edit_window(request: Request, auth: Signed, child_id: int) -> Response:
    data = await request.form()
    csrf = str(data.get(CSRF_FIELD) or "")
    original = str(data.get("original") or "")
    return await run_in_threadpool(_edit_window, request, auth, child_id, csrf, original,
                                   _posted(data))


def _edit_window(request: Request, auth: Auth, child_id: int, csrf: str, original: str,
                 form: dict[str, Any]) -> Response:
    check_form_csrf(auth, csrf)
    owned = access.check(sg_app(request), auth.caller, "child", child_id, "change")
    try:
        schedules.edit_schedule(sg_app(request), owned.child_ref, original, form_spec(form),
                                actor=auth.caller.actor)
    except ValueError as exc:  # as for adding: the message translated, the edit kept
        message = errors.localise(str(exc).splitlines()[0],
                                  i18n.gettext_for(auth.caller.locale))
        return _page(request, auth, child_id, form=form, error=message, status=400,
                     editing=original)
    return back(f"/children/{child_id}/schedules", "saved")


@router.post("/children/{child_id}/schedules/remove", include_in_schema=False)
def remove_window(request: Request, auth: Signed, child_id: int, name: Annotated[str, Form()],
                  csrf: Annotated[str | None, Form()] = None) -> Response:
    check_form_csrf(auth, csrf)
    owned = access.check(sg_app(request), auth.caller, "child", child_id, "change")
    schedules.remove_schedule(sg_app(request), owned.child_ref, name, actor=auth.caller.actor)
    return back(f"/children/{child_id}/schedules", "saved")


@router.post("/children/{child_id}/schedules/enable", include_in_schema=False)
def enable_window(request: Request, auth: Signed, child_id: int, name: Annotated[str, Form()],
                  enabled: Annotated[str, Form()],
                  csrf: Annotated[str | None, Form()] = None) -> Response:
    check_form_csrf(auth, csrf)
    owned = access.check(sg_app(request), auth.caller, "child", child_id, "change")
    schedules.enable_schedule(sg_app(request), owned.child_ref, name, enabled == "on",
                              actor=auth.caller.actor)
    return back(f"/children/{child_id}/schedules", "saved")


# ---------------------------------------------------------------- the API


def _child(request: Request, auth: Auth, child_id: int, action: str = "read") -> access.Owned:
    return access.check(sg_app(request), auth.caller, "child", child_id, action)


@router.get("/api/v1/children/{child_id}/schedules")
def list_windows(request: Request, auth: Authed, child_id: int) -> list[dict[str, Any]]:
    """The child's windows (local times of the household's time zone) and which are in
    force now."""
    owned = _child(request, auth, child_id)
    return schedules.list_schedules(sg_app(request), owned.child_ref)


@router.post("/api/v1/children/{child_id}/schedules", status_code=201)
def add_window_api(request: Request, auth: Authed, child_id: int,
                   body: WindowBody) -> dict[str, Any]:
    """Add a window (the checks and messages of ``safegate schedule add``)."""
    owned = _child(request, auth, child_id, "change")
    return schedules.add_schedule(sg_app(request), owned.child_ref, body.spec(),
                                  actor=auth.caller.actor)


@router.patch("/api/v1/children/{child_id}/schedules/{name}")
def enable_window_api(request: Request, auth: Authed, child_id: int, name: str,
                      body: EnableBody) -> dict[str, Any]:
    """Enable or disable a window by its name."""
    owned = _child(request, auth, child_id, "change")
    return schedules.enable_schedule(sg_app(request), owned.child_ref, name, body.enabled,
                                     actor=auth.caller.actor)


@router.put("/api/v1/children/{child_id}/schedules/{name}")
def edit_window_api(request: Request, auth: Authed, child_id: int, name: str,
                    body: WindowBody) -> dict[str, Any]:
    """Change the window ``name`` in place: the whole window as for adding (its new name,
    days, times and what it does; the same checks); whether it is on is kept."""
    owned = _child(request, auth, child_id, "change")
    return schedules.edit_schedule(sg_app(request), owned.child_ref, name, body.spec(),
                                   actor=auth.caller.actor)


@router.delete("/api/v1/children/{child_id}/schedules/{name}")
def remove_window_api(request: Request, auth: Authed, child_id: int,
                      name: str) -> dict[str, Any]:
    owned = _child(request, auth, child_id, "change")
    schedules.remove_schedule(sg_app(request), owned.child_ref, name, actor=auth.caller.actor)
    return {"removed": name}
