"""The service filter of the policy editor: which apps and services match what a parent typed,
without caring for case or Vietnamese diacritics ("lien quan" finds "Liên Quân"). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from markupsafe import Markup

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


@dataclass(frozen=True, slots=True)
class Option:
    """One service in the policy editor's list: its id, what the child's policy does with it
    ("blocked", "allowed", "monitored" or "" for what the categories say) and the start of its
    ``<option>`` tag (value, the folded text the filter searches, the name in the page's
    language), escaped once per service and language."""

    id: str
    state: str
    start: Markup


def options(services: Iterable[Service], policy: Mapping[str, Any], lang: str) -> list[Option]:
    """The editor's options for ``services`` under ``policy`` (``show_policy``'s fields)."""
    states = {sid: state for key, state in (("monitored_services", "monitored"),
                                            ("allowed_services", "allowed"),
                                            ("blocked_services", "blocked"))
              for sid in policy.get(key) or ()}
    return [Option(s.id, states.get(s.id, ""), option_start(s, lang)) for s in services]


@cache  # a fixed table of services, two languages: every page lists all of them
def option_start(service: Service, lang: str) -> Markup:
    """The start of the service's ``<option>`` tag, escaped: the page's template adds what
    the policy does with it and the end tag (the page had escaped three values of each of
    about a hundred options on every view)."""
    return Markup('<option value="{}" data-search="{}">{}').format(
        service.id, search_text(service), service.name if lang == "en" else service.name_vi)
