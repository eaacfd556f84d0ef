"""Layer 2: per-category linear models over hashed n-gram features (numpy only).

The model file ``data/safety_model.json.gz`` is plain gzipped JSON, no pickle:

```
{"format": "safegate-safety-linear", "format_version": 2,
 "version": "2.<hash of data, recipe and result>",
 "featuriser": {"name": "hash-ngram-v4", "bits": 18, ...},
 "categories": [...], "bias": [...], "weight_scale": [...],
 "weights": "<base64 int8, buckets × columns, row-major>",
 "heads": {"vi": {"bullying": 9}},
 "token_head": {"language": "vi", "category": "bullying", "mix": 0.5, "bits": 18, ...,
                "bias": b, "weight_scale": s, "weights": "<base64 int8, one per bucket>"},
 "idf_scale": s, "idf": "<base64 uint8, one per bucket>",
 "thresholds": {...}, "language_thresholds": {"vi": {...}, "en": {...}},
 "training": {"data_sha256": ..., "seed": ..., "rows": ...}, "metrics": {...}}
```

There is one weight column per category, then one per language head: a category whose
public data differs by language (ViHOS comments and Davidson tweets for ``bullying``) has a
column trained on that language's rows alone, which replaces the shared column for texts in
that language. The word-level model (:mod:`safegate.safety.tokens`) is mixed into one
category for one language. Weights are stored as int8 with one scale per column and IDF as
uint8: 4.2 MB of JSON (base64) before gzip, 1.5 MB after, for 2**18 buckets.
``scripts/train_safety.py`` writes it; :func:`load` reads it.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from safegate.safety.features import FEATURISER, Featuriser, language_of
from safegate.safety.tokens import TokenModel, words_of

__all__ = ["FORMAT", "LinearModel", "default_model", "load", "model_path"]

FORMAT = "safegate-safety-linear"
FORMAT_VERSION = 2
MODEL_FILE = "safety_model.json.gz"


@dataclass
class LinearModel:
    categories: tuple[str, ...]
    featuriser: Featuriser
    weights: npt.NDArray[np.float32]  # buckets × categories
    bias: npt.NDArray[np.float32]
    version: str
    thresholds: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    # Per-language overrides ("vi", "en") where each language has its own large data set.
    language_thresholds: dict[str, dict[str, float]] = field(default_factory=dict)
    # Per-language heads: {"vi": {"bullying": column}} — extra weight columns trained only on
    # that language's rows, used instead of the shared column for texts in that language.
    heads: dict[str, dict[str, int]] = field(default_factory=dict)
    # A word-level model (tokens.py) mixed into one category for one language.
    token_head: TokenModel | None = None

    def logits(self, pairs: Sequence[tuple[str, str]], raw: Sequence[str] | None = None,
               with_bias: bool = True,
               languages: npt.NDArray[np.str_] | None = None) -> npt.NDArray[np.float32]:
        """One row per text, one column per category (heads already applied)."""
        batch = self.featuriser.transform(pairs, raw)
        out = np.zeros((batch.n_docs, self.weights.shape[1]), dtype=np.float32)
        if len(batch.doc):
            # np.take gathers rows ~2.5x faster than fancy indexing; scale in place.
            contrib = np.take(self.weights, batch.bucket, axis=0)
            contrib *= batch.value[:, None]
            # Features are sorted by doc: one segmented sum gives every text's logits.
            starts = np.searchsorted(batch.doc, np.arange(batch.n_docs))
            has = np.diff(np.append(starts, len(batch.doc))) > 0
            out[has] = np.add.reduceat(contrib, starts[has], axis=0)
        if with_bias:
            out += self.bias
        if self.heads:
            lang = _languages(pairs) if languages is None else languages
            index = {c: j for j, c in enumerate(self.categories)}
            for language, columns in self.heads.items():
                rows = np.flatnonzero(lang == language)
                for category, column in columns.items():
                    out[rows, index[category]] = out[rows, column]
        return out[:, :len(self.categories)]

    def predict(self, pairs: Sequence[tuple[str, str]], raw: Sequence[str] | None = None,
                languages: Sequence[str] | None = None) -> npt.NDArray[np.float32]:
        """Probabilities, one row per text and one column per category.

        ``languages`` (:func:`language_of` of each pair) saves working them out again.
        """
        if not pairs:
            return np.zeros((0, len(self.categories)), dtype=np.float32)
        lang = _languages(pairs) if languages is None else np.array(languages)
        z = np.clip(self.logits(pairs, raw, languages=lang), -30.0, 30.0)
        probs = (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
        head = self.token_head
        if head is not None:
            texts = [t for t, _ in pairs] if raw is None else raw
            rows = np.flatnonzero(lang == head.language).tolist()
            if rows:
                j = self.categories.index(head.category)
                words = head.scores([words_of(texts[i]) for i in rows])
                probs[rows, j] = head.mix * probs[rows, j] + (1.0 - head.mix) * words
        return probs

    # ---------------------------------------------------------------- storage

    def to_json(self) -> dict[str, Any]:
        assert self.featuriser.idf is not None
        w = self.weights.astype(np.float64)
        scale = np.maximum(np.abs(w).max(axis=0), 1e-9) / 127.0
        q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
        idf = self.featuriser.idf.astype(np.float64)
        idf_scale = max(float(idf.max()), 1e-9) / 255.0
        idf_q = np.clip(np.rint(idf / idf_scale), 0, 255).astype(np.uint8)
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "version": self.version,
            "featuriser": self.featuriser.params(),
            "categories": list(self.categories),
            "bias": [float(b) for b in self.bias],
            "weight_scale": [float(s) for s in scale],
            "weights": base64.b64encode(np.ascontiguousarray(q).tobytes()).decode("ascii"),
            "idf_scale": idf_scale,
            "idf": base64.b64encode(idf_q.tobytes()).decode("ascii"),
            "thresholds": self.thresholds,
            "language_thresholds": self.language_thresholds,
            "heads": self.heads,
            "token_head": None if self.token_head is None else self.token_head.to_json(),
            **self.meta,
        }

    def save(self, path: Path) -> None:
        data = json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True).encode("utf-8")
        # mtime=0 keeps the file byte-identical across rebuilds of the same model.
        with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0,
                                                  compresslevel=9) as gz:
            gz.write(data)

    def quantised(self) -> LinearModel:
        """The model as it will be after a save/load round trip (int8 weights, uint8 IDF)."""
        return from_json(self.to_json())


def _languages(pairs: Sequence[tuple[str, str]]) -> npt.NDArray[np.str_]:
    """"vi" or "en" (any other) for each normalised ``(text, plain)`` pair."""
    return np.array([language_of(t, p) for t, p in pairs])


def from_json(data: dict[str, Any]) -> LinearModel:
    if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"not a {FORMAT} v{FORMAT_VERSION} model file")
    params = data["featuriser"]
    if params.get("name") != FEATURISER:
        raise ValueError(f"model needs featuriser {params.get('name')!r}, have {FEATURISER!r}")
    bits = int(params["bits"])
    cats = tuple(data["categories"])
    q = np.frombuffer(base64.b64decode(data["weights"]), dtype=np.int8)
    scale = np.asarray(data["weight_scale"], dtype=np.float32)
    weights = q.reshape(1 << bits, len(scale)).astype(np.float32) * scale
    idf = (np.frombuffer(base64.b64decode(data["idf"]), dtype=np.uint8).astype(np.float32)
           * np.float32(data["idf_scale"]))
    featuriser = Featuriser(bits=bits, char_min=int(params["char_min"]),
                            char_max=int(params["char_max"]), idf=idf,
                            primary=str(params.get("primary", "plain")),
                            raw_words=bool(params.get("raw_words", False)))
    meta = {k: v for k, v in data.items() if k in ("training", "metrics", "created")}
    return LinearModel(cats, featuriser, weights, np.asarray(data["bias"], dtype=np.float32),
                       str(data["version"]), {k: float(v) for k, v in data["thresholds"].items()},
                       meta, {lang: {k: float(v) for k, v in th.items()}
                              for lang, th in data.get("language_thresholds", {}).items()},
                       {lang: {c: int(j) for c, j in cols.items()}
                        for lang, cols in data.get("heads", {}).items()},
                       TokenModel.from_json(data["token_head"]) if data.get("token_head")
                       else None)


def load(path: Path) -> LinearModel:
    with gzip.open(path, "rb") as fh:
        return from_json(json.loads(fh.read()))


def model_path() -> Path:
    return Path(str(resources.files("safegate.safety") / "data" / MODEL_FILE))


@cache
def default_model() -> LinearModel | None:
    """The model shipped in the package, or None when it has not been built yet."""
    path = model_path()
    if not path.is_file():
        return None
    return load(path)
