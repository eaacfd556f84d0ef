"""`safegate audit verify|list`: the hash-chained audit log (docs/privacy.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from safegate.cli.common import CONTEXT, cli_actor, common_options, emit, json_option, run_app


@click.group(context_settings=CONTEXT)
def audit() -> None:
    """The audit log of children's data: who saw or changed what, and why."""


@audit.command("verify")
@common_options
@json_option
def verify(config: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """Check the chain: an edited, removed or reordered entry is named (exit status 1).
    After a retention purge the check starts from the newest checkpoint."""
    from safegate.app.audit import verify_audit

    result = run_app(config, data_dir, verify_audit)
    emit(result.to_dict(), as_json,
         (f"audit log intact: {result.entries} entries"
          + (f" after entry {result.since} (purged by retention)" if result.since else ""))
         if result.ok
         else f"audit log broken: {result.problem}")
    if not result.ok:
        sys.exit(1)


@audit.command("list")
@common_options
@click.option("--child", "child_ref", metavar="CHILD", help="Only the entries about a child.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@json_option
def list_(config: Path | None, data_dir: Path | None, child_ref: str | None, limit: int,
          as_json: bool) -> None:
    """The newest entries first (the reading is itself recorded)."""
    from safegate.app.audit import audit_entries

    rows = run_app(config, data_dir, audit_entries, child_ref, actor=cli_actor(), limit=limit)
    emit(rows, as_json, "\n".join(
        f"#{r['seq']} {r['ts'][:19]} {r['actor']} {r['action']} {r['object_type']}"
        f"{':' + r['object_id'] if r['object_id'] else ''}"
        f"{' subject ' + r['subject'][:8] if r['subject'] else ''}"
        f"{' (' + r['legal_basis'] + ')' if r['legal_basis'] else ''}" for r in rows)
        or "no entries")


COMMANDS = [audit]
