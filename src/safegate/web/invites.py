"""Invite links and sign-up pages (docs/web.md, "Schools" and "Invites and sign-up"): a
parent or school admin creates a link; the invitee opens it, chooses a login and password and
is signed in with the invite's organisation and role; a new household signs up (when
``web.signup`` is on). The public forms carry a double-submit CSRF token like the sign-in
form and share its per-address rate limit."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from safegate.app import accounts, invites
from safegate.web import i18n
from safegate.web.client import client_address, sign_in_allowed
from safegate.web.pages import (
    FormStr,
    OptStr,
    Signed,
    _locale,
    _set_cookie,
    error_page,
    render,
    start_page,
)
from safegate.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Auth,
    api_auth,
    check_form_csrf,
    same,
    sg_app,
)

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["invites"])
Authed = Annotated[Auth, Depends(api_auth)]


def _link(request: Request, token: str) -> str:
    """The invite's URL: under ``notify.base_url`` when the operator set the public address,
    else the address the inviter's own browser used (the link is shown to them, not sent)."""
    base = sg_app(request).settings["notify.base_url"] or str(request.base_url)
    return base.rstrip("/") + f"/invite/{token}"


# ---------------------------------------------------------------- creating invites


def _invites_page(request: Request, auth: Auth, link: str | None = None,
                  made: invites.InviteView | None = None) -> Response:
    roles = sorted(invites.MAY_INVITE.get(auth.caller.role, frozenset()))
    return render(request, "invites.html", auth.caller.locale, auth=auth, roles=roles,
                  link=link, made=made, pending=invites.list_invites(sg_app(request),
                                                                      auth.caller))


@router.get("/invites")
def invites_page(request: Request, auth: Signed) -> Response:
    return _invites_page(request, auth)


@router.post("/invites")
def create_invite(request: Request, auth: Signed, role: FormStr,
                  csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    token, made = invites.create_invite(sg_app(request), auth.caller, role)
    return _invites_page(request, auth, _link(request, token), made)


@router.post("/invites/{invite_id}/revoke")
def revoke_invite(request: Request, auth: Signed, invite_id: int,
                  csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    invites.revoke_invite(sg_app(request), auth.caller, invite_id)
    return RedirectResponse("/invites", status_code=303)


class InviteBody(BaseModel):
    role: str = Field(description="parent or teacher")
    days: int = Field(invites.INVITE_DAYS, ge=1, le=30)


@api.post("/invites")
def api_create_invite(request: Request, auth: Authed, body: InviteBody) -> dict[str, Any]:
    """A single-use link into the caller's organisation (shown once)."""
    token, made = invites.create_invite(sg_app(request), auth.caller, body.role,
                                        days=body.days)
    return {**made.to_dict(), "url": _link(request, token)}


@api.get("/invites")
def api_invites(request: Request, auth: Authed) -> list[dict[str, Any]]:
    """The organisation's invites that can still be taken (no tokens)."""
    return invites.list_invites(sg_app(request), auth.caller)


@api.delete("/invites/{invite_id}")
def api_revoke_invite(request: Request, auth: Authed, invite_id: int) -> dict[str, Any]:
    invites.revoke_invite(sg_app(request), auth.caller, invite_id)
    return {"revoked": invite_id}


# ---------------------------------------------------------------- public forms


def _public_form(request: Request, template: str, status: int = 200, **context: Any
                 ) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, template, _locale(request), status=status, csrf=token,
                      auth=None, **context)
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


def _refused(request: Request, csrf: str | None) -> Response | None:
    """The answer to a public form that fails its CSRF check or the rate limit, or None."""
    _ = i18n.gettext_for(_locale(request))
    if not same(csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return error_page(request, 403, _("The form expired. Reload the page and try again."))
    if not sign_in_allowed(request):
        return error_page(request, 429,
                          _("Too many sign-in attempts. Wait a minute and try again."))
    return None


def _signed_in(request: Request, caller: accounts.Caller) -> Response:
    token, _csrf = accounts.start_session(sg_app(request), caller)
    response = RedirectResponse(start_page(caller.role), status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, token, max_age=accounts.SESSION_DAYS * 86400)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.get("/invite/{token}")
def invite_page(request: Request, token: str) -> Response:
    try:
        offer = invites.show_invite(sg_app(request), token)
    except invites.InviteError as exc:
        return error_page(request, 404, str(exc))
    return _public_form(request, "invite.html", offer=offer, token=token, error=None,
                        login="", display_name="")


@router.post("/invite/{token}")
def accept_invite(request: Request, token: str, login: FormStr, password: FormStr,
                  csrf: OptStr = None, display_name: OptStr = None) -> Response:
    refused = _refused(request, csrf)
    if refused is not None:
        return refused
    app = sg_app(request)
    try:
        caller = invites.accept_invite(app, token, login, password,
                                       display_name=display_name or "",
                                       locale=_locale(request),
                                       address=client_address(request))
    except invites.InviteError as exc:
        return error_page(request, 404, str(exc))
    except ValueError as exc:  # the login, name or password: said on the form
        offer = invites.show_invite(app, token)
        return _public_form(request, "invite.html", 400, offer=offer, token=token,
                            error=str(exc), login=login, display_name=display_name or "")
    return _signed_in(request, caller)


def _signup_open(request: Request) -> bool:
    return bool(sg_app(request).settings["web.signup"])


@router.get("/signup")
def signup_page(request: Request) -> Response:
    if not _signup_open(request):
        _ = i18n.gettext_for(_locale(request))
        return error_page(request, 404, _("Sign-up is off here: ask the operator, or a "
                                          "parent of your household for an invite link."))
    return _public_form(request, "signup.html", error=None, login="", household="",
                        display_name="")


@router.post("/signup")
def signup(request: Request, login: FormStr, password: FormStr, household: FormStr,
           csrf: OptStr = None, display_name: OptStr = None) -> Response:
    if not _signup_open(request):
        return signup_page(request)
    refused = _refused(request, csrf)
    if refused is not None:
        return refused
    try:
        caller = invites.sign_up(sg_app(request), login, password, household,
                                 display_name=display_name or "", locale=_locale(request),
                                 address=client_address(request))
    except ValueError as exc:
        return _public_form(request, "signup.html", 400, error=str(exc), login=login,
                            household=household, display_name=display_name or "")
    return _signed_in(request, caller)
