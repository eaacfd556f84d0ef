"""Who is calling, and the checks every request passes: the session cookie or a bearer API
token (identity from the store, never from the client), CSRF tokens, and the per-address
sign-in rate limit."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from fastapi import HTTPException, Request
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from safegate.app.accounts import Caller, session_caller, token_caller
from safegate.app.core import App

SESSION_COOKIE = "sg_session"
LOGIN_CSRF_COOKIE = "sg_login_csrf"  # double-submit token of the sign-in form
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class NotSignedIn(Exception):
    """A page that needs a signed-in caller (redirected to the sign-in page)."""


@dataclass(frozen=True, slots=True)
class Auth:
    caller: Caller
    csrf: str | None  # the session's token; None for a bearer API token (no cookie, no CSRF)


def sg_app(request: Request) -> App:
    app: App = request.app.state.sg
    return app


def authenticate(request: Request) -> Auth | None:
    """The caller of this request, from a bearer token or the session cookie."""
    app = sg_app(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        caller = token_caller(app, header[7:].strip())
        return None if caller is None else Auth(caller, None)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    found = session_caller(app, token)
    return None if found is None else Auth(*found)


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and secrets.compare_digest(str(a), str(b))


def api_auth(request: Request) -> Auth:
    """The API's caller; unsafe methods with a session cookie need the X-CSRF-Token header."""
    auth = authenticate(request)
    if auth is None:
        raise HTTPException(401, "sign in, or send Authorization: Bearer <API token>")
    if auth.csrf is not None and request.method in UNSAFE and \
            not same(request.headers.get(CSRF_HEADER), auth.csrf):
        raise HTTPException(403, "missing or wrong X-CSRF-Token header")
    return auth


def page_auth(request: Request) -> Auth:
    """A page's caller (a session only: API tokens do not open pages)."""
    auth = authenticate(request)
    if auth is None or auth.csrf is None:
        raise NotSignedIn
    return auth


def check_form_csrf(auth: Auth, value: str | None) -> None:
    if not same(value, auth.csrf):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


class RateLimit:
    """At most ``per_minute`` events per key in any 60 s (thread-safe: page handlers run in
    worker threads)."""

    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._seen) > 100_000:  # forget idle keys rather than grow without end
                self._seen = {k: q for k, q in self._seen.items()
                              if q and q[-1] > now - self.window}
            q = self._seen.setdefault(key, deque())
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.per_minute:
                return False
            q.append(now)
            return True


def from_session_only(auth: Auth, refusal: str) -> Caller:
    """The caller of a signed-in session; 403 with ``refusal`` for a bearer API token (the
    account's own sign-in and its tokens are changed from a session only)."""
    if auth.csrf is None:
        raise HTTPException(403, refusal)
    return auth.caller


@pass_context
def csrf_input(context: Context) -> Markup:
    """The templates' ``token()``: the hidden field that carries the signed-in account's CSRF
    token in a page's form (``auth`` of the page's context)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        CSRF_FIELD, getattr(context.get("auth"), "csrf", ""))
