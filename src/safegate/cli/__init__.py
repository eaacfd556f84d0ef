"""The ``safegate`` command line: one module per command group, all calling the app layer.

Heavy imports belong inside the command functions, so that `safegate --help` stays fast.
"""

from __future__ import annotations

import click

from safegate import __version__
from safegate.cli import (
    audit,
    breach,
    budgets,
    consent,
    dsr,
    family,
    gate,
    keys,
    lists,
    notices,
    privacy,
    protect,
    requests,
    retention,
    safety,
    schedules,
    school,
    urls,
    users,
)
from safegate.cli.common import CONTEXT


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="safegate")
def main() -> None:
    """SafeGate: a protective DNS resolver and child-safety platform.

    Start with `safegate serve --demo`, then ask it: `dig @127.0.0.1 -p 5353 example.com`.
    """


for _module in (gate, lists, safety, urls, privacy, protect, family, schedules, budgets,
                requests, consent, audit, dsr, retention, users, keys,
                breach, notices, school):
    for _command in _module.COMMANDS:
        main.add_command(_command)

__all__ = ["main"]
