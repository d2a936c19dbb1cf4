"""Server-rendered SVG: a case's timeline and the dashboard's small charts.

Drawn on the server so the picture needs no chart library, no JavaScript and no network: the
same HTML works on a closed government network and in a printed file. The timeline has three
lanes: the process's states as bars (how long the case stayed in each), the events as points,
and one row per deadline (from when the clock started to when it fell due), with breaches in red.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from services.i18n import STATUS_LABELS, due_text, event_label, pick, state_label, word
from services.readmodel.models import DeadlinePublic, TimelineEntryPublic
from workflows.deadlines import SHANGHAI

WIDTH = 960
LEFT = 170
RIGHT = 24
ROW = 26
COLOURS = {
    "received": "#1d4ed8",
    "step": "#0f766e",
    "deadline": "#a16207",
    "escalation": "#b91c1c",
    "request": "#7c3aed",
    "breach": "#dc2626",
    "open": "#2563eb",
    "met": "#15803d",
    "cancelled": "#9ca3af",
    "breached": "#dc2626",
}
STATE_FILLS = ("#dbeafe", "#dcfce7", "#fef9c3", "#fae8ff", "#ffedd5", "#e0e7ff", "#ccfbf1")
_TICKS = (
    timedelta(seconds=1),
    timedelta(seconds=5),
    timedelta(seconds=15),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(days=1),
    timedelta(days=2),
    timedelta(days=7),
    timedelta(days=14),
    timedelta(days=30),
    timedelta(days=90),
    timedelta(days=365),
)


@dataclass(frozen=True)
class StateSpan:
    """How long a case stayed in one state."""

    state: str
    start: datetime
    end: datetime


def state_spans(entries: Sequence[TimelineEntryPublic], end: datetime) -> list[StateSpan]:
    """Consecutive runs of one state in workflow order; the last runs until ``end``.

    A received event carries the sender's clock, which may be earlier than steps the workflow
    already took, so the time of each change is kept monotonic rather than trusted blindly.
    """
    spans: list[StateSpan] = []
    clock: datetime | None = None
    for entry in sorted(entries, key=lambda e: e.seq):
        clock = entry.occurred_at if clock is None else max(clock, entry.occurred_at)
        if spans and spans[-1].state == entry.state:
            continue
        if spans:
            last = spans[-1]
            spans[-1] = StateSpan(last.state, last.start, clock)
        spans.append(StateSpan(entry.state, clock, end))
    if spans:
        last = spans[-1]
        spans[-1] = StateSpan(last.state, last.start, max(last.start, end))
    return spans


class _Scale:
    def __init__(self, start: datetime, end: datetime) -> None:
        if end <= start:
            end = start + timedelta(minutes=1)
        pad = (end - start) * 0.03
        self.start, self.end = start - pad, end + pad
        self.span = (self.end - self.start).total_seconds()

    def x(self, t: datetime) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * ((t - self.start).total_seconds() / self.span)

    def ticks(self) -> tuple[list[datetime], timedelta]:
        step = next((s for s in _TICKS if self.span / s.total_seconds() <= 8), _TICKS[-1])
        local = self.start.astimezone(SHANGHAI)
        if step >= timedelta(days=1):
            first = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        else:
            base = local.replace(minute=0, second=0, microsecond=0)
            n = int((local - base) / step) + 1
            first = base + step * n
        out = []
        t = first
        while t <= self.end and len(out) < 20:
            out.append(t)
            t += step
        return out, step


def _fmt(t: datetime, step: timedelta) -> str:
    local = t.astimezone(SHANGHAI)
    if step >= timedelta(days=1):
        return local.strftime("%m-%d")
    if step >= timedelta(minutes=1):
        return local.strftime("%m-%d %H:%M")
    return local.strftime("%H:%M:%S")


# The timeline's first lane starts this far down, leaving room for the "now" label above it.
_TOP = 28


def timeline_svg(
    entries: Sequence[TimelineEntryPublic],
    deadlines: Sequence[DeadlinePublic],
    *,
    process: str,
    now: datetime,
    closed: bool,
    lang: str,
) -> str:
    """The case's visual timeline as an inline ``<svg>`` element (titles give exact times)."""
    if not entries:
        return ""
    end_of_case = max(e.occurred_at for e in entries) if closed else now
    times = [e.occurred_at for e in entries] + [end_of_case]
    for d in deadlines:
        times += [d.starts_at, d.due_at]
    scale = _Scale(min(times), max(times))
    lanes = 2 + len(deadlines)
    height = _TOP + ROW * lanes + 40
    summary = timeline_summary(entries, deadlines, process=process, end=end_of_case, lang=lang)
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline-svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-labelledby="tl-title tl-desc" '
        f'font-family="Noto Sans CJK SC, Noto Sans SC, sans-serif" font-size="12">'
        f'<title id="tl-title">{escape(word("timeline", lang))}</title><desc id="tl-desc">{escape(summary)}</desc>'
    ]
    out += _time_axis(scale, height)
    out += _lane_labels(deadlines, lang)
    out += _state_lane(state_spans(entries, end_of_case), scale, process, lang)
    out += _event_lane(entries, scale, lang)
    out += _deadline_lanes(deadlines, scale, lang)
    if not closed:
        out += _now_marker(scale.x(now), height, lang)
    out.append("</svg>")
    return "".join(out)


def _time_axis(scale: _Scale, height: int) -> list[str]:
    """Vertical grid lines at round times across every lane, labelled in Shanghai time."""
    out = []
    ticks, step = scale.ticks()
    for t in ticks:
        x = scale.x(t)
        out.append(f'<line x1="{x:.1f}" y1="{_TOP - 6}" x2="{x:.1f}" y2="{height - 30}" stroke="#e5e7eb"/>')
        out.append(
            f'<text x="{x:.1f}" y="{height - 14}" text-anchor="middle" fill="#6b7280">{escape(_fmt(t, step))}</text>'
        )
    return out


def _lane_labels(deadlines: Sequence[DeadlinePublic], lang: str) -> list[str]:
    """Each lane's name in the left margin, cut to fit with the full name as its tooltip."""
    out = []
    labels = [word("state", lang), word("event", lang)] + [
        (d.label_zh if lang == "zh" else d.label_en) for d in deadlines
    ]
    for i, label in enumerate(labels):
        y = _TOP + ROW * i + ROW / 2 + 4
        short = label if len(label) <= 14 else label[:13] + "…"
        out.append(
            f'<text x="8" y="{y:.1f}" fill="#374151"><title>{escape(label)}</title>{escape(short)}</text>'
        )
    return out


def _state_lane(spans: Sequence[StateSpan], scale: _Scale, process: str, lang: str) -> list[str]:
    """Lane 0: one bar per state, at least 2 px wide so a brief state still shows; its name is
    written inside only where the bar has room for it."""
    out = []
    for i, span in enumerate(spans):
        x1, x2 = scale.x(span.start), scale.x(span.end)
        width = max(x2 - x1, 2.0)
        name = state_label(process, span.state, lang)
        fill = STATE_FILLS[i % len(STATE_FILLS)]
        out.append(
            f'<g class="tl-state"><title>{escape(name)} · {escape(_local(span.start))} → {escape(_local(span.end))}</title>'
            f'<rect x="{x1:.1f}" y="{_TOP + 3}" width="{width:.1f}" height="{ROW - 6}" rx="3" fill="{fill}" stroke="#94a3b8"/>'
        )
        if width > 40:
            text = name if len(name) * 12 < width else name[: max(1, int(width / 12) - 1)] + "…"
            out.append(
                f'<text x="{x1 + 4:.1f}" y="{_TOP + ROW / 2 + 4:.1f}" fill="#1f2937">{escape(text)}</text>'
            )
        out.append("</g>")
    return out


def _event_lane(entries: Sequence[TimelineEntryPublic], scale: _Scale, lang: str) -> list[str]:
    """Lane 1: a point per event, coloured by its kind; breaches and escalations larger and
    breaches in red, so they stand out among the ordinary steps."""
    out = []
    y = _TOP + ROW + ROW / 2
    for e in entries:
        colour = COLOURS["breach"] if e.type == "deadline.breached" else COLOURS.get(e.kind, "#334155")
        radius = 6 if e.type in ("deadline.breached", "escalation.raised") else 4.5
        css = "tl-event tl-breach" if e.type == "deadline.breached" else "tl-event"
        out.append(
            f'<circle class="{css}" cx="{scale.x(e.occurred_at):.1f}" cy="{y:.1f}" r="{radius}" fill="{colour}" '
            f'stroke="white" stroke-width="1"><title>{escape(_local(e.occurred_at))} · '
            f"{escape(event_label(e.type, lang))}</title></circle>"
        )
    return out


def _deadline_lanes(deadlines: Sequence[DeadlinePublic], scale: _Scale, lang: str) -> list[str]:
    """Lanes 2+: each deadline from its start to its due time, with a marker at the due
    instant; a provisional one (counted over a year whose holidays are not yet published) is
    dashed."""
    out = []
    for i, d in enumerate(deadlines):
        y = _TOP + ROW * (2 + i) + ROW / 2
        colour = COLOURS.get(d.status, "#334155")
        x1, x2 = scale.x(d.starts_at), scale.x(d.due_at)
        css = f"tl-deadline tl-deadline-{escape(d.status)}"
        dash = ' stroke-dasharray="4 3"' if d.provisional else ""
        out.append(
            f'<g class="{css}"><title>{escape(d.label_zh if lang == "zh" else d.label_en)} · '
            f"{escape(word('due', lang))} {escape(due_text(d.due_at, d.counting, lang))} · "
            f"{escape(pick(STATUS_LABELS.get(d.status), lang, d.status))}</title>"
            f'<line x1="{x1:.1f}" y1="{y:.1f}" x2="{x2:.1f}" y2="{y:.1f}" stroke="{colour}" stroke-width="3"{dash}/>'
            f'<path d="M{x2:.1f},{y - 7:.1f} L{x2 + 7:.1f},{y:.1f} L{x2:.1f},{y + 7:.1f} L{x2 - 7:.1f},{y:.1f} Z" '
            f'fill="{colour}"/></g>'
        )
    return out


def _now_marker(x: float, height: int, lang: str) -> list[str]:
    """A dashed line across every lane at ``x``, the present, for a case still open."""
    return [
        f'<line class="tl-now" x1="{x:.1f}" y1="{_TOP - 10}" x2="{x:.1f}" y2="{height - 30}" '
        f'stroke="#111827" stroke-dasharray="3 3"/>',
        f'<text x="{x:.1f}" y="{_TOP - 12}" text-anchor="middle" fill="#111827">{escape(word("now", lang))}</text>',
    ]


def timeline_summary(
    entries: Sequence[TimelineEntryPublic],
    deadlines: Sequence[DeadlinePublic],
    *,
    process: str,
    end: datetime,
    lang: str,
) -> str:
    """The drawing in words, for a screen reader and anyone who cannot see it: the states in
    order, how many events, and each deadline with its last day and where it stands."""
    states = " → ".join(state_label(process, span.state, lang) for span in state_spans(entries, end))
    colon, comma, semicolon = ("：", "，", "；") if lang == "zh" else (": ", ", ", "; ")
    limits = semicolon.join(
        f"{d.label_zh if lang == 'zh' else d.label_en}{colon}"
        f"{due_text(d.due_at, d.counting, lang)}{comma}{pick(STATUS_LABELS.get(d.status), lang, d.status)}"
        for d in deadlines
    )
    if lang == "zh":
        return f"状态：{states}。共 {len(entries)} 条记录。" + (f"期限：{limits}。" if limits else "")
    return f"States: {states}. {len(entries)} entries." + (f" Deadlines: {limits}." if limits else "")


def _local(t: datetime) -> str:
    return t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def svg_open(
    *,
    css: str,
    width: int,
    height: int,
    title: str,
    desc: str | None = None,
    chart_id: str | None = None,
    font_size: int = 12,
) -> str:
    """The opening of a chart's ``<svg>`` with its text alternative.

    ``title`` is the chart's name; ``desc`` says in words what it shows (the figures a screen
    reader or a printed page without colour still needs). With a ``chart_id`` (unique on the
    page) the ``<title>``/``<desc>`` get ids and ``aria-labelledby`` points at both; without one
    the name also goes into ``aria-label``.
    """
    if chart_id:
        ids = f"{chart_id}-title" + (f" {chart_id}-desc" if desc else "")
        name = f'aria-labelledby="{escape(ids)}"'
        title_el = f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        desc_el = f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>' if desc else ""
    else:
        name = f'aria-label="{escape(title)}"'
        title_el = f"<title>{escape(title)}</title>"
        desc_el = f"<desc>{escape(desc)}</desc>" if desc else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(css)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" role="img" {name} font-size="{font_size}" '
        f'font-family="Noto Sans CJK SC, Noto Sans SC, sans-serif">{title_el}{desc_el}'
    )


def bar_chart(
    rows: Sequence[tuple[str, float]],
    *,
    label: str,
    colour: str = "#2563eb",
    width: int = 460,
    desc: str | None = None,
    chart_id: str | None = None,
    maximum: float | None = None,
    value_text: Callable[[float], str] = str,
    css: str = "chart",
) -> str:
    """A horizontal bar chart of labelled values (breaches by agency, cases by process, rates).

    ``maximum`` fixes the full-length bar (100 for percentages); by default it is the largest
    value. ``value_text`` writes the figure at the end of each bar.
    """
    if not rows:
        return ""
    biggest = maximum if maximum is not None else (max(v for _, v in rows) or 1)
    left, bar_h = 190, 20
    height = bar_h * len(rows) + 10
    out = [svg_open(css=css, width=width, height=height, title=label, desc=desc, chart_id=chart_id)]
    for i, (name, value) in enumerate(rows):
        y = 5 + i * bar_h
        w = (width - left - 50) * min(value, biggest) / (biggest or 1)
        short = name if len(name) <= 14 else name[:13] + "…"
        out.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" fill="#374151"><title>{escape(name)}</title>'
            f"{escape(short)}</text>"
        )
        out.append(
            f'<rect x="{left}" y="{y + 3}" width="{max(w, 1):.1f}" height="{bar_h - 6}" fill="{colour}">'
            f"<title>{escape(name)}: {escape(value_text(value))}</title></rect>"
        )
        out.append(
            f'<text x="{left + w + 4:.1f}" y="{y + 14}" fill="#111827">{escape(value_text(value))}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def column_chart(
    values: Sequence[tuple[str, int]], *, label: str, width: int = 720, height: int = 140
) -> str:
    """Vertical columns over time (events per hour)."""
    if not values:
        return ""
    biggest = max(v for _, v in values) or 1
    n = len(values)
    gap = (width - 40) / n
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(label)}" font-size="10" font-family="sans-serif">'
    ]
    for i, (name, value) in enumerate(values):
        h = (height - 30) * value / biggest
        x = 30 + i * gap
        out.append(
            f'<rect x="{x:.1f}" y="{height - 18 - h:.1f}" width="{max(gap - 2, 1):.1f}" height="{h:.1f}" '
            f'fill="#0f766e"><title>{escape(name)}: {value}</title></rect>'
        )
        if i % 3 == 0:
            out.append(f'<text x="{x:.1f}" y="{height - 4}" fill="#6b7280">{escape(name)}</text>')
    out.append(f'<text x="2" y="12" fill="#6b7280">{biggest}</text></svg>')
    return "".join(out)
