"""The harm categories: blocked for every client that is no child's device, and never lifted
by a child's recreation window."""

from __future__ import annotations

# Harm to anyone, not a child's screen-time rules (a parent's phone is such a client too).
BASELINE_CATEGORIES = ("adult", "gambling", "drugs", "violence", "weapons", "self_harm",
                       "hate", "scam", "malware", "cults")
# What no recreation window ever unblocks: the harm baseline, and bypass tools (a VPN opened
# for an hour of games would open everything else too).
NEVER_LIFTED = frozenset((*BASELINE_CATEGORIES, "bypass"))
