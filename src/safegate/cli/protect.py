"""`safegate monitor`: a child's messages (JSONL on stdin) in, alerts out; `safegate alerts
purge`: delete the alerts past their retention by hand (the gate does it hourly); `safegate
alerts report`: parents' feedback counted per category and engine layer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from safegate.cli.common import CONTEXT, app_from, common_options, json_option

if TYPE_CHECKING:
    from safegate.safety.engine import Engine as SafetyEngine


@click.command(context_settings=CONTEXT)
@click.option("--profile", "-p", "profile_name", required=True, metavar="NAME",
              help="The child's profile name (or id:N).")
@common_options
@click.option("--child-sender", metavar="S",
              help="The sender name of the child's own messages (default: the profile name).")
@click.option("--deep/--no-deep", default=None,
              help="The deep layer (sentence embeddings; more urgent messages found, more false "
                   "alarms; docs/safety.md). Default: on where it can run. --deep makes its "
                   "absence an error.")
def monitor(profile_name: str, data_dir: Path | None, config: Path | None,
            child_sender: str | None, deep: bool | None) -> None:
    """Read a child's messages and turn harmful content into alerts for the parents.

    Input, one JSON object a line: {"sender", "time" (ISO 8601 or unix seconds), "text",
    "conversation"}; "from_child": true marks the child's own messages too. Output, one JSON
    line per alert created or updated (deduplicated: true for an update); a bad line gives a
    {"error", "line"} object and the rest goes on. A summary goes to stderr. See docs/alerts.md.

    Refused without the message_monitoring consent of the parent and of the child aged 7+
    (`safegate consent give`).

    Alerts the database cannot take (after alerts.store_tries tries) wait, encrypted, in
    alert-spool.jsonl in the data directory and are stored by the next run; while any wait,
    the exit status is 1.
    """
    import sys

    from sqlalchemy.exc import SQLAlchemyError

    from safegate.privacy.consent import ConsentError
    from safegate.privacy.crypto import CryptoError
    from safegate.protect.monitor import Monitor, Retry, describe_error, find_profile
    from safegate.protect.spool import Spool
    from safegate.store.errors import StoreError
    from safegate.textio import utf8_stdin

    app = app_from(config, data_dir)
    settings = app.settings
    safety = _safety_engine(deep)
    try:
        with app.sessions()() as session:
            profile = find_profile(session, profile_name)
        key = app.keyring()
        engine = app.engine
        # The Monitor refuses without the message_monitoring consent (nothing read yet).
        watcher = Monitor(engine, profile, key, child_sender=child_sender, safety=safety,
                          spool=Spool(settings.data_dir),
                          retry=Retry(settings["alerts.store_tries"],
                                      settings["alerts.store_retry_delay"]))
    except (StoreError, CryptoError, ConsentError) as exc:
        raise click.ClickException(str(exc)) from exc
    except SQLAlchemyError as exc:  # nothing read yet: the input is still the caller's
        waiting = Spool(settings.data_dir).count()
        raise click.ClickException(
            f"cannot open the store: {describe_error(exc)}" + (
                f"; {waiting} alert{' waits' if waiting == 1 else 's wait'} in "
                f"{Spool(settings.data_dir).path} for it" if waiting else "")) from exc
    try:
        stats = watcher.run(utf8_stdin(), click.echo)
    except KeyboardInterrupt:  # Ctrl-C ends a live watch: still say what was done
        stats = watcher.stats
    finally:
        engine.dispose()
    click.echo(stats.summary(profile.name), err=True)
    if stats.messages and not stats.child_messages:
        click.echo(f"monitor: note: no message was from the child (sender "
                   f"{watcher.child_sender!r}); personal-data alerts need the child's own "
                   f"messages: use --child-sender or \"from_child\": true", err=True)
    sys.stdout.flush()
    if stats.stopped:
        click.echo(f"monitor: error: stopped, {stats.stopped}", err=True)
    if stats.waiting:
        click.echo(f"monitor: error: {stats.waiting} alert{'' if stats.waiting == 1 else 's'} "
                   f"could not be stored and wait{'s' if stats.waiting == 1 else ''} "
                   f"(encrypted) in {watcher.spool.path if watcher.spool else '?'}; the next "
                   "run stores them once the database works", err=True)
    if stats.waiting or stats.stopped:
        sys.exit(1)


def _safety_engine(deep: bool | None) -> SafetyEngine:
    """The text engine for a watch: with the deep layer unless told not to; when it cannot
    run, ``--deep`` is an error and the default says so on stderr and goes on without."""
    from safegate.safety.embedding import DeepUnavailable
    from safegate.safety.engine import Engine, default_engine

    if deep is False:
        return default_engine()
    try:
        return Engine(deep=True)
    except DeepUnavailable as exc:
        if deep:
            raise click.ClickException(f"the deep layer cannot run: {exc}") from exc
        click.echo(f"monitor: note: without the deep layer ({exc})", err=True)
        return default_engine()


profile_filter = click.option(
    "--profile", "-p", "profile_name", metavar="NAME",
    help="Only this child's alerts (a profile name or id:N); default: all.")


@click.group(context_settings=CONTEXT)
def alerts() -> None:
    """Stored alerts about children (see docs/alerts.md)."""


@alerts.command("list", context_settings=CONTEXT)
@common_options
@profile_filter
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="The newest N only.")
@json_option
def list_(data_dir: Path | None, config: Path | None, profile_name: str | None,
          limit: int | None, as_json: bool) -> None:
    """The stored alerts, newest first, with their snippets decrypted.

    An alert whose snippet cannot be decrypted (a key no longer held, changed data) is listed
    as "cannot decrypt"; the others still read. The reading is recorded in the audit log."""
    import json

    from sqlalchemy.exc import SQLAlchemyError

    from safegate.privacy.crypto import CryptoError
    from safegate.protect.monitor import describe_error, find_profile, list_alerts
    from safegate.store.errors import StoreError

    app = app_from(config, data_dir)
    try:
        try:
            key = app.keyring()
            with app.sessions().begin() as session:
                pid = find_profile(session, profile_name).id if profile_name else None
                rows = list_alerts(session, pid, key, actor="safegate alerts list",
                                   limit=limit)
        finally:
            app.close()
    except (StoreError, CryptoError) as exc:
        raise click.ClickException(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot read alerts: {describe_error(exc)}") from exc
    for r in rows:
        if as_json:
            click.echo(json.dumps(r.to_dict(), ensure_ascii=False))
        else:
            snippet = r.snippet if r.snippet is not None else f"[{r.snippet_error}]"
            click.echo(f"#{r.id} {r.last_seen_at:%Y-%m-%d %H:%M} profile {r.profile_id} "
                       f"{r.severity} {r.category} x{r.count} ({r.conversation}): {snippet}")
    if not rows and not as_json:
        click.echo("no alerts")
    unreadable = sum(r.snippet is None for r in rows)
    if unreadable:
        click.echo(f"alerts: {unreadable} snippet{'' if unreadable == 1 else 's'} cannot be "
                   "decrypted (written with a key this keyring does not hold, or changed); "
                   "add the old key to secret.key or SAFEGATE_SECRET_KEY (one key a line, "
                   "the first encrypts) to read them", err=True)


@alerts.command(context_settings=CONTEXT)
@common_options
@click.option("--days", type=click.IntRange(min=1), metavar="N",
              help="Delete alerts whose latest message is older than N days "
                   "(default: alerts.retention_days).")
def purge(data_dir: Path | None, config: Path | None, days: int | None) -> None:
    """Delete the alerts past their retention, now.

    An alert goes when its latest message is older than alerts.retention_days (or --days N).
    A running gate does this every hour; the command is for a store no gate runs on, or for
    an earlier cut-off. The purge is recorded in the audit log (a count, no text)."""
    from sqlalchemy.exc import SQLAlchemyError

    from safegate.protect.retention import purge_alerts, retention_cutoff
    from safegate.store.errors import StoreError
    from safegate.store.values import utcnow

    app = app_from(config, data_dir)
    settings = app.settings
    keep = settings["alerts.retention_days"] if days is None else days
    before = retention_cutoff(utcnow(), keep)
    if before is None:
        click.echo("alerts.retention_days is 0: alerts are kept forever (nothing purged; "
                   "--days N purges older ones)")
        return
    try:
        app.sessions()  # checks the schema
        try:
            removed = purge_alerts(app.engine, before, actor="safegate alerts purge")
        finally:
            app.close()
    except (StoreError, SQLAlchemyError) as exc:
        raise click.ClickException(f"cannot purge alerts: {exc}") from exc
    click.echo(f"purged {removed} alert{'' if removed == 1 else 's'} whose latest message is "
               f"older than {keep} days ({before:%Y-%m-%d %H:%M} UTC)")


@alerts.command(context_settings=CONTEXT)
@common_options
@profile_filter
@json_option
def report(data_dir: Path | None, config: Path | None, profile_name: str | None,
           as_json: bool) -> None:
    """Parents' feedback per category and per engine layer.

    For each category and the layer that found the alert (rules, model, deep, conversation):
    how many alerts, how many parents marked helpful or wrong, and the helpful share of the
    answered ones. Counts only; the reading is recorded in the audit log."""
    import json

    from sqlalchemy.exc import SQLAlchemyError

    from safegate.protect.feedback import feedback_report
    from safegate.protect.monitor import find_profile
    from safegate.store.errors import StoreError

    app = app_from(config, data_dir)
    try:
        try:
            with app.sessions().begin() as session:
                pid = find_profile(session, profile_name).id if profile_name else None
                rows = feedback_report(session, profile_id=pid, actor="safegate alerts report")
        finally:
            app.close()
    except (StoreError, SQLAlchemyError) as exc:
        raise click.ClickException(f"cannot read alerts: {exc}") from exc
    if as_json:
        for row in rows:
            click.echo(json.dumps(row.to_dict()))
        return
    if not rows:
        click.echo("no alerts yet")
        return
    click.echo(f"{'category':<15} {'found by':<13} {'alerts':>6} {'helpful':>7} {'wrong':>5} "
               f"{'no answer':>9}  helpful share")
    for r in rows:
        share = "-" if r.helpful_share is None else f"{r.helpful_share:.2f}"
        click.echo(f"{r.category:<15} {r.found_by:<13} {r.alerts:>6} {r.helpful:>7} "
                   f"{r.wrong:>5} {r.unanswered:>9}  {share}")


@alerts.command(context_settings=CONTEXT)
@common_options
@json_option
def deliver(data_dir: Path | None, config: Path | None, as_json: bool) -> None:
    """Send the alerts parents have not yet received, by e-mail and Web Push, once.

    What each parent receives follows their preferences (the alerts page: e-mail, Web Push,
    quiet hours, least severity); urgent alerts are sent even in quiet hours. A failed send
    is tried again on a later run after a growing wait (notify.retry_delay, doubled each
    time, notify.max_tries tries). The gate runs this every notify.deliver_interval seconds;
    run it from cron when the gate does not. See docs/web.md "Alerts and notifications"."""
    from safegate.app.notify import deliver as run
    from safegate.cli.common import emit, run_app

    report = run_app(config, data_dir, run)
    emit(report.to_dict(), as_json, "\n".join([*report.errors, report.summary()]))


@alerts.command("weekly-reports", context_settings=CONTEXT)
@common_options
@json_option
def weekly_reports(data_dir: Path | None, config: Path | None, as_json: bool) -> None:
    """Send each parent (and school admin) last week's report by e-mail, once.

    Due from Monday 07:00 in the organisation's time zone, for the children whose reports
    consents are recorded (a school admin receives counts per class); an account turns it
    off on the alerts page (Notifications). A
    failed send is tried again on a later run (notify.retry_delay, doubled, notify.max_tries
    tries). The gate runs this hourly; run it from cron when the gate does not. Needs
    notify.smtp_host. See docs/web.md "Reports"."""
    from safegate.app.report_mail import send_weekly_reports
    from safegate.cli.common import emit, run_app

    report = run_app(config, data_dir, send_weekly_reports)
    emit(report.to_dict(), as_json, "\n".join([*report.errors, report.summary()]))


COMMANDS = [monitor, alerts]
