"""``safegate classify``: the safety engine on the command line."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from safegate.cli.common import CONTEXT

BATCH = 256


@click.command(context_settings=CONTEXT)
@click.option("--jsonl", is_flag=True,
              help="Read JSON objects, one per line, with a 'text' field (other fields are "
                   "ignored) instead of plain text lines.")
@click.option("--no-pii", is_flag=True, help="Skip the pii_disclosure category (faster).")
@click.option("--deep", is_flag=True,
              help="Add the deep layer: sentence embeddings take a second look at messages "
                   "that are faintly self-harm, grooming or violence (more found, more false "
                   "alarms, ~500 messages/s per core instead of ~6,000; see docs/safety.md).")
def classify(jsonl: bool, no_pii: bool, deep: bool) -> None:
    """Classify text from stdin for harmful content (Vietnamese and English).

    One input line → one JSON line on stdout:
    {"labels": [...], "scores": {...}, "severity": "none|info|warning|urgent", "spans": [...]},
    and with --deep a "deep" object (the layer's probabilities) when it looked at the text.
    A line that is not valid JSONL (with --jsonl) gives {"error": "...", "line": N}.
    """
    from safegate.safety.embedding import DeepUnavailable
    from safegate.safety.engine import Engine

    try:
        engine = Engine(use_pii=not no_pii, deep=deep)
    except DeepUnavailable as exc:
        raise click.ClickException(f"the deep layer cannot run: {exc}") from exc
    out = sys.stdout

    def flush(batch: list[tuple[int, str | None, str]]) -> None:
        texts = [t for _, err, t in batch if err is None]
        results = iter(engine.classify_many(texts))
        for line_no, err, _ in batch:
            obj: dict[str, Any] = ({"error": err, "line": line_no} if err is not None
                                   else next(results).to_dict())
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        out.flush()

    from safegate.textio import read_lines, utf8_stdin

    batch: list[tuple[int, str | None, str]] = []
    for item in read_lines(utf8_stdin(), jsonl=jsonl):
        batch.append((item.number, item.error, item.text or ""))
        if len(batch) >= BATCH:
            flush(batch)
            batch = []
    if batch:
        flush(batch)


COMMANDS = [classify]
