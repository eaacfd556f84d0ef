"""Forgotten passwords: /password/forgot asks for the e-mail address and answers the same
whether or not an account has it (the e-mail is sent after the answer, so its time tells
nothing either); /password/reset?token=… sets a new password with the link's token
(``app.password_reset``). Both forms carry the sign-in form's CSRF token and count against
the per-address sign-in limit."""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import Response

from safegate.app import password_reset as reset
from safegate.app.accounts import AccountError
from safegate.web import i18n
from safegate.web.client import client_address, sign_in_allowed
from safegate.web.pages import _locale, _set_cookie, error_page, render
from safegate.web.security import LOGIN_CSRF_COOKIE, same, sg_app

router = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
OptStr = Annotated[str | None, Form()]


def _form(request: Request, name: str, status: int = 200, **context: object) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, name, _locale(request), status=status, csrf=token, auth=None,
                      **context)
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


def _checked(request: Request, csrf: str | None) -> Response | None:
    _ = i18n.gettext_for(_locale(request))
    if not same(csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return error_page(request, 403, _("The form expired. Reload the page and try again."))
    if not sign_in_allowed(request):
        return error_page(request, 429, _("Too many sign-in attempts. Wait a minute and try "
                                          "again."))
    return None


@router.get("/password/forgot")
def forgot_form(request: Request) -> Response:
    return _form(request, "password_forgot.html", sent=False)


@router.post("/password/forgot")
def forgot(request: Request, tasks: BackgroundTasks, login: FormStr,
           csrf: OptStr = None) -> Response:
    refused = _checked(request, csrf)
    if refused is not None:
        return refused
    app = sg_app(request)
    prepared = reset.prepare_reset(app, login, reset.link_base(app.settings))
    if prepared is not None:
        # In the event loop's own executor, not a handler thread (web.threads): a slow
        # SMTP server (up to notify.smtp_timeout) must not hold up pages.
        tasks.add_task(asyncio.to_thread, reset.send_reset, app, prepared)
    return _form(request, "password_forgot.html", sent=True)


@router.get("/password/reset")
def reset_form(request: Request, token: str = "") -> Response:
    return _form(request, "password_reset.html", token=token, error=None)


@router.post("/password/reset")
def reset_submit(request: Request, token: FormStr, password: FormStr, again: FormStr,
                 csrf: OptStr = None) -> Response:
    refused = _checked(request, csrf)
    if refused is not None:
        return refused
    _ = i18n.gettext_for(_locale(request))
    if password != again:
        return _form(request, "password_reset.html", 400, token=token,
                     error=_("The two passwords differ."))
    try:
        reset.reset_password(sg_app(request), token, password,
                             address=client_address(request))
    except reset.ResetError:
        return _form(request, "password_reset.html", 400, token="",
                     error=_("This link does not work any more. Ask for a new one."))
    except AccountError:
        return _form(request, "password_reset.html", 400, token=token,
                     error=_("The password needs at least 10 characters."))
    return _form(request, "password_reset.html", token="", done=True, error=None)
