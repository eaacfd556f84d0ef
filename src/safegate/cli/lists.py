"""`safegate services` (and, as the list pipeline grows, `safegate lists`)."""

from __future__ import annotations

import json
from typing import Any

import click

from safegate.cli.common import CONTEXT, app_from, common_options, json_option, user_errors


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



@click.group(context_settings=CONTEXT)
def lists() -> None:
    """Blocklist sources: the embedded lists, operator files and subscribed URLs."""




@lists.command("list", context_settings=CONTEXT)
@common_options
@json_option
def list_(config: Any, data_dir: Any, as_json: bool) -> None:
    """Subscribed sources with entry count, last update and last error."""
    from safegate.lists.registry import list_sources
    app = app_from(config, data_dir)
    with user_errors(), app.sessions()() as session:
        rows = list_sources(session)
    if as_json:
        click.echo(json.dumps([{
            "name": r.name, "location": r.location, "category": r.category, "match": r.match,
            "enabled": r.enabled, "entries": r.entry_count,
            "last_update": r.last_update.isoformat() if r.last_update else None,
            "last_error": r.last_error} for r in rows], ensure_ascii=False, indent=1))
        return
    if not rows:
        click.echo("no subscribed sources (the embedded lists are always there: "
                   "`safegate lists stats`)")
    for r in rows:
        state = "on " if r.enabled else "off"
        when = r.last_update.strftime("%Y-%m-%d %H:%M") if r.last_update else "never"
        click.echo(f"{state} {r.name:<20} {r.category:<12} {r.entry_count:>8} entries  "
                   f"updated {when}  {r.location}")
        if r.last_error:
            click.echo(f"    last error: {r.last_error}")


@lists.command(context_settings=CONTEXT)
@common_options
@click.argument("name")
@click.argument("location")
@click.option("--category", required=True, help="Category id (see docs/categories.md).")
@click.option("--match", type=click.Choice(["suffix", "exact"]), default="suffix",
              show_default=True, help="suffix: entries block their subdomains too.")
@click.option("--interval", default=86400, show_default=True, help="Seconds between updates.")
def add(config: Any, data_dir: Any, name: str, location: str, category: str, match: str,
        interval: int) -> None:
    """Subscribe to a list (file path or http(s) URL) and fetch it now."""
    from safegate.app import sources

    app = app_from(config, data_dir)
    with user_errors():
        report = sources.subscribe(app, name, location, category, match, interval)
    if report.error:
        click.echo(f"added {name}, but the first fetch failed: {report.error}")
    else:
        click.echo(f"added {name}: {report.entries} entries")
    announced()


@lists.command(context_settings=CONTEXT)
@common_options
@click.argument("names", nargs=-1)
@click.option("--force", is_flag=True,
              help="Fetch even if not due; with NAMES, also accept a list that shrank by more "
                   "than lists.max_shrink.")
def update(config: Any, data_dir: Any, names: tuple[str, ...], force: bool) -> None:
    """Fetch due sources now (or the NAMES given); a failure keeps the last good copy."""
    from safegate.app import sources

    app = app_from(config, data_dir)
    with user_errors():
        reports = sources.update(app, names, force=force)
    changed = any(r.changed for r in reports)
    failed = False
    for r in reports:
        if r.error:
            failed = True
            click.echo(f"{r.name}: FAILED, last good copy kept: {r.error}")
        else:
            what = f"updated, {r.entries} entries" if r.changed else "unchanged"
            click.echo(f"{r.name}: {what}")
    if not reports:
        click.echo("nothing due")
    if changed:
        announced()
    if failed:
        raise SystemExit(1)


@lists.command(context_settings=CONTEXT)
@common_options
@click.argument("name")
def remove(config: Any, data_dir: Any, name: str) -> None:
    """Unsubscribe from a source and delete its cached copy."""
    from safegate.lists.registry import remove_source
    app = app_from(config, data_dir)
    with user_errors(), app.change("lists", f"list source {name} removed") as session:
        remove_source(session, name, app.data_dir)
    click.echo(f"removed {name}")
    announced()


@lists.command(context_settings=CONTEXT)
@common_options
@json_option
def stats(config: Any, data_dir: Any, as_json: bool) -> None:
    """Build the index as the gate would and show every list's entries and problems."""
    app = app_from(config, data_dir)
    with user_errors():
        index = app.load_index()
    lists_out: list[dict[str, Any]] = [{
        "key": x.spec.key, "category": x.spec.category, "match": x.spec.match,
        "role": x.spec.role, "entries": x.entries, "patterns": x.patterns,
        "skipped": x.skipped, "error": x.error,
    } for x in index.lists]
    summary = {"names": index.size, "lists": len(index.lists),
               "build_seconds": round(index.build_seconds, 2),
               "index_bytes": index.memory_bytes(), "lists_detail": lists_out}
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=1))
        return
    for x in lists_out:
        problems = f"  ERROR: {x['error']}" if x["error"] else ""
        skipped = sum(x["skipped"].values())
        click.echo(f"{x['key']:<34} {x['category']:<12} {x['match']:<6} {x['entries']:>8}"
                   + (f"  ({x['patterns']} patterns)" if x["patterns"] else "")
                   + (f"  ({skipped} lines skipped)" if skipped else "") + problems)
    click.echo(f"{index.size} distinct names from {len(index.lists)} lists, built in "
               f"{index.build_seconds:.2f} s, {index.memory_bytes() / 1e6:.1f} MB of index")


@lists.command(context_settings=CONTEXT)
@common_options
@click.argument("domain")
@click.argument("category")
@click.option("--note", help="Why (kept with the decision).")
def categorise(config: Any, data_dir: Any, domain: str, category: str, note: str | None) -> None:
    """Set DOMAIN's category as the operator (a category id, or `allow`); this overrides
    what the content-safety engine found."""
    from safegate.lists.auto import set_operator
    app = app_from(config, data_dir)
    with user_errors(), app.change("categories", f"{domain} categorised") as session:
        set_operator(session, domain, category, note)
    click.echo(f"{domain}: {category} (operator)")
    announced()


@lists.command("new-domains", context_settings=CONTEXT)
@common_options
@click.option("--limit", default=50, show_default=True)
def new_domains(config: Any, data_dir: Any, limit: int) -> None:
    """Domains the gate resolved that no list knew, not yet classified (most queried first)."""
    from safegate.lists.auto import pending_domains
    app = app_from(config, data_dir)
    with user_errors(), app.sessions()() as session:
        for name in pending_domains(session, limit):
            click.echo(name)


def announced() -> None:
    click.echo("the running gates apply the change (change bus)")


COMMANDS = [services, lists]
