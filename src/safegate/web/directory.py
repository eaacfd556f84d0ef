"""The operator's page of organisations and accounts (``app/directory.py``): every
organisation with its children and accounts counted, every account with its role, two-step
sign-in, last sign-in and lock-out; forms to add an organisation or an account and to lift a
lock-out. The same through ``/api/v1/operator/organisations`` and ``…/accounts``. Operators
only; everything is audited in the app layer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from safegate.app import directory as people
from safegate.store.choices import DEFAULT_TIMEZONE, LOCALES, ORG_KINDS, ROLES
from safegate.store.errors import StoreError
from safegate.web import errors, formats, i18n
from safegate.web.pages import FormStr, OptStr, render
from safegate.web.security import Auth, api_auth, check_form_csrf, page_auth, sg_app

router = APIRouter()
Signed = Annotated[Auth, Depends(page_auth)]
Authed = Annotated[Auth, Depends(api_auth)]

__all__ = ["router"]


class OrgBody(BaseModel):
    name: str
    kind: str = "household"
    timezone: str = DEFAULT_TIMEZONE


class AccountBody(BaseModel):
    login: str
    password: str
    role: str = "parent"
    org_id: int
    display_name: str | None = None
    locale: str = "vi"


def _page(request: Request, auth: Auth, error: str | None = None,
          status: int = 200) -> Response:
    found = people.directory(sg_app(request), auth.caller)
    lang = auth.caller.locale

    def fmt_when(moment: datetime | None) -> str:
        return formats.when(moment.timestamp(), DEFAULT_TIMEZONE, lang) if moment else "—"

    shown = errors.localise(error, i18n.gettext_for(lang)) if error else None
    return render(request, "operator_accounts.html", lang, status=status, auth=auth,
                  found=found, error=shown, kinds=ORG_KINDS, roles=ROLES, locales=LOCALES,
                  fmt_when=fmt_when, note=request.query_params.get("note"))


@router.get("/operator/accounts", include_in_schema=False)
def accounts_page(request: Request, auth: Signed) -> Response:
    return _page(request, auth)


@router.post("/operator/organisations", include_in_schema=False)
def add_org_form(request: Request, auth: Signed, name: FormStr, kind: FormStr,
                 timezone: OptStr = None, csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    try:
        people.operator_add_org(sg_app(request), auth.caller, name, kind,
                                timezone or DEFAULT_TIMEZONE)
    except (ValueError, StoreError) as exc:  # kept on the page with the message, nothing added
        return _page(request, auth, str(exc), status=400)
    return RedirectResponse("/operator/accounts?note=saved", status_code=303)


@router.post("/operator/accounts", include_in_schema=False)
def add_account_form(request: Request, auth: Signed, login: FormStr, password: FormStr,
                     role: FormStr, org_id: FormStr, display_name: OptStr = None,
                     locale: OptStr = None, csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    try:
        people.operator_add_account(sg_app(request), auth.caller, login, password, role=role,
                                    org_id=_whole(org_id), display_name=display_name or None,
                                    locale=locale or "vi")
    except (ValueError, StoreError) as exc:
        return _page(request, auth, str(exc), status=400)
    return RedirectResponse("/operator/accounts?note=saved", status_code=303)


@router.post("/operator/accounts/{account_id}/unlock", include_in_schema=False)
def unlock_form(request: Request, auth: Signed, account_id: int,
                csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    people.unlock_account(sg_app(request), auth.caller, account_id)
    return RedirectResponse("/operator/accounts?note=saved", status_code=303)


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"org_id: {text!r} is not an organisation") from None


# ---------------------------------------------------------------- the API


@router.get("/api/v1/operator/organisations", tags=["v1"])
def orgs_api(request: Request, auth: Authed) -> list[dict[str, Any]]:
    """Every organisation with its children and accounts counted (operators)."""
    return [o.to_dict() for o in people.directory(sg_app(request), auth.caller).orgs]


@router.get("/api/v1/operator/accounts", tags=["v1"])
def accounts_api(request: Request, auth: Authed) -> list[dict[str, Any]]:
    """Every account: role, organisation, two-step sign-in, last sign-in, lock-out
    (operators; the reading is audited)."""
    return [a.to_dict() for a in people.directory(sg_app(request), auth.caller).accounts]


@router.post("/api/v1/operator/organisations", tags=["v1"], status_code=201)
def add_org_api(request: Request, auth: Authed, body: OrgBody) -> JSONResponse:
    """Add a household, school or operator organisation."""
    view = people.operator_add_org(sg_app(request), auth.caller, body.name, body.kind,
                                   body.timezone)
    return JSONResponse(view.to_dict(), status_code=201)


@router.post("/api/v1/operator/accounts", tags=["v1"], status_code=201)
def add_account_api(request: Request, auth: Authed, body: AccountBody) -> JSONResponse:
    """Add an account (e-mail or Vietnamese phone number, password, role) to an
    organisation."""
    view = people.operator_add_account(sg_app(request), auth.caller, body.login,
                                       body.password, role=body.role, org_id=body.org_id,
                                       display_name=body.display_name, locale=body.locale)
    return JSONResponse(view.to_dict(), status_code=201)


@router.post("/api/v1/operator/accounts/{account_id}/unlock", tags=["v1"])
def unlock_api(request: Request, auth: Authed, account_id: int) -> dict[str, Any]:
    """Lift an account's lock-out after failed sign-ins (``unlocked`` false: it was not
    locked)."""
    return {"unlocked": people.unlock_account(sg_app(request), auth.caller, account_id)}
