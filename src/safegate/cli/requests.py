"""`safegate request …`: a child's unblock requests and a parent's answers (docs/requests.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from safegate.cli.common import (
    CONTEXT,
    common_options,
    emit,
    json_option,
    run_app,
)

if TYPE_CHECKING:
    from safegate.app.requests import RequestView


def _line(r: RequestView) -> str:
    device = f" from {r.device}" if r.device else ""
    when = r.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
    state = r.status
    if r.status == "approved":
        state += f" until {r.local_until}" if r.local_until else " for good"
    out = f"#{r.id} {r.child}{device}: {r.domain}  [{state}, asked {when}]"
    if r.message:
        out += f"\n    “{r.message}”"
    elif r.message_error:
        out += f"\n    (message unreadable: {r.message_error})"
    return out


@click.group(context_settings=CONTEXT)
def request() -> None:
    """Unblock requests: a child asks for a blocked domain; a parent approves it for a while or
    for good, or declines it. See docs/requests.md."""


@request.command("add", context_settings=CONTEXT)
@common_options
@click.argument("child")
@click.argument("domain")
@click.option("--device", metavar="NAME", help="The child's device the request comes from.")
@click.option("--message", metavar="TEXT",
              help="The child's words (personal data is removed, the rest stored encrypted).")
@json_option
def add(config: Path | None, data_dir: Path | None, child: str, domain: str,
        device: str | None, message: str | None, as_json: bool) -> None:
    """Ask for DOMAIN to be opened for CHILD (a name or id:N). Asking again for a domain that
    waits merges into the waiting request."""
    from safegate.app.requests import create

    r = run_app(config, data_dir, create, child, domain, device=device, message=message,
                actor="safegate request add")
    verb = "already waiting, updated" if r.merged else "waiting for a parent"
    emit(r.to_dict(), as_json, f"request #{r.id}: {r.domain} for {r.child} ({verb})")


@request.command("list", context_settings=CONTEXT)
@common_options
@click.argument("child", required=False)
@click.option("--org", metavar="ORG", help="Only this organisation's children.")
@click.option("--all", "everything", is_flag=True, help="Decided requests too.")
@json_option
def list_(config: Path | None, data_dir: Path | None, child: str | None, org: str | None,
          everything: bool, as_json: bool) -> None:
    """The waiting requests (of CHILD, or of every child), oldest first."""
    from safegate.app.requests import list_requests

    rows = run_app(config, data_dir, list_requests, child, org=org, everything=everything,
                   actor="safegate request list")
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in rows], ensure_ascii=False))
    else:
        click.echo("\n".join(_line(r) for r in rows) or "no requests waiting")


@request.command("approve", context_settings=CONTEXT)
@common_options
@click.argument("request_id", metavar="ID", type=int)
@click.option("--minutes", type=int, metavar="N", help="Open the domain for N minutes.")
@click.option("--until", metavar="HH:MM", help="Open it until this local time.")
@click.option("--forever", is_flag=True, help="Open it for good (an allow rule of the child).")
@json_option
def approve(config: Path | None, data_dir: Path | None, request_id: int, minutes: int | None,
            until: str | None, forever: bool, as_json: bool) -> None:
    """Approve request ID: the child's devices resolve the domain within a second."""
    from safegate.app.requests import approve as approve_request

    r = run_app(config, data_dir, approve_request, request_id, minutes=minutes,
                until=until, forever=forever, actor="safegate request approve")
    how = f"until {r.local_until}" if r.local_until else "for good"
    emit(r.to_dict(), as_json, f"request #{r.id} approved: {r.domain} open for {r.child} {how}")


@request.command("decline", context_settings=CONTEXT)
@common_options
@click.argument("request_id", metavar="ID", type=int)
@json_option
def decline(config: Path | None, data_dir: Path | None, request_id: int, as_json: bool) -> None:
    """Decline request ID: the domain stays blocked."""
    from safegate.app.requests import decline as decline_request

    r = run_app(config, data_dir, decline_request, request_id,
                actor="safegate request decline")
    emit(r.to_dict(), as_json, f"request #{r.id} declined: {r.domain} stays blocked for {r.child}")


COMMANDS = [request]
