"""The ``safegate`` command line."""

from __future__ import annotations

import importlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from safegate import __version__
from safegate.config import ConfigError, Settings, load_settings

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _settings(config: Path | None, overrides: dict[str, Any]) -> Settings:
    try:
        return load_settings(config, overrides={k: v for k, v in overrides.items()
                                                if v is not None})
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from exc


def _logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Migrations say what they run at INFO; an operator needs that only when debugging.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))


config_option = click.option(
    "--config", "-c", type=click.Path(path_type=Path, dir_okay=False),
    help="TOML settings file (default: $SAFEGATE_CONFIG). See docs/configuration.md.",
)
data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path, file_okay=False),
    help="Data directory (database, pid file). Overrides server.data_dir.",
)


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="safegate")
def main() -> None:
    """SafeGate: a protective DNS resolver and child-safety platform.

    Start with `safegate serve --demo`, then ask it: `dig @127.0.0.1 -p 5353 example.com`.
    """


@main.command(context_settings=CONTEXT)
@config_option
@data_dir_option
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
@click.option("--no-web", is_flag=True, help="Run only the DNS gate (no web app).")
@click.option("--demo", is_flag=True,
              help="Create the demo household (two children, four devices) if missing.")
def serve(config: Path | None, data_dir: Path | None, dns: str | None, upstream: tuple[str, ...],
          blocklist: tuple[Path, ...], no_default_lists: bool, workers: int | None, no_web: bool,
          demo: bool) -> None:
    """Run the gate (and, once it exists, the web app) until stopped.

    SIGHUP or `safegate reload` re-reads policy and changed lists without a restart.
    """
    overrides: dict[str, Any] = {
        "server.data_dir": str(data_dir) if data_dir else None,
        "gate.dns": dns,
        "gate.upstreams": list(upstream) if upstream else None,
        "gate.default_lists": False if no_default_lists else None,
        "gate.workers": workers,
    }
    settings = _settings(config, overrides)
    if blocklist:
        for path in blocklist:
            if not path.exists():
                raise click.ClickException(f"--blocklist {path}: no such file")
        settings = settings.with_overrides(
            {"gate.blocklists": [*settings["gate.blocklists"], *map(str, blocklist)]}
        )
    _logging(settings["server.log_level"])
    del no_web  # the web app arrives with a later issue; serve runs the gate alone today
    from safegate.gate.runtime import run

    try:
        run(settings, demo=demo)
    except OSError as exc:
        raise click.ClickException(f"cannot start: {exc}") from exc
    except KeyboardInterrupt:
        pass


@main.command(context_settings=CONTEXT)
@config_option
@data_dir_option
@click.option("--all", "everywhere", is_flag=True,
              help="Announce the change to every node over Redis (server.notify_url).")
def reload(config: Path | None, data_dir: Path | None, everywhere: bool) -> None:
    """Tell a running server to re-read policy and lists (sends SIGHUP), or every node."""
    settings = _settings(config, {"server.data_dir": str(data_dir) if data_dir else None})
    from safegate.gate.runtime import PID_FILE

    if everywhere:
        if not settings["server.notify_url"]:
            raise click.ClickException("--all needs server.notify_url (a Redis URL)")
        from safegate.store.notify import publish

        try:
            nodes = publish(settings["server.notify_url"], settings["server.notify_channel"],
                            "safegate reload --all")
        except Exception as exc:
            url = settings['server.notify_url']
            raise click.ClickException(f"cannot reach {url}: {exc}") from exc
        click.echo(f"reload announced to {nodes} node(s)")
        return

    from safegate.gate.runtime import signal_reload

    pid_file = settings.data_dir / PID_FILE
    try:
        pid = signal_reload(settings.data_dir)
    except (OSError, ValueError) as exc:
        raise click.ClickException(
            f"no running server found through {pid_file} ({exc}); is `safegate serve` "
            "running with the same data directory?"
        ) from exc
    click.echo(f"reload requested (pid {pid})")


@main.command(context_settings=CONTEXT)
@config_option
@data_dir_option
@click.argument("domain")
@click.option("--profile", "-p", help="A child's profile name (default: the operator default).")
@click.option("--blocklist", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Also consult this list file (as category custom).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def check(config: Path | None, data_dir: Path | None, domain: str, profile: str | None,
          blocklist: tuple[Path, ...], as_json: bool) -> None:
    """Say whether DOMAIN is blocked for a profile, and exactly why."""
    from safegate.gate.decide import decide
    from safegate.gate.runtime import Runtime
    from safegate.lists.parse import normalise_domain

    settings = _settings(config, {"server.data_dir": str(data_dir) if data_dir else None})
    if blocklist:
        settings = settings.with_overrides(
            {"gate.blocklists": [*settings["gate.blocklists"], *map(str, blocklist)]})
    name = normalise_domain(domain)
    if name is None:
        raise click.ClickException(f"{domain!r} is not a domain name")
    runtime = Runtime(settings)
    db = settings.data_dir / "safegate.db"
    if settings["server.database_url"] or db.exists():
        runtime.open_store(demo=False)
    index = runtime.load_index()
    snapshot = runtime.build_snapshot(index)
    compiled = snapshot.default
    if profile:
        found = snapshot.profile_by_name(profile)
        if found is None:
            names = ", ".join(p.name for p in snapshot.profiles.values()) or "none"
            raise click.ClickException(f"no profile named {profile!r} (profiles: {names})")
        compiled = found
    decision = decide(compiled, index, name)
    result: dict[str, Any] = {
        "domain": name,
        "profile": compiled.name,
        "action": decision.action,
        "category": decision.category,
        "rule": decision.rule,
        "blocked_categories": sorted(compiled.blocked_categories),
    }
    if decision.rule and ":" in decision.rule and decision.category not in ("service", "guard"):
        source, _, entry = decision.rule.partition(":")
        result["list"] = source
        result["entry"] = entry
    from safegate.lists.services import services_for_domain

    result["services"] = list(services_for_domain(name))
    result["setting"] = _setting(decision, compiled.name)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    verdict = {"allow": "ALLOWED", "block": "BLOCKED", "nxdomain": "BLOCKED (NXDOMAIN)",
               "local": "ANSWERED LOCALLY"}[decision.action]
    click.echo(f"{name}: {verdict} for profile {compiled.name!r}")
    if decision.category:
        click.echo(f"  category: {decision.category}")
    if decision.rule:
        click.echo(f"  rule:     {decision.rule}")
    if result["setting"]:
        click.echo(f"  setting:  {result['setting']}")
    if result["services"]:
        click.echo(f"  service:  {', '.join(result['services'])}")


def _setting(decision: Any, profile: str) -> str | None:
    """The policy setting behind a verdict, in words."""
    rule = decision.rule or ""
    if decision.category == "guard":
        return "built-in never-block guard (category lists only)"
    if decision.category == "service":
        return f"profile {profile!r} blocks the service {rule.split(':')[1]!r}"
    if rule.startswith("profile:"):
        kind = "allow" if decision.action == "allow" else "deny"
        return f"profile {profile!r} has the {kind} rule {rule.split(':', 1)[1]!r}"
    if decision.category == "bypass":
        return f"profile {profile!r} has bypass protection on"
    if decision.action == "block" and decision.category == "custom":
        return "operator list (applies to every profile)"
    if decision.action == "block":
        return f"profile {profile!r} blocks the category {decision.category!r}"
    if decision.category == "allow":
        return "allow list"
    return None


# Each domain package may contribute commands through a ``commands`` module that exposes
# ``COMMANDS`` (click commands). Heavy imports belong inside the command functions, so that
# `safegate --help` stays fast.
COMMAND_MODULES = (
    "safegate.lists.commands",
    "safegate.safety.commands",
    "safegate.safety.url_commands",
    "safegate.privacy.commands",
    "safegate.protect.commands",
)


def _add_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
            continue
        for command in module.COMMANDS:
            main.add_command(command)


_add_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
