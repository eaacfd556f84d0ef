"""Start the web app on the gate's event loop: a uvicorn server on a socket bound here (so a
taken port is an ``OSError`` like the gate's own, and workers share it with SO_REUSEPORT)."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from safegate.app.core import App
from safegate.config import ConfigError, parse_addr

log = logging.getLogger(__name__)

STOP_SECONDS = 5.0  # longest wait for requests in flight when the server stops


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(512)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


@dataclass
class Listener:
    server: Any  # uvicorn.Server
    sock: socket.socket
    task: Any
    port: int


@dataclass
class WebServer:
    """The web app's listener and, when ``web.blockpage`` is set, the block page's."""

    listeners: list[Listener]

    @property
    def port(self) -> int:
        return self.listeners[0].port

    async def stop(self) -> None:
        """Stop listening, let requests in flight finish (a few seconds at most), close."""
        import asyncio
        import contextlib

        for one in self.listeners:
            one.server.should_exit = True
            one.task.cancel()
            # A TLS connection kept alive by an idle client would otherwise hold the shutdown.
            for connection in list(one.server.server_state.connections):
                transport = getattr(connection, "transport", None)
                cycle = getattr(connection, "cycle", None)
                if transport is not None and (cycle is None or cycle.response_complete):
                    transport.abort()  # idle between requests
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(one.server.shutdown(sockets=[one.sock]), STOP_SECONDS)
            one.sock.close()


async def _listen(asgi: Any, address: str, *, reuse_port: bool, certfile: str | None,
                  keyfile: str | None) -> Listener:
    import asyncio

    import uvicorn

    host, port = parse_addr(address)
    sock = bind(host, port, reuse_port=reuse_port)
    config = uvicorn.Config(
        asgi, lifespan="off", access_log=False, server_header=False, log_level="warning",
        timeout_graceful_shutdown=int(STOP_SECONDS), ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        # the client's address is ours to decide (web/client.py, web.trusted_proxies):
        # uvicorn would otherwise believe X-Forwarded-For from any loopback peer
        proxy_headers=False,
    )
    try:
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[sock])
    except BaseException:
        sock.close()
        raise
    task = asyncio.get_running_loop().create_task(server.main_loop())
    return Listener(server, sock, task, sock.getsockname()[1])


def _shown(address: str, port: int, tls: bool) -> str:
    host, _ = parse_addr(address)
    return f"{'https' if tls else 'http'}://{f'[{host}]' if ':' in host else host}:{port}/"


async def start_web(app: App, reuse_port: bool = False) -> WebServer:
    """Serve pages and API at ``web.http`` (and the block page at ``web.blockpage``) on the
    running loop until ``stop()``."""
    from safegate.web.application import create_app

    s = app.settings
    tls = bool(s["web.tls"])
    if tls and not (s["gate.tls_cert"] and s["gate.tls_key"]):
        raise ConfigError("web.tls needs gate.tls_cert and gate.tls_key")
    asgi = create_app(app, secure_cookies=tls or bool(s["web.secure_cookies"]))
    # Sync handlers run in anyio's worker threads (FastAPI's run_in_threadpool).
    anyio.to_thread.current_default_thread_limiter().total_tokens = s["web.threads"]
    main = await _listen(asgi, s["web.http"], reuse_port=reuse_port,
                         certfile=s["gate.tls_cert"] if tls else None,
                         keyfile=s["gate.tls_key"] if tls else None)
    served = WebServer([main])
    log.info("web app on %s (API /api/v1, OpenAPI /api/openapi.json)",
             _shown(s["web.http"], main.port, tls))
    if s["web.blockpage"]:
        from safegate.web.blockpage import create_blockpage

        try:
            page = await _listen(create_blockpage(app), s["web.blockpage"],
                                 reuse_port=reuse_port, certfile=None, keyfile=None)
        except BaseException:
            await served.stop()
            raise
        served.listeners.append(page)
        log.info("block page on %s", _shown(s["web.blockpage"], page.port, False))
    return served
