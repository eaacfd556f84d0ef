"""`safegate notices`: deadline notices for data requests and breaches (docs/privacy.md)."""

from __future__ import annotations

from pathlib import Path

import click

from safegate.cli.common import CONTEXT, cli_actor, common_options, emit, json_option, run_app


@click.command(context_settings=CONTEXT)
@common_options
@click.option("--all", "everything", is_flag=True, help="Also the ones seen or resolved.")
@click.option("--seen", "seen_id", type=int, metavar="ID", help="Mark a notice as seen first.")
@click.option("--check", is_flag=True, help="Raise the notices due now first (a running "
              "gate's jobs leader does it hourly).")
@json_option
def notices(config: Path | None, data_dir: Path | None, everything: bool,
            seen_id: int | None, check: bool, as_json: bool) -> None:
    """Data requests and breach reports due within a day, or overdue."""
    from safegate.app.notices import list_notices, mark_seen, raise_notices

    if check:
        run_app(config, data_dir, raise_notices)
    if seen_id is not None:
        run_app(config, data_dir, mark_seen, seen_id, actor=cli_actor())
    rows = run_app(config, data_dir, list_notices, everything=everything)
    emit(rows, as_json, "\n".join(
        f"{r['id']}\t{r['kind']}\t{r['object_type']} {r['object_id']}\t"
        f"due {r['due_at'][:16]} UTC\t{r['time_left']}"
        + (f"\tseen by {r['seen_by']}" if r["seen_at"] else "") for r in rows)
        or "no notices")


COMMANDS = [notices]
