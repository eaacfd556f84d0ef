"""List sources as operations: subscribe and update, each a change on the bus when a copy
changed (the gates then rebuild their index)."""

from __future__ import annotations

from collections.abc import Sequence

from safegate.app.core import App
from safegate.lists.fetch import ListLimits
from safegate.lists.registry import UpdateReport, add_source, update_sources


def subscribe(app: App, name: str, location: str, category: str, match: str,
              interval: int) -> UpdateReport:
    """Add a source and fetch it now (a failed first fetch is reported, the source kept)."""
    with app.change("lists", f"list source {name} added") as session:
        add_source(session, name, location, category, match, interval)
        return update_sources(session, app.data_dir, names=[name],
                              limits=ListLimits.from_settings(app.settings))[0]


def update(app: App, names: Sequence[str] | None = None,
           force: bool = False) -> list[UpdateReport]:
    """Fetch the due sources (or ``names``); a change on the bus when any copy changed."""
    with app.sessions().begin() as session:
        reports = update_sources(session, app.data_dir,
                                 names=list(names) if names else None, force=force,
                                 limits=ListLimits.from_settings(app.settings))
        changed = [r.name for r in reports if r.changed]
        if changed:
            app.bus.record(session, "lists", "list sources updated: " + ", ".join(changed))
    return reports
