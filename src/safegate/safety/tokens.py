"""A word-level model: how likely each word of a message is part of an insult.

ViHOS marks *which characters* of each comment are offensive, not only whether the comment
is. Training on those spans teaches the words themselves (and their misspellings, through
their character n-grams) instead of whatever else tends to occur in offensive comments. A
message's score is the probability of its most offensive word. In 5-fold cross-validation on
the ViHOS train split, each at its best threshold, this alone scored a binary macro-F1 of
0.899 against 0.885 for the whole-message n-gram model, and their average 0.911
(docs/safety.md).

Each word (letters and digits, lowercased, NFC) gets hashed features: the word as written and
de-accented, its character 2–4-grams with one space of padding on each side, the previous and
the next word (de-accented), and the two word pairs. All hashing is vectorised over the batch
with the polynomial substring hash of :mod:`safegate.safety.features`.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from safegate.safety.features import (
    codepoints,
    finalise,
    padded_windows,
    prefix_hashes,
    substring_hash,
    word_line,
)
from safegate.safety.normalise import deaccent

__all__ = ["TokenFeaturiser", "TokenModel", "word_spans", "words_of"]

_RE_WORD = re.compile(r"[^\W_]+")
_PAIR = np.uint64(0x9E3779B97F4A7C15)
_EDGE = np.uint64(0x5F3C)  # the "word" before the first and after the last

I64 = npt.NDArray[np.int64]


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, lowercased word)`` for each word of the NFC form of ``text``."""
    nfc = unicodedata.normalize("NFC", text)
    return [(m.start(), m.end(), m.group(0).lower()) for m in _RE_WORD.finditer(nfc)]


def words_of(text: str) -> list[str]:
    """The lowercased words of :func:`word_spans` without their offsets (the fast path)."""
    return [w.lower() for w in _RE_WORD.findall(unicodedata.normalize("NFC", text))]


class TokenFeaturiser:
    """Hashed features of every word in a batch of word lists."""

    def __init__(self, bits: int = 18, char_min: int = 2, char_max: int = 4) -> None:
        self.bits = bits
        self.char_min = char_min
        self.char_max = char_max

    def params(self) -> dict[str, int]:
        return {"bits": self.bits, "char_min": self.char_min, "char_max": self.char_max}

    def hashed(self, docs: Sequence[Sequence[str]]) -> tuple[I64, I64, I64]:
        """``(doc of each word, word of each feature, bucket of each feature)``."""
        words = [w for doc in docs for w in doc]
        doc_of = np.repeat(np.arange(len(docs), dtype=np.int64),
                           np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs)))
        empty = np.zeros(0, dtype=np.int64)
        if not words:
            return doc_of, empty, empty
        line, cp_t, lengths, starts = word_line(words)
        ends = starts + lengths
        cp_p, _ = codepoints([deaccent(line)])
        g_t, pow_t = prefix_hashes(cp_t)
        g_p, pow_p = prefix_hashes(cp_p)
        h_word = substring_hash(g_t, pow_t, starts, ends)
        h_plain = substring_hash(g_p, pow_p, starts, ends)
        n = len(words)
        index = np.arange(n, dtype=np.int64)
        owners: list[I64] = [index, index]
        buckets: list[I64] = [finalise(h_word, 60, self.bits), finalise(h_plain, 61, self.bits)]
        # Character n-grams of " word ": from the space before to the space after.
        for size in range(self.char_min, self.char_max + 1):
            a, owner = padded_windows(starts, lengths, size)
            owners.append(owner)
            buckets.append(finalise(substring_hash(g_t, pow_t, a, a + size), 62 + size,
                                     self.bits))
        # Neighbours within the same message (de-accented), and the two word pairs.
        first = np.ones(n, dtype=bool)
        first[1:] = doc_of[1:] != doc_of[:-1]
        last = np.ones(n, dtype=bool)
        last[:-1] = doc_of[:-1] != doc_of[1:]
        prev = np.where(first, _EDGE, np.roll(h_plain, 1))
        nxt = np.where(last, _EDGE, np.roll(h_plain, -1))
        with np.errstate(over="ignore"):
            pairs = ((prev, 70), (nxt, 71), (prev * _PAIR + h_plain, 72),
                     (h_plain * _PAIR + nxt, 73))
            for h, salt in pairs:
                owners.append(index)
                buckets.append(finalise(h, salt, self.bits))
        return doc_of, np.concatenate(owners), np.concatenate(buckets)


@dataclass
class TokenModel:
    """Logistic regression over word features; a message scores its most offensive word."""

    featuriser: TokenFeaturiser
    weights: npt.NDArray[np.float32]  # one per bucket
    bias: float
    language: str  # the texts it scores ("vi")
    category: str  # the category it adds to ("bullying")
    mix: float  # its share of that category's model score

    def word_probabilities(self, docs: Sequence[Sequence[str]]) -> tuple[I64, npt.NDArray[
            np.float32]]:
        """``(doc of each word, probability of each word)``."""
        doc_of, owner, bucket = self.featuriser.hashed(docs)
        z = np.bincount(owner, weights=self.weights[bucket], minlength=len(doc_of)) + self.bias
        z = np.clip(z, -30.0, 30.0)
        return doc_of, (1.0 / (1.0 + np.exp(-z))).astype(np.float32)

    def scores(self, docs: Sequence[Sequence[str]]) -> npt.NDArray[np.float32]:
        """The highest word probability of each message (0 for a message without words)."""
        doc_of, probs = self.word_probabilities(docs)
        out = np.zeros(len(docs), dtype=np.float32)
        if len(probs):  # words are in document order: one segmented maximum
            starts = np.searchsorted(doc_of, np.arange(len(docs)))
            has = np.diff(np.append(starts, len(doc_of))) > 0
            out[has] = np.maximum.reduceat(probs, starts[has])
        return out

    def to_json(self) -> dict[str, Any]:
        w = self.weights.astype(np.float64)
        scale = max(float(np.abs(w).max()), 1e-9) / 127.0
        q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
        return {**self.featuriser.params(), "language": self.language,
                "category": self.category, "mix": self.mix, "bias": self.bias,
                "weight_scale": scale,
                "weights": base64.b64encode(q.tobytes()).decode("ascii")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenModel:
        feat = TokenFeaturiser(int(data["bits"]), int(data["char_min"]), int(data["char_max"]))
        q = np.frombuffer(base64.b64decode(data["weights"]), dtype=np.int8)
        if len(q) != 1 << feat.bits:
            raise ValueError("token model weights do not match its bucket count")
        return cls(feat, q.astype(np.float32) * np.float32(data["weight_scale"]),
                   float(data["bias"]), str(data["language"]), str(data["category"]),
                   float(data["mix"]))
