"""Errors raised by the storage layer."""

from __future__ import annotations


class StoreError(Exception):
    """A storage problem the caller can act on: bad URL, invalid value, unknown row."""
