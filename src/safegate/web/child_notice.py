"""The page a child aged 7+ reads about what SafeGate keeps about them, and its API.

How a child reaches it: a parent (or another adult who may read the child) opens it from the
child's page on their own signed-in device and hands the device over, or reads it with the
child. The page is read-only and stands alone: no navigation, no form, no link into the
parent's pages, and no alert content, only counts. The child's words (language and age band)
are chosen with two plain links; the adult's own interface language does not change. The
child never gets an account, a session or a token of their own here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from safegate.app import access
from safegate.app.child_notice import child_notice
from safegate.privacy.child_notice import BANDS
from safegate.store.choices import LOCALES
from safegate.web.pages import render
from safegate.web.security import Auth, api_auth, page_auth, sg_app

router = APIRouter()
Signed = Annotated[Auth, Depends(page_auth)]
Authed = Annotated[Auth, Depends(api_auth)]

__all__ = ["router"]


def _notice(request: Request, auth: Auth, child_id: int, lang: str | None,
            band: str | None) -> dict[str, Any]:
    app = sg_app(request)
    owned = access.check(app, auth.caller, "child", child_id)
    return child_notice(app, owned.profile_id, lang or auth.caller.locale, band or None,
                        actor=auth.caller.actor, role=auth.caller.role)


@router.get("/children/{child_id}/about-me", include_in_schema=False)
def about_me_page(request: Request, auth: Signed, child_id: int, lang: str | None = None,
                  band: str | None = None) -> Response:
    notice = _notice(request, auth, child_id, lang, band)
    response = render(request, "about_me.html", notice["language"], notice=notice,
                      bands=BANDS, locales=LOCALES, adult_lang=auth.caller.locale)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/api/v1/children/{child_id}/about-me", tags=["v1"])
def about_me_api(request: Request, auth: Authed, child_id: int, lang: str | None = None,
                 band: str | None = None) -> dict[str, Any]:
    """What SafeGate keeps about a child, in words for the child's age (lang: vi or en;
    band: 7-10, 11-13 or 14-17, default from the birth year). Counts only for alerts."""
    return _notice(request, auth, child_id, lang, band)
