"""The text engine's figures in docs/safety.md and README.md come from the results file that
bench/safety_eval writes, and that file belongs to the packaged model."""

from __future__ import annotations

import re

from safegate.safety.model import default_model
from tests.helpers import REPO, load_script


def test_docs_match_the_results_file() -> None:
    gen = load_script("gen_safety_figures")
    results = gen.load_results()
    for page in gen.PAGES:
        text = page.read_text(encoding="utf-8")
        assert "<!-- safety_eval:" in text, page
        assert text == gen.render_page(text, results), (
            f"{page.name} is stale: run python scripts/gen_safety_figures.py")


def test_every_marked_section_is_filled() -> None:
    gen = load_script("gen_safety_figures")
    text = (REPO / "docs" / "safety.md").read_text(encoding="utf-8")
    names = re.findall(r"<!-- safety_eval:([\w-]+) -->", text)
    assert {"run", "false-alarms", "heldout", "throughput"} <= set(names)
    for name in names:
        body = text.split(f"<!-- safety_eval:{name} -->\n", 1)[1].split(
            f"<!-- /safety_eval:{name} -->", 1)[0]
        assert body.strip(), name
    assert set(names) <= set(gen.RENDERERS)


def test_the_results_belong_to_the_packaged_model() -> None:
    results = load_script("gen_safety_figures").load_results()
    model = default_model()
    assert model is not None
    assert results["model_version"] == model.version, (
        "bench/results/safety_eval.json is from another model: run bench/safety_eval")
