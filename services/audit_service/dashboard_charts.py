"""Server-side SVG charts for the governance dashboard: stacked bars of counts and lines of
rates, drawn from plain numbers with no script and nothing fetched at run time.

Each chart is an ``<svg role="img">`` whose title and description say what it shows; the page
puts a table with the same numbers beside it, which is the accessible form. Series differ by
colour *and* by pattern (dash or marker), so no meaning rests on colour alone. Labels are
escaped here; the result is safe ``Markup``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 620, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 64, 34
INK, GRID = "#1b1b1b", "#b1b4b6"
DASHES = ("", "8 4", "3 3", "12 4 3 4")
MARKERS = ("circle", "square", "diamond", "triangle")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    colour: str


def _x(i: int, n: int) -> float:
    inner = WIDTH - LEFT - RIGHT
    return LEFT + inner * (i + 0.5) / max(n, 1)


def _y(value: float, top: float) -> float:
    inner = HEIGHT - TOP - BOTTOM
    return TOP + inner * (1 - (value / top if top else 0))


def _frame(title: str, desc: str, ident: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" focusable="false">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
    )
    # Every text in ``body`` and ``head`` went through ``escape``; numbers are formatted here.
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704


def _axes(labels: Sequence[str], top: float, ticks: Sequence[tuple[float, str]]) -> list[str]:
    out = []
    for value, text in ticks:
        y = _y(value, top)
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="15" '
            f'fill="{INK}">{escape(text)}</text>'
        )
    step = max(1, -(-len(labels) // 6))
    for i, label in enumerate(labels):
        if i % step == 0:
            out.append(
                f'<text x="{_x(i, len(labels)):.1f}" y="{HEIGHT - BOTTOM + 22}" font-size="15" '
                f'text-anchor="middle" fill="{INK}">{escape(label)}</text>'
            )
    base = _y(0, top)
    out.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base:.1f}" y2="{base:.1f}" '
        f'stroke="{INK}" stroke-width="1.5"/>'
    )
    return out


def _legend(series: Sequence[Series], lines: bool) -> list[str]:
    """Swatches and names above the plot, two to a row."""
    out = []
    for n, s in enumerate(series):
        x, y = LEFT + (n % 2) * (WIDTH - LEFT) / 2, 18 + (n // 2) * 22
        if lines:
            dash = DASHES[n % len(DASHES)]
            out.append(
                f'<line x1="{x}" x2="{x + 26}" y1="{y}" y2="{y}" stroke="{s.colour}" '
                f'stroke-width="3" stroke-dasharray="{dash}"/>'
                + _marker(MARKERS[n % len(MARKERS)], x + 13, y, s.colour)
            )
        else:
            out.append(f'<rect x="{x}" y="{y - 7}" width="14" height="14" fill="{s.colour}"/>')
        out.append(
            f'<text x="{x + 32}" y="{y + 5}" font-size="15" fill="{INK}">{escape(s.name)}</text>'
        )
    return out


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    if kind == "diamond":
        pts = f"{x:.1f},{y - 5:.1f} {x + 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} {x - 5:.1f},{y:.1f}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    if kind == "triangle":
        pts = f"{x:.1f},{y - 5:.1f} {x + 5:.1f},{y + 4:.1f} {x - 5:.1f},{y + 4:.1f}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>'


def _nice_top(highest: float) -> tuple[float, list[tuple[float, str]]]:
    """Four gridline steps of 1, 2 or 5 times a power of ten that reach ``highest``."""
    step, k = 1, 0
    while step * 4 < highest:
        k += 1
        step = (1, 2, 5)[k % 3] * 10 ** (k // 3)
    return float(step * 4), [(float(step * i), str(step * i)) for i in range(5)]


def stacked_bars(
    ident: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series]
) -> Markup:
    """Counts per period, one bar per period with a segment per series (bottom to top)."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    top, ticks = _nice_top(max(totals, default=0))
    width = 0.6 * (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    body = _axes(labels, top, ticks) + _legend(series, lines=False)
    for i in range(len(labels)):
        below = 0.0
        for s in series:
            value = float(s.values[i] or 0)
            if value:
                y0, y1 = _y(below, top), _y(below + value, top)
                body.append(
                    f'<rect x="{_x(i, len(labels)) - width / 2:.1f}" y="{y1:.1f}" '
                    f'width="{width:.1f}" height="{y0 - y1:.1f}" fill="{s.colour}" '
                    f'stroke="#fff" stroke-width="1"/>'
                )
            below += value
    return _frame(title, desc, ident, body)


def rate_lines(
    ident: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series]
) -> Markup:
    """Rates (0 to 1) per period as percentage lines; a gap where a rate has no denominator."""
    ticks = [(k / 4, f"{k * 25}%") for k in range(5)]
    body = _axes(labels, 1.0, ticks) + _legend(series, lines=True)
    for n, s in enumerate(series):
        points = [(_x(i, len(labels)), _y(v, 1.0)) for i, v in enumerate(s.values) if v is not None]
        runs: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(s.values):
            if v is None:
                runs.append([])
            else:
                runs[-1].append((_x(i, len(labels)), _y(v, 1.0)))
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                body.append(
                    f'<polyline points="{path}" fill="none" stroke="{s.colour}" stroke-width="3" '
                    f'stroke-dasharray="{DASHES[n % len(DASHES)]}"/>'
                )
        body += [_marker(MARKERS[n % len(MARKERS)], x, y, s.colour) for x, y in points]
    return _frame(title, desc, ident, body)
