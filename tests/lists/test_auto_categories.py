"""Categories for unknown domains: the gate's queue, the engine's findings, the operator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from safegate.lists.auto import (
    AutoCategoryError,
    export_specs,
    mark_classified,
    pending_domains,
    record_auto,
    record_seen,
    set_operator,
)
from safegate.store.db import session_factory
from safegate.store.models import SeenDomain
from tests.helpers import addresses, ask, wait_until


def test_operator_word_beats_the_engine(engine: Any, tmp_path: Path) -> None:
    with session_factory(engine).begin() as s:
        assert record_auto(s, "new-casino.example", "gambling", 0.93, "page text: 'nạp tiền'")
        assert record_auto(s, "unsure.example", "scam", 0.5)
        set_operator(s, "family-blog.example", "allow")
        assert record_auto(s, "Family-Blog.example.", "adult", 0.99) is False
        with pytest.raises(AutoCategoryError, match="unknown"):
            record_auto(s, "x.example", "allow", 0.9)  # only operators may allow
        with pytest.raises(AutoCategoryError, match="between 0 and 1"):
            record_auto(s, "x.example", "scam", 1.5)
        with pytest.raises(AutoCategoryError, match="not a domain"):
            set_operator(s, "not a domain", "adult")
    with session_factory(engine).begin() as s:
        specs = {spec.key: spec for spec in export_specs(s, tmp_path)}
    assert set(specs) == {"auto/gambling", "auto/allow"}, "unsure rows never block"
    assert specs["auto/allow"].role == "allow"
    assert specs["auto/gambling"].path.read_text() == "new-casino.example\n"


def test_seen_domains_queue(engine: Any) -> None:
    record_seen(engine, {"a.example": 3, "b.example": 1}, now=100.0)
    record_seen(engine, {"b.example": 5}, now=200.0)
    with session_factory(engine).begin() as s:
        assert pending_domains(s) == ["b.example", "a.example"]
        row = s.scalar(select(SeenDomain).where(SeenDomain.domain == "b.example"))
        assert row is not None and (row.queries, row.first_seen, row.last_seen) == (6, 100.0, 200.0)
        mark_classified(s, ["b.example"])
    with session_factory(engine)() as s:
        assert pending_domains(s) == ["a.example"]


def test_gate_queues_unknown_domains_and_applies_findings(make_gate: Any, tmp_path: Path) -> None:
    g = make_gate({"custom": ["known-bad.example"]})
    ask(g.port, "www.brand-new.example")
    ask(g.port, "cdn.brand-new.example")
    ask(g.port, "known-bad.example")
    assert g.gate.new_domains == {"brand-new.example": 2}
    engine = g.runtime.engine
    record_seen(engine, g.gate.new_domains)
    with session_factory(engine).begin() as s:
        assert pending_domains(s) == ["brand-new.example"]
        record_auto(s, "brand-new.example", "scam", 0.95)
    g.reload()
    blocked = ask(g.port, "www.brand-new.example")
    assert addresses(blocked) == ["0.0.0.0"]
    with session_factory(engine).begin() as s:
        set_operator(s, "brand-new.example", "allow")
    g.reload()
    assert wait_until(lambda: addresses(ask(g.port, "shop.brand-new.example")) == ["192.0.2.1"])
