"""The block page: what a child's browser shows for a blocked site in block-page mode (the
gate answers the blocked name with ``gate.blockpage_ipv4``/``ipv6``, where this app listens
on ``web.blockpage``). It says, in the child's language, what was blocked and why — the
category, never the parent's rule text —, offers "ask my parent" (an unblock request) and an
age-appropriate safety tip with the child helpline 111. HTTPS sites cannot show it without a
certificate error: docs/web.md explains the trade-off."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from safegate.app.blockpage import TIME_REASONS, Blocked, ask_parent, blocked_for
from safegate.app.core import App
from safegate.app.explain import NotFound
from safegate.lists.taxonomy import categories
from safegate.web import i18n
from safegate.web.security import same

CSRF_COOKIE = "sg_bp_csrf"
YOUNG = 11  # under this age the tip is about telling a grown-up


def reason_text(found: Blocked, locale: str) -> str:
    _ = i18n.gettext_for(locale)
    if found.category == "schedule":
        return _("It is outside the hours your family chose for this.")
    if found.category == "pause":
        return _("The internet is paused on this device for now.")
    if found.category == "budget":
        return _("Today's time for this is used up.")
    for c in categories():
        if c.id == found.category:
            name = c.name_en if locale == "en" else c.name_vi
            return _("It is in the category: %(name)s.") % {"name": name}
    return _("Your family's settings block it.")


def is_young(birth_year: int | None, this_year: int) -> bool:
    return birth_year is not None and this_year - birth_year < YOUNG


def create_blockpage(app: App) -> FastAPI:
    from datetime import date

    from safegate.web.i18n import HERE

    web = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    web.mount("/__safegate/static", StaticFiles(directory=HERE / "static"), name="static")

    def page(request: Request, found: Blocked | None, host: str, *, asked: bool = False,
             status: int = 200) -> HTMLResponse:
        locale = i18n.browser_locale(request.headers.get("accept-language"))
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        context: dict[str, Any] = {
            "static_root": "/__safegate/static", "host": host, "found": found,
            "asked": asked, "csrf": token,
            "reason": reason_text(found, locale) if found and found.blocked else None,
            "young": found is not None and is_young(found.birth_year, date.today().year),
            "time_reason": found is not None and found.category in TIME_REASONS,
        }
        html = i18n.environment(locale).get_template("blockpage.html").render(
            request=request, auth=None, **context)
        response = HTMLResponse(html, status_code=status, headers={
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'self'; form-action 'self'"})
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    def client(request: Request) -> str:
        return request.client.host if request.client else ""

    @web.post("/__safegate/ask")
    def ask(request: Request, csrf: Annotated[str | None, Form()] = None,
            message: Annotated[str | None, Form()] = None) -> Response:
        host = request.headers.get("host", "")
        if not same(csrf, request.cookies.get(CSRF_COOKIE)):
            return page(request, blocked_for(app, client(request), host), host, status=403)
        try:
            ask_parent(app, client(request), host, (message or "").strip() or None)
        except (NotFound, ValueError):
            return page(request, None, host, status=400)
        return page(request, blocked_for(app, client(request), host), host, asked=True)

    @web.get("/{path:path}")
    def show(request: Request, path: str) -> Response:
        del path
        host = request.headers.get("host", "")
        return page(request, blocked_for(app, client(request), host), host)

    return web
