"""The service filter of the policy editor: which apps and services match what a parent typed,
without caring for case or Vietnamese diacritics ("lien quan" finds "Liên Quân"). Pure."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from safegate.lists.services import Service
from safegate.safety.normalise import deaccent


def fold(text: str) -> str:
    """Lower case without diacritics (``đ`` → ``d``), spaces squeezed."""
    return " ".join(deaccent(text).casefold().split())


@cache  # the services are a fixed table; every page lists all of them
def search_text(service: Service) -> str:
    """What the filter looks in: the id, both names and the group (folded)."""
    return fold(f"{service.id} {service.name} {service.name_vi} {service.group}")


def matching(services: Iterable[Service], query: str | None) -> list[Service]:
    """The services whose id, names or group contain every word of ``query`` (all of them
    for an empty query)."""
    words = fold(query or "").split()
    return [s for s in services if all(w in search_text(s) for w in words)]
