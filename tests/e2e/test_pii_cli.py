"""``safegate redact``: the command through click and as the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from safegate.cli import main


def run(args: list[str], stdin: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(main, ["redact", *args], input=stdin)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_plain_lines() -> None:
    out = run([], "sđt em là 0912 345 678\nhôm nay em được 9.5 điểm\n\n")
    assert out[0] == {"text": "sđt em là [PHONE]",
                      "entities": [{"type": "PHONE", "start": 10, "end": 22}]}
    assert out[1] == {"text": "hôm nay em được 9.5 điểm", "entities": []}
    assert out[2] == {"text": "", "entities": []}


def test_jsonl_with_a_broken_line_goes_on() -> None:
    stdin = "\n".join([
        json.dumps({"id": 1, "text": "stk 0123456789 vcb, gọi 0912345678 hoặc 0912.345.678"}),
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"text": 5}),
        json.dumps({"id": "x", "text": "mail a.b@gmail.com"}, ensure_ascii=False),
    ]) + "\n"
    out = run(["--jsonl", "--mode", "pseudonym"], stdin)
    assert len(out) == 5
    assert out[0]["id"] == 1
    assert out[0]["text"] == "stk [BANK_ACCOUNT_1] vcb, gọi [PHONE_1] hoặc [PHONE_1]"
    text = "stk 0123456789 vcb, gọi 0912345678 hoặc 0912.345.678"
    for ent in out[0]["entities"]:  # type: ignore[attr-defined]
        assert text[ent["start"]:ent["end"]].replace(".", "") in ("0123456789", "0912345678")
    assert out[1]["line"] == 2 and "invalid JSON" in str(out[1]["error"])
    assert out[2]["line"] == 3 and "error" in out[2]
    assert out[3]["line"] == 4 and "error" in out[3]
    assert out[4] == {"id": "x", "text": "mail [EMAIL_1]",
                      "entities": [{"type": "EMAIL", "start": 5, "end": 18}]}


def test_lone_names_are_redacted_and_place_names_kept() -> None:
    out = run(["--mode", "pseudonym"], "mình tên Lan, vừa ở Thái Lan về\nto la Minh ne\n")
    assert out[0] == {"text": "mình tên [PERSON_1], vừa ở Thái Lan về",
                      "entities": [{"type": "PERSON", "start": 9, "end": 12}]}
    assert out[1]["text"] == "to la [PERSON_1] ne"


def test_types_option() -> None:
    out = run(["--types", "email"], "sđt 0912345678 mail a@b.vn\n")
    assert out[0]["text"] == "sđt 0912345678 mail [EMAIL]"
    result = CliRunner().invoke(main, ["redact", "--types", "PASSPORT"], input="x\n")
    assert result.exit_code != 0 and "PASSPORT" in result.output


def test_console_script() -> None:
    script = Path(sys.executable).with_name("safegate")
    exe = str(script) if script.exists() else shutil.which("safegate")
    assert exe, "the safegate console script is installed with the package"
    proc = subprocess.run([exe, "redact", "--jsonl"], input='{"text": "email a@b.vn"}\n{bad\n',
                          capture_output=True, text=True, timeout=60, check=True)
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert lines[0]["text"] == "email [EMAIL]"
    assert "error" in lines[1]
    assert "Traceback" not in proc.stderr
