"""The report charts are well-formed SVG whose bars and columns are as long as their values
say, with every label escaped (web/charts.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from safegate.web.charts import columns, hbars

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_are_proportional_and_labels_escaped() -> None:
    svg = ET.fromstring(str(hbars([("<script>x</script>", 40), ("b", 10), ("c", 0)],
                                  title="T & U", css_id="x")))
    widths = [float(r.get("width", "0")) for r in svg.iter(SVG + "rect")]
    assert abs(widths[0] - 4 * widths[1]) <= 4 and widths[2] == 0  # whole pixels
    labels = [t.text for t in svg.iter(SVG + "text")]
    assert "<script>x</script>" in labels  # text, never markup
    assert svg.get("aria-label") == "T & U" and not list(svg.iter(SVG + "script"))


def test_columns_mark_the_days_at_or_over_the_limit() -> None:
    svg = ET.fromstring(str(columns([("Mon", 70), ("Tue", 20), ("Wed", 60)], title="t",
                                    css_id="y", limit=60)))
    classes = [r.get("class") for r in svg.iter(SVG + "rect")]
    assert classes == ["column over", "column", "column over"]
    heights = [float(r.get("height", "0")) for r in svg.iter(SVG + "rect")]
    assert heights[0] > heights[2] > heights[1] > 0
    assert [ln.get("class") for ln in svg.iter(SVG + "line")][-1] == "limit"
