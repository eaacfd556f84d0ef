"""`safegate keys status|rotate|reencrypt|retire|generate`: the field-encryption keys and
their rotation without downtime (docs/privacy.md, "Keys")."""

from __future__ import annotations

from pathlib import Path

import click

from safegate.cli.common import CONTEXT, cli_actor, common_options, emit, json_option, run_app


@click.group(context_settings=CONTEXT)
def keys() -> None:
    """The keys that encrypt children's free text (alert snippets, request messages)."""


@keys.command("status")
@common_options
@json_option
def status(config: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """The keys held (the first encrypts) and how many values each one's ciphertext holds."""
    from safegate.app.keys import key_status

    info = run_app(config, data_dir, key_status)
    lines = [f"keys from {info['source']}:"]
    lines += [f"  {k['id']}  {'encrypts' if k['encrypts'] else 'reads   '}  "
              f"{k['values']} values" + (f", {k['spooled']} spooled" if k['spooled'] else "")
              for k in info["keys"]]
    lines += [f"  {kid}  NOT HELD  {n} values" for kid, n in info["not_held"].items()]
    if info["to_reencrypt"]:
        lines.append(f"{info['to_reencrypt']} values to move: safegate keys reencrypt")
    emit(info, as_json, "\n".join(lines))


@keys.command("rotate")
@common_options
@json_option
def rotate(config: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """Add a new key that encrypts from now on; the old keys keep reading. Back up
    secret.key again afterwards."""
    from safegate.app.keys import rotate_key

    done = run_app(config, data_dir, rotate_key, actor=cli_actor())
    emit(done, as_json, f"new key {done['new']} encrypts from now on; older keys still read "
                        f"({', '.join(done['keys'][1:])}). Back up secret.key now, then run "
                        "`safegate keys reencrypt`.")


@keys.command("reencrypt")
@common_options
@click.option("--batch", type=click.IntRange(min=1), default=500, show_default=True,
              help="Rows per transaction.")
@click.option("--limit", type=click.IntRange(min=1),
              help="Stop after this many values (run again to go on).")
@json_option
def reencrypt(config: Path | None, data_dir: Path | None, batch: int, limit: int | None,
              as_json: bool) -> None:
    """Move values written with older keys to the current one (resumable; a running gate's
    jobs leader also does it hourly)."""
    from safegate.app.keys import reencrypt as run

    done = run_app(config, data_dir, run, actor=cli_actor(), batch=batch, limit=limit)
    moved = ", ".join(f"{n} {what}" for what, n in done["moved"].items())
    text = (f"moved to key {done['key']}: {moved}; {done['remaining']} left" if done["key"]
            else "nothing is encrypted yet: nothing to move")
    if done["failed"]:
        text += f"; {done['failed']} could not be decrypted (left as they are)"
    emit(done, as_json, text)


@keys.command("retire")
@common_options
@click.argument("key_id")
@json_option
def retire(config: Path | None, data_dir: Path | None, key_id: str, as_json: bool) -> None:
    """Remove an old key; refused while any value still uses it."""
    from safegate.app.keys import retire_key

    done = run_app(config, data_dir, retire_key, key_id, actor=cli_actor())
    emit(done, as_json, f"key {done['retired']} retired; keys held: {', '.join(done['keys'])}."
                        " Back up secret.key now.")


@keys.command("generate")
def generate() -> None:
    """Print a new random key (for SAFEGATE_SECRET_KEY; nothing is stored)."""
    from safegate.privacy.crypto import Keyring

    click.echo(Keyring.generate().export().strip())


COMMANDS = [keys]
