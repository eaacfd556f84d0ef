"""A signed-in person's own API tokens, for an integration (a home dashboard, a school's
system): the page ``/account/tokens`` and ``/api/v1/me/tokens``. A token is made with a name
and a scope (read, or read and write), shown once (only its SHA-256 is stored), listed by
name and revoked at once. Made and revoked from a signed-in session only: a token cannot make
more tokens. Both are audited (``token.create``, ``token.revoke``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from safegate.app import accounts
from safegate.store import choices
from safegate.web.pages import FormStr, OptStr, render
from safegate.web.security import (
    Auth,
    api_auth,
    check_form_csrf,
    from_session_only,
    page_auth,
    sg_app,
)

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/me/tokens", tags=["account"])
Signed = Annotated[Auth, Depends(page_auth)]
Authed = Annotated[Auth, Depends(api_auth)]

__all__ = ["api", "router"]


class TokenBody(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="what the token is for")
    scope: str = Field("read", description="read, or write (read and write)")


def _session(auth: Auth) -> accounts.Caller:
    return from_session_only(auth, "an API token cannot make or revoke tokens: use a "
                                     "signed-in session")


def _page(request: Request, auth: Auth, made: str | None = None, error: str | None = None,
          status: int = 200) -> Response:
    return render(request, "api_tokens.html", auth.caller.locale, status=status, auth=auth,
                  tokens=accounts.own_tokens(sg_app(request), auth.caller), made=made,
                  error=error, scopes=choices.TOKEN_SCOPES, note=None)


@router.get("/account/tokens")
def tokens_page(request: Request, auth: Signed) -> Response:
    return _page(request, auth)


@router.post("/account/tokens")
def make_token_form(request: Request, auth: Signed, name: FormStr, scope: FormStr,
                    csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    try:
        _, token = accounts.add_own_token(sg_app(request), auth.caller, name, scope)
    except ValueError as exc:
        return _page(request, auth, error=str(exc), status=400)
    return _page(request, auth, made=token)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token_form(request: Request, auth: Signed, token_id: int,
                      csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    accounts.revoke_own_token(sg_app(request), auth.caller, token_id)
    return RedirectResponse("/account/tokens", status_code=303)


@api.get("")
def tokens_api(request: Request, auth: Authed) -> list[dict[str, Any]]:
    """The caller's live API tokens (never the tokens themselves)."""
    return accounts.own_tokens(sg_app(request), auth.caller)


@api.post("", status_code=201)
def make_token_api(request: Request, auth: Authed, body: TokenBody) -> JSONResponse:
    """A new API token of the caller's account (a signed-in session only); the token is in
    this answer only."""
    token_id, token = accounts.add_own_token(sg_app(request), _session(auth), body.name,
                                             body.scope)
    return JSONResponse({"id": token_id, "name": body.name, "scope": body.scope,
                         "token": token}, status_code=201, headers={"Cache-Control": "no-store"})


@api.delete("/{token_id}")
def revoke_token_api(request: Request, auth: Authed, token_id: int) -> dict[str, Any]:
    """Revoke one of the caller's own API tokens now (a signed-in session only)."""
    accounts.revoke_own_token(sg_app(request), _session(auth), token_id)
    return {"id": token_id, "revoked": True}
