"""What every command shares: the click context, the common options, settings and the
``App``, and the one place where errors become messages (never a traceback)."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from safegate.app.core import App
from safegate.config import ConfigError, Settings, load_settings

CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "--config", "-c", type=click.Path(path_type=Path, dir_okay=False),
    help="TOML settings file (default: $SAFEGATE_CONFIG). See docs/configuration.md.",
)
data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path, file_okay=False),
    help="Data directory (database, keys, cached lists). Overrides server.data_dir.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="JSON, for machines.")
org_option = click.option("--org", "org", metavar="NAME|id:N",
                          help="The organisation (needed when there are several).")


def emit(data: Any, as_json: bool, text: str, *, indent: int | None = None) -> None:
    """``data`` as JSON with ``--json``, else ``text``."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=indent) if as_json else text)


def run_app(config: Path | str | None, data_dir: Path | str | None,
            fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(app, *args, **kwargs)`` on the App of these options, its errors as messages; the
    app's connections are closed afterwards."""
    app = app_from(config, data_dir)
    try:
        with user_errors():
            return fn(app, *args, **kwargs)
    finally:
        app.close()


def common_options(fn: F) -> F:
    """``--config`` and ``--data-dir``, the options every command that reads settings has."""
    return config_option(data_dir_option(fn))


def settings_from(config: Path | str | None, data_dir: Path | str | None,
                  overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from the file, the environment and the command line (None values are not
    overrides); a bad setting is a message, not a traceback."""
    values = {"server.data_dir": str(data_dir) if data_dir else None, **(overrides or {})}
    try:
        return load_settings(Path(config) if config else None,
                             overrides={k: v for k, v in values.items() if v is not None})
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from exc


def app_from(config: Path | str | None, data_dir: Path | str | None,
             overrides: Mapping[str, Any] | None = None) -> App:
    return App(settings_from(config, data_dir, overrides))


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn what a user can cause into one-line messages: the store's and the keyring's
    errors, bad input (the app and domain layers raise ValueError subclasses: ConfigError,
    FamilyError, ScheduleError, BudgetError, SetupError, …, whose message names the field) and
    a name that is not there (NotFound)."""
    from safegate.app.explain import NotFound
    from safegate.privacy.crypto import CryptoError
    from safegate.store.errors import StoreError

    try:
        yield
    except (StoreError, CryptoError, ValueError, NotFound) as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            raise click.ClickException(f"cannot use the store: {exc.__class__.__name__}: "
                                       f"{str(exc).splitlines()[0]}") from exc
        raise


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Migrations say what they run at INFO; an operator needs that only when debugging.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))


def cli_actor() -> str:
    """Who is acting, for the audit log: ``cli:<os user>`` (the web app records its user)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli:unknown"
