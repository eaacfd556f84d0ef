"""Pure decisions behind alerts: no database, no clock, no files.

From the engine's results to alerts:

1. :func:`message_candidates` — which labels of one message may become an alert, at which
   severity, with which guidance. Only ``warning`` and ``urgent`` count. Whose message it is
   matters: ``pii_disclosure`` only for the child's own messages; bullying *by* the child gets
   its own guidance; self-harm is urgent whoever writes it (a friend in danger, or someone
   telling the child to die), with guidance for each case.
2. :func:`grooming_candidate` — grooming escalation over a conversation (flattery, secrecy,
   private channel, photos, gifts, meeting) by someone other than the child, when the newest
   message added a signal.
3. :func:`make_snippet` — a short excerpt (at most :data:`SNIPPET_LIMIT` characters) around
   the evidence, cut from the *redacted* text, so personal data never reaches the excerpt.
4. :func:`decide` — deduplicate per (profile, conversation, category) within a window and
   rate-limit new non-urgent alerts per profile; urgent alerts are never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, Protocol

from safegate.safety.conversation import HARD_STAGES, URGENT_AT, WARNING_AT
from safegate.safety.types import (
    ConversationResult,
    Result,
    max_severity,
)

__all__ = [
    "ALERT_SEVERITIES",
    "CHILD",
    "SNIPPET_LIMIT",
    "Candidate",
    "Decision",
    "Evidence",
    "Limits",
    "StoredAlert",
    "decide",
    "escalation_level",
    "excerpt",
    "found_by",
    "grooming_candidate",
    "label_severity",
    "make_snippet",
    "merge_candidates",
    "message_candidates",
    "redact_with_span",
    "with_escalation",
]

ALERT_SEVERITIES = ("warning", "urgent")
SNIPPET_LIMIT = 160
# The sender name the monitor gives the child's messages in a conversation window, so that a
# grooming "suspect" can never be the child.
CHILD = "\x00child"
ELLIPSIS = "…"
_SEPARATOR = " | "
_RANK = {"none": 0, "info": 1, "warning": 2, "urgent": 3}
_INCITE_RULE = "rule:self_harm_incite"  # "go kill yourself": said *to* someone


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where in one message the harm was seen: ``text[start:end]``."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Candidate:
    """A possible alert for one category, before deduplication and rate limits."""

    category: str
    severity: str  # warning | urgent
    score: float
    guidance: str  # a key of data/guidance.toml
    evidence: tuple[Evidence, ...]
    found_by: str  # rules | model | deep | conversation (choices.ALERT_FOUND_BY)


# --- from results to candidates -----------------------------------------------------------


def label_severity(result: Result, category: str) -> str:
    """The severity the engine gave one label of ``result`` ("none" if not labelled)."""
    return result.levels.get(category, "none")


def found_by(result: Result, category: str) -> str:
    """The engine layer behind a label: a rule if any fired, else the deep layer if it added
    the label, else the n-gram model."""
    sources = {s.source for s in result.spans if s.category == category}
    if any(s.startswith("rule:") for s in sources):
        return "rules"
    return "deep" if "embedding" in sources else "model"


def _evidence(result: Result, text: str, category: str) -> Evidence:
    spans = [s for s in result.spans if s.category == category]
    if not spans:
        return Evidence(text, 0, len(text))
    return Evidence(text, min(s.start for s in spans), max(s.end for s in spans))


def message_candidates(result: Result, text: str, *, from_child: bool) -> list[Candidate]:
    """The alert candidates of one message's ``result`` (one per category, worst first)."""
    out: list[Candidate] = []
    for category in result.labels:
        level = label_severity(result, category)
        if level not in ALERT_SEVERITIES:
            continue
        guidance = category
        kind = category
        if category == "pii_disclosure" and not from_child:
            continue  # someone else's details are not the child giving theirs away
        if category == "bullying" and from_child:
            guidance = "bullying_by_child"
        if category == "self_harm":
            spans = [s for s in result.spans if s.category == "self_harm"]
            incite_only = bool(spans) and all(s.source == _INCITE_RULE for s in spans)
            if not from_child:
                guidance = "self_harm_other"
            elif incite_only:  # the child told someone else to die: bullying by the child
                kind, level, guidance = "bullying", "warning", "bullying_by_child"
        out.append(Candidate(kind, level, float(result.scores.get(category, 0.0)), guidance,
                             (_evidence(result, text, category),), found_by(result, category)))
    return merge_candidates(out)


def escalation_level(conv: ConversationResult) -> str:
    """The severity of the grooming escalation alone (not of the conversation's single
    messages), recomputed from the riskiest window's stages as safety.conversation does."""
    if conv.suspect is None:
        return "none"
    first, last = conv.peak_window
    stages = {s.stage for s in conv.signals
              if s.sender == conv.suspect and first <= s.index <= last}
    if not stages:
        return "none"
    if conv.score >= URGENT_AT or (len(stages) >= 3 and stages & HARD_STAGES):
        return "urgent"
    if conv.score >= WARNING_AT or len(stages) >= 2:
        return "warning"
    return "info"


def grooming_candidate(conv: ConversationResult, texts: Sequence[str], *,
                       child: str = CHILD) -> Candidate | None:
    """A grooming alert for a conversation window whose newest message (the last of
    ``texts``) added an escalation signal by someone other than the child."""
    level = escalation_level(conv)
    if level not in ALERT_SEVERITIES or conv.suspect in (None, child) or not texts:
        return None
    newest = len(texts) - 1
    if not any(s.index == newest and s.sender == conv.suspect for s in conv.signals):
        return None
    first, last = conv.peak_window
    own = [s for s in conv.signals if s.sender == conv.suspect and first <= s.index <= last]
    # The evidence: the latest "hard" stages (secrecy, photos, sexual talk, meeting) first,
    # at most two messages, shown in the order they were sent.
    ranked = sorted(own, key=lambda s: (s.stage in HARD_STAGES, s.index), reverse=True)
    chosen = sorted(list(dict.fromkeys(s.index for s in ranked))[:2])
    evidence = []
    for index in chosen:
        spans = [s.span for s in own if s.index == index]
        evidence.append(Evidence(texts[index], min(s.start for s in spans),
                                 max(s.end for s in spans)))
    return Candidate("grooming", level, float(conv.score), "grooming", tuple(evidence),
                     "conversation")


def with_escalation(found: Sequence[Candidate], grooming: Candidate | None) -> list[Candidate]:
    """``found`` (one message's candidates) with the conversation's grooming escalation: its
    evidence (several messages) replaces the message's own grooming evidence, at the worse of
    the two severities and the higher score."""
    if grooming is None:
        return merge_candidates(found)
    for c in found:
        if c.category == "grooming":
            grooming = replace(grooming, severity=max_severity(grooming.severity, c.severity),
                               score=max(grooming.score, c.score))
    return merge_candidates([*(c for c in found if c.category != "grooming"), grooming])


def merge_candidates(candidates: Iterable[Candidate]) -> list[Candidate]:
    """One candidate per category (the most severe, then the highest score), worst first."""
    best: dict[str, Candidate] = {}
    for c in candidates:
        kept = best.get(c.category)
        if kept is None or (_RANK[c.severity], c.score) > (_RANK[kept.severity], kept.score):
            best[c.category] = c
    return sorted(best.values(), key=lambda c: (-_RANK[c.severity], -c.score, c.category))


# --- the snippet --------------------------------------------------------------------------

_WS = re.compile(r"\s+")


def excerpt(text: str, start: int, end: int, limit: int = SNIPPET_LIMIT) -> str:
    """At most ``limit`` characters of ``text`` around ``text[start:end]``: cut at spaces where
    possible, ``…`` where something was left out, runs of white space made one space."""
    if limit < 8:
        raise ValueError("limit must be at least 8")
    n = len(text)
    start = max(0, min(start, n))
    end = max(start, min(end, n))
    if n <= limit:
        a, b = 0, n
    else:
        budget = limit - 2  # room for an ellipsis at each end
        if end - start >= budget:
            a, b = start, start + budget
        else:
            a = max(0, start - (budget - (end - start)) // 2)
            b = min(n, a + budget)
            a = max(0, b - budget)
        if a > 0:  # start at a word, unless that would skip into the evidence
            m = _WS.search(text, a, min(start, a + 24))
            if m:
                a = m.end()
        if b < n:  # end after a word
            cut = max((m.start() for m in _WS.finditer(text, max(end, b - 24), b)),
                      default=None)
            if cut is not None:
                b = cut
    body = _WS.sub(" ", text[a:b]).strip()
    return (ELLIPSIS if a > 0 else "") + body + (ELLIPSIS if b < n else "")


class _Entity(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


Redactor = Callable[[str], tuple[str, Sequence[_Entity]]]


def redact_with_span(text: str, start: int, end: int,
                     redactor: Redactor | None = None) -> tuple[str, int, int]:
    """``text`` with personal data replaced by ``[TYPE]`` placeholders, and where
    ``text[start:end]`` ended up in it (a span cut by an entity grows to the placeholder)."""
    if redactor is None:
        from safegate.privacy.pii import redact

        red, found = redact(text)
        entities: Sequence[_Entity] = found
    else:
        red, entities = redactor(text)
    shift = 0
    new_start, new_end = start, end
    rebuilt: list[str] = []
    last = 0
    done_start = done_end = False
    for e in sorted(entities, key=lambda e: e.start):
        e_start, e_end = e.start, e.end
        placeholder = f"[{e.type}]"
        rebuilt += [text[last:e_start], placeholder]
        last = e_end
        if not done_start and start < e_end:
            new_start = start + shift if start <= e_start else e_start + shift
            done_start = True
        if not done_end and end <= e_end:
            new_end = end + shift if end <= e_start else e_start + shift + len(placeholder)
            done_end = True
        shift += len(placeholder) - (e_end - e_start)
    rebuilt.append(text[last:])
    if not done_start:
        new_start = start + shift
    if not done_end:
        new_end = end + shift
    if "".join(rebuilt) != red:  # the redactor works differently: keep its text, lose the span
        return red, 0, len(red)
    return red, max(0, new_start), min(len(red), max(new_start, new_end))


def make_snippet(evidence: Sequence[Evidence], limit: int = SNIPPET_LIMIT,
                 redactor: Redactor | None = None) -> str:
    """The redacted excerpt for an alert: one piece per evidence message (at most
    ``limit`` characters in all, pieces joined by `` | ``)."""
    if not evidence:
        return ""
    pieces = list(evidence)[:max(1, limit // 40)]
    each = (limit - len(_SEPARATOR) * (len(pieces) - 1)) // len(pieces)
    out = []
    for ev in pieces:
        red, a, b = redact_with_span(ev.text, ev.start, ev.end, redactor)
        out.append(excerpt(red, a, b, each))
    return _SEPARATOR.join(out)


# --- deduplication and rate limits --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """Deduplication window per (profile, conversation, category), and the most new
    non-urgent alerts one profile gets per ``rate_window``."""

    dedupe_window: timedelta = timedelta(hours=6)
    rate_window: timedelta = timedelta(hours=1)
    max_per_window: int = 10

    @property
    def lookback(self) -> timedelta:
        """How far back :func:`decide` needs to see stored alerts."""
        return max(self.dedupe_window, self.rate_window)


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """What :func:`decide` needs to know about an alert already stored."""

    id: int
    conversation: str
    category: str
    severity: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Decision:
    """``create`` a new alert, ``merge`` into ``alert_id``, or ``drop`` (rate limit)."""

    action: Literal["create", "merge", "drop"]
    severity: str  # the alert's severity afterwards
    alert_id: int | None = None
    escalated: bool = False  # a merge that raised the stored alert's severity
    reason: str = ""


def decide(conversation: str, category: str, severity: str, at: datetime,
           recent: Iterable[StoredAlert], limits: Limits = Limits()) -> Decision:
    """What to do with a new detection at time ``at``, given the profile's ``recent`` alerts
    (those created within ``limits.lookback`` of ``at``; more do no harm).

    * Same conversation and category, created less than ``dedupe_window`` from ``at``
      (either side: messages may arrive out of order) → merge into the latest such alert,
      raising its severity if this one is worse. Merges are never rate-limited.
    * Otherwise a new non-urgent alert is dropped when the profile already has
      ``max_per_window`` non-urgent alerts created in the ``rate_window`` up to ``at``.
      Urgent alerts are never dropped.
    """
    if severity not in ALERT_SEVERITIES:
        raise ValueError(f"severity {severity!r} makes no alert; allowed: {ALERT_SEVERITIES}")
    recent = list(recent)
    same = [a for a in recent if a.conversation == conversation and a.category == category
            and abs(at - a.created_at) < limits.dedupe_window]
    if same:
        target = max(same, key=lambda a: (a.created_at, a.id))
        after = max_severity(target.severity, severity)
        return Decision("merge", after, target.id, escalated=after != target.severity)
    if severity != "urgent":
        since = at - limits.rate_window
        count = sum(1 for a in recent
                    if a.severity != "urgent" and since < a.created_at <= at)
        if count >= limits.max_per_window:
            return Decision("drop", severity, reason=(
                f"rate limit: {count} non-urgent alerts in the last "
                f"{_duration(limits.rate_window)}"))
    return Decision("create", severity)


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "hour" if hours == 1 else f"{hours} hours"
    return f"{seconds // 60} min"
