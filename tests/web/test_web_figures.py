"""docs/web.md's measured section is what bench/web renders from bench/results/web.json:
no figure typed by hand, none left behind by a newer run."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json

from tests.helpers import REPO


def test_the_docs_show_the_results_file() -> None:
    loader = importlib.machinery.SourceFileLoader("bench_web", str(REPO / "bench" / "web"))
    spec = importlib.util.spec_from_loader("bench_web", loader)
    assert spec is not None
    bench = importlib.util.module_from_spec(spec)
    loader.exec_module(bench)
    results = json.loads((REPO / "bench" / "results" / "web.json").read_text(encoding="utf-8"))
    assert set(results["backends"]) >= {"sqlite"}
    section = bench.render(results)
    assert section in (REPO / "docs" / "web.md").read_text(encoding="utf-8"), \
        "docs/web.md is not bench/web's rendering of bench/results/web.json: " \
        "run bench/web --doc-only"
