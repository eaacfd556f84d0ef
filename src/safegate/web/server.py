"""Start the web app on the gate's event loop: a uvicorn server on a socket bound here (so a
taken port is an ``OSError`` like the gate's own, and workers share it with SO_REUSEPORT)."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any

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
class WebServer:
    server: Any  # uvicorn.Server
    sock: socket.socket
    task: Any
    port: int

    async def stop(self) -> None:
        """Stop listening, let requests in flight finish (a few seconds at most), close."""
        import asyncio
        import contextlib

        self.server.should_exit = True
        self.task.cancel()
        # A TLS connection kept alive by an idle client would otherwise hold the shutdown.
        for connection in list(self.server.server_state.connections):
            transport = getattr(connection, "transport", None)
            cycle = getattr(connection, "cycle", None)
            if transport is not None and (cycle is None or cycle.response_complete):
                transport.abort()  # idle between requests
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.server.shutdown(sockets=[self.sock]), STOP_SECONDS)
        self.sock.close()


async def start_web(app: App, reuse_port: bool = False) -> WebServer:
    """Serve pages and API at ``web.http`` on the running loop until ``stop()``."""
    import asyncio

    import uvicorn

    from safegate.web.application import create_app

    s = app.settings
    host, port = parse_addr(s["web.http"])
    tls = bool(s["web.tls"])
    if tls and not (s["gate.tls_cert"] and s["gate.tls_key"]):
        raise ConfigError("web.tls needs gate.tls_cert and gate.tls_key")
    sock = bind(host, port, reuse_port=reuse_port)
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(app, secure_cookies=tls or bool(s["web.secure_cookies"])),
        lifespan="off", access_log=False, server_header=False, log_level="warning",
        timeout_graceful_shutdown=int(STOP_SECONDS),
        ssl_certfile=s["gate.tls_cert"] if tls else None,
        ssl_keyfile=s["gate.tls_key"] if tls else None,
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
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if ":" in host else host
    log.info("web app on %s://%s:%d/ (API /api/v1, OpenAPI /api/openapi.json)",
                scheme, shown, bound)
    return WebServer(server, sock, task, bound)
