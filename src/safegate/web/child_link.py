"""A link a child can hold (``app/child_link.py``): the page where a parent makes and ends it,
its API, and the child's page it opens (``/me/{token}``) without a session.

Only the child's own family (or school) makes or ends a link: a caller who may change the
child *and* belongs to the child's organisation (an operator of the service does not, as for
a device's set-up material). The token is shown once, as a link and a QR code, with
``Cache-Control: no-store``. The child's page is the notice page itself, standalone and
read-only, sent with no referrer, no caching and no indexing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from markupsafe import Markup

from safegate.app import access
from safegate.app import child_link as links
from safegate.app import setup as material
from safegate.privacy.child_notice import BANDS
from safegate.store.choices import DEFAULT_TIMEZONE, LOCALES
from safegate.web import formats, i18n
from safegate.web.pages import OptStr, render
from safegate.web.security import Auth, api_auth, check_form_csrf, page_auth, sg_app

router = APIRouter()
Signed = Annotated[Auth, Depends(page_auth)]
Authed = Annotated[Auth, Depends(api_auth)]
NO_STORE = {"Cache-Control": "no-store"}
CHILDS_PAGE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
               "X-Robots-Tag": "noindex, nofollow"}

__all__ = ["router"]


def _url(request: Request, token: str) -> str:
    """The link, under the address the parent's own browser used unless the operator set the
    public one (the link is shown to the parent, not sent)."""
    return links.link_url(sg_app(request), token, str(request.base_url))


def _page(request: Request, auth: Auth, owned: access.Owned,
          url: str | None = None) -> Response:
    app = sg_app(request)
    live = links.child_link(app, owned.child_ref)
    qr = Markup(material.qr_code(url).svg_inline(scale=4, border=2,  # noqa: S704
                                                 title="QR")) if url else None
    lang = auth.caller.locale
    zone = live.timezone if live else DEFAULT_TIMEZONE
    return render(request, "child_link.html", lang, auth=auth,
                  child_id=owned.profile_id, live=live, url=url, qr=qr,
                  fmt_when=lambda moment: formats.when(moment.timestamp(), zone, lang),
                  can_change=access.may(auth.caller, owned, "change"))  # owned: own org


@router.get("/children/{child_id}/child-link", include_in_schema=False)
def link_page(request: Request, auth: Signed, child_id: int) -> Response:
    owned = access.check_own(sg_app(request), auth.caller, "child", child_id, "read")
    return _page(request, auth, owned)


@router.post("/children/{child_id}/child-link", include_in_schema=False)
def make_link_form(request: Request, auth: Signed, child_id: int, csrf: OptStr = None,
                   language: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    app = sg_app(request)
    owned = access.check_own(app, auth.caller, "child", child_id, "change")
    token, _ = links.make_child_link(app, owned.child_ref, actor=auth.caller.actor,
                                     role=auth.caller.role,
                                     language=language or auth.caller.locale)
    return _page(request, auth, owned, _url(request, token))


@router.post("/children/{child_id}/child-link/end", include_in_schema=False)
def end_link_form(request: Request, auth: Signed, child_id: int,
                  csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    app = sg_app(request)
    owned = access.check_own(app, auth.caller, "child", child_id, "change")
    links.end_child_link(app, owned.child_ref, actor=auth.caller.actor, role=auth.caller.role)
    return RedirectResponse(f"/children/{child_id}/child-link", status_code=303)


@router.get("/me/{token}", include_in_schema=False)
def childs_page(request: Request, token: str, lang: str | None = None,
                band: str | None = None) -> Response:
    # A word or band the page does not have falls back to the link's: a child who edits the
    # address gets their page, not an error.
    notice = links.notice_by_link(sg_app(request), token, lang if lang in LOCALES else None,
                                  band if band in BANDS else None)
    if notice is None:
        # Unknown and ended links look the same; in the language asked, else the browser's.
        words = lang if lang in LOCALES else i18n.browser_locale(
            request.headers.get("accept-language"))
        response = render(request, "child_link_gone.html", words, status=404)
    else:
        response = render(request, "about_me.html", notice["language"], notice=notice,
                          bands=BANDS, locales=LOCALES)
    response.headers.update(CHILDS_PAGE)
    return response


# ---------------------------------------------------------------- the API


@router.get("/api/v1/children/{child_id}/child-link", tags=["v1"])
def link_api(request: Request, auth: Authed, child_id: int) -> dict[str, Any]:
    """The child's live link (when it was made, by whom, when last opened), never its token;
    ``link`` is null when there is none."""
    app = sg_app(request)
    owned = access.check_own(app, auth.caller, "child", child_id, "read")
    live = links.child_link(app, owned.child_ref)
    return {"link": live.to_dict() if live else None}


@router.post("/api/v1/children/{child_id}/child-link", tags=["v1"], status_code=201)
def make_link_api(request: Request, auth: Authed, child_id: int,
                  language: str | None = None) -> JSONResponse:
    """A new link for the child's own page (ends the old one). The token and URL are in this
    answer only; the store keeps the token's hash."""
    app = sg_app(request)
    owned = access.check_own(app, auth.caller, "child", child_id, "change")
    token, view = links.make_child_link(app, owned.child_ref, actor=auth.caller.actor,
                                        role=auth.caller.role,
                                        language=language or auth.caller.locale)
    return JSONResponse({"link": view.to_dict(), "token": token,
                         "url": _url(request, token)}, status_code=201, headers=NO_STORE)


@router.delete("/api/v1/children/{child_id}/child-link", tags=["v1"])
def end_link_api(request: Request, auth: Authed, child_id: int) -> dict[str, Any]:
    """End the child's link now (``ended`` false when there was none)."""
    app = sg_app(request)
    owned = access.check_own(app, auth.caller, "child", child_id, "change")
    return {"ended": links.end_child_link(app, owned.child_ref, actor=auth.caller.actor,
                                          role=auth.caller.role)}
