"""Harmful-content engine for Vietnamese and English text.

    >>> from safegate.safety import classify
    >>> r = classify("tao sẽ giết mày")
    >>> r.labels, r.severity
    (('violence',), 'urgent')

Layers: normalisation (:mod:`.normalise`), explainable rules and lexicons (:mod:`.rules`),
per-category linear models over hashed n-grams (:mod:`.model`), and conversation-level
grooming scoring (:mod:`.conversation`). ``pii_disclosure`` comes from
:mod:`safegate.privacy.pii` when it is installed. See docs/safety.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from safegate.safety.types import (
    CATEGORIES,
    SEVERITIES,
    ConversationResult,
    Result,
    Signal,
    Span,
)

__all__ = ["CATEGORIES", "SEVERITIES", "ConversationResult", "Result", "Signal", "Span",
           "classify", "classify_many", "score_conversation"]


def classify(text: str) -> Result:
    """Categories, scores, severity and evidence spans for one text."""
    from safegate.safety.engine import default_engine

    return default_engine().classify(text)


def classify_many(texts: Sequence[str]) -> list[Result]:
    """:func:`classify` for a batch (the fast path: the model runs once for all texts)."""
    from safegate.safety.engine import default_engine

    return default_engine().classify_many(texts)


def score_conversation(messages: Sequence[tuple[str, str]], *,
                       window: int = 20) -> ConversationResult:
    """Grooming risk over ``(sender, text)`` messages in order (see :mod:`.conversation`).

    ``window`` is how many consecutive messages one escalation may span.
    """
    from safegate.safety.conversation import score_conversation as score

    return score(messages, window=window)
