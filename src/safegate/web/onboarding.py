"""Device set-up pages: a device's set-up material (Android Private DNS name, Apple
configuration profile, DoH URL, router and Windows instructions, a QR code) for its family's
parent only, and the live "this device is protected" check (``app.presence``).

The material carries the device's token, a secret: only a caller who may change the device
*and* belongs to its own organisation sees it (an operator of the service does not), and every
answer is sent with ``Cache-Control: no-store``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from safegate.app import access, family, presence
from safegate.app import setup as material
from safegate.app.accounts import Caller
from safegate.app.core import App
from safegate.web.pages import render
from safegate.web.security import Auth, api_auth, page_auth, sg_app

router = APIRouter(tags=["v1"])  # pages are left out of the OpenAPI schema one by one
Signed = Annotated[Auth, Depends(page_auth)]
Authed = Annotated[Auth, Depends(api_auth)]
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _own_device(app: App, caller: Caller, device_id: int) -> tuple[access.Owned,
                                                                   family.DeviceView]:
    """The device, if the caller may change it and it is of the caller's own family."""
    owned = access.check_own(app, caller, "device", device_id, "change")
    return owned, family.find_device(app, owned.child_ref, f"id:{device_id}")


def _material(app: App, owned: access.Owned, device_id: int
              ) -> tuple[material.DeviceSetup | None, str | None]:
    try:
        return material.device_setup(app, owned.child_ref, f"id:{device_id}"), None
    except material.SetupError as exc:
        return None, str(exc)


def _probe(owned: access.Owned, device: family.DeviceView) -> presence.Probe:
    return presence.probe_for(owned.profile_id, device.ip_cidr, device.token)


def _armed(request: Request) -> dict[int, float]:
    """When each device was last forgotten in this process's client tables."""
    armed: dict[int, float] | None = getattr(request.app.state, "presence_armed", None)
    if armed is None:
        armed = request.app.state.presence_armed = {}
    return armed


def _arm(request: Request, device_id: int, probe: presence.Probe) -> float:
    armed = _armed(request)
    if len(armed) > 10_000:
        armed.clear()
    armed[device_id] = when = presence.arm(sg_app(request), probe)
    return when


async def _seen(request: Request, device_id: int, probe: presence.Probe,
                since: float) -> bool:
    """The client tables answer only when the device was forgotten at or after ``since``
    (an entry is then a query since); otherwise the query log does."""
    app = sg_app(request)
    armed = _armed(request).get(device_id)
    if presence.live(app) and armed is not None and armed >= since:
        return presence.seen_live(app, probe)  # on the event loop: the gate's own tables
    return bool(await run_in_threadpool(presence.seen_in_log, app, probe, since))


def _since(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"since: {value!r} is not a time in seconds") from None


@router.get("/devices/{device_id}/setup", include_in_schema=False)
async def setup_page(request: Request, auth: Signed, device_id: int) -> Response:
    app = sg_app(request)
    owned, device = await run_in_threadpool(_own_device, app, auth.caller, device_id)
    found, error = await run_in_threadpool(_material, app, owned, device_id)
    probe = _probe(owned, device)
    # ?since=T (the "check again" link without script) asks about the same moment again.
    since = _since(request.query_params.get("since"))
    if since is None:
        since = _arm(request, device_id, probe)
        seen = False
    else:
        seen = await _seen(request, device_id, probe, since)
    qr = Markup(material.qr_code(found.doh_url).svg_inline(scale=4, border=2,  # noqa: S704
                                                           title="QR")) if found else None
    lang = auth.caller.locale
    steps = material.instructions(found, lang).splitlines() if found else []
    return render(request, "device_setup.html", lang, auth=auth, device=device,
                  child_id=owned.profile_id, setup=found, error=error, qr=qr, steps=steps,
                  since=repr(since), seen=seen, note=None)


@router.get("/devices/{device_id}/setup.mobileconfig", include_in_schema=False)
def mobileconfig(request: Request, auth: Signed, device_id: int) -> Response:
    app = sg_app(request)
    owned, _device = _own_device(app, auth.caller, device_id)
    found = material.device_setup(app, owned.child_ref, f"id:{device_id}")
    return Response(material.mobileconfig(found),
                    media_type="application/x-apple-aspen-config",
                    headers={**NO_STORE, "Content-Disposition":
                             f'attachment; filename="safegate-{device_id}.mobileconfig"'})


@router.get("/api/v1/devices/{device_id}/setup")
def setup_api(request: Request, auth: Authed, device_id: int) -> Response:
    """A device's set-up material (its family's parent only; never cached)."""
    import json

    app = sg_app(request)
    owned, _device = _own_device(app, auth.caller, device_id)
    found = material.device_setup(app, owned.child_ref, f"id:{device_id}")
    return Response(json.dumps(found.to_dict(), ensure_ascii=False),
                    media_type="application/json", headers=NO_STORE)


@router.post("/api/v1/devices/{device_id}/protected")
async def arm_api(request: Request, auth: Authed, device_id: int) -> dict[str, Any]:
    """Start watching for the device's first query; ask GET …/protected?since= after."""
    app = sg_app(request)
    owned, device = await run_in_threadpool(_own_device, app, auth.caller, device_id)
    return {"device": device_id, "since": _arm(request, device_id, _probe(owned, device)),
            "protected": False}


@router.get("/api/v1/devices/{device_id}/protected")
async def protected_api(request: Request, auth: Authed, device_id: int,
                        since: str | None = None) -> Response:
    """Whether the gate has seen a query from the device since ``since``."""
    import json

    app = sg_app(request)
    owned, device = await run_in_threadpool(_own_device, app, auth.caller, device_id)
    when = _since(since)
    if when is None:
        raise ValueError("since: required (the time POST …/protected answered)")
    seen = await _seen(request, device_id, _probe(owned, device), when)
    return Response(json.dumps({"device": device_id, "since": when, "protected": seen}),
                    media_type="application/json", headers=NO_STORE)
