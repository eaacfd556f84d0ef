"""The REST API (/api/v1): the same operations as the pages, through the same app-layer
functions and the same object checks (``app.access``). A session cookie (with the
X-CSRF-Token header on changes) or a bearer API token (a read token cannot change)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from safegate.app import access, family, overview, schedules
from safegate.app import requests as unblock
from safegate.app.explain import explain
from safegate.web.security import Auth, api_auth, sg_app

router = APIRouter(prefix="/api/v1", tags=["v1"])
Authed = Annotated[Auth, Depends(api_auth)]


class PauseBody(BaseModel):
    minutes: int | None = Field(None, ge=1, description="empty: until resumed")


class AllowForBody(BaseModel):
    domain: str
    minutes: int = Field(ge=1)


class ApproveBody(BaseModel):
    minutes: int | None = Field(None, ge=1)
    until: str | None = Field(None, description="local time HH:MM")
    forever: bool = False


class PolicyBody(BaseModel):
    block_categories: list[str] = []
    unblock_categories: list[str] = []
    block_services: list[str] = []
    allow_services: list[str] = []
    monitor_services: list[str] = []
    default_services: list[str] = []
    allow: list[str] = []
    unallow: list[str] = []
    deny: list[str] = []
    undeny: list[str] = []
    safe_search: bool | None = None
    youtube_mode: str | None = None
    block_mode: str | None = None
    allow_list_only: bool | None = None
    decree147: bool | None = None


class RenameBody(BaseModel):
    name: str


def _child(request: Request, auth: Auth, child_id: int, action: str = "read") -> access.Owned:
    return access.check(sg_app(request), auth.caller, "child", child_id, action)


@router.get("/me")
def me(auth: Authed) -> dict[str, Any]:
    """Who is signed in; with a session cookie also ``csrf``, the token the X-CSRF-Token
    header of every change must carry."""
    c = auth.caller
    return {"id": c.account_id, "name": c.name, "login": c.login, "role": c.role,
            "org_id": c.org_id, "locale": c.locale, "scope": c.scope, "csrf": auth.csrf}


@router.get("/household")
def household(request: Request, auth: Authed) -> dict[str, Any]:
    access.check_org(auth.caller, auth.caller.org_id)
    return overview.household(sg_app(request), auth.caller.org_id).to_dict()


@router.get("/children/{child_id}")
def child(request: Request, auth: Authed, child_id: int) -> dict[str, Any]:
    owned = _child(request, auth, child_id)
    app = sg_app(request)
    return {**overview.child_summary(app, owned.profile_id).to_dict(),
            "policy": family.show_policy(app, owned.child_ref, actor=auth.caller.actor)}


@router.post("/children/{child_id}/pause")
def pause(request: Request, auth: Authed, child_id: int, body: PauseBody) -> dict[str, Any]:
    owned = _child(request, auth, child_id, "change")
    return schedules.pause(sg_app(request), owned.child_ref, minutes=body.minutes,
                           actor=auth.caller.actor)


@router.post("/children/{child_id}/resume")
def resume(request: Request, auth: Authed, child_id: int) -> dict[str, Any]:
    owned = _child(request, auth, child_id, "change")
    return schedules.resume(sg_app(request), owned.child_ref, actor=auth.caller.actor)


@router.post("/children/{child_id}/allow-for")
def allow_for(request: Request, auth: Authed, child_id: int,
              body: AllowForBody) -> dict[str, Any]:
    owned = _child(request, auth, child_id, "change")
    return schedules.allow_for(sg_app(request), owned.child_ref, body.domain, body.minutes,
                               actor=auth.caller.actor)


@router.patch("/children/{child_id}/policy")
def set_policy(request: Request, auth: Authed, child_id: int,
               body: PolicyBody) -> dict[str, Any]:
    owned = _child(request, auth, child_id, "change")
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                              for k, v in body.model_dump().items()}
    change = family.PolicyChange(**fields)
    return family.set_policy(sg_app(request), owned.child_ref, change, actor=auth.caller.actor)


@router.get("/children/{child_id}/check")
def check(request: Request, auth: Authed, child_id: int, domain: str,
          resolve: bool = False) -> dict[str, Any]:
    """Would ``domain`` be blocked for this child now, and why; ``resolve``: also judge the
    upstreams' answer (CNAME chain, addresses), as the gate does."""
    owned = _child(request, auth, child_id)
    return explain(sg_app(request), domain, owned.child_ref, resolve=resolve).to_dict()


@router.get("/children/{child_id}/requests")
def child_requests(request: Request, auth: Authed, child_id: int,
                   everything: bool = False) -> list[dict[str, Any]]:
    owned = access.check(sg_app(request), auth.caller, "child", child_id)
    return [r.to_dict() for r in unblock.list_requests(
        sg_app(request), owned.child_ref, everything=everything, actor=auth.caller.actor)]


@router.post("/requests/{request_id}/approve")
def approve(request: Request, auth: Authed, request_id: int,
            body: ApproveBody) -> dict[str, Any]:
    access.check(sg_app(request), auth.caller, "request", request_id, "change")
    return unblock.approve(sg_app(request), request_id, minutes=body.minutes, until=body.until,
                           forever=body.forever, actor=auth.caller.actor).to_dict()


@router.post("/requests/{request_id}/decline")
def decline(request: Request, auth: Authed, request_id: int) -> dict[str, Any]:
    access.check(sg_app(request), auth.caller, "request", request_id, "change")
    return unblock.decline(sg_app(request), request_id, actor=auth.caller.actor).to_dict()


@router.get("/devices/{device_id}")
def device(request: Request, auth: Authed, device_id: int) -> dict[str, Any]:
    app = sg_app(request)
    owned = access.check(app, auth.caller, "device", device_id)
    return family.find_device(app, owned.child_ref, f"id:{device_id}").to_dict()


@router.patch("/devices/{device_id}")
def rename_device(request: Request, auth: Authed, device_id: int,
                  body: RenameBody) -> dict[str, Any]:
    app = sg_app(request)
    owned = access.check(app, auth.caller, "device", device_id, "change")
    return family.rename_device(app, owned.child_ref, f"id:{device_id}", body.name,
                                actor=auth.caller.actor).to_dict()


@router.delete("/devices/{device_id}")
def remove_device(request: Request, auth: Authed, device_id: int) -> dict[str, Any]:
    app = sg_app(request)
    owned = access.check(app, auth.caller, "device", device_id, "change")
    return {"removed": family.remove_device(app, owned.child_ref, f"id:{device_id}",
                                            actor=auth.caller.actor)}
