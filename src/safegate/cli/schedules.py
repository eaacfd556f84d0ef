"""`safegate schedule …`, `pause`, `resume` and `allow-for`: time rules for a child."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from safegate.cli.common import (
    CONTEXT,
    cli_actor,
    common_options,
    emit,
    json_option,
    run_app,
)


def _show(window: dict[str, Any]) -> str:
    state = ("in force" if window["in_force"] else "") if window["enabled"] else "disabled"
    allow = f" except {', '.join(window['allow'])}" if window["allow"] else ""
    verb = "blocks" if window["action"] == "block" else "allows"
    line = (f"{window['name']}: {window['days']} {window['from']}–{window['to']} "
            f"{verb} {window['what']}{allow}")
    return f"{line}  [{state}]" if state else line


@click.group(context_settings=CONTEXT)
def schedule() -> None:
    """Weekly windows for a child, in the household's time zone: bedtime (block everything
    but a few domains), school hours (block categories or services), recreation (allow
    them). See docs/schedules.md."""


@schedule.command("add", context_settings=CONTEXT)
@common_options
@click.argument("child")
@click.argument("name")
@click.option("--days", required=True, metavar="DAYS",
              help="mon-fri, sat,sun, daily, weekdays, weekends, fri-mon …")
@click.option("--from", "start", required=True, metavar="HH:MM", help="Local start time.")
@click.option("--to", "end", required=True, metavar="HH:MM",
              help="Local end time (not later than --from: it ends the next day).")
@click.option("--block-all", is_flag=True, help="Block everything (bedtime) but --allow.")
@click.option("--allow", "allow", multiple=True, metavar="DOMAIN",
              help="With --block-all: a domain (and its subdomains) still allowed.")
@click.option("--block-category", multiple=True, metavar="C", help="Block a category.")
@click.option("--block-service", multiple=True, metavar="S", help="Block a service.")
@click.option("--allow-category", multiple=True, metavar="C",
              help="Lift a category the child's policy blocks (never adult, gambling, …).")
@click.option("--allow-service", multiple=True, metavar="S",
              help="Lift a service the child's policy blocks.")
@json_option
def add(config: Path | None, data_dir: Path | None, child: str, name: str, days: str,
        start: str, end: str, block_all: bool, allow: tuple[str, ...],
        block_category: tuple[str, ...], block_service: tuple[str, ...],
        allow_category: tuple[str, ...], allow_service: tuple[str, ...], as_json: bool) -> None:
    """Add the window NAME for CHILD (a name or id:N)."""
    from safegate.app.schedules import WindowSpec, add_schedule

    spec = WindowSpec(name, days, start, end, block_all, allow, block_category, block_service,
                      allow_category, allow_service)
    window = run_app(config, data_dir, add_schedule, child, spec, actor=cli_actor())
    emit(window, as_json, f"added {_show(window)} ({window['timezone']})")


@schedule.command("list", context_settings=CONTEXT)
@common_options
@click.argument("child")
@json_option
def list_(config: Path | None, data_dir: Path | None, child: str, as_json: bool) -> None:
    """CHILD's windows, and which are in force now."""
    from safegate.app.schedules import list_schedules

    windows = run_app(config, data_dir, list_schedules, child)
    emit(windows, as_json, "\n".join(_show(w) for w in windows) or "no schedules")


@schedule.command("edit", context_settings=CONTEXT)
@common_options
@click.argument("child")
@click.argument("name")
@click.option("--name", "new_name", metavar="NEW", help="A new name for the window.")
@click.option("--days", metavar="DAYS", help="New days (as for add).")
@click.option("--from", "start", metavar="HH:MM", help="A new local start time.")
@click.option("--to", "end", metavar="HH:MM", help="A new local end time.")
@json_option
def edit(config: Path | None, data_dir: Path | None, child: str, name: str,
         new_name: str | None, days: str | None, start: str | None, end: str | None,
         as_json: bool) -> None:
    """Change CHILD's window NAME in place: its name, days or times (what it blocks or allows
    stays; the checks of add)."""
    from safegate.app.schedules import change_window

    if new_name is None and days is None and start is None and end is None:
        raise click.UsageError("say what to change: --name, --days, --from or --to")
    window = run_app(config, data_dir, change_window, child, name, new_name=new_name,
                     days=days, start=start, end=end, actor=cli_actor())
    emit(window, as_json, f"changed {_show(window)} ({window['timezone']})")


@schedule.command("remove", context_settings=CONTEXT)
@common_options
@click.argument("child")
@click.argument("name")
def remove(config: Path | None, data_dir: Path | None, child: str, name: str) -> None:
    """Delete CHILD's window NAME."""
    from safegate.app.schedules import remove_schedule

    run_app(config, data_dir, remove_schedule, child, name, actor=cli_actor())
    click.echo(f"removed {name}")


def _toggle(enabled: bool) -> click.Command:
    verb = "enable" if enabled else "disable"

    @click.command(verb, context_settings=CONTEXT)
    @common_options
    @click.argument("child")
    @click.argument("name")
    @json_option
    def toggle(config: Path | None, data_dir: Path | None, child: str, name: str,
               as_json: bool) -> None:
        from safegate.app.schedules import enable_schedule

        window = run_app(config, data_dir, enable_schedule, child, name, enabled,
                         actor=cli_actor())
        emit(window, as_json, f"{verb}d {_show(window)}")

    toggle.help = f"{verb.capitalize()} CHILD's window NAME."
    return toggle


schedule.add_command(_toggle(True))
schedule.add_command(_toggle(False))


@click.command(context_settings=CONTEXT)
@common_options
@click.argument("child")
@click.option("--minutes", type=int, metavar="N", help="Pause for N minutes.")
@click.option("--until", metavar="HH:MM", help="Pause until this local time (today or tomorrow).")
@json_option
def pause(config: Path | None, data_dir: Path | None, child: str, minutes: int | None,
          until: str | None, as_json: bool) -> None:
    """Block everything for CHILD but its allow rules (until resumed, for N minutes or until a
    local time)."""
    from safegate.app.schedules import pause as pause_child

    status = run_app(config, data_dir, pause_child, child, minutes=minutes, until=until,
                     actor=cli_actor())
    when = f"until {status['local_until']}" if status["local_until"] else "until resumed"
    emit(status, as_json, f"{status['child']} paused {when}")


@click.command(context_settings=CONTEXT)
@common_options
@click.argument("child")
@json_option
def resume(config: Path | None, data_dir: Path | None, child: str, as_json: bool) -> None:
    """End CHILD's pause."""
    from safegate.app.schedules import resume as resume_child

    status = run_app(config, data_dir, resume_child, child, actor=cli_actor())
    emit(status, as_json, f"{status['child']} resumed")


@click.command("allow-for", context_settings=CONTEXT)
@common_options
@click.argument("child")
@click.argument("domain")
@click.option("--minutes", type=int, required=True, metavar="N", help="How long.")
@json_option
def allow_for(config: Path | None, data_dir: Path | None, child: str, domain: str,
              minutes: int, as_json: bool) -> None:
    """Allow DOMAIN (and its subdomains) for CHILD for N minutes, over schedules, the pause,
    deny rules and lists."""
    from safegate.app.schedules import allow_for as allow_domain

    done = run_app(config, data_dir, allow_domain, child, domain, minutes, actor=cli_actor())
    emit(done, as_json, f"{done['domain']} allowed for {done['child']} until "
                         f"{done['local_until']}")


COMMANDS = [schedule, pause, resume, allow_for]
