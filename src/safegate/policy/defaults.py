"""The operator's default policy: what a client that is no child's device gets."""

from __future__ import annotations

from collections.abc import Sequence

from safegate.policy.compiled import DefaultPolicy

# Harm to anyone, not a child's screen-time rules (a parent's phone is such a client too).
BASELINE_CATEGORIES = ("adult", "gambling", "drugs", "violence", "weapons", "self_harm",
                       "hate", "scam", "malware", "cults")


def default_policy(categories: Sequence[str] | None, block_mode: str,
                   log_level: str) -> DefaultPolicy:
    """The default policy from the operator's settings; ``categories`` None means the
    baseline harm categories."""
    return DefaultPolicy(
        blocked_categories=tuple(BASELINE_CATEGORIES if categories is None else categories),
        block_mode=block_mode,
        log_level=log_level,
    )
