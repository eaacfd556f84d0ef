"""Daily time budgets: the operations a parent performs, and the shared minute counter.

``safegate budget set|list|remove``: each change is one ``app.change("policy", …)``
transaction, so every gate loads it within about half a second, audited in it as ``actor``.
Children are addressed as in ``safegate schedule`` (name or ``id:N``). The minutes used come
from the same counter the gates write (``counter``): Redis or the database, per
``budgets.redis_url``.
"""

from __future__ import annotations

import time
from typing import Any

from safegate.app.bus import touches
from safegate.app.core import App
from safegate.app.schedules import audit_change, find_child
from safegate.policy.budgets import (
    Budgets,
    UsageBoard,
    check_minutes,
    check_target,
    local_minute,
    summary,
)
from safegate.store import family as repo
from safegate.store.budgets import DatabaseCounter, MinuteCounter, RedisCounter


def counter_url(app: App) -> str | None:
    """The Redis URL of the minute counter, or None for the database."""
    url: str = app.settings["budgets.redis_url"] or app.settings["server.notify_url"]
    return None if not url or url == "database" else url


def counter(app: App) -> MinuteCounter:
    """The shared minute counter the settings name (Redis, or the store's database)."""
    url = counter_url(app)
    if url is not None:
        return RedisCounter(url)
    return DatabaseCounter(app.engine)


def used_board(app: App, budgets: Budgets, profile_id: int, now: float) -> UsageBoard:
    """A board with a profile's used minutes of the local day of ``now``, read from the
    counter (what ``check`` and ``budget list`` show)."""
    board = UsageBoard(app.settings["budgets.minute_seconds"])
    if budgets.empty:
        return board
    day = local_minute(now, budgets.timezone, board.minute_seconds).day
    source = counter(app)
    try:
        counts = source.read((profile_id, target, day) for target in budgets.limits)
    finally:
        source.close()
    board.replace(counts)
    return board


def _compiled(session: Any, profile: Any) -> Budgets:
    from safegate.policy.compiled import budgets_of
    from safegate.store.repo import load_profiles

    [record] = load_profiles(session, profile_id=profile.id)
    return budgets_of(record)


def set_budget(app: App, child: str, target: str, minutes: int, *,
               actor: str = "system") -> dict[str, Any]:
    """Give a child ``minutes`` a day of a service or group (replacing its budget)."""
    target = check_target(target)
    minutes = check_minutes(minutes)
    with app.change("policy", f"budget set {child} {target} {minutes} min") as session:
        profile = find_child(session, child)
        touches(session, profile.id)
        repo.set_budget(session, profile.id, target, minutes)
        audit_change(session, profile, actor, "budget.set", target=target, minutes=minutes)
        return {"child": profile.name, "target": target, "minutes": minutes}


def remove_budget(app: App, child: str, target: str, *,
                  actor: str = "system") -> dict[str, Any]:
    """Remove a child's budget for a target (with Decree 147 on, the decree's limits stay)."""
    target = check_target(target)
    with app.change("policy", f"budget remove {child} {target}") as session:
        profile = find_child(session, child)
        touches(session, profile.id)
        if target not in repo.budget_minutes(session, profile.id):
            from safegate.policy.budgets import BudgetError

            raise BudgetError(f"{profile.name} has no budget for {target!r}")
        repo.delete_budget(session, profile.id, target)
        audit_change(session, profile, actor, "budget.remove", target=target)
        return {"child": profile.name, "target": target}


def list_budgets(app: App, child: str, now: float | None = None) -> dict[str, Any]:
    """A child's budgets in force (its own and, with Decree 147 on, the decree's) with the
    minutes used today and left, from the shared counter."""
    now = time.time() if now is None else now
    with app.sessions()() as session:
        profile = find_child(session, child)
        budgets = _compiled(session, profile)
        name, pid = profile.name, profile.id
    board = used_board(app, budgets, pid, now)
    day = local_minute(now, budgets.timezone, board.minute_seconds).day if not budgets.empty \
        else ""
    return {"child": name, "timezone": budgets.timezone, "day": day,
            "budgets": summary(budgets, board.used_on(pid, day), now, board.minute_seconds)}
