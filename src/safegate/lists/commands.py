"""`safegate services` (and, as the list pipeline grows, `safegate lists`)."""

from __future__ import annotations

import json

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.command(context_settings=CONTEXT)
@click.option("--group", help="Only this group (social, video, games, chat, ai, shopping, …).")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for machines.")
def services(group: str | None, as_json: bool) -> None:
    """The catalogue of apps and sites a parent can block one by one."""
    from safegate.lists.services import GROUPS
    from safegate.lists.services import services as catalogue

    if group is not None and group not in GROUPS:
        raise click.ClickException(f"unknown group {group!r}; groups: {', '.join(GROUPS)}")
    items = [s for s in catalogue() if group is None or s.group == group]
    if as_json:
        click.echo(json.dumps(
            [{"id": s.id, "name": s.name, "name_vi": s.name_vi, "group": s.group,
              "icon": s.icon, "domains": list(s.domains), "note": s.note} for s in items],
            ensure_ascii=False, indent=1))
        return
    for s in items:
        click.echo(f"{s.icon} {s.id:<18} {s.group:<10} {s.name}"
                   + (f" ({s.name_vi})" if s.name_vi and s.name_vi != s.name else "")
                   + f"  [{len(s.domains)} domains]")


COMMANDS = [services]
