"""The linear model file: language heads, the raw-word feature family, format checks."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from safegate.safety.features import Featuriser
from safegate.safety.model import FORMAT_VERSION, LinearModel, load
from safegate.safety.normalise import normalise_pair

VI = "mày là đồ ngu"
EN = "you are an idiot"


def _model(bits: int = 12) -> LinearModel:
    feat = Featuriser(bits=bits, char_min=1, primary="text", raw_words=True)
    texts = [VI, EN, "chúc ngủ ngon", "good night"]
    feat.fit_idf([normalise_pair(t) for t in texts], texts)
    # Columns: sexual, bullying (shared), bullying@vi. No n-gram weights: only the biases
    # differ, so which column answered is visible in the probability.
    weights = np.zeros((1 << bits, 3), dtype=np.float32)
    bias = np.array([-4.0, -4.0, 4.0], dtype=np.float32)
    return LinearModel(("sexual", "bullying"), feat, weights, bias, "2.test",
                       heads={"vi": {"bullying": 2}})


def test_language_head_replaces_the_shared_column_for_its_language() -> None:
    model = _model()
    probs = model.predict([normalise_pair(VI), normalise_pair(EN)], [VI, EN])
    assert probs.shape == (2, 2)
    assert probs[0, 1] > 0.9  # Vietnamese text: the head's column
    assert probs[1, 1] < 0.1  # English text: the shared column
    assert probs[0, 0] < 0.1 and probs[1, 0] < 0.1  # no head for sexual


def test_heads_survive_save_and_load(tmp_path: Path) -> None:
    model = _model()
    path = tmp_path / "m.json.gz"
    model.save(path)
    again = load(path)
    assert again.heads == {"vi": {"bullying": 2}}
    assert again.featuriser.raw_words
    pairs = [normalise_pair(VI), normalise_pair(EN)]
    assert np.allclose(again.predict(pairs, [VI, EN]), model.predict(pairs, [VI, EN]), atol=0.02)


def test_older_format_version_is_refused(tmp_path: Path) -> None:
    data = _model().to_json()
    data["format_version"] = FORMAT_VERSION - 1
    path = tmp_path / "old.json.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(json.dumps(data).encode())
    with pytest.raises(ValueError, match="not a safegate-safety-linear"):
        load(path)


def test_raw_words_see_the_text_as_written() -> None:
    feat = Featuriser(bits=16, char_min=1, primary="text", raw_words=True)
    pair = normalise_pair("ĐMMMM")  # normalised: "đm"
    as_typed = set(zip(*feat.hashed([pair], ["ĐMMMM"]), strict=True))
    from_normalised = set(zip(*feat.hashed([pair]), strict=True))
    assert as_typed != from_normalised  # the raw word keeps its repeated letters
    without = Featuriser(bits=16, char_min=1, primary="text")
    assert set(zip(*without.hashed([pair]), strict=True)) < from_normalised


# ------------------------------------------------------------------ the packaged model

def test_word_model_finds_the_insult_inside_a_message() -> None:
    from safegate.safety.model import default_model
    from safegate.safety.tokens import word_spans

    model = default_model()
    assert model is not None and model.token_head is not None
    text = "bài hát hay quá mà thằng ca sĩ này óc chó thật"
    words = word_spans(text)
    doc_of, probs = model.token_head.word_probabilities([[w for _, _, w in words]])
    assert len(probs) == len(words) and (doc_of == 0).all()
    best = {words[i][2] for i in np.argsort(probs)[-2:]}
    assert best & {"óc", "chó"}, best  # the insult, not the song
    clean = model.token_head.scores([[w for _, _, w in word_spans("bài hát hay quá")]])
    assert clean[0] < 0.5 < probs.max()


def test_vietnamese_label_without_a_rule_gets_word_spans() -> None:
    from safegate.safety.engine import Engine

    engine = Engine(use_pii=False)
    text = "Moá, quái thai"  # a ViHOS-style insult no rule names
    r = engine.classify(text)
    assert "bullying" in r.labels
    spans = [s for s in r.spans if s.category == "bullying"]
    assert spans and all(text[s.start:s.end] == s.text for s in spans)
    assert any(s.source == "model:words" for s in spans), spans
