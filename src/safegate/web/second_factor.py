"""The second sign-in factor in the browser: /signin/code finishes a sign-in with a code from
the authenticator app or a recovery code (after the password, with the sealed ticket from
``app.second_factor`` in a cookie), and /account/security turns the factor on (secret as
text and as an otpauth:// QR code, confirmed by a first code, recovery codes shown once) and
off (password and code). The code form counts against the per-address sign-in limit.

The same steps through the API (``/api/v1/me/second-factor``), for a signed-in session only:
an API token cannot change how its account signs in."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from pydantic import BaseModel, Field

from safegate.app import accounts
from safegate.app import second_factor as sf
from safegate.app.setup import qr_code
from safegate.web import i18n
from safegate.web.client import sign_in_allowed
from safegate.web.pages import _locale, _set_cookie, back, error_page, render, start_page
from safegate.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Auth,
    api_auth,
    check_form_csrf,
    from_session_only,
    page_auth,
    same,
    sg_app,
)

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/me/second-factor", tags=["account"])
Signed = Annotated[Auth, Depends(page_auth)]
Authed = Annotated[Auth, Depends(api_auth)]
FormStr = Annotated[str, Form()]
OptStr = Annotated[str | None, Form()]
TICKET_COOKIE = "sg_second_factor"


def start(request: Request, caller: accounts.Caller) -> Response:
    """After a good password of an enrolled account: ask for the code."""
    response = RedirectResponse("/signin/code", status_code=303)
    _set_cookie(request, response, TICKET_COOKIE, sf.ticket(sg_app(request), caller),
                max_age=sf.TICKET_SECONDS)
    return response


def _code_form(request: Request, status: int = 200, error: str | None = None) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "signin_code.html", _locale(request), status=status,
                      csrf=token, error=error, auth=None)
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


def _ticket_account(request: Request) -> int | None:
    ticket = request.cookies.get(TICKET_COOKIE)
    return sf.ticket_account(sg_app(request), ticket) if ticket else None


@router.get("/signin/code")
def code_form(request: Request) -> Response:
    if _ticket_account(request) is None:
        return RedirectResponse("/signin", status_code=303)
    return _code_form(request)


@router.post("/signin/code")
def code_submit(request: Request, code: FormStr, csrf: OptStr = None) -> Response:
    _ = i18n.gettext_for(_locale(request))
    if not same(csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return error_page(request, 403, _("The form expired. Reload the page and try again."))
    account_id = _ticket_account(request)
    if account_id is None:
        return RedirectResponse("/signin", status_code=303)
    if not sign_in_allowed(request):
        return _code_form(request, 429, _("Too many sign-in attempts. Wait a minute and try "
                                          "again."))
    app = sg_app(request)
    try:
        caller = sf.finish_sign_in(app, account_id, code)
    except accounts.SignInError as exc:
        if exc.locked_until is not None:
            return _code_form(request, 423, _("This account is locked for 15 minutes after "
                                              "too many wrong codes."))
        return _code_form(request, 401, _("Wrong code. Type the code the app shows now, or "
                                          "a recovery code."))
    token, _csrf = accounts.start_session(app, caller)
    response = RedirectResponse(start_page(caller.role), status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, token,
                max_age=accounts.SESSION_DAYS * 86400)
    response.delete_cookie(TICKET_COOKIE, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


# ---------------------------------------------------------------- turning it on and off


def _page(request: Request, auth: Auth, status: int = 200, error: str | None = None,
          codes: list[str] | None = None) -> Response:
    app = sg_app(request)
    state = sf.status(app, auth.caller)
    waiting = sf.pending(app, auth.caller) if state.pending else None
    qr = None
    if waiting is not None:
        qr = Markup(qr_code(waiting.uri).svg_inline(  # noqa: S704 (segno's own SVG)
            scale=4, border=2, title="otpauth"))
    return render(request, "account_security.html", auth.caller.locale, status=status,
                  auth=auth, state=state, waiting=waiting, qr=qr, error=error, codes=codes,
                  note=request.query_params.get("note"))


@router.get("/account/security")
def security_page(request: Request, auth: Signed) -> Response:
    return _page(request, auth)


@router.post("/account/totp/begin")
def begin(request: Request, auth: Signed, csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    sf.begin(sg_app(request), auth.caller)
    return back("/account/security")


@router.post("/account/totp/confirm")
def confirm(request: Request, auth: Signed, code: FormStr, csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    _ = i18n.gettext_for(auth.caller.locale)
    try:
        codes = sf.confirm(sg_app(request), auth.caller, code)
    except sf.SecondFactorError:
        return _page(request, auth, 400, _("That code does not match. Check the phone's clock "
                                           "and type the code the app shows now."))
    return _page(request, auth, codes=codes)


@router.post("/account/totp/disable")
def disable(request: Request, auth: Signed, password: FormStr, code: FormStr,
            csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    _ = i18n.gettext_for(auth.caller.locale)
    if not sign_in_allowed(request):
        return _page(request, auth, 429, _("Too many sign-in attempts. Wait a minute and try "
                                           "again."))
    try:
        sf.disable(sg_app(request), auth.caller, password, code)
    except sf.SecondFactorError:
        return _page(request, auth, 400, _("Wrong password or code."))
    return back("/account/security", _("The second factor is off."))


# ---------------------------------------------------------------- the API


class CodeBody(BaseModel):
    code: str = Field(max_length=64, description="the authenticator app's 6-digit code")


class DisableBody(BaseModel):
    password: str = Field(max_length=1024)
    code: str = Field(max_length=64, description="a code from the app, or a recovery code")


def _session(auth: Auth) -> accounts.Caller:
    return from_session_only(auth, "an API token cannot change how its account signs in: "
                                     "use a signed-in session")


def _state(request: Request, caller: accounts.Caller) -> dict[str, object]:
    state = sf.status(sg_app(request), caller)
    return {"enrolled": state.enrolled, "pending": state.pending,
            "recovery_codes_left": state.recovery_left}


@api.get("")
def api_status(request: Request, auth: Authed) -> dict[str, object]:
    """Whether sign-in asks for a code, whether a secret waits for its first code, and how
    many recovery codes are left."""
    return _state(request, auth.caller)


@api.post("")
def api_begin(request: Request, auth: Authed) -> dict[str, str]:
    """A new secret (base32, and as an otpauth:// URI for a QR code) that waits for its first
    code; replaces one that waits. Refused (400) while the factor is on."""
    enrolment = sf.begin(sg_app(request), _session(auth))
    return {"secret": enrolment.secret, "uri": enrolment.uri}


@api.post("/confirm")
def api_confirm(request: Request, auth: Authed, body: CodeBody) -> dict[str, list[str]]:
    """Turn the factor on with the app's first code: the recovery codes, shown this once."""
    return {"recovery_codes": sf.confirm(sg_app(request), _session(auth), body.code)}


@api.post("/disable")
def api_disable(request: Request, auth: Authed, body: DisableBody) -> dict[str, object]:
    """Turn the factor off with the account's password and a code (counted like sign-in
    attempts: per-address limit, lock-out)."""
    caller = _session(auth)
    if not sign_in_allowed(request):
        raise HTTPException(429, "too many sign-in attempts: wait a minute")
    sf.disable(sg_app(request), caller, body.password, body.code)
    return _state(request, caller)
