"""Announce "policy or lists changed" to every gate node over Redis pub/sub.

A node that changes policy (the web app, ``safegate reload --all``, a list update)
publishes one message; every node subscribed reloads. A node whose Redis connection drops
keeps serving with the policy it has and reconnects with back-off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

MAX_BACKOFF = 10.0
HEALTH_CHECK_SECONDS = 15


def publish(url: str, channel: str, reason: str = "reload") -> int:
    """Publish one announcement; returns how many nodes received it."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        return int(client.publish(channel, reason))
    finally:
        client.close()


async def listen(url: str, channel: str, on_message: Callable[[str], Awaitable[None]],
                 ready: asyncio.Event | None = None, *,
                 on_subscribe: Callable[[], None] | None = None) -> None:
    """Call ``on_message`` for every announcement, forever (cancel to stop).

    ``on_subscribe`` is called after every successful (re)subscription: announcements sent
    while the connection was down are lost, so a subscriber catches up there."""
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    backoff = 0.5
    while True:
        # The health check PINGs an idle connection, so a silently dead one is noticed.
        client = aioredis.Redis.from_url(url, socket_connect_timeout=5,
                                         health_check_interval=HEALTH_CHECK_SECONDS)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
            if ready is not None:
                ready.set()
            if on_subscribe is not None:
                on_subscribe()
            backoff = 0.5
            log.info("listening for reload announcements on %s", channel)
            while True:
                message = await pubsub.get_message(timeout=5.0)
                if message is None:
                    continue
                data = message.get("data")
                text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
                try:
                    await on_message(text)
                except Exception:
                    log.exception("handling announcement %r failed", text)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as exc:
            log.warning("reload announcements unavailable (%s); retrying in %.1f s", exc,
                        backoff)
            await asyncio.sleep(backoff)
            backoff = min(MAX_BACKOFF, backoff * 2)
        finally:
            try:
                await pubsub.aclose()
                await client.aclose()
            except Exception:  # noqa: BLE001 - closing a dead connection may fail
                pass
