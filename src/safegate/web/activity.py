"""Activity: the query log page and its API, with search and filters (child, device,
category, blocked only, time range), a page at a time, and the retention notice. The right to
read the log is checked first (``app.access`` kind ``log``), the search is audited
(``app.activity``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from safegate.app import access, activity, overview
from safegate.app.accounts import Caller
from safegate.app.core import App
from safegate.lists.taxonomy import categories
from safegate.web import formats
from safegate.web.pages import category_name, render
from safegate.web.security import Auth, api_auth, page_auth, sg_app

router = APIRouter(tags=["v1"])
Signed = Annotated[Auth, Depends(page_auth)]
Authed = Annotated[Auth, Depends(api_auth)]
FIELDS = ("child", "device", "category", "blocked", "from", "to", "q", "page", "per_page")


def _search(app: App, caller: Caller, values: dict[str, str | None]) -> activity.LogPage:
    flt = activity.parse_filter(values)
    org_id = caller.org_id
    if flt.child_id is not None:
        org_id = access.check(app, caller, "child", flt.child_id).org_id
    if flt.device_id is not None:
        owned = access.check(app, caller, "device", flt.device_id)
        if flt.child_id is not None and owned.profile_id != flt.child_id:
            raise ValueError("device: it is not this child's")
        org_id = owned.org_id
    verdict = access.decide(caller, "log", "read", org_id)
    if verdict != "ok":
        raise access.Forbidden(f"a {caller.role} may not read the query log")
    return activity.search_log(app, org_id, flt, actor=caller.actor)


def _values(request: Request) -> dict[str, str | None]:
    return {k: request.query_params.get(k) for k in FIELDS}


@router.get("/activity", include_in_schema=False)
def activity_page(request: Request, auth: Signed) -> Response:
    app = sg_app(request)
    values = _values(request)
    found = _search(app, auth.caller, values)
    lang = auth.caller.locale
    home = overview.household(app, auth.caller.org_id)
    rows = [{**r.to_dict(), "when": formats.when(r.ts, found.timezone, lang),
             "category_name": category_name(r.category, lang),
             "hits_text": formats.number(r.hits, lang)} for r in found.rows]
    kept = {k: v for k, v in values.items() if v and k != "page"}

    def page_link(n: int) -> str:
        return "/activity?" + urlencode({**kept, "page": str(n)})

    page = found.filter.page
    return render(request, "activity.html", lang, auth=auth, found=found, rows=rows,
                  values=values, children=home.children, categories=categories(),
                  prev_link=page_link(page - 1) if page > 1 else None,
                  next_link=page_link(page + 1) if found.more else None, note=None)


@router.get("/api/v1/activity")
def activity_api(request: Request, auth: Authed, child: int | None = None,
                 device: int | None = None, category: str | None = None,
                 blocked: bool = False, q: str | None = None, page: int = 1,
                 per_page: int = activity.PER_PAGE) -> dict[str, Any]:
    """The query log, newest first: the filters of the activity page (``from`` and ``to``:
    local days YYYY-MM-DD in the household's time zone)."""
    values: dict[str, str | None] = {
        "child": None if child is None else str(child),
        "device": None if device is None else str(device), "category": category,
        "blocked": "1" if blocked else None, "from": request.query_params.get("from"),
        "to": request.query_params.get("to"), "q": q, "page": str(page),
        "per_page": str(per_page)}
    return _search(sg_app(request), auth.caller, values).to_dict()
