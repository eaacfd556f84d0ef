"""A child's daily time budgets on the web: each budget (a service or a group of services,
minutes a day) with the minutes used today against it, set and remove, on a page and in the
API. The rules, messages and the minute counter are the app layer's (``app.budgets``, the same
as ``safegate budget``); every object is checked through ``app.access`` first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from safegate.app import access, budgets, overview
from safegate.lists.services import GROUPS, services
from safegate.web import errors, i18n
from safegate.web.pages import _minutes as whole_minutes
from safegate.web.pages import back, render
from safegate.web.security import Auth, api_auth, check_form_csrf, page_auth, sg_app

router = APIRouter(tags=["v1"])
Signed = Annotated[Auth, Depends(page_auth)]
Authed = Annotated[Auth, Depends(api_auth)]
FormStr = Annotated[str, Form()]
OptStr = Annotated[str | None, Form()]


class BudgetBody(BaseModel):
    minutes: int = Field(ge=0, le=1440, description="minutes a day (0: not at all)")


def target_labels(locale: str) -> dict[str, str]:
    """Each budget target (service id, ``group:<group>``) as a parent reads it."""
    _ = i18n.gettext_for(locale)
    groups = {"social": _("Social networks"), "video": _("Video"), "games": _("Games"),
              "chat": _("Chat"), "ai": _("AI chatbots"), "shopping": _("Shopping"),
              "music": _("Music"), "streaming": _("Films and TV"),
              "education": _("Learning"), "other": _("Other")}
    out = {f"group:{g}": _("All %(group)s") % {"group": groups.get(g, g)} for g in GROUPS}
    out.update({s.id: s.name if locale == "en" else s.name_vi for s in services()})
    return out


def _page(request: Request, auth: Auth, child_id: int, error: str | None = None,
          form: dict[str, str] | None = None, status: int = 200) -> Response:
    app = sg_app(request)
    owned = access.check(app, auth.caller, "child", child_id)
    found = budgets.list_budgets(app, owned.child_ref)
    return render(request, "budgets.html", auth.caller.locale, status=status, auth=auth,
                  child=overview.child_summary(app, owned.profile_id), found=found,
                  services=services(), groups=GROUPS, error=error,
                  labels=target_labels(auth.caller.locale),
                  form=form or {"target": "", "minutes": "60"},
                  note=request.query_params.get("note"),
                  can_change=access.may(auth.caller, owned, "change"))


@router.get("/children/{child_id}/budgets", include_in_schema=False)
def budget_page(request: Request, auth: Signed, child_id: int) -> Response:
    return _page(request, auth, child_id)


@router.post("/children/{child_id}/budgets", include_in_schema=False)
def set_budget(request: Request, auth: Signed, child_id: int, target: FormStr,
               minutes: FormStr, csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    owned = access.check(sg_app(request), auth.caller, "child", child_id, "change")
    try:
        budgets.set_budget(sg_app(request), owned.child_ref, target, whole_minutes(minutes),
                           actor=auth.caller.actor)
    except ValueError as exc:  # the app layer's message, in the page's language; form kept
        message = errors.localise(str(exc).splitlines()[0],
                                  i18n.gettext_for(auth.caller.locale))
        return _page(request, auth, child_id, error=message,
                     form={"target": target, "minutes": minutes}, status=400)
    return back(f"/children/{child_id}/budgets", "saved")


@router.post("/children/{child_id}/budgets/remove", include_in_schema=False)
def remove_budget(request: Request, auth: Signed, child_id: int, target: FormStr,
                  csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    owned = access.check(sg_app(request), auth.caller, "child", child_id, "change")
    budgets.remove_budget(sg_app(request), owned.child_ref, target, actor=auth.caller.actor)
    return back(f"/children/{child_id}/budgets", "saved")


@router.get("/api/v1/children/{child_id}/budgets")
def list_budgets_api(request: Request, auth: Authed, child_id: int) -> dict[str, Any]:
    """The child's budgets in force (its own and, with Decree 147 on, the decree's), each
    with the minutes used today and left (local day of the household)."""
    owned = access.check(sg_app(request), auth.caller, "child", child_id)
    return budgets.list_budgets(sg_app(request), owned.child_ref)


@router.put("/api/v1/children/{child_id}/budgets/{target}")
def set_budget_api(request: Request, auth: Authed, child_id: int, target: str,
                   body: BudgetBody) -> dict[str, Any]:
    """Give the child ``minutes`` a day of a service id or ``group:<group>``."""
    owned = access.check(sg_app(request), auth.caller, "child", child_id, "change")
    return budgets.set_budget(sg_app(request), owned.child_ref, target, body.minutes,
                              actor=auth.caller.actor)


@router.delete("/api/v1/children/{child_id}/budgets/{target}")
def remove_budget_api(request: Request, auth: Authed, child_id: int,
                      target: str) -> dict[str, Any]:
    owned = access.check(sg_app(request), auth.caller, "child", child_id, "change")
    return budgets.remove_budget(sg_app(request), owned.child_ref, target,
                                 actor=auth.caller.actor)
