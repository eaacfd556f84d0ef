"""The answer to an exception no handler took: logged with its traceback, and answered with a
clear one-line error (a page or JSON) instead of a dropped connection.

Starlette's catch-all handler sends its response and then raises the exception again, so that
the server can log it; uvicorn then closes the connection, and a client that was still sending
(a keep-alive connection, a request body) saw a reset instead of the 500 (found by filling
the disk under a running server). This middleware sits inside the metrics, so a failure is
counted with the status it was answered with.

A store that cannot be reached or written (a full disk, a stopped database: SQLAlchemy's
``OperationalError``) is answered 503 with ``Retry-After``: the transaction was rolled back,
so nothing was changed, and a page view whose audit entry cannot be written is not shown.
The error page's language then comes from the browser, since reading the session would need
the store."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safegate.web.httpmetrics import method_of, route_of

log = logging.getLogger(__name__)

STORE_DOWN = ("the store cannot be reached or written now (a full disk or a stopped "
              "database); nothing was changed: try again later")
INTERNAL = "internal error; the server log has the details"
RETRY_AFTER = "30"

# (request, status, message, store readable) -> the page or JSON of that error
Respond = Callable[[Request, int, str, bool], Response]


def verdict(exc: Exception) -> tuple[int, str, bool]:
    """Pure: (status, message, whether the store may be read to answer) for an exception that
    no handler took."""
    if isinstance(exc, OperationalError):
        return 503, STORE_DOWN, False
    return 500, INTERNAL, True


class LastResort:
    def __init__(self, app: ASGIApp, respond: Respond) -> None:
        self.app = app
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:  # too late for an answer of our own: the server closes it
                raise
            status, message, store_ok = verdict(exc)
            # The route's template, never the path: a path can carry a secret (a child's
            # link, an invite, a password reset).
            route = route_of(scope)
            log.error("%s %s failed: %s: %s", method_of(scope), route,
                      exc.__class__.__name__, str(exc).splitlines()[0] if str(exc) else "",
                      exc_info=status == 500)
            request = Request(scope)
            try:
                response = self.respond(request, status, message, store_ok)
            except Exception:  # the error page itself failed: plain words, still an answer
                log.exception("the error page for %s failed", route)
                response = PlainTextResponse(message, status_code=status)
            if status == 503:
                response.headers["Retry-After"] = RETRY_AFTER
            await response(scope, receive, send)
