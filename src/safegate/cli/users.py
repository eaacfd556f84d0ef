"""`safegate user …`: the accounts that sign in to the web app and the API (docs/web.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from safegate.cli.common import (
    CONTEXT,
    cli_actor,
    common_options,
    emit,
    json_option,
    org_option,
    run_app,
)


def _password(_ctx: click.Context, _param: click.Parameter, from_stdin: bool) -> str:
    """The new password: one line from stdin with --password-stdin, else asked twice."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


password_option = click.option(
    "--password-stdin", "password", is_flag=True, callback=_password, expose_value=True,
    help="Read the password from the first line of stdin (for scripts); else it is asked "
         "for twice. At least 10 characters.")


@click.group(context_settings=CONTEXT)
def user() -> None:
    """Accounts: parents, school admins, teachers, counsellors, partners and operators who
    sign in with an e-mail address or a Vietnamese phone number. See docs/web.md."""


@user.command("add", context_settings=CONTEXT)
@common_options
@click.argument("login")
@org_option
@click.option("--role", type=click.Choice(["parent", "school_admin", "teacher", "counsellor",
                                           "partner", "operator"]), default="parent",
              show_default=True)
@click.option("--name", "display_name", help="The name shown in the app (default: the login).")
@click.option("--locale", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
@password_option
@json_option
def add(config: Path | None, data_dir: Path | None, login: str, org: str | None, role: str,
        display_name: str | None, locale: str, password: str, as_json: bool) -> None:
    """Add an account: LOGIN is an e-mail address or a Vietnamese phone number."""
    from safegate.app.accounts import add_user

    v = run_app(config, data_dir, add_user, login, password, role=role, org=org,
                display_name=display_name, locale=locale, actor=cli_actor())
    emit(v.to_dict(), as_json, f"account #{v.id}: {v.login} ({v.role}) in {v.org}")


@user.command("list", context_settings=CONTEXT)
@common_options
@org_option
@json_option
def list_(config: Path | None, data_dir: Path | None, org: str | None, as_json: bool) -> None:
    """The accounts (of one organisation with --org)."""
    from safegate.app.accounts import list_users

    views = run_app(config, data_dir, list_users, org)
    emit([v.to_dict() for v in views], as_json,
         "\n".join(f"#{v.id} {v.login}  {v.role}  {v.org}  [{v.locale}]  {v.display_name}"
                   for v in views) or "no accounts")


@user.command("password", context_settings=CONTEXT)
@common_options
@click.argument("login")
@password_option
def password(config: Path | None, data_dir: Path | None, login: str, password: str) -> None:
    """Set a new password for LOGIN (clears a lock-out and ends its sessions)."""
    from safegate.app.accounts import set_password

    v = run_app(config, data_dir, set_password, login, password, actor=cli_actor())
    click.echo(f"password of {v.login} changed; its sessions ended")


@user.command("token", context_settings=CONTEXT)
@common_options
@click.argument("login")
@click.option("--name", default="integration", show_default=True, help="What it is for.")
@click.option("--scope", type=click.Choice(["read", "write"]), default="read",
              show_default=True)
def token(config: Path | None, data_dir: Path | None, login: str, name: str,
          scope: str) -> None:
    """A new API token acting as LOGIN (printed once; send it as Authorization: Bearer)."""
    from safegate.app.accounts import add_token

    token_id, secret = run_app(config, data_dir, add_token, login, name, scope,
                               actor=cli_actor())
    click.echo(f"token #{token_id} ({scope}): {secret}")


@user.command("revoke-token", context_settings=CONTEXT)
@common_options
@click.argument("token_id", type=int)
def revoke_token(config: Path | None, data_dir: Path | None, token_id: int) -> None:
    """Revoke API token TOKEN_ID: it stops working at once."""
    from safegate.app.accounts import revoke_token as revoke

    run_app(config, data_dir, revoke, token_id, actor=cli_actor())
    click.echo(f"token #{token_id} revoked")


@user.command("second-factor-off", context_settings=CONTEXT)
@common_options
@click.argument("login")
def second_factor_off(config: Path | None, data_dir: Path | None, login: str) -> None:
    """Remove LOGIN's two-step sign-in (lost phone and recovery codes); audited."""
    from safegate.app.second_factor import reset

    removed = run_app(config, data_dir, reset, login)
    click.echo(f"two-step sign-in of {login} {'removed' if removed else 'was not on'}")


COMMANDS = [user]
