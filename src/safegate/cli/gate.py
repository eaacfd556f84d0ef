"""`safegate serve`, `migrate`, `reload` and `check`: running the gate and asking it."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import click

from safegate.cli.common import (
    CONTEXT,
    app_from,
    common_options,
    json_option,
    settings_from,
    setup_logging,
    user_errors,
)


@click.command(context_settings=CONTEXT)
@common_options
@click.option("--dns", metavar="ADDR:PORT",
              help="Listen address for DNS over UDP and TCP (default 0.0.0.0:53 as root, "
                   "else 0.0.0.0:5353).")
@click.option("--upstream", multiple=True, metavar="ADDR:PORT|URL",
              help="Upstream resolver; repeat for failover order. HOST:PORT or https:// URL.")
@click.option("--blocklist", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Extra list file (domains, hosts or adblock; .gz ok), category custom, "
                   "applied to every client. Repeatable.")
@click.option("--no-default-lists", is_flag=True,
              help="Do not load the blocklists embedded in the package.")
@click.option("--workers", type=int, metavar="N",
              help="Gate processes sharing the port (SO_REUSEPORT); 0 = one per CPU core.")
@click.option("--http", metavar="ADDR:PORT",
              help="Serve the web app and its API here, e.g. 127.0.0.1:8080 (web.http; "
                   "docs/web.md).")
@click.option("--no-web", is_flag=True, help="Run only the DNS gate (no web app).")
@click.option("--demo", is_flag=True,
              help="Create the demo household (two children, four devices) if missing.")
def serve(config: Path | None, data_dir: Path | None, dns: str | None, upstream: tuple[str, ...],
          blocklist: tuple[Path, ...], no_default_lists: bool, workers: int | None,
          http: str | None, no_web: bool, demo: bool) -> None:
    """Migrate the store, then run the gate (and the web app, when web.http or --http names
    an address) until stopped.

    Changes made with `safegate` commands reach it through the change bus; SIGHUP or
    `safegate reload` re-reads policy and changed lists without a restart.
    """
    # From here on a SIGHUP never ends the server: until the gate handles it (a reload), one
    # is ignored, and the gate reads the newest policy as it starts anyway.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    settings = settings_from(config, data_dir, {
        "gate.dns": dns,
        "gate.upstreams": list(upstream) if upstream else None,
        "gate.default_lists": False if no_default_lists else None,
        "gate.workers": workers,
        "web.http": "" if no_web else http,
    })
    if blocklist:
        for path in blocklist:
            if not path.exists():
                raise click.ClickException(f"--blocklist {path}: no such file")
        settings = settings.with_overrides(
            {"gate.blocklists": [*settings["gate.blocklists"], *map(str, blocklist)]}
        )
    setup_logging(settings["server.log_level"])
    from safegate.app.gate_process import run
    from safegate.web.server import start_web

    try:
        with user_errors():
            run(settings, demo=demo, web=start_web)
    except OSError as exc:
        raise click.ClickException(f"cannot start: {exc}") from exc
    except KeyboardInterrupt:
        pass


@click.command(context_settings=CONTEXT)
@common_options
@click.option("--demo", is_flag=True, help="Also create the demo household if missing.")
def migrate(config: Path | None, data_dir: Path | None, demo: bool) -> None:
    """Create the store or bring its schema to this version (safe to repeat; nodes
    starting together migrate one at a time)."""
    app = app_from(config, data_dir)
    with user_errors():
        app.migrate()
        if demo:
            app.create_demo_household()
        from safegate.store.db import schema_revision

        _, head = schema_revision(app.engine)
        app.close()
    click.echo(f"schema at {head}")


@click.command(context_settings=CONTEXT)
@common_options
@click.option("--all", "everywhere", is_flag=True, hidden=True,
              help="Kept for old scripts: every node always hears a change.")
def reload(config: Path | None, data_dir: Path | None, everywhere: bool) -> None:
    """Tell every running gate to re-read policy and lists (through the change bus)."""
    del everywhere
    app = app_from(config, data_dir)
    with user_errors():
        version = app.announce("all", "safegate reload")
        app.close()
    click.echo(f"reload announced (change {version})")


@click.command(context_settings=CONTEXT)
@common_options
@click.argument("domain")
@click.option("--profile", "-p", help="A child's profile name (default: the operator default).")
@click.option("--device", "-d", help="A device's name: use the profile it belongs to.")
@click.option("--at", "when", metavar="DATETIME",
              help="The moment to ask about, e.g. 2026-12-01T22:30 (the household's local "
                   "time unless it has an offset; default: now).")
@click.option("--blocklist", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Also consult this list file (as category custom).")
@click.option("--resolve", is_flag=True,
              help="Also ask the upstreams, as the gate does: a blocked CNAME target or "
                   "answer address blocks the name, and the CNAME chain's budgets count.")
@json_option
def check(config: Path | None, data_dir: Path | None, domain: str, profile: str | None,
          device: str | None, when: str | None, blocklist: tuple[Path, ...], resolve: bool,
          as_json: bool) -> None:
    """Say whether DOMAIN is blocked for a profile at a moment, and exactly why (a list, a
    rule, a schedule window, the pause, a temporary allow, a time budget used up, or with
    --resolve the name's CNAME chain or answer addresses)."""
    from safegate.app.explain import explain

    app = app_from(config, data_dir)
    if blocklist:
        from safegate.app.core import App

        app = App(app.settings.with_overrides(
            {"gate.blocklists": [*app.settings["gate.blocklists"], *map(str, blocklist)]}))
    with user_errors():
        found = explain(app, domain, profile, when=when, device=device, resolve=resolve)
    result: dict[str, Any] = found.to_dict()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    verdict = {"allow": "ALLOWED", "block": "BLOCKED", "nxdomain": "BLOCKED (NXDOMAIN)",
               "local": "ANSWERED LOCALLY",
               "rewrite": f"REWRITTEN to {found.decision.target} (safe search)",
               }[found.decision.action]
    click.echo(f"{found.domain}: {verdict} for profile {found.profile.name!r} at "
               f"{result['at']} ({result['timezone']})")
    if found.decision.category:
        click.echo(f"  category: {found.decision.category}")
    if found.decision.rule:
        click.echo(f"  rule:     {found.decision.rule}")
    if result["setting"]:
        click.echo(f"  setting:  {result['setting']}")
    if result["services"]:
        click.echo(f"  service:  {', '.join(result['services'])}")
    if result["windows"]:
        click.echo(f"  windows:  {', '.join(result['windows'])} (in force)")
    if result["paused_until"]:
        click.echo(f"  paused:   until {result['paused_until']}")
    if found.cnames:
        click.echo(f"  cnames:   {' → '.join((found.domain, *found.cnames))}")
    if found.resolve_error:
        click.echo(f"  upstream: no answer ({found.resolve_error}): judged by the name alone")
    for b in result["budgets"]:
        state = "used up" if b["used_up"] else f"{b['left']} min left"
        click.echo(f"  budget:   {b['target']}: {b['used']} of {b['minutes']} min used "
                   f"today, {state}")


COMMANDS = [serve, migrate, reload, check]
