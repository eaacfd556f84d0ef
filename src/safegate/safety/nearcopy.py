"""Near-copies between text sets: training seeds that paraphrase an evaluation line too closely.

A seed that differs from an evaluation line by a word, an accent or a comma teaches the model
that line, and the evaluation then measures memory instead of generalisation. Texts are keyed
by :func:`key` (casefolded, accents and ``đ`` removed, punctuation dropped, spaces collapsed) and
compared by the Jaccard similarity of their character 4-gram sets. ``THRESHOLD`` is 0.5 (see
docs/safety.md, "Evaluation sets"): above it two lines share most of their wording; below it
they share a topic or a stock phrase ("đừng nói với bố mẹ") inside different sentences.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from safegate.safety.normalise import deaccent

N = 4
THRESHOLD = 0.5
MIN_GRAMS = 8  # shorter keys ("dạ em cảm ơn anh") are stock phrases, not evidence of copying

_NON_WORD = re.compile(r"[\W_]+")


def key(text: str) -> str:
    """Casefolded, accent-free, punctuation-free text with single spaces."""
    return " ".join(_NON_WORD.sub(" ", deaccent(text.casefold())).split())


def grams(text: str) -> frozenset[str]:
    """The character ``N``-grams of :func:`key` (spaces included, one space of padding)."""
    k = f" {key(text)} "
    return frozenset(k[i:i + N] for i in range(len(k) - N + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


@dataclass(frozen=True)
class NearCopy:
    text: str
    other: str
    similarity: float


def near_copies(texts: Iterable[str], others: Sequence[str],
                threshold: float = THRESHOLD) -> list[NearCopy]:
    """Every (text, other) pair whose 4-gram Jaccard similarity reaches ``threshold``.

    Both sides need ``MIN_GRAMS`` distinct grams; an inverted index over ``others`` keeps this
    linear in the pairs that share grams at all."""
    index: dict[str, list[int]] = defaultdict(list)
    other_grams = [grams(o) for o in others]
    for j, g in enumerate(other_grams):
        if len(g) >= MIN_GRAMS:
            for x in g:
                index[x].append(j)
    found = []
    for text in texts:
        g = grams(text)
        if len(g) < MIN_GRAMS:
            continue
        shared = Counter(j for x in g for j in index.get(x, ()))
        for j, inter in shared.items():
            sim = inter / (len(g) + len(other_grams[j]) - inter)
            if sim >= threshold:
                found.append(NearCopy(text, others[j], round(sim, 3)))
    return found
