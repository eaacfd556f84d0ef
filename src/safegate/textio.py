"""Line-oriented text input for the commands that read children's text from stdin
(`classify`, `redact`): plain lines, or JSONL objects with a ``text`` field. A bad line
becomes an error item for that line; the stream goes on."""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

NOT_AN_OBJECT = 'expected an object with a string "text" field'
# Lone UTF-16 surrogates: what undecodable stdin bytes become (surrogateescape) and what a JSON
# "\ud800" escape gives. No codec can encode them, so they would break any text processing.
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD: same length, same offsets."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


@dataclass(frozen=True, slots=True)
class InputLine:
    number: int  # 1-based line number in the input
    text: str | None  # None when ``error`` says why there is no text
    error: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # the JSONL object, if any


def utf8_stdin() -> IO[str]:
    """Standard input read as UTF-8 whatever the locale: undecodable bytes become U+FFFD."""
    stdin = sys.stdin
    if isinstance(stdin, io.TextIOWrapper):
        stdin.reconfigure(encoding="utf-8", errors="replace")
    return stdin


def read_lines(lines: Iterable[str], *, jsonl: bool) -> Iterator[InputLine]:
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not jsonl:
            yield InputLine(number, clean_text(line))
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield InputLine(number, None, f"invalid JSON: {exc.msg}")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            yield InputLine(number, None, NOT_AN_OBJECT)
            continue
        yield InputLine(number, clean_text(obj["text"]), None, obj)


def write_json(out: IO[str], obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    out.flush()
