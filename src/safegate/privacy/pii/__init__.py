"""Personal data (PII) in children's text, Vietnamese and English.

    >>> from safegate.privacy.pii import detect, redact
    >>> [(e.type, e.text) for e in detect("sđt của em là 0912 345 678")]
    [('PHONE', '0912 345 678')]
    >>> redact("gọi 0912345678 hoặc 0912.345.678", mode="pseudonym")[0]
    'gọi [PHONE_1] hoặc [PHONE_1]'

See docs/pii.md for what is detected, how, and the measured figures.
"""

from __future__ import annotations

from .engine import detect, explain
from .entity import ENTITY_TYPES, Entity
from .redact import redact

__all__ = ["ENTITY_TYPES", "Entity", "detect", "explain", "redact"]
