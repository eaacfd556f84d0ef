"""HTTP requests and their latency per route, for ``/metrics``: a small ASGI middleware.

A request is counted under its route's template (``/api/v1/children/{child_id}``), never
its raw path, so that a scanner's random paths cannot grow the label set: whatever no route
matched is ``unmatched``. Latency runs from the request's arrival to the end of its body."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safegate.histogram import Histogram, Reading

UNMATCHED = "unmatched"


def route_of(scope: Scope) -> str:
    """The template of the route that answered (set by the router on the scope)."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class HttpMetrics:
    """Counts by (method, route, status) and a latency histogram by (method, route)."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.latency: dict[tuple[str, str], Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        hist = self.latency.get((method, route))
        if hist is None:
            hist = self.latency[(method, route)] = Histogram()
        hist.observe(seconds)

    def readings(self) -> list[tuple[str, str, Reading]]:
        return [(m, r, h.reading()) for (m, r), h in sorted(self.latency.items())]


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes every handler

        async def noting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            self.metrics.observe(scope["method"], route_of(scope), status,
                                 time.perf_counter() - started)
