"""Changes do not wait behind page views: reads (GET and HEAD of pages and the API) take at
most ``web.threads - 1`` of the handler threads at once and wait their turn here, in order,
without holding a thread; a change (POST, PUT, PATCH, DELETE: a pause, a policy edit, an
approved request) always finds a thread of its own. Under a crowd of page views a parent's
change reaches the gate as soon as its own work is done, instead of after every page queued
before it (bench/web measures both). The health and metrics endpoints and static files are
not queued."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

READS = frozenset({"GET", "HEAD"})
UNQUEUED = ("/healthz", "/readyz", "/metrics", "/static/")


class ChangesFirst:
    def __init__(self, app: ASGIApp, threads: int) -> None:
        self.app = app
        self.reads = max(1, threads - 1)
        self._turns: asyncio.Semaphore | None = None  # made on the serving loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in READS or \
                str(scope["path"]).startswith(UNQUEUED):
            await self.app(scope, receive, send)
            return
        if self._turns is None:
            self._turns = asyncio.Semaphore(self.reads)
        async with self._turns:
            await self.app(scope, receive, send)
