"""`safegate budget set|list|remove`: daily time budgets of a child."""

from __future__ import annotations

from pathlib import Path

import click

from safegate.cli.common import (
    CONTEXT,
    cli_actor,
    common_options,
    emit,
    json_option,
    run_app,
)


@click.group(context_settings=CONTEXT)
def budget() -> None:
    """Minutes a day of a service (youtube) or a group of services (group:games) for a child,
    counted over DNS and blocked when used up until local midnight. See docs/budgets.md."""


@budget.command("set", context_settings=CONTEXT)
@common_options
@click.argument("child")
@click.argument("target")
@click.option("--minutes", required=True, type=int, help="Minutes a day, 0 to 1440.")
@json_option
def set_(config: Path | None, data_dir: Path | None, child: str, target: str, minutes: int,
         as_json: bool) -> None:
    """Give CHILD MINUTES a day of TARGET (a service id or group:GROUP)."""
    from safegate.app.budgets import set_budget

    done = run_app(config, data_dir, set_budget, child, target, minutes,
                   actor=cli_actor())
    emit(done, as_json, f"{done['child']}: {done['target']} {done['minutes']} min a day")


@budget.command("list", context_settings=CONTEXT)
@common_options
@click.argument("child")
@json_option
def list_(config: Path | None, data_dir: Path | None, child: str, as_json: bool) -> None:
    """CHILD's budgets with the minutes used today and left."""
    from safegate.app.budgets import list_budgets

    found = run_app(config, data_dir, list_budgets, child)
    lines = [f"{found['child']} ({found['day'] or 'no budgets'}, {found['timezone']}):"]
    for b in found["budgets"]:
        state = "USED UP" if b["used_up"] else f"{b['left']} min left"
        why = "  [Decree 147]" if b["decree147"] else ""
        lines.append(f"  {b['target']}: {b['minutes']} min a day, {b['used']} used, "
                     f"{state}{why}")
    emit(found, as_json, "\n".join(lines))


@budget.command("remove", context_settings=CONTEXT)
@common_options
@click.argument("child")
@click.argument("target")
@json_option
def remove(config: Path | None, data_dir: Path | None, child: str, target: str,
           as_json: bool) -> None:
    """Remove CHILD's budget for TARGET (with Decree 147 on, the decree's limits stay)."""
    from safegate.app.budgets import remove_budget

    done = run_app(config, data_dir, remove_budget, child, target, actor=cli_actor())
    emit(done, as_json, f"{done['child']}: no budget for {done['target']} any more")


COMMANDS = [budget]
