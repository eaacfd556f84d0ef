"""Validation and normalisation of the policy fields ``update_policy`` may change."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from safegate.store import choices
from safegate.store.errors import StoreError


def _bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise StoreError(
            f"policy field {field!r}: value {value!r} is not allowed; use True or False"
        )
    return value


def _one_of(allowed: tuple[str, ...]) -> Callable[[str, Any], str]:
    def check(field: str, value: Any) -> str:
        if value not in allowed:
            raise StoreError(
                f"policy field {field!r}: value {value!r} is not allowed; "
                f"allowed: {', '.join(allowed)}"
            )
        return str(value)

    return check


def _items(field: str, value: Any) -> list[str]:
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple | set | frozenset):
        raise StoreError(
            f"policy field {field!r}: value {value!r} is not allowed; use a list of strings"
        )
    for item in value:
        if not isinstance(item, str):
            raise StoreError(
                f"policy field {field!r}: value {item!r} is not allowed; items must be strings"
            )
    return list(value)


def _names(field: str, value: Any) -> list[str]:
    """Category or service identifiers: trimmed, no spaces, duplicates dropped."""
    names: dict[str, None] = {}
    for item in _items(field, value):
        name = item.strip()
        if not name or any(c.isspace() for c in name):
            raise StoreError(
                f"policy field {field!r}: value {item!r} is not allowed; "
                "use an identifier such as 'adult' or 'tiktok'"
            )
        names[name] = None
    return list(names)


def _rules(field: str, value: Any) -> list[str]:
    """Allow/deny rules: domains (trimmed, lowercased, no trailing dot, IDN as punycode) or
    IP addresses/networks (canonical form, e.g. ``10.0.0.0/8``); duplicates dropped."""
    rules: dict[str, None] = {}
    for item in _items(field, value):
        rule = _ip_rule(item) or _domain_rule(item)
        if rule is None:
            raise StoreError(
                f"policy field {field!r}: value {item!r} is not allowed; "
                "use a domain name such as 'example.vn' or an IP network such as '10.0.0.0/8'"
            )
        rules[rule] = None
    return list(rules)


def _ip_rule(item: str) -> str | None:
    text = item.strip()
    try:
        if "/" in text:
            return str(ipaddress.ip_network(text, strict=False))
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _domain_rule(item: str) -> str | None:
    domain = item.strip().lower().rstrip(".")
    if not domain or any(c.isspace() or c in "/:@" for c in domain):
        return None
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return domain


VALIDATORS: Mapping[str, Callable[[str, Any], Any]] = {
    "blocked_categories": _names,
    "blocked_services": _names,
    "allow": _rules,
    "deny": _rules,
    "safe_search": _bool,
    "youtube_mode": _one_of(choices.YOUTUBE_MODES),
    "block_mode": _one_of(choices.BLOCK_MODES),
    "log_level": _one_of(choices.LOG_LEVELS),
    "bypass_protection": _bool,
    "allowed_services": _names,
    "monitored_services": _names,
    "allow_list_only": _bool,
    "decree147": _bool,
}


def validate_policy_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Normalised copies of ``changes``; StoreError names the first bad field and value."""
    validated: dict[str, Any] = {}
    for field, value in changes.items():
        check = VALIDATORS.get(field)
        if check is None:
            raise StoreError(
                f"unknown policy field {field!r} (value {value!r}); "
                f"allowed fields: {', '.join(VALIDATORS)}"
            )
        validated[field] = check(field, value)
    return validated
