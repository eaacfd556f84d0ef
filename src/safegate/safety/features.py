"""Hashed character and word n-gram features, computed for a whole batch with numpy.

The same code serves training (``scripts/train_safety.py`` turns the output into a sparse
matrix) and inference (:mod:`safegate.safety.model` multiplies it by the weights), so the two
cannot drift apart. Python's own ``hash`` is salted per process, so n-grams are hashed with a
fixed polynomial hash over code points instead:

* the batch is one array of code points; a prefix sum of ``cp[j] * Q**(j+1)`` (mod 2**64,
  where ``Q`` is the inverse of the odd multiplier ``P``) gives every substring's hash as
  ``P**b * (G[b] - G[a])`` in O(1), vectorised;
* each feature family (char n-grams of the primary string — accented or plain — and, where
  they differ, of the other; word 1–2-grams of the plain text; words of the accented text;
  optionally char n-grams inside each word of the raw text) is mixed with its own salt and
  finalised (splitmix64) into ``2**bits`` buckets; one more feature says whether the text
  looks Vietnamese;
* values are TF-IDF: ``(1 + log count) * idf[bucket]``, L2-normalised per text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["FEATURISER", "Batch", "Featuriser", "codepoints", "finalise", "is_vietnamese",
           "language_of", "padded_windows", "prefix_hashes", "substring_hash", "word_line"]

FEATURISER = "hash-ngram-v4"

_P = np.uint64(0x100000001B3)  # FNV-64 prime (odd, so invertible mod 2**64)
_Q = np.uint64(pow(0x100000001B3, -1, 2**64))
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_GOLD = 0x9E3779B97F4A7C15

_RE_NONWORD_LINE = re.compile(r"(?:[^\w\n]|_)+")

U64 = npt.NDArray[np.uint64]

# Frequent Vietnamese words, as typed without diacritics, that are rare in English text.
_VI_WORDS = frozenset({
    "khong", "duoc", "nguoi", "cua", "nhung", "mot", "minh", "ban", "toi", "tao", "chung", "nay",
    "thi", "roi", "nua", "lam", "qua", "voi", "cho", "biet", "dang", "cung", "nhu", "gi", "sao",
    "vay", "nhe", "oi", "nha", "em", "anh", "chi", "vao", "tu", "trong", "thay", "noi", "hoc",
    "truong", "lop", "nhieu", "that", "luon", "moi", "dep", "ngu", "chet", "ong", "ko", "dc",
    "vl", "mik", "mk", "thoi", "dit", "deo", "dcm", "vcl", "clm", "cc",
})
_LANG_VI = np.uint64(0x7669)
_LANG_OTHER = np.uint64(0x656E)


def is_vietnamese(text: str, plain: str) -> bool:
    """A cheap guess: diacritics, or enough frequent Vietnamese words typed plainly."""
    if text != plain:
        return True
    words = plain.split()
    hits = sum(1 for w in words if w in _VI_WORDS)
    return hits >= 1 and hits * 4 >= len(words)


def language_of(text: str, plain: str) -> str:
    """``"vi"`` or ``"en"`` (any other language): the key of per-language thresholds and heads."""
    return "vi" if is_vietnamese(text, plain) else "en"


@dataclass(frozen=True, slots=True)
class Batch:
    """Sparse features of a batch: ``(doc, bucket, value)`` triples sorted by doc."""

    n_docs: int
    doc: npt.NDArray[np.int64]
    bucket: npt.NDArray[np.int64]
    value: npt.NDArray[np.float32]


def _word_lines(texts: Sequence[str]) -> list[str]:
    """Each text's words (letters and digits) separated and padded by single spaces.

    One regex pass over the whole batch, joined by newlines that the pattern leaves alone.
    """
    joined = _RE_NONWORD_LINE.sub(" ", "\n".join(t.replace("\n", " ") for t in texts))
    return [" " + w.strip() + " " if w.strip() else "  " for w in joined.split("\n")]


def word_line(words: Sequence[str]) -> tuple[str, U64, npt.NDArray[np.int64],
                                             npt.NDArray[np.int64]]:
    """``" w1 w2 … "``, its code points, and each word's length and start offset."""
    line = " " + " ".join(words) + " "
    lengths = np.array(list(map(len, words)), dtype=np.int64)
    cp, _ = codepoints([line])
    return line, cp, lengths, np.cumsum(lengths + 1) - lengths  # each word follows one space


def padded_windows(starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64],
                   size: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Start of every ``size``-character window of each word padded with its two spaces
    (``" word "``, from ``start - 1`` to ``start + length + 1``), and the word it belongs to."""
    counts = np.maximum(lengths + 3 - size, 0)
    owner = np.repeat(np.arange(len(starts), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    offset = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(first, counts)
    return starts[owner] - 1 + offset, owner


def codepoints(parts: Sequence[str]) -> tuple[U64, npt.NDArray[np.int64]]:
    big = "".join(parts)
    cp = np.frombuffer(big.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lengths = np.array(list(map(len, parts)), dtype=np.int64)
    return cp, lengths


def prefix_hashes(cp: U64) -> tuple[U64, U64]:
    """``G`` (length n+1) and the powers ``P**k`` (length n+1) for substring hashing."""
    n = len(cp)
    with np.errstate(over="ignore"):
        qpow = np.empty(n + 1, dtype=np.uint64)
        ppow = np.empty(n + 1, dtype=np.uint64)
        qpow[0] = 1
        ppow[0] = 1
        if n:
            qpow[1:] = _Q
            ppow[1:] = _P
            qpow = np.cumprod(qpow, dtype=np.uint64)
            ppow = np.cumprod(ppow, dtype=np.uint64)
        g = np.zeros(n + 1, dtype=np.uint64)
        if n:
            g[1:] = np.cumsum(cp * qpow[1:], dtype=np.uint64)
    return g, ppow


def substring_hash(g: U64, ppow: U64, a: npt.NDArray[np.int64],
                    b: npt.NDArray[np.int64]) -> U64:
    with np.errstate(over="ignore"):
        return ppow[b] * (g[b] - g[a])


def finalise(h: U64, salt: int, bits: int) -> npt.NDArray[np.int64]:
    with np.errstate(over="ignore"):
        x = h ^ np.uint64((salt * _GOLD) % 2**64)
        x = (x ^ (x >> np.uint64(30))) * _MIX1
        x = (x ^ (x >> np.uint64(27))) * _MIX2
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(64 - bits)).astype(np.int64)


class Featuriser:
    """Turns normalised ``(text, plain)`` pairs into hashed TF-IDF features."""

    def __init__(self, bits: int = 18, char_min: int = 2, char_max: int = 5,
                 idf: npt.NDArray[np.float32] | None = None, primary: str = "plain",
                 raw_words: bool = False) -> None:
        if primary not in ("plain", "text"):
            raise ValueError("primary must be 'plain' or 'text'")
        self.bits = bits
        self.char_min = char_min
        self.char_max = char_max
        self.idf = idf
        self.primary = primary  # which string gets every char n-gram; the other only differences
        # Also char n-grams inside each word of the text as written (lowercased, NFC, before
        # teencode and look-alike normalisation): a second view of the same message.
        self.raw_words = raw_words

    def params(self) -> dict[str, int | str | bool]:
        return {"name": FEATURISER, "bits": self.bits, "char_min": self.char_min,
                "char_max": self.char_max, "primary": self.primary, "raw_words": self.raw_words}

    # ---------------------------------------------------------------- raw hashed counts

    def hashed(self, pairs: Sequence[tuple[str, str]], raw: Sequence[str] | None = None
               ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``(doc, bucket)`` for every n-gram occurrence in the batch.

        ``raw`` is each text as written, for the ``raw_words`` family (the normalised text
        stands in for it when it is not given).
        """
        n_docs = len(pairs)
        docs: list[npt.NDArray[np.int64]] = []
        buckets: list[npt.NDArray[np.int64]] = []
        if self.raw_words:
            self._raw_word_grams([t for t, _ in pairs] if raw is None else raw, docs, buckets)

        # Character n-grams over the plain and over the accented text, padded with one space
        # on each side. Both strings have the same length, so the positions are shared; the
        # accented family tells "ngủ" (sleep) from "ngu" (stupid) when the writer used accents.
        plain_chars = [" " + " ".join(p.split()) + " " for _, p in pairs]
        text_chars = [" " + " ".join(t.split()) + " " for t, _ in pairs]
        cp, lengths = codepoints(plain_chars)
        cp_t, _ = codepoints(text_chars)
        doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        total = len(cp)
        # How many characters of its own text follow each position (itself included): an
        # n-gram may start where at least n remain.
        left = np.repeat(np.cumsum(lengths), lengths) - np.arange(total, dtype=np.int64)
        first, second = (cp, cp_t) if self.primary == "plain" else (cp_t, cp)
        differs = second != first
        for family, cps in ((0, first), (20, second)):
            if family and not differs.any():
                break  # the second string's n-grams only where it differs from the first
            g, ppow = prefix_hashes(cps)
            touched = np.zeros(0, dtype=np.int64)
            if family:  # how many differing characters come before each position
                touched = np.zeros(total + 1, dtype=np.int64)
                np.cumsum(differs, out=touched[1:])
            for n in range(self.char_min, self.char_max + 1):
                if total < n:
                    continue
                ok = left[:total - n + 1] >= n
                if family:
                    ok &= touched[n:] != touched[:total - n + 1]
                a = np.flatnonzero(ok)
                docs.append(doc_of[a])
                buckets.append(finalise(substring_hash(g, ppow, a, a + n), family + n,
                                         self.bits))

        # Words (letters and digits only) of the plain and of the accented text.
        words_plain = _word_lines([p for _, p in pairs])
        words_text = _word_lines([t for t, _ in pairs])
        for family, parts in ((10, words_plain), (12, words_text)):
            cp, lengths = codepoints(parts)
            if not len(cp):
                continue
            g, ppow = prefix_hashes(cp)
            doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
            spaces = np.flatnonzero(cp == 32)
            # A word runs from one space to the next within the same text.
            starts = spaces[:-1] + 1
            ends = spaces[1:]
            keep = (ends > starts) & (doc_of[spaces[:-1]] == doc_of[spaces[1:]])
            starts, ends = starts[keep], ends[keep]
            wdoc = doc_of[starts]
            docs.append(wdoc)
            buckets.append(finalise(substring_hash(g, ppow, starts, ends), family, self.bits))
            if family == 10 and len(starts) > 1:
                same = wdoc[:-1] == wdoc[1:]
                a2, b2 = starts[:-1][same], ends[1:][same]
                docs.append(wdoc[:-1][same])
                buckets.append(finalise(substring_hash(g, ppow, a2, b2), 11, self.bits))
        # One language feature per text ("vi" or "other"): the data sets differ in base rate
        # (ViHOS ~half offensive, Davidson 83 %), and this lets the model learn one offset per
        # language instead of a single intercept pulled towards the larger set.
        lang = np.fromiter((_LANG_VI if is_vietnamese(t, p) else _LANG_OTHER for t, p in pairs),
                           dtype=np.uint64, count=n_docs)
        docs.append(np.arange(n_docs, dtype=np.int64))
        buckets.append(finalise(lang, 40, self.bits))
        if not docs:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        return np.concatenate(docs), np.concatenate(buckets)

    def _raw_word_grams(self, raw: Sequence[str], docs: list[npt.NDArray[np.int64]],
                        buckets: list[npt.NDArray[np.int64]]) -> None:
        """Char n-grams within each space-padded word of the raw texts (family 50 + n)."""
        per_doc = [unicodedata.normalize("NFC", text).lower().split() for text in raw]
        words = [w for ws in per_doc for w in ws]
        if not words:
            return
        word_doc = np.repeat(np.arange(len(per_doc), dtype=np.int64),
                             np.array(list(map(len, per_doc)), dtype=np.int64))
        _, cp, lengths, starts = word_line(words)
        g, ppow = prefix_hashes(cp)
        for n in range(self.char_min, self.char_max + 1):
            a, owner = padded_windows(starts, lengths, n)
            docs.append(word_doc[owner])
            buckets.append(finalise(substring_hash(g, ppow, a, a + n), 50 + n, self.bits))

    # ---------------------------------------------------------------- TF-IDF

    def counts(self, pairs: Sequence[tuple[str, str]], raw: Sequence[str] | None = None
               ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Distinct ``(doc, bucket)`` pairs with their counts, sorted by doc."""
        doc, bucket = self.hashed(pairs, raw)
        keys = doc << np.int64(self.bits) | bucket
        if len(pairs) << self.bits <= 2**31:
            keys = keys.astype(np.int32)  # a batch's keys fit: half the bytes to sort
        keys.sort()
        if not len(keys):
            return keys.astype(np.int64), keys.astype(np.int64), keys.astype(np.int64)
        first = np.empty(len(keys), dtype=bool)
        first[0] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        at = np.flatnonzero(first)
        uniq = keys[at].astype(np.int64)
        count = np.diff(np.append(at, len(keys)))
        return uniq >> np.int64(self.bits), uniq & np.int64((1 << self.bits) - 1), count

    def transform(self, pairs: Sequence[tuple[str, str]],
                  raw: Sequence[str] | None = None) -> Batch:
        if self.idf is None:
            raise ValueError("the featuriser has no IDF table (fit or load a model first)")
        doc, bucket, count = self.counts(pairs, raw)
        value = (1.0 + np.log(count.astype(np.float32))) * self.idf[bucket]
        norm = np.sqrt(np.bincount(doc, weights=value * value, minlength=len(pairs)))
        norm[norm == 0] = 1.0
        return Batch(len(pairs), doc, bucket, (value / norm[doc]).astype(np.float32))

    def fit_idf(self, pairs: Sequence[tuple[str, str]],
                raw: Sequence[str] | None = None) -> npt.NDArray[np.float32]:
        doc, bucket, _ = self.counts(pairs, raw)
        df = np.bincount(bucket, minlength=1 << self.bits).astype(np.float64)
        n = len(pairs)
        self.idf = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
        return self.idf
