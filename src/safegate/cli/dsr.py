"""`safegate dsr open|list|fulfil`: data-subject requests for a child, each due within 72
hours (docs/privacy.md)."""

from __future__ import annotations

from pathlib import Path

import click

from safegate.cli.common import CONTEXT, cli_actor, common_options, emit, json_option, run_app
from safegate.store import choices


@click.group(context_settings=CONTEXT)
def dsr() -> None:
    """Requests to access, correct, restrict or erase a child's data (72 hours each)."""


@dsr.command("open")
@common_options
@click.option("--child", "child_ref", required=True, metavar="CHILD")
@click.option("--kind", type=click.Choice(choices.DSR_KINDS), required=True)
@click.option("--by", "by", type=click.Choice(choices.CONSENT_GIVERS), required=True,
              help="Who asks: a parent, or the child (aged 7 or over).")
@click.option("--language", type=click.Choice(choices.LOCALES), default="vi",
              show_default=True, help="The requester's language (the access report's).")
@json_option
def open_(config: Path | None, data_dir: Path | None, child_ref: str, kind: str, by: str,
          language: str, as_json: bool) -> None:
    """Record a request; its 72 hours start now."""
    from safegate.app.dsr import open_request

    view = run_app(config, data_dir, open_request, child_ref, kind, by=by, actor=cli_actor(),
                   language=language)
    emit(view.to_dict(), as_json, f"request {view.id}: {view.kind} for {view.child!r} by "
                                  f"{view.requested_by}, due {view.due_at:%Y-%m-%d %H:%M} UTC")


@dsr.command("list")
@common_options
@click.option("--child", "child_ref", metavar="CHILD")
@click.option("--all", "everything", is_flag=True, help="Also the fulfilled ones.")
@json_option
def list_(config: Path | None, data_dir: Path | None, child_ref: str | None, everything: bool,
          as_json: bool) -> None:
    """Requests with the time left (overdue ones say so), the nearest deadline first."""
    from safegate.app.dsr import list_requests

    views = run_app(config, data_dir, list_requests, child=child_ref, everything=everything)
    emit([v.to_dict() for v in views], as_json, "\n".join(
        f"{v.id}\t{v.kind}\t{v.child}\tby {v.requested_by}\t{v.status}\t"
        f"due {v.due_at:%Y-%m-%d %H:%M} UTC\t"
        + (v.to_dict()["time_left"].upper() if v.overdue
           else v.to_dict()["time_left"] if v.status == "open" else "done")
        for v in views) or "no open requests")


@dsr.command("fulfil")
@common_options
@click.argument("request_id", type=int)
@click.option("--why", metavar="TEXT", help="A note for the audit log (personal data is "
              "redacted from it).")
@json_option
def fulfil(config: Path | None, data_dir: Path | None, request_id: int, why: str | None,
           as_json: bool) -> None:
    """Carry out a request: access writes a ZIP (JSON + HTML report), erase deletes the
    child's data everywhere, restrict applies the operator default to its devices."""
    from safegate.app.dsr import fulfil_request

    result = run_app(config, data_dir, fulfil_request, request_id, actor=cli_actor(), why=why)
    text = f"request {request_id} ({result['kind']}) fulfilled"
    if "zip" in result:
        text += f": {result['zip']}"
    elif "rows" in result:
        text += f": {sum(result['rows'].values())} rows, {result['files']} files erased"
    emit(result, as_json, text)


@dsr.command("lift")
@common_options
@click.argument("child_ref", metavar="CHILD")
@click.option("--why", metavar="TEXT", help="A note for the audit log (personal data is "
              "redacted from it).")
@json_option
def lift(config: Path | None, data_dir: Path | None, child_ref: str, why: str | None,
         as_json: bool) -> None:
    """End a child's processing restriction (running gates apply it at once)."""
    from safegate.app.dsr import lift_restriction

    done = run_app(config, data_dir, lift_restriction, child_ref, actor=cli_actor(), why=why)
    emit(done, as_json, f"restriction of {done['child']!r} lifted: its devices get its own "
                        "policy again")


COMMANDS = [dsr]
