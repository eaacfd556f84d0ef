"""docs/privacy.md and docs/compliance.md point at things that exist: every test file and doc
they name is in the repository, and every `safegate …` command they show is a real command
(its --help works), so the compliance table cannot silently rot."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from safegate.cli import main
from tests.helpers import REPO

DOCS = ("docs/privacy.md", "docs/compliance.md")


def _text() -> str:
    return "\n".join((REPO / d).read_text(encoding="utf-8") for d in DOCS)


def test_every_file_named_exists() -> None:
    named = set(re.findall(r"`((?:tests|docs|src/safegate)/[\w/.-]+\.(?:py|md|toml))`",
                           _text()))
    assert len(named) > 10
    assert sorted(p for p in named if not (REPO / p).exists()) == []


COMMANDS = sorted(set(re.findall(r"safegate ((?:[a-z]+ )?[a-z]+(?:\\\|[a-z]+)*)", "\n".join(
    (REPO / d).read_text(encoding="utf-8") for d in DOCS))))


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_shown_exists(command: str) -> None:
    words = command.split()
    runner = CliRunner()
    first = runner.invoke(main, [words[0], "--help"])
    assert first.exit_code == 0, f"safegate {words[0]}: {first.output}"
    if len(words) > 1 and "Commands:" in first.output:
        for sub in words[1].split("\\|"):
            done = runner.invoke(main, [words[0], sub, "--help"])
            assert done.exit_code == 0, f"safegate {words[0]} {sub}: {done.output}"
