"""Result types and the category and severity vocabularies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CATEGORIES", "MODEL_CATEGORIES", "SEVERITIES", "URGENT_CATEGORIES",
           "ConversationResult", "Result", "Signal", "Span", "max_severity"]

CATEGORIES: tuple[str, ...] = (
    "sexual", "grooming", "self_harm", "bullying", "hate", "violence", "scam", "drugs",
    "gambling", "pii_disclosure",
)
# pii_disclosure comes from safegate.privacy.pii, not from the trained model.
MODEL_CATEGORIES: tuple[str, ...] = CATEGORIES[:-1]
URGENT_CATEGORIES = frozenset({"self_harm", "grooming"})  # plus threats of violence
SEVERITIES: tuple[str, ...] = ("none", "info", "warning", "urgent")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def max_severity(*levels: str) -> str:
    return max(levels, key=_RANK.__getitem__, default="none")


@dataclass(frozen=True, slots=True)
class Span:
    """Evidence: ``text == original[start:end]``; source is ``rule:<name>``, ``model``,
    ``model:words`` or ``embedding`` (the deep layer: the whole text)."""

    start: int
    end: int
    category: str
    text: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "category": self.category,
                "text": self.text, "source": self.source}


@dataclass(frozen=True, slots=True)
class Result:
    """What the engine sees in one text. ``levels``: each label's own severity (``severity`` is
    the highest). ``deep``: the deep layer's probabilities, when it looked at this text (empty
    otherwise; see safegate.safety.embedding). ``calibrated``: each category's score on a common
    scale, 0.5 at that category's label threshold for the text's language (engine.calibrate);
    ``any_harm`` is their maximum."""

    labels: tuple[str, ...]
    scores: dict[str, float]
    severity: str
    spans: tuple[Span, ...]
    deep: dict[str, float] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)
    calibrated: dict[str, float] = field(default_factory=dict)

    @property
    def any_harm(self) -> float:
        return max(self.calibrated.values(), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"labels": list(self.labels),
                               "scores": {k: round(v, 4) for k, v in self.scores.items()},
                               "severity": self.severity,
                               "spans": [s.to_dict() for s in self.spans]}
        if self.deep:
            out["deep"] = {k: round(v, 4) for k, v in self.deep.items()}
        return out


@dataclass(frozen=True, slots=True)
class Signal:
    """One grooming-stage signal seen in a conversation."""

    index: int  # message index in the conversation
    sender: str
    stage: str  # flattery, secrecy, private_channel, photo_request, gift, meet, probe, sexual
    span: Span


@dataclass(frozen=True, slots=True)
class ConversationResult:
    """Grooming risk over a conversation, and each message's own result."""

    score: float
    severity: str
    labels: tuple[str, ...]
    stages: tuple[str, ...]  # distinct stages, in order of first appearance
    suspect: str | None  # the sender whose messages carry the signals
    peak_window: tuple[int, int]  # [first, last] message index of the riskiest window
    signals: tuple[Signal, ...]
    messages: tuple[Result, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4), "severity": self.severity,
            "labels": list(self.labels), "stages": list(self.stages), "suspect": self.suspect,
            "peak_window": list(self.peak_window),
            "signals": [{"index": s.index, "sender": s.sender, "stage": s.stage,
                         **s.span.to_dict()} for s in self.signals],
            "messages": [m.to_dict() for m in self.messages],
        }
