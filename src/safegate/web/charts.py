"""Small server-rendered SVG charts for the reports: horizontal bars (by category, top
sites) and columns per day (blocked attempts, minutes against a daily limit). Pure functions
returning escaped markup: no script, no chart library, and they print as they show."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

BAR = "#0b5cad"
OVER = "#a4161a"
LIMIT = "#1b1f24"


def _svg(width: int, height: int, title: str, body: list[str], css_id: str) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(css_id)}" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="{escape(title)}"><title>{escape(title)}</title>')
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every text is escaped


def hbars(items: Sequence[tuple[str, int]], *, title: str, css_id: str,
          number: Callable[[int], str] = str, width: int = 440) -> Markup:
    """One bar per (label, value), longest first as given; values written at the bar's end."""
    row, label_w, pad = 26, 160, 4
    top = max((v for _, v in items), default=0) or 1
    span = width - label_w - 50
    body = []
    for i, (label, value) in enumerate(items):
        y = pad + i * row
        w = max(1, round(span * value / top)) if value else 0
        body.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end">'
                    f'{escape(_clip(label))}</text>'
                    f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w}" height="{row - 8}"'
                    f' fill="{BAR}"><title>{escape(label)}: {escape(number(value))}</title>'
                    f'</rect><text x="{label_w + w + 6}" y="{y + 16}">'
                    f'{escape(number(value))}</text>')
    return _svg(width, pad * 2 + row * max(1, len(items)), title, body, css_id)


def columns(items: Sequence[tuple[str, int]], *, title: str, css_id: str,
            number: Callable[[int], str] = str, limit: int | None = None,
            width: int = 440, height: int = 180) -> Markup:
    """One column per (label, value) (a day); with ``limit``, a line at the limit and the
    columns at or over it in red."""
    base, top_pad = height - 28, 18
    top = max([v for _, v in items] + [limit or 0]) or 1
    slot = width / max(1, len(items))
    body = [f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="{LIMIT}"/>']
    for i, (label, value) in enumerate(items):
        h = round((base - top_pad) * value / top)
        x = round(i * slot + slot * 0.2)
        w = max(2, round(slot * 0.6))
        over = limit is not None and value >= limit and value > 0
        body.append(f'<rect class="column{" over" if over else ""}" x="{x}" y="{base - h}" '
                    f'width="{w}" height="{h}" fill="{OVER if over else BAR}"><title>'
                    f'{escape(label)}: {escape(number(value))}</title></rect>'
                    f'<text x="{x + w / 2:.0f}" y="{base - h - 4}" text-anchor="middle">'
                    f'{escape(number(value))}</text>'
                    f'<text x="{x + w / 2:.0f}" y="{height - 8}" text-anchor="middle">'
                    f'{escape(label)}</text>')
    if limit is not None:
        y = base - round((base - top_pad) * limit / top)
        body.append(f'<line class="limit" x1="0" y1="{y}" x2="{width}" y2="{y}" '
                    f'stroke="{LIMIT}" stroke-dasharray="6 4"/>')
    return _svg(width, height, title, body, css_id)


def _clip(label: str, size: int = 24) -> str:
    return label if len(label) <= size else label[:size - 1] + "…"
