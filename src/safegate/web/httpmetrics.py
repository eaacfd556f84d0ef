"""HTTP requests and their latency per route, for ``/metrics``: a small ASGI middleware.

A request is counted under its route's template (``/api/v1/children/{child_id}``), never
its raw path, so that a scanner's random paths cannot grow the label set: whatever no route
matched is ``unmatched``. Latency runs from the request's arrival to the end of its body."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safegate.histogram import Histogram, Reading

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_of(scope: Scope) -> str:
    """The request's method, or ``other``: a client may send any token as a method."""
    method = str(scope.get("method", ""))
    return method if method in METHODS else "other"


def route_of(scope: Scope) -> str:
    """The template of the route that answered (set by the router on the scope)."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class HttpMetrics:
    """Counts by (method, route, status) and a latency histogram by (method, route).
    Written from the server's event loop, read by /metrics in a worker thread: a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, int]] = Counter()
        self._latency: dict[tuple[str, str], Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(method, route, status)] += 1
            hist = self._latency.get((method, route))
            if hist is None:
                hist = self._latency[(method, route)] = Histogram()
            hist.observe(seconds)

    def requests(self) -> list[tuple[tuple[str, str, int], int]]:
        with self._lock:
            return sorted(self._requests.items())

    def readings(self) -> list[tuple[str, str, Reading]]:
        with self._lock:
            return [(m, r, h.reading()) for (m, r), h in sorted(self._latency.items())]


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
            self.metrics.observe(method_of(scope), route_of(scope), status,
                                 time.perf_counter() - started)
