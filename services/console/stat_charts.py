"""The statistics page's charts: monthly trend lines, per-agency bars and on-time rates.

Server-rendered SVG like the rest of the console (:mod:`services.console.svg`), so the charts
need no JavaScript, work on a closed network and print. Every chart carries its own text
alternative: a ``<title>`` naming it and a ``<desc>`` that lists every figure it draws, so a
screen reader, a black-and-white print or a copy into a document loses nothing. The table
beside each chart holds the same figures; the chart only makes them quicker to see.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from services.console.svg import bar_chart, svg_open
from services.statistics import export

# Colour-blind-safe series colours (Okabe-Ito), in the order series are drawn.
SERIES_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")
RATE_COLOUR = "#15803d"
COUNT_COLOUR = "#1d4ed8"
LATE_COLOUR = "#dc2626"


@dataclass(frozen=True)
class Series:
    """One line of a trend chart: a name and one value per month (None: no figure that month,
    e.g. a rate whose denominator is zero; the line breaks there)."""

    name: str
    values: Sequence[float | None]


def percent(value: float | None) -> str:
    """A rate in [0, 1] as the exports write it ("87.5%"); no denominator reads "—"."""
    return export.format_value(value, "rate") or "—"


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def nice_step(biggest: float, ticks: int = 5) -> float:
    """A round grid step (1, 2 or 5 times a power of ten) giving at most ``ticks`` lines up to
    ``biggest``; an empty chart still gets a step of 1."""
    if biggest <= 0:
        return 1.0
    raw = biggest / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return float(m * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def trend_desc(
    months: Sequence[str], series: Sequence[Series], *, rate: bool = False, sep: str = "；"
) -> str:
    """Every point of a trend chart in words: ``name: month value, month value; ...``."""
    fmt = percent if rate else _number
    parts = []
    for s in series:
        points = "，".join(f"{m} {fmt(v)}" for m, v in zip(months, s.values, strict=True))
        parts.append(f"{s.name}：{points}")
    return sep.join(parts)


@dataclass(frozen=True)
class _Plot:
    """Where a trend chart draws: the SVG's size, the plot area's margins and the value at its
    top, so every part of the chart places months and values alike."""

    width: int
    height: int
    months: int
    ceiling: float
    left: int = 44
    right: int = 16
    top: int = 34
    bottom: int = 40

    @property
    def plot_w(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> int:
        return self.height - self.top - self.bottom

    def x(self, i: int) -> float:
        """The centre of month ``i``'s column."""
        return self.left + (self.plot_w * (i + 0.5) / self.months)

    def y(self, v: float) -> float:
        return self.top + self.plot_h * (1 - v / self.ceiling)


def trend_chart(
    months: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    chart_id: str,
    rate: bool = False,
    axis: Sequence[tuple[str, str]] | None = None,
    desc_prefix: str = "",
    width: int = 640,
    height: int = 250,
) -> str:
    """Monthly trend lines, one per series, with a legend above and a point per month.

    ``months`` name the months in full (the ``<desc>`` and each point's ``<title>`` use them);
    ``axis`` gives the short label under each month and a second line (the year, where it
    changes), since twelve full month names do not fit side by side. ``rate`` draws values in
    [0, 1] against a 0-100 % axis. No months, no chart (the table says "none").
    """
    if not months or not series:
        return ""
    for s in series:
        if len(s.values) != len(months):
            raise ValueError(f"series {s.name!r}: {len(s.values)} values for {len(months)} months")
    if axis is not None and len(axis) != len(months):
        raise ValueError(f"axis: {len(axis)} labels for {len(months)} months")
    labels = list(axis) if axis is not None else [(m, "") for m in months]
    step, ceiling = _scale(series, rate)
    plot = _Plot(width=width, height=height, months=len(months), ceiling=ceiling)
    desc = (desc_prefix + "：" if desc_prefix else "") + trend_desc(months, series, rate=rate)
    out = [
        svg_open(
            css="chart stat-chart trend",
            width=width,
            height=height,
            title=title,
            desc=desc,
            chart_id=chart_id,
        )
    ]
    out += _grid(plot, step, rate)
    out += _month_axis(plot, labels)
    out += _legend(series, plot.left)
    fmt = percent if rate else _number
    for n, s in enumerate(series):
        out += _series_marks(plot, months, s, n, fmt)
    out.append("</svg>")
    return "".join(out)


def _scale(series: Sequence[Series], rate: bool) -> tuple[float, float]:
    """The grid step and the axis's top value: 0-100 % in fifths for rates; for counts a round,
    whole-number step and the first grid line at or above the biggest value."""
    if rate:
        return 0.2, 1.0
    present = [v for s in series for v in s.values if v is not None]
    step = max(1.0, nice_step(max(present, default=0)))
    return step, step * max(1, math.ceil(max(present, default=0) / step))


def _grid(plot: _Plot, step: float, rate: bool) -> list[str]:
    """The horizontal grid lines with their values on the y axis."""
    out = []
    n_ticks = int(round(plot.ceiling / step))
    for k in range(n_ticks + 1):
        v = step * k
        gy = plot.y(v)
        out.append(
            f'<line x1="{plot.left}" y1="{gy:.1f}" x2="{plot.width - plot.right}" y2="{gy:.1f}" stroke="#e5e7eb"/>'
        )
        label = f"{round(v * 100)}%" if rate else _number(v)
        out.append(
            f'<text x="{plot.left - 6}" y="{gy + 4:.1f}" text-anchor="end" fill="#6b7280">{label}</text>'
        )
    return out


def _month_axis(plot: _Plot, labels: Sequence[tuple[str, str]]) -> list[str]:
    """Month labels under the plot: every one when they fit, else every n-th (and always the
    last, so the newest month is named), each with its second line where given."""
    out = []
    widest = max(len(main) for main, _ in labels)
    every = max(1, math.ceil(plot.months * (widest * 8 + 10) / plot.plot_w))
    for i, (main, sub) in enumerate(labels):
        if i % every == 0 or i == plot.months - 1:
            out.append(
                f'<text class="month" x="{plot.x(i):.1f}" y="{plot.height - 22}" text-anchor="middle" fill="#6b7280">'
                f"{escape(main)}</text>"
            )
            if sub:
                out.append(
                    f'<text class="year" x="{plot.x(i):.1f}" y="{plot.height - 8}" text-anchor="middle" '
                    f'fill="#9ca3af">{escape(sub)}</text>'
                )
    return out


def _legend(series: Sequence[Series], left: int) -> list[str]:
    """One swatch and name per series along the top, in the series' drawing colours."""
    out = []
    lx = left
    for n, s in enumerate(series):
        colour = SERIES_COLOURS[n % len(SERIES_COLOURS)]
        out.append(
            f'<g class="legend-item"><rect x="{lx}" y="8" width="12" height="12" fill="{colour}"/>'
            f'<text x="{lx + 16}" y="18" fill="#374151">{escape(s.name)}</text></g>'
        )
        lx += 28 + 13 * len(s.name)
    return out


def _series_marks(
    plot: _Plot, months: Sequence[str], s: Series, n: int, fmt: Callable[[float | None], str]
) -> list[str]:
    """Series ``n``'s line, broken where a month has no figure, and a point per figure with
    its value as a tooltip. Every other series is dashed, so lines stay apart without colour."""
    colour = SERIES_COLOURS[n % len(SERIES_COLOURS)]
    dash = ' stroke-dasharray="6 3"' if n % 2 else ""
    out = []
    run: list[str] = []
    runs: list[list[str]] = []
    for i, v in enumerate(s.values):
        if v is None:
            if run:
                runs.append(run)
            run = []
            continue
        run.append(f"{plot.x(i):.1f},{plot.y(v):.1f}")
    if run:
        runs.append(run)
    for r in runs:
        if len(r) > 1:
            out.append(
                f'<polyline class="series" points="{" ".join(r)}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dash}/>'
            )
    for i, v in enumerate(s.values):
        if v is None:
            continue
        out.append(
            f'<circle class="point" cx="{plot.x(i):.1f}" cy="{plot.y(v):.1f}" r="3.5" fill="{colour}" '
            f'data-value="{v}"><title>{escape(s.name)} {escape(months[i])}: {escape(fmt(v))}</title></circle>'
        )
    return out


def count_bars(rows: Sequence[tuple[str, int]], *, title: str, chart_id: str, late: bool = False) -> str:
    """Counts per agency (or per rule) as horizontal bars; the ``<desc>`` lists each figure."""
    desc = "；".join(f"{name}：{value}" for name, value in rows)
    return bar_chart(
        rows,
        label=title,
        desc=desc,
        chart_id=chart_id,
        colour=LATE_COLOUR if late else COUNT_COLOUR,
        css="chart stat-chart bars",
        width=520,
    )


def rate_bars(rows: Sequence[tuple[str, float | None]], *, title: str, chart_id: str) -> str:
    """Rates per agency (fractions in [0, 1]) as bars against a fixed 100 %.

    A row without a rate (its denominator is zero) is left out of the bars (the table shows
    "—"), but the ``<desc>`` still names it, so the text alternative is complete.
    """
    drawn = [(name, 100.0 * value) for name, value in rows if value is not None]
    if not drawn:
        return ""
    return bar_chart(
        drawn,
        label=title,
        desc="；".join(f"{name}：{percent(value)}" for name, value in rows),
        chart_id=chart_id,
        colour=RATE_COLOUR,
        maximum=100.0,
        value_text=lambda v: f"{v:.1f}%",
        css="chart stat-chart rates",
        width=520,
    )
