"""Adding a child and a device from the browser, and the first steps after sign-up: a parent
whose household has no child yet is led from the household page to "add a child" (name and
birth year: the age band's preset applies), then "add a device" (its kind, an IP address or
MAC, or neither for a device known by its token only), then the device's set-up page
(``web.onboarding``). Each step checks the caller through ``app.access`` and calls
``app.family``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from safegate.app import access, family, overview
from safegate.store.choices import DEVICE_KINDS
from safegate.store.errors import StoreError
from safegate.web import i18n
from safegate.web.pages import render
from safegate.web.security import Auth, check_form_csrf, page_auth, sg_app

router = APIRouter(include_in_schema=False)
Signed = Annotated[Auth, Depends(page_auth)]
FormStr = Annotated[str, Form()]
OptStr = Annotated[str | None, Form()]


def _child_form(request: Request, auth: Auth, status: int = 200, error: str | None = None,
                name: str = "", birth_year: str = "") -> Response:
    return render(request, "child_new.html", auth.caller.locale, status=status, auth=auth,
                  error=error, child_name=name, birth_year=birth_year)


@router.get("/children/new")
def child_form(request: Request, auth: Signed) -> Response:
    access.check_org(auth.caller, auth.caller.org_id, "change")
    return _child_form(request, auth)


@router.post("/children/new")
def child_add(request: Request, auth: Signed, name: FormStr, birth_year: FormStr,
              csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    access.check_org(auth.caller, auth.caller.org_id, "change")
    _ = i18n.gettext_for(auth.caller.locale)
    try:
        year = int(birth_year.strip())
    except ValueError:
        return _child_form(request, auth, 400, _("The birth year is a number, e.g. 2015."),
                           name, birth_year)
    try:
        child = family.add_child(sg_app(request), name, year, org=f"id:{auth.caller.org_id}",
                                 actor=auth.caller.actor)
    except (family.FamilyError, StoreError) as exc:
        return _child_form(request, auth, 400, str(exc), name, birth_year)
    return RedirectResponse(f"/children/{child.id}/devices/new", status_code=303)


def _address(text: str) -> tuple[str | None, str | None]:
    """(ip, mac) of what the parent typed: a MAC address, an IP address or network, or
    nothing (the device is known by its DoH/DoT token only)."""
    if not text:
        return None, None
    try:
        return None, family.check_mac(text)
    except family.FamilyError:
        return family.check_ip(text, "address"), None


def _device_form(request: Request, auth: Auth, owned: access.Owned, status: int = 200,
                 error: str | None = None, **values: str) -> Response:
    child = overview.child_summary(sg_app(request), owned.profile_id)
    return render(request, "device_new.html", auth.caller.locale, status=status, auth=auth,
                  child=child, kinds=DEVICE_KINDS, error=error,
                  values={"name": "", "kind": "phone", "address": ""} | values)


@router.get("/children/{child_id}/devices/new")
def device_form(request: Request, auth: Signed, child_id: int) -> Response:
    owned = access.check(sg_app(request), auth.caller, "child", child_id, "change")
    return _device_form(request, auth, owned)


@router.post("/children/{child_id}/devices/new")
def device_add(request: Request, auth: Signed, child_id: int, name: FormStr, kind: FormStr,
               address: OptStr = None, csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    app = sg_app(request)
    owned = access.check(app, auth.caller, "child", child_id, "change")
    text = (address or "").strip()
    try:
        ip, mac = _address(text)
        device = family.add_device(app, owned.child_ref, name, kind=kind, ip=ip, mac=mac,
                                   actor=auth.caller.actor)
    except (family.FamilyError, StoreError) as exc:
        return _device_form(request, auth, owned, 400, str(exc), name=name, kind=kind,
                            address=text)
    return RedirectResponse(f"/devices/{device.id}/setup", status_code=303)
