"""A child's consents on the web: each purpose's text (the parent's wording and, from 7, the
child's), who has consented and when, and a parent recording or withdrawing a consent, the
child's too when the child is with them and has read the child's wording. The rules, texts
and audit entries are the app layer's (``app.consent``, the same as ``safegate consent``);
a consent recorded here says so (method ``web``, the page's language, the signed-in adult
as the actor)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from safegate.app import access, overview
from safegate.app.consent import (
    ConsentView,
    give_consent,
    list_consents,
    who_consents,
    withdraw_consent,
)
from safegate.privacy import consent as rules
from safegate.privacy.consent import ConsentError
from safegate.store.choices import CONSENT_GIVERS, CONSENT_PURPOSES
from safegate.web import errors, i18n
from safegate.web.pages import back, render
from safegate.web.security import Auth, api_auth, check_form_csrf, page_auth, sg_app

router = APIRouter(tags=["v1"])
Signed = Annotated[Auth, Depends(page_auth)]
Authed = Annotated[Auth, Depends(api_auth)]
FormStr = Annotated[str, Form()]
OptStr = Annotated[str | None, Form()]


class ConsentBody(BaseModel):
    by: str = Field(description="who consents: parent, or child (aged 7+, with the parent)")
    language: str = Field("vi", description="the language of the text shown: vi or en")


@dataclass(frozen=True, slots=True)
class PurposeRow:
    """One purpose on the page: its texts in the page's language, and the active consent of
    each giver (None: not given)."""

    purpose: str
    version: str
    text: str
    child_text: str
    given: dict[str, ConsentView | None]


def purpose_rows(found: list[ConsentView], lang: str) -> list[PurposeRow]:
    """Every purpose with its newest text and who has consented to it. Pure."""
    rows = []
    for purpose in CONSENT_PURPOSES:
        text = rules.current_text(purpose)
        active = {c.given_by: c for c in found if c.purpose == purpose and c.active}
        rows.append(PurposeRow(purpose, text.version, text.text[lang], text.child_text[lang],
                               {g: active.get(g) for g in CONSENT_GIVERS}))
    return rows


def purpose_names(locale: str) -> dict[str, str]:
    """Each consent purpose as a parent reads it."""
    _ = i18n.gettext_for(locale)
    return {"filtering": _("Filtering websites"), "full_query_log": _("A full log of sites"),
            "message_monitoring": _("Reading messages for danger signs"),
            "alerts": _("Alerts to the parents"), "reports": _("Reports"),
            "partner_sharing": _("Sharing with a partner organisation")}


def _page(request: Request, auth: Auth, child_id: int, error: str | None = None,
          status: int = 200) -> Response:
    app = sg_app(request)
    owned = access.check(app, auth.caller, "child", child_id)
    lang = auth.caller.locale
    found = list_consents(app, owned.child_ref, actor=auth.caller.actor)
    child = overview.child_summary(app, owned.profile_id)
    return render(request, "consents.html", lang, status=status, auth=auth, child=child,
                  rows=purpose_rows(found, lang), error=error, purposes=purpose_names(lang),
                  note=request.query_params.get("note"),
                  needs_child="child" in who_consents(app, owned.child_ref),
                  can_change=access.may(auth.caller, owned, "change"))


@router.get("/children/{child_id}/consents", include_in_schema=False)
def consents_page(request: Request, auth: Signed, child_id: int) -> Response:
    return _page(request, auth, child_id)


@router.post("/children/{child_id}/consents", include_in_schema=False)
def change_consent(request: Request, auth: Signed, child_id: int, purpose: FormStr,
                   by: FormStr, action: FormStr, csrf: OptStr = None,
                   child_read: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    app = sg_app(request)
    owned = access.check(app, auth.caller, "child", child_id, "change")
    _ = i18n.gettext_for(auth.caller.locale)
    try:
        if action == "give":
            if by == "child" and not child_read:
                raise ConsentError("child_read: tick that the child has read their wording "
                                   "and agrees")
            give_consent(app, owned.child_ref, purpose, by=by, actor=auth.caller.actor,
                         language=auth.caller.locale, method="web")
        elif action == "withdraw":
            withdraw_consent(app, owned.child_ref, purpose, by=by, actor=auth.caller.actor)
        else:
            raise ConsentError(f"action: {action!r} is not one of give, withdraw")
    except ValueError as exc:  # the app layer's message, in the page's language
        return _page(request, auth, child_id, status=400,
                     error=errors.localise(str(exc).splitlines()[0], _))
    return back(f"/children/{child_id}/consents", "saved")


@router.get("/api/v1/children/{child_id}/consents")
def list_consents_api(request: Request, auth: Authed, child_id: int) -> list[dict[str, Any]]:
    """The child's consents, given and withdrawn, oldest first (the reading is audited)."""
    owned = access.check(sg_app(request), auth.caller, "child", child_id)
    return [c.to_dict() for c in list_consents(sg_app(request), owned.child_ref,
                                               actor=auth.caller.actor)]


@router.put("/api/v1/children/{child_id}/consents/{purpose}")
def give_consent_api(request: Request, auth: Authed, child_id: int, purpose: str,
                     body: ConsentBody) -> dict[str, Any]:
    """Record the consent of ``by`` to ``purpose``'s newest text, shown in ``language``
    (recorded with the method ``web``)."""
    owned = access.check(sg_app(request), auth.caller, "child", child_id, "change")
    return give_consent(sg_app(request), owned.child_ref, purpose, by=body.by,
                        actor=auth.caller.actor, language=body.language,
                        method="web").to_dict()


@router.delete("/api/v1/children/{child_id}/consents/{purpose}")
def withdraw_consent_api(request: Request, auth: Authed, child_id: int, purpose: str,
                         by: str | None = None) -> list[dict[str, Any]]:
    """Withdraw the active consents to ``purpose`` (those ``by`` gave, or all)."""
    owned = access.check(sg_app(request), auth.caller, "child", child_id, "change")
    return [c.to_dict() for c in withdraw_consent(sg_app(request), owned.child_ref, purpose,
                                                  by=by, actor=auth.caller.actor)]
