"""How often each layer's alerts help: parents' "helpful" / "wrong" counted per category and
per engine layer (``Alert.found_by``). Counts only, never a snippet or a conversation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safegate.privacy import audit
from safegate.store.models import Alert

__all__ = ["FeedbackRow", "feedback_report", "summarise"]

UNKNOWN = "unknown"  # alerts stored before the store recorded the layer


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    category: str
    found_by: str
    alerts: int
    helpful: int
    wrong: int

    @property
    def unanswered(self) -> int:
        return self.alerts - self.helpful - self.wrong

    @property
    def helpful_share(self) -> float | None:
        """Helpful among the answered alerts; None before any answer."""
        answered = self.helpful + self.wrong
        return self.helpful / answered if answered else None

    def to_dict(self) -> dict[str, Any]:
        share = self.helpful_share
        return {"category": self.category, "found_by": self.found_by, "alerts": self.alerts,
                "helpful": self.helpful, "wrong": self.wrong, "unanswered": self.unanswered,
                "helpful_share": None if share is None else round(share, 4)}


def summarise(counts: Iterable[tuple[str, str | None, str | None, int]]) -> list[FeedbackRow]:
    """(category, found_by, feedback, n) counts → one row per category and layer, sorted."""
    table: dict[tuple[str, str], list[int]] = {}
    for category, layer, feedback, n in counts:
        row = table.setdefault((category, layer or UNKNOWN), [0, 0, 0])
        row[0] += n
        if feedback == "helpful":
            row[1] += n
        elif feedback == "wrong":
            row[2] += n
    return [FeedbackRow(c, layer, *v) for (c, layer), v in sorted(table.items())]


def feedback_report(session: Session, *, profile_id: int | None = None,
                    actor: str = "unknown") -> list[FeedbackRow]:
    """The counts for one profile or the whole store; the reading is audited (flushes only)."""
    stmt = (select(Alert.category, Alert.found_by, Alert.feedback, func.count())
            .group_by(Alert.category, Alert.found_by, Alert.feedback))
    if profile_id is not None:
        stmt = stmt.where(Alert.profile_id == profile_id)
    rows = summarise((c, f, fb, int(n)) for c, f, fb, n in session.execute(stmt).all())
    audit.append(session, actor=actor, action="alert.report", object_type="alert",
                 detail={"profile_id": profile_id, "rows": len(rows)})
    session.flush()
    return rows
