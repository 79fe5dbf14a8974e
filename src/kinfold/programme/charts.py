"""Small server-rendered SVG charts: readable without JavaScript, with a title and description
for screen readers, and always shown beside a table of the same figures.

Values given as None are suppressed small numbers: no bar is drawn and the bar is labelled
"<5", so a chart never shows what its table withholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

# GOV.UK Design System colours, each at least 3:1 against white.
COLOURS = ("#1d70b8", "#00703c", "#f47738", "#4c2c92", "#d4351c")
WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 24, 64


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int | None]  # None: suppressed (fewer than 5)


def _scale(series: Sequence[Series]) -> int:
    """The axis top: four equal steps of 1, 2, 2.5 or 5 times a power of ten (whole numbers),
    covering every value."""
    top = int(max((v for s in series for v in s.values if v is not None), default=0))
    power = 1
    while True:
        for multiple in (1, 2, 2.5, 5):
            step = multiple * power
            if step == int(step) and step * 4 >= top:
                return int(step) * 4
        power *= 10


def _axes(labels: Sequence[str], top: int, parts: list[str]) -> None:
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(5):
        value = top * i // 4  # top is a multiple of 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="#b1b4b6" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12">'
            f"{value:,}</text>"
        )
    step = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    every = max(1, len(labels) // 10)
    for i, label in enumerate(labels):
        if i % every:
            continue
        x = LEFT + step * (i + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
            f'font-size="12">{escape(label)}</text>'
        )


def _legend(series: Sequence[Series], parts: list[str], line_from: int = 99) -> None:
    x = LEFT
    y = HEIGHT - 18
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        if i >= line_from:
            parts.append(
                f'<line x1="{x}" y1="{y - 4}" x2="{x + 14}" y2="{y - 4}" stroke="{colour}" '
                'stroke-width="3"/>'
            )
        else:
            parts.append(f'<rect x="{x}" y="{y - 11}" width="14" height="14" fill="{colour}"/>')
        parts.append(f'<text x="{x + 20}" y="{y}" font-size="13">{escape(s.name)}</text>')
        x += 30 + 8 * len(s.name)


def _frame(chart_id: str, title: str, description: str, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" class="kinfold-chart" '
        'font-family="GDS Transport, arial, sans-serif" fill="#0b0c0c">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>' + "".join(parts) + "</svg>"
    )


def bar_chart(
    chart_id: str, title: str, description: str, labels: Sequence[str], series: Sequence[Series]
) -> str:
    """Grouped bars, one group per label."""
    top = _scale(series)
    parts: list[str] = []
    _axes(labels, top, parts)
    plot_h = HEIGHT - TOP - BOTTOM
    group = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    bar = group * 0.8 / max(len(series), 1)
    for si, s in enumerate(series):
        colour = COLOURS[si % len(COLOURS)]
        for i, value in enumerate(s.values):
            x = LEFT + group * i + group * 0.1 + bar * si
            if value is None:
                parts.append(
                    f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_h - 3:.1f}" font-size="9" '
                    f'text-anchor="middle">&lt;5</text>'
                )
                continue
            h = plot_h * value / top
            parts.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(s.name)}, '
                f"{escape(labels[i])}: {value:,}</title></rect>"
            )
    _legend(series, parts)
    return _frame(chart_id, title, description, parts)


def line_chart(
    chart_id: str, title: str, description: str, labels: Sequence[str], series: Sequence[Series]
) -> str:
    """Lines, one point per label (suppressed points are left out of the line)."""
    top = _scale(series)
    parts: list[str] = []
    _axes(labels, top, parts)
    plot_h = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    for si, s in enumerate(series):
        colour = COLOURS[si % len(COLOURS)]
        points = [
            f"{LEFT + step * (i + 0.5):.1f},{TOP + plot_h - plot_h * v / top:.1f}"
            for i, v in enumerate(s.values)
            if v is not None
        ]
        dash = ' stroke-dasharray="6 4"' if si else ""
        if points:
            parts.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                f'stroke-width="3"{dash}/>'
            )
    _legend(series, parts, line_from=0)
    return _frame(chart_id, title, description, parts)
