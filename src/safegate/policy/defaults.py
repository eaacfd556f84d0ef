"""The operator's default policy: what a client that is no child's device gets."""

from __future__ import annotations

from collections.abc import Sequence

from safegate.policy.compiled import DefaultPolicy
from safegate.policy.harm import BASELINE_CATEGORIES

__all__ = ["BASELINE_CATEGORIES", "default_policy"]


def default_policy(categories: Sequence[str] | None, block_mode: str,
                   log_level: str) -> DefaultPolicy:
    """The default policy from the operator's settings; ``categories`` None means the
    baseline harm categories."""
    return DefaultPolicy(
        blocked_categories=tuple(BASELINE_CATEGORIES if categories is None else categories),
        block_mode=block_mode,
        log_level=log_level,
    )
