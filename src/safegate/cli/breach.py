"""`safegate breach record|list|update|notify`: the breach register with its 72-hour clock
(docs/privacy.md, "Breaches")."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from safegate.cli.common import CONTEXT, cli_actor, common_options, emit, json_option, run_app
from safegate.store import choices


class Moment(click.ParamType):
    """An ISO 8601 time (``2026-12-04T21:30``, ``…+07:00``); without an offset, Vietnam time."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            when = datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not a time like 2026-12-04T21:30 (ISO 8601)", param, ctx)
        if when.tzinfo is None:
            from zoneinfo import ZoneInfo

            when = when.replace(tzinfo=ZoneInfo(choices.DEFAULT_TIMEZONE))
        return when


MOMENT = Moment()


def _line(v: Any) -> str:
    d = v.to_dict()
    flag = " OVERDUE" if v.overdue else ""
    return (f"{v.id}\t{v.status}\trisk {v.risk}\t{v.children_count} children\t"
            f"{','.join(v.data_classes)}\tdue {v.due_at:%Y-%m-%d %H:%M} UTC\t"
            f"authority: {d['authority']}\tfamilies: {d['subjects']}{flag}")


@click.group(context_settings=CONTEXT)
def breach() -> None:
    """Personal-data breaches: what happened, who is affected, the 72-hour reports."""


@breach.command("record")
@common_options
@click.argument("description")
@click.option("--detected", "detected_at", type=MOMENT, help="When it was found (default: "
              "now).")
@click.option("--occurred", "occurred_at", type=MOMENT, help="When it happened, if known.")
@click.option("--data", "data_classes", multiple=True, metavar="CLASS[,CLASS]",
              help=f"Data concerned: {', '.join(choices.BREACH_DATA_CLASSES)} (those the "
              "audit window's entries touched are added).")
@click.option("--risk", type=click.Choice(choices.BREACH_RISKS), required=True)
@click.option("--child", "children", multiple=True, metavar="CHILD",
              help="A child affected (repeat).")
@click.option("--audit-from", type=MOMENT, help="Add every child named in audit entries "
              "from this time …")
@click.option("--audit-to", type=MOMENT, help="… to this time …")
@click.option("--audit-actor", metavar="ACTOR", help="… by this actor (e.g. a stolen "
              "account).")
@click.option("--measures", metavar="TEXT", help="What was done so far.")
@json_option
def record(config: Path | None, data_dir: Path | None, description: str,
           detected_at: datetime | None, occurred_at: datetime | None,
           data_classes: tuple[str, ...], risk: str, children: tuple[str, ...],
           audit_from: datetime | None, audit_to: datetime | None, audit_actor: str | None,
           measures: str | None, as_json: bool) -> None:
    """Record a suspected breach; its 72 hours start from when it occurred or was detected
    (the earlier). Personal data in the texts is redacted."""
    from safegate.app.breach import record_breach
    from safegate.store.values import utcnow

    view = run_app(config, data_dir, record_breach, description,
                   detected_at=detected_at or utcnow(), occurred_at=occurred_at,
                   data_classes=data_classes, risk=risk, children=children,
                   audit_from=audit_from, audit_to=audit_to, audit_actor=audit_actor,
                   measures=measures, actor=cli_actor())
    emit(view.to_dict(), as_json, f"breach {view.id} recorded: {view.children_count} "
                                  f"children; report due {view.due_at:%Y-%m-%d %H:%M} UTC "
                                  f"({view.authority})")


@breach.command("list")
@common_options
@click.option("--all", "everything", is_flag=True, help="Also the closed ones.")
@json_option
def list_(config: Path | None, data_dir: Path | None, everything: bool, as_json: bool) -> None:
    """Breaches with the time left to report (OVERDUE when past), the nearest first."""
    from safegate.app.breach import list_breaches

    views = run_app(config, data_dir, list_breaches, everything=everything)
    emit([v.to_dict() for v in views], as_json,
         "\n".join(_line(v) for v in views) or "no open breaches")


@breach.command("update")
@common_options
@click.argument("breach_id", type=int)
@click.option("--status", type=click.Choice(choices.BREACH_STATUSES))
@click.option("--risk", type=click.Choice(choices.BREACH_RISKS))
@click.option("--measures", metavar="TEXT")
@click.option("--data", "data_classes", multiple=True, metavar="CLASS[,CLASS]",
              help="More data concerned.")
@click.option("--child", "children", multiple=True, metavar="CHILD",
              help="Another child affected.")
@click.option("--occurred", "occurred_at", type=MOMENT)
@click.option("--late-reason", metavar="TEXT", help="Why the report is late (it goes into the "
              "draft).")
@json_option
def update(config: Path | None, data_dir: Path | None, breach_id: int, status: str | None,
           risk: str | None, measures: str | None, data_classes: tuple[str, ...],
           children: tuple[str, ...], occurred_at: datetime | None, late_reason: str | None,
           as_json: bool) -> None:
    """Change what is known or done (recorded in the audit log)."""
    from safegate.app.breach import update_breach

    view = run_app(config, data_dir, update_breach, breach_id, actor=cli_actor(),
                   status=status, risk=risk, measures=measures, data_classes=data_classes,
                   children=children, occurred_at=occurred_at, late_reason=late_reason)
    emit(view.to_dict(), as_json, _line(view))


@breach.command("notify")
@common_options
@click.argument("breach_id", type=int)
@click.option("--to", "to", type=click.Choice(["authority", "subjects"]), required=True,
              help="The authority (A05, Ministry of Public Security) or the families.")
@click.option("--language", type=click.Choice(choices.LOCALES), default="vi",
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the draft to this file (0600) instead of printing it.")
@click.option("--sent", is_flag=True, help="Record that the notification was sent now.")
@json_option
def notify(config: Path | None, data_dir: Path | None, breach_id: int, to: str, language: str,
           out: Path | None, sent: bool, as_json: bool) -> None:
    """The notification draft with the facts the law asks for; --sent records it as made."""
    from safegate.app.breach import notify_breach

    done = run_app(config, data_dir, notify_breach, breach_id, to=to, language=language,
                   out=out, sent=sent, actor=cli_actor())
    text = f"draft written to {out}" if out else done["draft"].rstrip()
    if sent:
        text += f"\nrecorded: breach {breach_id} notified to {to} now"
    emit(done, as_json, text)


COMMANDS = [breach]
