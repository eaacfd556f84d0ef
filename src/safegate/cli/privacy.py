"""``safegate redact``: redact personal data from text on stdin, one JSON object per line."""

from __future__ import annotations

import sys
from typing import Any

import click

from safegate.cli.common import CONTEXT

TYPE_NAMES = ("PHONE, CCCD, CMND, EMAIL, BANK_ACCOUNT, CARD, ADDRESS, SCHOOL, PERSON, "
              "SOCIAL_HANDLE, IP, MAC, DATE_OF_BIRTH")


@click.command(context_settings=CONTEXT)
@click.option("--jsonl", is_flag=True,
              help="Input lines are JSON objects with a \"text\" field (other fields are "
                   "ignored; \"id\" is copied to the output).")
@click.option("--mode", type=click.Choice(["placeholder", "pseudonym"]), default="placeholder",
              show_default=True,
              help="placeholder: [PHONE]; pseudonym: [PHONE_1], the same value getting the "
                   "same number within one text.")
@click.option("--types", metavar="T1,T2",
              help=f"Only these entity types (default: all of {TYPE_NAMES}).")
@click.option("--language", type=click.Choice(["vi", "en"]),
              help="Language of the texts (default: guessed per text).")
@click.option("--score", "with_score", is_flag=True,
              help="Add each entity's score and text to the output.")
def redact(jsonl: bool, mode: str, types: str | None, language: str | None,
           with_score: bool) -> None:
    """Redact personal data from children's text (Vietnamese and English).

    Reads one text per line from stdin (or JSONL with --jsonl) and writes one JSON object per
    line: {"text": "<redacted>", "entities": [{"type", "start", "end"}]}, offsets into the
    input text. A line that cannot be read gives {"error": ..., "line": N} and processing
    goes on.

    Example: echo "sđt em là 0912 345 678" | safegate redact
    """
    from safegate.privacy.pii import ENTITY_TYPES
    from safegate.privacy.pii import redact as do_redact

    wanted = None
    if types:
        wanted = [t.strip().upper() for t in types.split(",") if t.strip()]
        unknown = sorted(set(wanted) - set(ENTITY_TYPES))
        if unknown:
            raise click.BadParameter(f"unknown type(s) {', '.join(unknown)}; "
                                     f"known: {TYPE_NAMES}", param_hint="--types")
    from safegate.textio import read_lines, utf8_stdin

    out = sys.stdout
    for line in read_lines(utf8_stdin(), jsonl=jsonl):
        number = line.number
        if line.text is None:
            _write(out, {"error": line.error, "line": number})
            continue
        text = line.text
        extra: dict[str, Any] = {"id": line.fields["id"]} if "id" in line.fields else {}
        try:
            redacted, entities = do_redact(text, mode=mode,  # type: ignore[arg-type]
                                           types=wanted, language=language)
        except Exception as exc:  # noqa: BLE001 - one bad text must not stop the stream
            _write(out, {"error": f"{type(exc).__name__}: {exc}", "line": number, **extra})
            continue
        ents = []
        for e in entities:
            item: dict[str, Any] = {"type": e.type, "start": e.start, "end": e.end}
            if with_score:
                item.update(score=e.score, text=e.text)
            ents.append(item)
        _write(out, {**extra, "text": redacted, "entities": ents})


def _write(out: Any, obj: dict[str, Any]) -> None:
    from safegate.textio import write_json

    write_json(out, obj)


COMMANDS = [redact]
