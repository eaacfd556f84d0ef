"""`safegate monitor`: a child's messages (JSONL on stdin) in, alerts out."""

from __future__ import annotations

from pathlib import Path

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.command(context_settings=CONTEXT)
@click.option("--profile", "-p", "profile_name", required=True, metavar="NAME",
              help="The child's profile name (or id:N).")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Data directory (database, secret.key). Overrides server.data_dir.")
@click.option("--config", "-c", type=click.Path(path_type=Path, dir_okay=False),
              help="TOML settings file (default: $SAFEGATE_CONFIG).")
@click.option("--child-sender", metavar="S",
              help="The sender name of the child's own messages (default: the profile name).")
def monitor(profile_name: str, data_dir: Path | None, config: Path | None,
            child_sender: str | None) -> None:
    """Read a child's messages and turn harmful content into alerts for the parents.

    Input, one JSON object a line: {"sender", "time" (ISO 8601 or unix seconds), "text",
    "conversation"}; "from_child": true marks the child's own messages too. Output, one JSON
    line per alert created or updated (deduplicated: true for an update); a bad line gives a
    {"error", "line"} object and the rest goes on. A summary goes to stderr. See docs/alerts.md.
    """
    import io
    import sys

    from safegate.cli import _settings
    from safegate.privacy.crypto import CryptoError, load_keyring
    from safegate.protect.monitor import Monitor, find_profile
    from safegate.store.db import make_engine, migrate, session_factory
    from safegate.store.errors import StoreError

    settings = _settings(config, {"server.data_dir": str(data_dir) if data_dir else None})
    try:
        engine = make_engine(settings.database_url)
        migrate(engine)
        with session_factory(engine)() as session:
            profile = find_profile(session, profile_name)
        key = load_keyring(settings.data_dir)
    except (StoreError, CryptoError) as exc:
        raise click.ClickException(str(exc)) from exc
    watcher = Monitor(engine, profile, key, child_sender=child_sender)
    stdin = sys.stdin
    if isinstance(stdin, io.TextIOWrapper):  # undecodable bytes become U+FFFD, not a crash
        stdin.reconfigure(encoding="utf-8", errors="replace")
    try:
        stats = watcher.run(stdin, click.echo)
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


COMMANDS = [monitor]
