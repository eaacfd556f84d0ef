"""Layer 3: grooming escalation over a conversation.

Grooming is rarely one message. It is a sequence of stages by one sender: flattery, probing
questions (age, parents away, home alone), gifts or game top-ups, moving to a private channel,
secrecy, requests for photos or video calls, sexual talk, asking to meet. Each message is
classified (a message that combines several signals on its own is already an urgent grooming
message, see ``grooming_combined`` in rules.py); the grooming rules' hits become *stage
signals*; for every sender, a sliding window of the last ``window`` messages combines the
distinct stages seen (noisy-or of the stage weights below), so that more kinds of stage in one
window mean a higher score:

* ``urgent``  — score ≥ ``URGENT_AT``, or three or more distinct stages including a "hard" one
  (secrecy, photo request, sexual talk, meeting), or any single urgent grooming message;
* ``warning`` — score ≥ ``WARNING_AT`` or two distinct stages;
* ``info``    — any stage at all.

The conversation's labels are the union of its messages' labels, plus ``grooming`` from
``warning`` up; its severity is the higher of the escalation's and the worst message's.
"""

from __future__ import annotations

from collections.abc import Sequence

from safegate.safety.engine import Engine, default_engine
from safegate.safety.types import CATEGORIES, ConversationResult, Signal, max_severity

__all__ = ["HARD_STAGES", "STAGE_WEIGHTS", "URGENT_AT", "WARNING_AT", "score_conversation"]

STAGE_WEIGHTS: dict[str, float] = {
    "flattery": 0.15,
    "probe": 0.2,
    "gift": 0.3,
    "private_channel": 0.3,
    "meet": 0.35,
    "secrecy": 0.45,
    "photo_request": 0.45,
    "video_call": 0.25,  # any video-call talk; weak alone
    "sexual": 0.6,
    "sexual_photo": 0.8,
    "model": 0.35,  # the grooming model or the deep layer fired without a rule to say which
}
HARD_STAGES = frozenset({"secrecy", "photo_request", "sexual_photo", "sexual", "meet"})
URGENT_AT = 0.6
WARNING_AT = 0.4
WINDOW = 20

_RULE_STAGE = {
    "grooming_secrecy": "secrecy",
    "grooming_secret_contact": "secrecy",
    "grooming_private_channel": "private_channel",
    "grooming_move_off_platform": "private_channel",
    "grooming_photo_request": "photo_request",
    "grooming_video_call": "video_call",
    "grooming_sexual_photo": "sexual_photo",
    "grooming_gift": "gift",
    "grooming_gift_condition": "gift",
    "grooming_meet": "meet",
    "grooming_meet_alone": "meet",
    "grooming_meet_offline": "meet",
    "grooming_romance": "flattery",
    "grooming_probe": "probe",
    "grooming_home_alone": "probe",
    "grooming_flattery": "flattery",
    "grooming_minor_sexual": "sexual",
    "grooming_sexual_question": "sexual",
    "grooming_abuse_disclosure": "sexual",
    "sexual_explicit": "sexual",
    "sexual_media": "sexual",
    "sexual_word": "sexual",
}


def _window_score(stages: set[str]) -> float:
    p = 1.0
    for s in stages:
        p *= 1.0 - STAGE_WEIGHTS[s]
    return 1.0 - p


def _level(score: float, stages: set[str]) -> str:
    if not stages:
        return "none"
    if score >= URGENT_AT or (len(stages) >= 3 and stages & HARD_STAGES):
        return "urgent"
    if score >= WARNING_AT or len(stages) >= 2:
        return "warning"
    return "info"


def score_conversation(messages: Sequence[tuple[str, str]], *, window: int = WINDOW,
                       engine: Engine | None = None) -> ConversationResult:
    """Score ``(sender, text)`` messages, in order, for grooming escalation."""
    engine = engine or default_engine()
    results = engine.classify_many([text for _, text in messages])
    signals: list[Signal] = []
    for i, ((sender, _), result) in enumerate(zip(messages, results, strict=True)):
        for span in result.spans:
            stage = _RULE_STAGE.get(span.source.removeprefix("rule:"))
            if stage is not None:
                signals.append(Signal(i, sender, stage, span))
            elif span.source in ("model", "embedding") and span.category == "grooming":
                signals.append(Signal(i, sender, "model", span))

    best_score, best_level, suspect, peak = 0.0, "none", None, (0, max(len(messages) - 1, 0))
    senders = sorted({s.sender for s in signals})
    for sender in senders:
        own = [s for s in signals if s.sender == sender]
        for end in sorted({s.index for s in own}):
            stages = {s.stage for s in own if end - window < s.index <= end}
            score = _window_score(stages)
            level = _level(score, stages)
            if (max_severity(level, best_level) != best_level or
                    (level == best_level and score > best_score)):
                best_score, best_level = score, level
                suspect = sender
                first = min(s.index for s in own if end - window < s.index <= end)
                peak = (first, end)

    labels = {c for r in results for c in r.labels}
    message_level = max_severity(*(r.severity for r in results)) if results else "none"
    if best_level in ("warning", "urgent"):
        labels.add("grooming")
    severity = max_severity(best_level, message_level)
    ordered_stages: list[str] = []
    for s in signals:
        if (suspect is None or s.sender == suspect) and s.stage not in ordered_stages:
            ordered_stages.append(s.stage)
    return ConversationResult(
        score=round(best_score, 4),
        severity=severity,
        labels=tuple(c for c in CATEGORIES if c in labels),
        stages=tuple(ordered_stages),
        suspect=suspect,
        peak_window=peak,
        signals=tuple(signals),
        messages=tuple(results),
    )
