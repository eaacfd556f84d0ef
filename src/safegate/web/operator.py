"""Operator pages (role ``operator`` only): the list sources and their health and the running
gate's status, the deadlines of data requests and breach reports (``app/notices.py``) to
mark seen; ``/metrics`` in the Prometheus text format and ``/readyz``.

``/metrics`` answers an operator's API token or session, and a client on loopback that came
through no proxy (no ``X-Forwarded-For``, ``Forwarded`` or ``X-Real-IP`` header): Prometheus
on the same machine needs no token, and a reverse proxy that adds the usual header never
turns the whole internet into "loopback". ``/readyz`` says only ready or not, and which check
failed, to anyone (a load balancer's probe carries no token)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from safegate.app import gate_status, notices
from safegate.app.access import require_operator
from safegate.app.core import App
from safegate.histogram import Reading
from safegate.policy.timestate import DEFAULT_TIMEZONE
from safegate.web import formats
from safegate.web.httpmetrics import HttpMetrics
from safegate.web.pages import OptStr, render
from safegate.web.security import (
    Auth,
    api_auth,
    authenticate,
    check_form_csrf,
    page_auth,
    sg_app,
)

router = APIRouter(tags=["v1"])
Signed = Annotated[Auth, Depends(page_auth)]
Authed = Annotated[Auth, Depends(api_auth)]
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


def _operator(auth: Auth) -> None:
    require_operator(auth.caller)


def _rate(request: Request) -> gate_status.Rate:
    rate: gate_status.Rate | None = getattr(request.app.state, "qps_rate", None)
    if rate is None:
        rate = request.app.state.qps_rate = gate_status.Rate()
    return rate


@router.get("/operator", include_in_schema=False)
def operator_page(request: Request, auth: Signed) -> Response:
    _operator(auth)
    app = sg_app(request)
    lang = auth.caller.locale

    def fmt_when(moment: datetime) -> str:
        return formats.when(moment.timestamp(), DEFAULT_TIMEZONE, lang)

    return render(request, "operator.html", lang, auth=auth,
                  unseen=len(notices.list_notices(app)),
                  gate=gate_status.gate_status(app, _rate(request)),
                  sources=gate_status.sources_health(app),
                  ready=gate_status.readiness(app), note=None, fmt_when=fmt_when,
                  fmt_number=lambda n: formats.number(n, lang),
                  fmt_percent=lambda x: formats.percent(x, lang))


def _seen(app: App, auth: Auth, notice_id: int) -> None:
    require_operator(auth.caller, write=True)
    notices.mark_seen(app, notice_id, actor=auth.caller.actor, role=auth.caller.role)


@router.get("/operator/notices", include_in_schema=False)
def notices_page(request: Request, auth: Signed, everything: bool = False) -> Response:
    _operator(auth)
    lang = auth.caller.locale
    rows = notices.list_notices(sg_app(request), everything=everything)
    for row in rows:
        left = abs(row["seconds_left"]) // 60
        row["hours"], row["minutes"] = left // 60, f"{left % 60:02d}"
        row["due"] = formats.when(datetime.fromisoformat(row["due_at"]).timestamp(),
                                  DEFAULT_TIMEZONE, lang)
    return render(request, "operator_notices.html", lang, auth=auth, rows=rows,
                  everything=everything, note=None)


@router.post("/operator/notices/{notice_id}/seen", include_in_schema=False)
def notice_seen_form(request: Request, auth: Signed, notice_id: int,
                     csrf: OptStr = None) -> Response:
    check_form_csrf(auth, csrf)
    _operator(auth)
    _seen(sg_app(request), auth, notice_id)
    return RedirectResponse("/operator/notices", status_code=303)


@router.get("/api/v1/operator/notices")
def notices_api(request: Request, auth: Authed, everything: bool = False
                ) -> list[dict[str, Any]]:
    """Deadlines of data requests and breach reports (a day before, and overdue) not yet
    marked seen (``everything``: all), the earliest first (operators)."""
    _operator(auth)
    return notices.list_notices(sg_app(request), everything=everything)


@router.post("/api/v1/operator/notices/{notice_id}/seen")
def notice_seen_api(request: Request, auth: Authed, notice_id: int) -> dict[str, Any]:
    """Mark a deadline notice seen (operators; audited)."""
    _operator(auth)
    _seen(sg_app(request), auth, notice_id)
    return {"id": notice_id, "seen": True}


@router.get("/api/v1/operator/status")
def operator_api(request: Request, auth: Authed) -> dict[str, Any]:
    """The gate's counters, the list sources' health and readiness (operators only)."""
    _operator(auth)
    app = sg_app(request)
    status = gate_status.gate_status(app, _rate(request))
    return {"gate": None if status is None else status.to_dict(),
            "sources": [s.to_dict() for s in gate_status.sources_health(app)],
            "ready": gate_status.readiness(app)}


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def metrics_allowed(request: Request) -> bool:
    host = request.client.host if request.client else ""
    if _loopback(host) and not any(h in request.headers for h in PROXY_HEADERS):
        return True
    auth = authenticate(request)
    return auth is not None and auth.caller.role == "operator"


def _line(name: str, value: float | int | None, labels: dict[str, str] | None = None) -> str:
    tags = ""
    if labels:
        inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        tags = "{" + inner + "}"
    number = "NaN" if value is None else repr(float(value)) if isinstance(value, float) \
        else str(int(value))
    return f"{name}{tags} {number}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(name: str, kind: str, help_text: str, samples: Iterable[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]


COUNTERS = (
    ("queries", "Queries counted by the query log (profiles that log nothing are not)."),
    ("slow_path", "Queries answered by the full pipeline, not from a memo."),
    ("blocked", "Queries blocked."),
    ("refused", "Queries refused (client outside gate.allowed_networks)."),
    ("rate_limited", "Queries dropped by the per-client rate limit."),
    ("servfail", "SERVFAIL answers."),
    ("stale", "Stale answers served while the upstreams failed."),
    ("handler_errors", "Unexpected errors while answering."),
    ("cache_hits", "Answer cache hits."),
    ("cache_misses", "Answer cache misses."),
    ("querylog_written", "Query-log rows written."),
    ("querylog_dropped", "Query-log records or rows dropped."),
    ("upstream_queries", "Queries sent upstream."),
    ("upstream_failures", "Upstream exchanges that failed."),
)
GAUGES = (
    ("cache_entries", "Entries in the answer cache."),
    ("memo_entries", "Memoised answers over all profiles."),
    ("clients", "Clients in the gate's client tables."),
    ("index_names", "Names in the domain index."),
    ("generation", "Generation of the policy snapshot in force."),
)


def _histogram(name: str, help_text: str,
               series: Iterable[tuple[dict[str, str], Reading]]) -> list[str]:
    samples: list[str] = []
    for labels, reading in series:
        for bound, n in reading.buckets:
            samples.append(_line(f"{name}_bucket", n, {**labels, "le": repr(bound)}))
        samples.append(_line(f"{name}_bucket", reading.count, {**labels, "le": "+Inf"}))
        samples.append(_line(f"{name}_sum", float(reading.sum), labels))
        samples.append(_line(f"{name}_count", reading.count, labels))
    return _family(name, "histogram", help_text, samples)


def http_exposition(http: HttpMetrics) -> list[str]:
    """HTTP requests by method, route template and status, and their latency. Pure."""
    name = "safegate_http_requests_total"
    out = _family(name, "counter", "HTTP requests answered, by route template and status.",
                  [_line(name, n, {"method": m, "route": r, "status": str(code)})
                   for (m, r, code), n in http.requests()])
    out += _histogram("safegate_http_request_duration_seconds",
                      "Seconds from an HTTP request's arrival to the end of its answer.",
                      [({"method": m, "route": r}, reading) for m, r, reading in
                       http.readings()])
    return out


def exposition(status: gate_status.GateStatus | None,
               sources: list[gate_status.SourceHealth], ready: dict[str, bool],
               http: HttpMetrics | None = None) -> str:
    """The Prometheus text format (version 0.0.4) of what this process knows. Pure."""
    out: list[str] = []
    out += _family("safegate_ready", "gauge", "1 when the check passes (as /readyz).",
                   [_line("safegate_ready", int(ok), {"check": name})
                    for name, ok in ready.items()])
    if status is not None:
        for key, help_text in COUNTERS:
            name = f"safegate_{key}_total"
            out += _family(name, "counter", help_text, [_line(name, getattr(status, key))])
        for key, help_text in GAUGES:
            name = f"safegate_{key}"
            out += _family(name, "gauge", help_text, [_line(name, getattr(status, key))])
        out += _family("safegate_upstream_healthy", "gauge", "1 when the upstream is healthy.",
                       [_line("safegate_upstream_healthy", int(u.healthy), {"upstream": u.name})
                        for u in status.upstreams])
        name = "safegate_blocked_by_category_total"
        out += _family(name, "counter", "Queries blocked, by the category that blocked them "
                       "(other: a profile's own rule).",
                       [_line(name, n, {"category": c})
                        for c, n in sorted(status.blocked_by_category.items())])
        if status.upstream_latency is not None:
            out += _histogram("safegate_upstream_latency_seconds",
                              "Seconds from asking the upstreams to their first good answer.",
                              [({}, status.upstream_latency)])
    out += _family("safegate_list_entries", "gauge", "Entries of each list source.",
                   [_line("safegate_list_entries", s.entries, {"source": s.name})
                    for s in sources])
    out += _family("safegate_list_last_update_seconds", "gauge",
                   "Unix time of each list source's last update (NaN: never).",
                   [_line("safegate_list_last_update_seconds",
                          s.last_update.timestamp() if s.last_update else None,
                          {"source": s.name}) for s in sources])
    out += _family("safegate_list_error", "gauge", "1 when the source's last update failed.",
                   [_line("safegate_list_error", int(bool(s.last_error)), {"source": s.name})
                    for s in sources])
    if http is not None:
        out += http_exposition(http)
    return "\n".join(out) + "\n"


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    if not metrics_allowed(request):
        return Response("an operator's API token is needed (or ask from this machine)\n",
                        status_code=401, media_type="text/plain",
                        headers={"WWW-Authenticate": "Bearer"})
    app = sg_app(request)
    body = exposition(gate_status.gate_status(app), gate_status.sources_health(app),
                      gate_status.readiness(app), getattr(request.app.state, "http_metrics", None))
    return Response(body, media_type=TEXT_FORMAT, headers={"Cache-Control": "no-store"})


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> Response:
    checks = gate_status.readiness(sg_app(request))
    ready = all(checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503,
                        headers={"Cache-Control": "no-store"})
