"""The alerts inbox and notification settings: the page /alerts (alerts of the caller's
children with the redacted snippet, severity, guidance and "helpful / wrong"; e-mail, Web
Push, quiet hours and least severity) and the same through /api/v1 (alerts, feedback,
preferences, the VAPID key and the browser's push subscription). Every object is checked by
``app.access`` through the app layer; every form carries the CSRF token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from safegate.app import alerts as inbox
from safegate.app import notify
from safegate.web.pages import back, render
from safegate.web.security import Auth, api_auth, check_form_csrf, page_auth, sg_app

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["alerts"])
Signed = Annotated[Auth, Depends(page_auth)]
Authed = Annotated[Auth, Depends(api_auth)]
OptStr = Annotated[str | None, Form()]
FEEDBACK = {"helpful": "helpful", "wrong": "wrong", "clear": None}


def _feedback_value(value: str | None) -> str | None:
    if value not in FEEDBACK:
        raise ValueError(f"feedback: {value!r} is not one of helpful, wrong, clear")
    return FEEDBACK[value]


# ---------------------------------------------------------------- pages


@router.get("/alerts")
def alerts_page(request: Request, auth: Signed) -> Response:
    app = sg_app(request)
    views = inbox.inbox(app, auth.caller)
    return render(request, "alerts.html", auth.caller.locale, auth=auth, alerts=views,
                  prefs=notify.get_prefs(app, auth.caller), note=request.query_params.get("note"))


@router.post("/alerts/{alert_id}/feedback")
def feedback_form(request: Request, auth: Signed, alert_id: int, csrf: OptStr = None,
                  value: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    inbox.give_feedback(sg_app(request), auth.caller, alert_id, _feedback_value(value))
    return back(f"/alerts#alert-{alert_id}")


@router.post("/alerts/preferences")
def preferences_form(request: Request, auth: Signed, csrf: OptStr = None,
                     email: OptStr = None, push: OptStr = None, quiet_start: OptStr = None,
                     quiet_end: OptStr = None, min_severity: OptStr = None,
                     weekly_report: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    no_quiet = not (quiet_start or "").strip() and not (quiet_end or "").strip()
    notify.set_prefs(sg_app(request), auth.caller, email=email == "on", push=push == "on",
                     quiet_start=quiet_start, quiet_end=quiet_end,
                     min_severity=min_severity or "warning", clear_quiet=no_quiet,
                     weekly_report=weekly_report == "on")
    return back("/alerts", "saved")


# ---------------------------------------------------------------- API


class FeedbackBody(BaseModel):
    feedback: str | None = Field(description="helpful, wrong, or null to clear")


class PrefsBody(BaseModel):
    email: bool | None = None
    push: bool | None = None
    quiet_start: str | None = Field(None, description="local HH:MM; empty with quiet_end: "
                                                      "no quiet hours")
    quiet_end: str | None = None
    min_severity: str | None = Field(None, description="warning or urgent")
    weekly_report: bool | None = Field(None, description="last week's report by e-mail "
                                                         "on Monday morning")


class SubscriptionKeys(BaseModel):
    p256dh: str
    auth: str


class SubscriptionBody(BaseModel):
    """A browser's PushSubscription.toJSON()."""

    endpoint: str
    keys: SubscriptionKeys


class EndpointBody(BaseModel):
    endpoint: str


@api.get("/alerts")
def list_alerts(request: Request, auth: Authed,
                child_id: int | None = None) -> list[dict[str, Any]]:
    """The alerts of the caller's children (or one child's), newest first; the reading is
    recorded in the audit log."""
    return [v.to_dict() for v in inbox.inbox(sg_app(request), auth.caller, child_id)]


@api.post("/alerts/{alert_id}/feedback")
def feedback(request: Request, auth: Authed, alert_id: int,
             body: FeedbackBody) -> dict[str, Any]:
    value = body.feedback
    if value is not None and value not in ("helpful", "wrong"):
        raise ValueError(f"feedback: {value!r} is not one of helpful, wrong, null")
    inbox.give_feedback(sg_app(request), auth.caller, alert_id, value)
    return {"id": alert_id, "feedback": value}


@api.get("/notifications/preferences")
def get_preferences(request: Request, auth: Authed) -> dict[str, Any]:
    return notify.get_prefs(sg_app(request), auth.caller).to_dict()


@api.put("/notifications/preferences")
def put_preferences(request: Request, auth: Authed, body: PrefsBody) -> dict[str, Any]:
    clear = body.quiet_start == "" and body.quiet_end == ""
    return notify.set_prefs(sg_app(request), auth.caller, email=body.email, push=body.push,
                            quiet_start=body.quiet_start, quiet_end=body.quiet_end,
                            min_severity=body.min_severity, clear_quiet=clear,
                            weekly_report=body.weekly_report).to_dict()


@api.get("/push/key")
def push_key(request: Request, auth: Authed) -> dict[str, str]:
    """The VAPID public key (applicationServerKey) a browser subscribes with."""
    return {"key": notify.push_public_key(sg_app(request))}


@api.post("/push/subscriptions")
def subscribe(request: Request, auth: Authed, body: SubscriptionBody) -> dict[str, Any]:
    """Store this browser's push subscription for the signed-in account."""
    count = notify.add_subscription(sg_app(request), auth.caller, body.endpoint,
                                    body.keys.p256dh, body.keys.auth)
    return {"subscribed": True, "subscriptions": count}


@api.post("/push/subscriptions/remove")
def unsubscribe(request: Request, auth: Authed, body: EndpointBody) -> dict[str, Any]:
    return {"removed": notify.remove_subscription(sg_app(request), auth.caller,
                                                  body.endpoint)}
