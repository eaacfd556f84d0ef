"""`safegate check-url` and `safegate categorise-new`: the URL scorer on the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from safegate.app.core import App
from safegate.cli.common import CONTEXT, app_from, common_options, user_errors
from safegate.cli.lists import announced

_LABELS = {"block": "BLOCK", "warn": "WARN", "allow": "ALLOW", "unknown": "UNKNOWN"}


def _common(fn: Any) -> Any:
    fn = common_options(fn)
    fn = click.option("--fetch", is_flag=True,
                      help="Also read the page (3 s, 512 KiB at most) and classify its text.")(fn)
    # For tests against a local server: let loopback addresses through, and connect a
    # name to a given address and port (like curl --connect-to).
    fn = click.option("--allow-loopback", is_flag=True, hidden=True)(fn)
    return click.option("--connect-to", multiple=True, hidden=True,
                        metavar="HOST:ADDR:PORT")(fn)


def _limits(allow_loopback: bool, connect_to: tuple[str, ...]) -> Any:
    from safegate.safety.url_fetch import FetchLimits

    mapping = {}
    for item in connect_to:
        host, _, rest = item.partition(":")
        addr, _, port = rest.rpartition(":")
        if not host or not addr or not port.isdigit():
            raise click.ClickException(f"--connect-to {item!r}: expected HOST:ADDR:PORT")
        mapping[host.lower()] = (addr.strip("[]"), int(port))
    return FetchLimits(allow_loopback=allow_loopback, connect_to=mapping)


def _app(config: Path | None, data_dir: Path | None, *, store: bool) -> App:
    """The app; with ``store`` its database must be there (else it is used if present)."""
    app = app_from(config, data_dir)
    if store:
        with user_errors():
            app.sessions()
    return app


def _profile(app: App, index: Any, name: str | None) -> Any:
    from safegate.app.explain import compiled_profile

    with user_errors():
        return compiled_profile(app, index, name)


def _print_verdict(v: Any) -> None:
    head = f"{v.host}: {_LABELS[v.verdict]}"
    if v.category:
        head += f" ({v.category}"
        head += f", score {v.score:.2f})" if v.verdict != "allow" else ")"
    click.echo(head)
    shown = [r for r in v.reasons if r.weight > 0 or r.source != "lexical" or r.code in (
        "own_domain",)]
    for r in sorted(shown, key=lambda r: -r.weight):
        weight = f"{r.weight:.2f}" if r.weight else "    "
        click.echo(f"  {r.source:<8} {weight}  {r.text}")
    if not shown:
        click.echo("  no list knows it and nothing in the address looks wrong"
                   + ("" if v.fetched else " (page not read: use --fetch)"))
    if v.recordable:
        click.echo(f"  confident enough for the gate's auto list: {v.record_domain} as "
                   f"{v.category}")


@click.command("check-url", context_settings=CONTEXT)
@_common
@click.argument("url")
@click.option("--profile", "-p", help="Decide the list layer for this child's profile.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def check_url(config: Path | None, data_dir: Path | None, fetch: bool, allow_loopback: bool,
              connect_to: tuple[str, ...], url: str, profile: str | None,
              as_json: bool) -> None:
    """Score URL (or a domain): the gate's lists, then the address itself (look-alikes of
    banks, e-wallets and government sites, lure words, risky endings), then with --fetch
    the page text. Prints the verdict (block, warn, allow, unknown) and every reason."""
    from safegate.safety.urls import UrlError, parse_target, score_url

    try:
        parse_target(url)  # a bad URL is reported before the lists are loaded
    except UrlError as exc:
        raise click.ClickException(str(exc)) from exc
    limits = _limits(allow_loopback, connect_to)
    app = _app(config, data_dir, store=False)
    with user_errors():
        index = app.load_index()
    compiled = _profile(app, index, profile)
    try:
        verdict = score_url(url, index=index, profile=compiled, fetch=fetch, limits=limits)
    except UrlError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({**verdict.to_dict(), "profile": compiled.name},
                              ensure_ascii=False))
        return
    _print_verdict(verdict)


@click.command("categorise-new", context_settings=CONTEXT)
@_common
@click.option("--limit", default=50, show_default=True, help="How many queued domains.")
@click.option("--dry-run", is_flag=True, help="Say what would be recorded; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per domain.")
def categorise_new(config: Path | None, data_dir: Path | None, fetch: bool,
                   allow_loopback: bool, connect_to: tuple[str, ...], limit: int,
                   dry_run: bool, as_json: bool) -> None:
    """Score the domains the gate saw that no list knew (most queried first) and file the
    confident blocks in the gate's auto list, where `safegate lists categorise` can
    correct them. An operator's own category is never overwritten. Run it from cron, or let
    the gate start it every urls.categorise_interval seconds."""
    from safegate.safety.urls import categorise_pending

    if limit < 1:
        raise click.ClickException("--limit must be at least 1")
    limits = _limits(allow_loopback, connect_to)
    app = _app(config, data_dir, store=True)
    with user_errors():
        index = app.load_index()
    compiled = _profile(app, index, None)
    with user_errors(), app.sessions().begin() as session:
        outcomes = categorise_pending(session, index=index, profile=compiled, limit=limit,
                                      fetch=fetch, limits=limits, dry_run=dry_run)
        recorded = not dry_run and any(o.action == "recorded" for o in outcomes)
        if recorded:
            app.bus.record(session, "categories", "new domains categorised")
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.action] = counts.get(o.action, 0) + 1
        v = o.verdict
        if as_json:
            click.echo(json.dumps({"domain": o.domain, "action": o.action, "error": o.error,
                                   "verdict": v.to_dict() if v else None},
                                  ensure_ascii=False))
            continue
        if v is None:
            click.echo(f"error     {o.domain}: {o.error}")
            continue
        what = {"recorded": "would record" if dry_run else "recorded",
                "operator": "operator", "listed": "listed", "kept"
                : "not recorded"}[o.action]
        detail = f"{v.verdict} {v.category or ''} {v.score:.2f}".replace("  ", " ")
        top = max(v.reasons, key=lambda r: r.weight, default=None)
        reason = f"  ({top.text})" if top is not None and (top.weight or top.source == "list") \
            else ""
        click.echo(f"{what:<12} {o.domain:<40} {detail}{reason}")
    if recorded:
        announced()
    if not as_json:  # the summary comes last: a gate running this on a schedule logs it
        summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "nothing queued"
        click.echo(f"{len(outcomes)} domains: {summary}" + (" (dry run: nothing changed)"
                                                           if dry_run else ""))


COMMANDS = [check_url, categorise_new]
