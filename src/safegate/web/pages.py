"""Server-rendered pages: sign-in and out, the household overview, a child's page (pause,
allow-for, unblock requests, the policy editor, "would this be blocked now?") and a device's
page. Every handler checks the object through ``app.access`` and calls the app layer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from safegate.app import access, accounts, family, overview, schedules, second_factor
from safegate.app import requests as unblock
from safegate.app.explain import NotFound, explain
from safegate.lists.services import services
from safegate.lists.taxonomy import categories
from safegate.web import errors, finder, i18n
from safegate.web.client import client_address, sign_in_allowed
from safegate.web.security import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Auth,
    authenticate,
    check_form_csrf,
    page_auth,
    same,
    sg_app,
)

router = APIRouter(include_in_schema=False)
Signed = Annotated[Auth, Depends(page_auth)]
FormStr = Annotated[str, Form()]
OptStr = Annotated[str | None, Form()]


def render(request: Request, name: str, locale: str, status: int = 200,
           **context: Any) -> HTMLResponse:
    env = i18n.environment(locale)
    html = env.get_template(name).render(request=request, **context)
    return HTMLResponse(html, status_code=status,
                        headers={"Cache-Control": "no-store",
                                 "X-Frame-Options": "DENY",
                                 "X-Content-Type-Options": "nosniff",
                                 "Referrer-Policy": "same-origin",
                                 "Content-Security-Policy": "default-src 'self'; "
                                 "frame-ancestors 'none'; form-action 'self'"})


def _locale(request: Request) -> str:
    auth = authenticate(request)
    if auth is not None:
        return auth.caller.locale
    return i18n.browser_locale(request.headers.get("accept-language"))


def error_page(request: Request, status: int, message: str,
               locale: str | None = None) -> Response:
    """The error page in ``locale`` (None: the caller's, else the browser's)."""
    locale = locale or _locale(request)
    return render(request, "error.html", locale, status=status, status_code=status,
                  message=errors.localise(message, i18n.gettext_for(locale)), auth=None)


def back(url: str, note: str | None = None) -> RedirectResponse:
    from urllib.parse import quote

    return RedirectResponse(url + (f"?note={quote(note)}" if note else ""), status_code=303)


# ---------------------------------------------------------------- signing in and out


@router.get("/")
def home(request: Request) -> Response:
    auth = authenticate(request)
    return RedirectResponse("/signin" if auth is None else start_page(auth.caller.role),
                            status_code=303)


def start_page(role: str) -> str:
    """Where a signed-in person starts: a school's staff on the school page."""
    return "/school" if role in ("teacher", "school_admin") else "/household"


@router.get("/signin")
def signin_form(request: Request) -> Response:
    import secrets

    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "signin.html", _locale(request), csrf=token, error=None,
                      login="", auth=None)
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str,
                max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=bool(request.app.state.secure_cookies), path="/")


@router.post("/signin")
def signin(request: Request, login: FormStr, password: FormStr,
           csrf: OptStr = None) -> Response:
    app = sg_app(request)
    locale = _locale(request)
    _ = i18n.gettext_for(locale)
    if not same(csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return error_page(request, 403, _("The form expired. Reload the page and try again."))
    address = client_address(request)

    def again(message: str, status: int) -> Response:
        return render(request, "signin.html", locale, status=status, csrf=csrf, error=message,
                      login=login, auth=None)

    if not sign_in_allowed(request):
        return again(_("Too many sign-in attempts. Wait a minute and try again."), 429)
    try:
        caller = accounts.authenticate(app, login, password, address=address)
    except accounts.SignInError as exc:
        if exc.locked_until is not None:
            return again(_("This account is locked for 15 minutes after too many wrong "
                           "passwords."), 423)
        return again(_("Wrong login or password."), 401)
    if second_factor.is_enrolled(app, caller.account_id):
        from safegate.web import second_factor as code_step

        return code_step.start(request, caller)
    token, _csrf = accounts.start_session(app, caller)
    response = RedirectResponse(start_page(caller.role), status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, token,
                max_age=accounts.SESSION_DAYS * 86400)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/signout")
def signout(request: Request, auth: Signed, csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(sg_app(request), token, address=client_address(request))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/locale")
def set_locale(request: Request, auth: Signed, locale: FormStr, csrf: OptStr = None,
               next: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    accounts.set_locale(sg_app(request), auth.caller, locale)
    local = next if next and next.startswith("/") and not next.startswith("//") else None
    return back(local or "/household")


# ---------------------------------------------------------------- household and child


@router.get("/household")
def household(request: Request, auth: Signed) -> Response:
    app = sg_app(request)
    access.check_org(auth.caller, auth.caller.org_id)
    home = overview.household(app, auth.caller.org_id)
    pending = unblock.list_requests(app, org=f"id:{auth.caller.org_id}",
                                    actor=auth.caller.actor)
    return render(request, "household.html", auth.caller.locale, auth=auth, home=home,
                  pending=pending, note=request.query_params.get("note"))


RULES_SHOWN = 30  # own rules listed per kind on a child's page before "Show all"


def _child_page(request: Request, auth: Signed, child_id: int, **extra: Any) -> Response:
    shown = overview.child_page(sg_app(request), child_id, auth.caller)
    svc_query = (request.query_params.get("svc") or "").strip()
    return render(request, "child.html", auth.caller.locale, auth=auth, child=shown.summary,
                  policy=shown.policy, requests=shown.requests, categories=categories(),
                  services=finder.options(finder.matching(services(), svc_query), shown.policy,
                                          auth.caller.locale),
                  svc_query=svc_query, note=request.query_params.get("note"),
                  rules_shown=None if request.query_params.get("rules") == "all"
                  else RULES_SHOWN,
                  check=None, **extra)


@router.get("/children/{child_id}")
def child_page(request: Request, child_id: int) -> Response:
    # The most opened page reads its caller here, in its own handler thread: as a dependency
    # (``Signed``) the session lookup took a thread of its own, one more hand-over between
    # the event loop and the threads per page (the A/B is in commit a48993b's message).
    auth = page_auth(request)
    domain = request.query_params.get("domain")
    if domain:
        owned = access.check(sg_app(request), auth.caller, "child", child_id)
        try:
            found = explain(sg_app(request), domain, owned.child_ref,
                            resolve=request.query_params.get("resolve") == "1")
            result: dict[str, Any] = {"domain": domain, **found.to_dict()}
            result["category_name"] = category_name(result.get("category"),
                                                    auth.caller.locale)
        except NotFound as exc:
            result = {"domain": domain, "error": str(exc)}
        return _child_page(request, auth, child_id, check_result=result)
    return _child_page(request, auth, child_id, check_result=None)


def category_name(cid: str | None, locale: str) -> str | None:
    """A category's name in ``locale`` (the id itself for a reason that is not a category:
    schedule, pause, service…)."""
    if not cid:
        return None
    for c in categories():
        if c.id == cid:
            return c.name_en if locale == "en" else c.name_vi
    return cid


def _changing(request: Request, auth: Auth, child_id: int, csrf: str | None) -> access.Owned:
    check_form_csrf(auth, csrf)
    return access.check(sg_app(request), auth.caller, "child", child_id, "change")


@router.post("/children/{child_id}/pause")
def pause(request: Request, auth: Signed, child_id: int, csrf: OptStr = None,
          minutes: OptStr = None) -> Response:
    owned = _changing(request, auth, child_id, csrf)
    schedules.pause(sg_app(request), owned.child_ref,
                    minutes=_minutes(minutes) if minutes and minutes.strip() else None,
                    actor=auth.caller.actor)
    return back(f"/children/{child_id}", "paused")


@router.post("/children/{child_id}/resume")
def resume(request: Request, auth: Signed, child_id: int, csrf: OptStr = None) -> Response:
    owned = _changing(request, auth, child_id, csrf)
    schedules.resume(sg_app(request), owned.child_ref, actor=auth.caller.actor)
    return back(f"/children/{child_id}", "resumed")


def _minutes(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise ValueError(f"minutes: {value!r} is not a whole number") from None


@router.post("/children/{child_id}/allow-for")
def allow_for(request: Request, auth: Signed, child_id: int, domain: FormStr,
              minutes: FormStr, csrf: OptStr = None) -> Response:
    owned = _changing(request, auth, child_id, csrf)
    schedules.allow_for(sg_app(request), owned.child_ref, domain, _minutes(minutes),
                        actor=auth.caller.actor)
    return back(f"/children/{child_id}", "allowed")


@router.post("/children/{child_id}/categories")
async def set_categories(request: Request, auth: Signed, child_id: int) -> Response:
    form = await request.form()
    csrf = str(form.get(CSRF_FIELD) or "")
    wanted = {str(v) for v in form.getlist("category")}
    safe = form.get("safe_search") == "on"
    youtube = str(form.get("youtube_mode") or "") or None
    mode = str(form.get("block_mode") or "") or None
    return await _in_thread(_save_categories, request, auth, child_id, csrf, wanted, safe,
                            youtube, mode)


async def _in_thread(fn: Any, *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)


def _save_categories(request: Request, auth: Auth, child_id: int, csrf: str,
                     wanted: set[str], safe: bool, youtube: str | None,
                     block_mode: str | None) -> Response:
    owned = _changing(request, auth, child_id, csrf)
    app = sg_app(request)
    shown = family.show_policy(app, owned.child_ref, actor=auth.caller.actor)
    current = set(shown["blocked_categories"])
    known = {c.id for c in categories()}
    change = family.PolicyChange(
        block_categories=tuple(sorted((wanted & known) - current)),
        unblock_categories=tuple(sorted((current & known) - wanted)),
        safe_search=safe, youtube_mode=youtube, block_mode=block_mode)
    family.set_policy(app, owned.child_ref, change, actor=auth.caller.actor)
    return back(f"/children/{child_id}", "saved")


@router.post("/children/{child_id}/services")
def set_service(request: Request, auth: Signed, child_id: int, service: FormStr,
                mode: FormStr, csrf: OptStr = None) -> Response:
    owned = _changing(request, auth, child_id, csrf)
    if mode not in ("block", "allow", "monitor", "default"):
        raise ValueError(f"mode: {mode!r} is not one of block, allow, monitor, default")
    fields: dict[str, Any] = {f"{mode}_services": (service,)}
    family.set_policy(sg_app(request), owned.child_ref, family.PolicyChange(**fields),
                      actor=auth.caller.actor)
    return back(f"/children/{child_id}", "saved")


RULE_ACTIONS = {"allow": "allow", "unallow": "unallow", "deny": "deny", "undeny": "undeny"}


@router.post("/children/{child_id}/rules")
def set_rule(request: Request, auth: Signed, child_id: int, action: FormStr, domain: FormStr,
             csrf: OptStr = None) -> Response:
    owned = _changing(request, auth, child_id, csrf)
    field = RULE_ACTIONS.get(action)
    if field is None:
        raise ValueError(f"action: {action!r} is not one of {', '.join(RULE_ACTIONS)}")
    fields: dict[str, Any] = {field: (domain,)}
    family.set_policy(sg_app(request), owned.child_ref, family.PolicyChange(**fields),
                      actor=auth.caller.actor)
    return back(f"/children/{child_id}", "saved")


# ---------------------------------------------------------------- requests and devices


@router.post("/requests/{request_id}/approve")
def approve(request: Request, auth: Signed, request_id: int, csrf: OptStr = None,
            minutes: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    app = sg_app(request)
    owned = access.check(app, auth.caller, "request", request_id, "change")
    if minutes in (None, "", "forever"):
        unblock.approve(app, request_id, forever=True, actor=auth.caller.actor)
    else:
        unblock.approve(app, request_id, minutes=_minutes(minutes), actor=auth.caller.actor)
    return back(f"/children/{owned.profile_id}", "approved")


@router.post("/requests/{request_id}/decline")
def decline(request: Request, auth: Signed, request_id: int, csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    app = sg_app(request)
    owned = access.check(app, auth.caller, "request", request_id, "change")
    unblock.decline(app, request_id, actor=auth.caller.actor)
    return back(f"/children/{owned.profile_id}", "declined")


@router.get("/devices/{device_id}")
def device_page(request: Request, auth: Signed, device_id: int) -> Response:
    app = sg_app(request)
    owned = access.check(app, auth.caller, "device", device_id)
    device = family.find_device(app, owned.child_ref, f"id:{device_id}")
    return render(request, "device.html", auth.caller.locale, auth=auth, device=device,
                  child_id=owned.profile_id, note=request.query_params.get("note"))


@router.post("/devices/{device_id}/rename")
def rename_device(request: Request, auth: Signed, device_id: int, name: FormStr,
                  csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    app = sg_app(request)
    owned = access.check(app, auth.caller, "device", device_id, "change")
    family.rename_device(app, owned.child_ref, f"id:{device_id}", name,
                         actor=auth.caller.actor)
    return back(f"/devices/{device_id}", "saved")
