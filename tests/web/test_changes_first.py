"""web/changes_first.py: page reads take at most web.threads - 1 handler threads at once and
wait in order; a change never waits behind them; health, metrics and static files are not
queued. Driven through the middleware with an ASGI app whose requests finish when the test
says."""

from __future__ import annotations

import asyncio
from typing import Any

from safegate.web.changes_first import ChangesFirst


class Held:
    """An ASGI app whose requests end when released; it records how many run at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.started: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        self.started.append(f"{scope['method']} {scope['path']}")
        try:
            if scope["method"] in ("GET", "HEAD") and scope["path"] != "/healthz":
                await self.release.wait()
        finally:
            self.running -= 1


def request(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path}


async def _nothing() -> dict[str, Any]:
    return {}


async def _drop(_message: Any) -> None:
    return None


def test_reads_leave_a_thread_for_changes_and_go_in_order() -> None:
    async def main() -> None:
        inner = Held()
        outer = ChangesFirst(inner, threads=4)
        reads = [asyncio.create_task(outer(request("GET", f"/children/{i}"), _nothing, _drop))
                 for i in range(6)]
        await asyncio.sleep(0.01)
        assert inner.running == 3  # web.threads - 1 reads at once, the others wait in line
        assert inner.started == ["GET /children/0", "GET /children/1", "GET /children/2"]
        change = asyncio.create_task(outer(request("PATCH", "/api/v1/children/1/policy"),
                                           _nothing, _drop))
        health = asyncio.create_task(outer(request("GET", "/healthz"), _nothing, _drop))
        await asyncio.wait_for(asyncio.gather(change, health), 1)  # neither waited
        assert inner.started[3:] == ["PATCH /api/v1/children/1/policy", "GET /healthz"]
        inner.release.set()
        await asyncio.wait_for(asyncio.gather(*reads), 1)
        assert inner.started[5:] == [f"GET /children/{i}" for i in range(3, 6)]
        assert inner.most == 3 + 1  # three reads and the change (the health check ended)

    asyncio.run(main())


def test_one_thread_is_shared() -> None:
    async def main() -> None:
        inner = Held()
        outer = ChangesFirst(inner, threads=1)
        reads = [asyncio.create_task(outer(request("GET", "/household"), _nothing, _drop))
                 for _ in range(3)]
        await asyncio.sleep(0.01)
        assert inner.running == 1
        inner.release.set()
        await asyncio.wait_for(asyncio.gather(*reads), 1)

    asyncio.run(main())
