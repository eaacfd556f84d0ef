"""Small helpers shared by several test modules."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from safegate.lists.index import DomainIndex

REPO = Path(__file__).resolve().parent.parent


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` (the doc generators) as a module."""
    path = REPO / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def demo_data_dir(data: Path) -> Path:
    """A SQLite data directory ``data`` with the demo household in it."""
    from safegate.store import make_engine, migrate, session_factory, sqlite_url
    from safegate.store.repo import create_demo_household

    engine = make_engine(sqlite_url(data))
    migrate(engine)
    with session_factory(engine).begin() as session:
        create_demo_household(session)
    engine.dispose()
    return data


def index_hit(index: DomainIndex, name: str, enabled: Iterable[int] | None = None,
              ) -> tuple[str, str, bool] | None:
    """(list key, entry, allow) of the deciding hit with ``enabled`` lists (default all)."""
    verdicts = index.verdicts(range(len(index.lists)) if enabled is None else enabled)
    found = index.lookup(name, verdicts)
    if found is None:
        return None
    return index.lists[found.list_id].spec.key, found.entry, found.allow
