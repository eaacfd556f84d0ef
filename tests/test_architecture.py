"""The import graph follows docs/architecture.md: `cli`, `web` → `app` → domain packages →
`store`, and nothing imports upward. Every import counts, also those inside functions and
under TYPE_CHECKING: a lazy import that runs the wrong way is still a wrong dependency."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.helpers import REPO

SRC = REPO / "src" / "safegate"

TOP = ("cli", "web")
DOMAIN = ("gate", "lists", "policy", "safety", "privacy", "protect", "learn")
BASE = ("store", "config", "textio", "regex_tree", "histogram", "__init__")
# The gate's hot path reads the compiled policy and the index; never the store or the web.
GATE_MAY_IMPORT = ("gate", "lists", "policy", "config", "histogram")


def _part(module: str) -> str:
    """``safegate.gate.server`` → ``gate``; ``safegate.config`` → ``config``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path, root: Path) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import in ``path``, relative ones resolved."""
    rel = path.relative_to(root.parent).with_suffix("")
    package = list(rel.parts if path.name == "__init__.py" else rel.parts[:-1])
    if path.name == "__init__.py":
        package = package[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            else:
                module = node.module or ""
            yield module, node.lineno
            for alias in node.names:  # `from safegate import cli` imports safegate.cli
                if module == root.name:
                    yield f"{module}.{alias.name}", node.lineno


def violations(root: Path) -> list[str]:
    """Every import in the package at ``root`` that runs against the layers."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue  # Alembic's scripts: they import the store's models, nothing else
        here = _part(".".join(path.relative_to(root.parent).with_suffix("").parts))
        where = path.relative_to(root.parent)
        for module, line in imports_of(path, root):
            top = module.split(".")[0]
            if top == "click" and here != "cli":
                found.append(f"{where}:{line}: only the cli imports click")
            if top != root.name:
                continue
            there = _part(module)
            if there == here:
                continue
            if there in TOP and here not in TOP:
                found.append(f"{where}:{line}: {module} is above {here}")
            if there == "cli" and here != "cli":
                found.append(f"{where}:{line}: nothing imports the cli")
            if there == "app" and here not in TOP:
                found.append(f"{where}:{line}: only cli and web import the app layer")
            if here in DOMAIN + BASE and there == "app":
                continue  # reported above
            if here == "store" and there in DOMAIN:
                found.append(f"{where}:{line}: the store imports no domain package ({there})")
            if here == "gate" and there not in GATE_MAY_IMPORT:
                found.append(f"{where}:{line}: the gate imports only "
                             f"{', '.join(GATE_MAY_IMPORT)} ({module})")
            if here in BASE[1:-1] and there in DOMAIN + ("store",) \
                    and module != "safegate.lists.taxonomy" and module != "safegate.store.db":
                found.append(f"{where}:{line}: {here} is a base module ({module})")
    return found


def test_the_source_tree_follows_the_layers() -> None:
    assert violations(SRC) == []


def test_the_packages_of_the_map_exist() -> None:
    for name in (*TOP[:1], "app", *DOMAIN[:-1], "store"):
        assert (SRC / name / "__init__.py").exists(), name
    assert not (SRC / "gate" / "runtime.py").exists(), "the gate keeps the resolver only"
    assert not (SRC / "gate" / "workers.py").exists()


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "safegate"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_check_finds_upward_and_lazy_imports(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "__init__.py": "",
        "gate/__init__.py": "",
        "gate/server.py": "def f():\n    from safegate.store.db import make_engine\n",
        "lists/__init__.py": "",
        "lists/commands.py": "import click\nfrom safegate.cli import main\n",
        "safety/__init__.py": "",
        "safety/urls.py": "from ..app import core\n",
        "store/__init__.py": "",
        "store/repo.py": "from safegate.policy.compiled import x\n",
        "cli/__init__.py": "import click\nfrom safegate.app import core\n",
        "app/__init__.py": "from safegate.gate import server\n",
    })
    found = violations(root)
    assert any("gate/server.py:2" in v and "safegate.store.db" in v for v in found), found
    assert any("lists/commands.py:1: only the cli imports click" in v for v in found), found
    assert any("lists/commands.py:2: nothing imports the cli" in v for v in found), found
    assert any("safety/urls.py:1: only cli and web import the app layer" in v
               for v in found), found
    assert any("store/repo.py:1: the store imports no domain package" in v for v in found)
    assert not any(v.startswith("safegate/cli") or v.startswith("safegate/app")
                   for v in found), found
