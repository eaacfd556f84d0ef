"""Categories for domains no list knows yet.

The gate queues every registrable domain it resolves that no list or rule matched
(``record_seen``, batched off the hot path). The content-safety engine works through that
queue (``pending_domains``) and files what it finds with ``record_auto``: a category and a
confidence, stored as source ``auto``. An operator can correct any of it with
``set_operator`` (a category, or ``allow``), and the operator's word is never overwritten.
``export_specs`` turns the confident rows into ordinary list files for the index.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from safegate.files import private_dir, write_private
from safegate.lists.parse import normalise_domain
from safegate.lists.sources import ListSpec

AUTO_DIR = "auto"
MIN_CONFIDENCE = 0.8  # auto rows below this are kept for review but never block
ALLOW = "allow"


class AutoCategoryError(ValueError):
    """A domain or category that cannot be recorded; the message says why."""


def _domain(raw: str) -> str:
    name = normalise_domain(raw)
    if name is None:
        raise AutoCategoryError(f"{raw!r} is not a domain name")
    return name


def _category(cid: str, *, operator: bool) -> str:
    from safegate.lists.taxonomy import category_ids

    if operator and cid == ALLOW:
        return cid
    if cid not in category_ids():
        allowed = ", ".join((*category_ids(), ALLOW) if operator else category_ids())
        raise AutoCategoryError(f"category {cid!r} is unknown; one of: {allowed}")
    return cid


def record_auto(session: Session, domain: str, category: str, confidence: float,
                note: str | None = None) -> bool:
    """File the engine's finding. Returns False when an operator already decided."""
    from safegate.store.models import DomainCategory

    name = _domain(domain)
    cid = _category(category, operator=False)
    if not 0.0 <= confidence <= 1.0:
        raise AutoCategoryError(f"confidence {confidence!r} must be between 0 and 1")
    row = session.scalar(select(DomainCategory).where(DomainCategory.domain == name))
    if row is not None and row.source == "operator":
        return False
    if row is None:
        row = DomainCategory(domain=name, source="auto")
        session.add(row)
    row.category, row.confidence, row.note = cid, confidence, note
    row.updated_at = datetime.now(UTC)
    session.flush()
    return True


def set_operator(session: Session, domain: str, category: str, note: str | None = None) -> None:
    """An operator's category for a domain (or ``allow``); overrides the engine."""
    from safegate.store.models import DomainCategory

    name = _domain(domain)
    cid = _category(category, operator=True)
    row = session.scalar(select(DomainCategory).where(DomainCategory.domain == name))
    if row is None:
        row = DomainCategory(domain=name)
        session.add(row)
    row.category, row.confidence, row.source, row.note = cid, 1.0, "operator", note
    row.updated_at = datetime.now(UTC)
    session.flush()


def record_seen(engine: Engine, counts: dict[str, int], now: float | None = None) -> int:
    """Add a batch of newly seen domains (domain → queries) to the queue."""
    from safegate.store.models import SeenDomain

    if not counts:
        return 0
    ts = time.time() if now is None else now
    table: Any = SeenDomain.__table__
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt: Any = pg_insert(table)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["domain"],
            set_={"last_seen": stmt.excluded.last_seen,
                  "queries": table.c.queries + stmt.excluded.queries},
        )
        conn.execute(stmt, [{"domain": d, "first_seen": ts, "last_seen": ts, "queries": n}
                            for d, n in counts.items()])
    return len(counts)


def pending_domains(session: Session, limit: int = 100) -> list[str]:
    """Seen domains not yet classified, most queried first."""
    from safegate.store.models import SeenDomain

    rows = session.scalars(select(SeenDomain.domain).where(SeenDomain.classified.is_(False))
                           .order_by(SeenDomain.queries.desc()).limit(limit))
    return list(rows)


def mark_classified(session: Session, domains: Iterable[str]) -> None:
    from safegate.store.models import SeenDomain

    names = list(domains)
    if names:
        session.execute(update(SeenDomain).where(SeenDomain.domain.in_(names))
                        .values(classified=True))


def export_specs(session: Session, data_dir: Path,
                 min_confidence: float = MIN_CONFIDENCE) -> list[ListSpec]:
    """Write the rows that decide into list files, one per category; return their specs.
    Operator rows always count; auto rows only from ``min_confidence`` up. Each file is
    replaced atomically: a reader sees the old list or the new one; if a write fails the
    old file stays and the error is raised."""
    from safegate.store.models import DomainCategory

    by_category: dict[str, list[str]] = {}
    for row in session.scalars(select(DomainCategory).order_by(DomainCategory.domain)):
        if row.source == "operator" or row.confidence >= min_confidence:
            by_category.setdefault(row.category, []).append(row.domain)
    out_dir = data_dir / AUTO_DIR
    private_dir(out_dir)
    specs = []
    for old in out_dir.glob("*.txt"):
        if old.stem not in by_category:
            old.unlink()
    for cid, names in sorted(by_category.items()):
        path = out_dir / f"{cid}.txt"
        data = ("\n".join(names) + "\n").encode()
        if not path.exists() or path.read_bytes() != data:  # keep mtimes stable: no rebuild
            write_private(path, data)  # the gate may be reading the old one
        if cid == ALLOW:
            specs.append(ListSpec("auto/allow", path, "custom", "suffix", "allow"))
        else:
            specs.append(ListSpec(f"auto/{cid}", path, cid, "suffix", "block"))
    return specs
