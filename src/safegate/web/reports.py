"""Reports: a child's report of a day, a week, 30 days or any range of days up to 92 as a
page with SVG charts (``web.charts``), a printable weekly report, and the API. In the
account's language, with dates and numbers formatted for it (Babel) in the household's time
zone. A missing ``reports`` consent is said on the page (and is a 403 from the API), never
worked around."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from safegate.app import access, reports
from safegate.app.accounts import Caller
from safegate.app.core import App
from safegate.privacy.consent import ConsentError
from safegate.web import charts, formats, i18n
from safegate.web.pages import category_name, render
from safegate.web.security import Auth, api_auth, page_auth, sg_app

router = APIRouter(tags=["v1"])
Signed = Annotated[Auth, Depends(page_auth)]
Authed = Annotated[Auth, Depends(api_auth)]


def _report(app: App, caller: Caller, child_id: int, period: str | None,
            day: str | None, first: str | None = None) -> reports.ChildReport:
    owned = access.check(app, caller, "child", child_id)
    if access.decide(caller, "log", "read", owned.org_id) != "ok":
        raise access.Forbidden(f"a {caller.role} may not read reports")
    return reports.child_report(app, owned.profile_id, period or "week", day, first=first,
                                actor=caller.actor)


def _page(request: Request, auth: Auth, child_id: int, printable: bool) -> Response:
    app = sg_app(request)
    lang = auth.caller.locale
    _ = i18n.gettext_for(lang)
    period = request.query_params.get("period") or "week"
    day = request.query_params.get("day")
    first = None if printable else request.query_params.get("from") or None
    if printable:
        period = "week"
    try:
        found = _report(app, auth.caller, child_id, period, day, first)
    except ValueError as exc:  # a missing consent, or the form's days (kept in the form)
        refused = isinstance(exc, ConsentError)
        return render(request, "report.html", lang, status=200 if refused else 400,
                      auth=auth, report=None, refusal=str(exc) if refused else None,
                      error=None if refused else str(exc), child_id=child_id,
                      printable=printable, note=None, period=period, day=day or "",
                      first=first or "")

    def num(n: int) -> str:
        return formats.number(n, lang)

    def label(cid: str) -> str:
        return _("other") if cid == "other" else category_name(cid, lang) or cid

    # Up to a week's columns are named by weekday, longer ones by the day of the month.
    day_labels = [str(d.day) if len(found.days) > 7 else formats.weekday(d, lang)
                  for d in found.days]
    figures: dict[str, Any] = {
        "by_category": charts.hbars([(label(c), n) for c, n in found.by_category],
                                    title=_("Blocked attempts by category"),
                                    css_id="chart-categories", number=num),
        "top": charts.hbars(found.top_blocked, title=_("Most blocked sites"),
                            css_id="chart-top", number=num),
        "by_day": charts.columns(list(zip(day_labels, [n for _d, n in found.by_day],
                                          strict=True)),
                                 title=_("Blocked attempts per day"), css_id="chart-days",
                                 number=num),
        "budgets": [(b, charts.columns(
            list(zip(day_labels, [m for _d, m in b.used], strict=True)),
            title=_("Minutes of %(target)s per day") % {"target": b.target},
            css_id=f"chart-budget-{i}", number=num, limit=b.minutes))
            for i, b in enumerate(found.budgets)],
    }
    span = formats.day(found.first, lang) if found.period == "day" else \
        f"{formats.day(found.first, lang)} – {formats.day(found.last, lang)}"
    return render(request, "report.html", lang, auth=auth, report=found, refusal=None,
                  child_id=child_id, printable=printable, figures=figures, span=span,
                  total=num(found.blocked_total), alerts=num(found.alerts),
                  day=found.last.isoformat(), note=None, error=None, period=found.period,
                  first=found.first.isoformat() if found.period == "range" else "")


@router.get("/children/{child_id}/report", include_in_schema=False)
def report_page(request: Request, auth: Signed, child_id: int) -> Response:
    return _page(request, auth, child_id, printable=False)


@router.get("/children/{child_id}/report/print", include_in_schema=False)
def report_print(request: Request, auth: Signed, child_id: int) -> Response:
    return _page(request, auth, child_id, printable=True)


@router.get("/api/v1/children/{child_id}/report")
def report_api(request: Request, auth: Authed, child_id: int, period: str = "week",
               day: str | None = None,
               first: Annotated[str | None, Query(alias="from")] = None) -> dict[str, Any]:
    """A child's report over ``period`` (``day``, ``week`` or ``month``: the 30 days)
    ending on ``day`` (a local date, default today), or with ``from`` over every day from
    ``from`` to ``day`` (at most 92; the period is then ``range``); 403 without the
    ``reports`` consent, 400 for days that are not dates or not a range."""
    try:
        return _report(sg_app(request), auth.caller, child_id, period, day,
                       first).to_dict()
    except ConsentError as exc:
        raise access.Forbidden(str(exc)) from None
