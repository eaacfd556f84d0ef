"""`safegate retention show|run`: how long each kind of child data is kept, and the purges now
(a running gate runs them hourly, once across nodes; docs/privacy.md)."""

from __future__ import annotations

from pathlib import Path

import click

from safegate.cli.common import CONTEXT, common_options, emit, json_option, run_app


@click.group(context_settings=CONTEXT)
def retention() -> None:
    """Retention per data class."""


@retention.command("show")
@common_options
@json_option
def show(config: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """Each data class, its setting and the days it is kept (0: forever)."""
    from safegate.app.retention import retention_table
    from safegate.cli.common import settings_from

    rows = retention_table(settings_from(config, data_dir))
    emit(rows, as_json, "\n".join(
        f"{r['class']:<15} {('-' if r['days'] is None else str(r['days']) + ' days'):>10}  "
        f"{r['setting'] or ''}  {r['what']}" for r in rows))


@retention.command("run")
@common_options
@json_option
def run(config: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """Every purge now; each one that deletes rows is recorded in the audit log."""
    from safegate.app.retention import run_retention

    counts = run_app(config, data_dir, run_retention)
    emit(counts, as_json, "\n".join(f"purged {n} {what}" for what, n in counts.items())
         or "nothing to purge (every class is kept forever)")


COMMANDS = [retention]
