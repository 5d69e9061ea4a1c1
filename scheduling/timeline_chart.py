"""A participant's timeline as an SVG drawn on the server: no chart service, no script.

Phases are bands from their start (actual, else planned: drawn hatched) to their planned end;
visits are markers coloured by status with their window as a whisker; a line marks today;
the axis counts study days (Day 1 is the first treatment day, there is no Day 0).
"""

import datetime
import math
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from . import engine

STATUS_COLOURS = {
    "scheduled": "#2563eb",
    "completed": "#15803d",
    "missed": "#dc2626",
    "cancelled": "#9ca3af",
}
DEVIATION_COLOUR = "#ea580c"
PHASE_FILLS = ["#e0e7ff", "#dcfce7", "#fef3c7", "#fce7f3", "#e0f2fe"]

WIDTH = 1000
LEFT, RIGHT = 20, 20
PHASE_TOP, PHASE_HEIGHT = 24, 34
LABEL_ROWS = (108, 96, 84, 72)  # nearest the markers first
VISIT_Y = 128
AXIS_Y = 168
LEGEND_Y = 206  # under the axis, where the today label (top row) never runs into it
HEIGHT = 216
# The axis reaches this far beyond the plan (its phases and today) to show a visit, and no
# further: longer than any visit can be booked ahead (participants.dates.YEARS_AHEAD).
MARGIN_DAYS = 6 * 366
LAST_DAY_NUMBER = datetime.date.max.toordinal()


@dataclass(frozen=True)
class ChartPhase:
    code: str
    name: str
    start: datetime.date
    end: datetime.date
    actual: bool


@dataclass(frozen=True)
class ChartVisit:
    code: str
    name: str
    planned: datetime.date
    window_start: datetime.date | None
    window_end: datetime.date | None
    actual: datetime.date | None
    status: str
    deviation: bool


def _tick_step(span_days: int) -> int:
    """Days between two axis ticks: at most 14 ticks, whatever the span."""
    for step in (7, 14, 28, 56, 84, 182, 364):
        if span_days / step <= 14:
            return step
    return 364 * math.ceil(span_days / (364 * 14))


# Width of one character of a band label (font size 12), generously: a label never runs
# into the next band, where it would be hidden and read as the wrong phase.
LABEL_CHAR_WIDTH = 7.2


def _band_label(phase: ChartPhase, width: float) -> str:
    """The longest of "Name (planned)", "Name", "Na…" that fits a band ``width`` wide."""
    room = int((width - 8) / LABEL_CHAR_WIDTH)
    for label in ([] if phase.actual else [f"{phase.name} (planned)"]) + [phase.name]:
        if len(label) <= room:
            return label
    return phase.name[: room - 1] + "…" if room >= 3 else ""


def render_timeline(
    phases: list[ChartPhase],
    visits: list[ChartVisit],
    today: datetime.date,
    day_one: datetime.date,
) -> SafeString:
    """The SVG markup of one participant's timeline. It never fails on the dates it is given:
    a date far from the plan (a slip such as 9999-12-31 stored before it was refused) is drawn
    at the chart's edge, and the arithmetic is on day numbers, which cannot overflow."""
    plan = [p.start.toordinal() for p in phases] + [p.end.toordinal() for p in phases]
    plan.append(today.toordinal())
    dates = list(plan)
    for visit in visits:
        dates += [visit.planned.toordinal(), (visit.window_start or visit.planned).toordinal()]
        dates += [
            (visit.window_end or visit.planned).toordinal(),
            (visit.actual or visit.planned).toordinal(),
        ]
    first = max(min(dates), min(plan) - MARGIN_DAYS) - 3
    last = min(max(dates), max(plan) + MARGIN_DAYS) + 3
    span = max(last - first, 1)
    scale = (WIDTH - LEFT - RIGHT) / span

    def x(day: datetime.date) -> float:
        number = min(max(day.toordinal(), first), last)
        return round(LEFT + (number - first) * scale, 1)

    def beyond(day: datetime.date) -> bool:
        return not first <= day.toordinal() <= last

    today_day = engine.study_day(today, day_one)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" data-day-one="{day_one.isoformat()}" '
        f'data-today="{today.isoformat()}" aria-label="Timeline: today is study day {today_day}">',
        '<defs><pattern id="planned-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#94a3b8" '
        'stroke-width="1.5"/></pattern></defs>',
    ]
    for index, phase in enumerate(phases):
        x0, x1 = x(phase.start), x(phase.end)
        kind = "actual" if phase.actual else "planned"
        parts.append(
            f'<g class="phase phase-{kind}" data-phase="{escape(phase.code)}" '
            f'data-start="{phase.start.isoformat()}" data-actual="{str(phase.actual).lower()}">'
            f"<title>{escape(phase.name)}: {kind} start {phase.start.isoformat()}, "
            f"planned end {phase.end.isoformat()}</title>"
            f'<rect x="{x0}" y="{PHASE_TOP}" width="{max(x1 - x0, 1)}" height="{PHASE_HEIGHT}" '
            f'fill="{PHASE_FILLS[index % len(PHASE_FILLS)]}" stroke="#475569" stroke-width="0.8"/>'
        )
        if not phase.actual:
            parts.append(
                f'<rect x="{x0}" y="{PHASE_TOP}" width="{max(x1 - x0, 1)}" '
                f'height="{PHASE_HEIGHT}" fill="url(#planned-hatch)" opacity="0.5"/>'
            )
        label = _band_label(phase, x1 - x0)
        parts.append(
            f'<text x="{x0 + 4}" y="{PHASE_TOP + 21}" font-size="12" fill="#1e293b">'
            f"{escape(label)}</text></g>"
        )
    row_ends = [float("-inf")] * len(LABEL_ROWS)  # right edge of the last label in each row
    for visit in sorted(visits, key=lambda v: (v.actual or v.planned, v.code)):
        at = visit.actual or visit.planned
        half = len(visit.code) * 3.2 + 3
        # The first label row where this label does not overlap the previous one (else the
        # row that frees up soonest).
        row = next(
            (r for r, end in enumerate(row_ends) if end < x(at) - half),
            min(range(len(row_ends)), key=row_ends.__getitem__),
        )
        row_ends[row] = x(at) + half
        label_y = LABEL_ROWS[row]
        colour = STATUS_COLOURS.get(visit.status, "#64748b")
        parts.append(
            f'<g class="visit visit-{escape(visit.status)}" data-visit="{escape(visit.code)}" '
            f'data-status="{escape(visit.status)}" data-date="{at.isoformat()}">'
            f"<title>{escape(visit.code)} {escape(visit.name)}: {escape(visit.status)}, "
            f"planned {visit.planned.isoformat()}"
            + (
                f", window {visit.window_start.isoformat()} to {visit.window_end.isoformat()}"
                if visit.window_start and visit.window_end
                else ""
            )
            + (f", done {visit.actual.isoformat()}" if visit.actual else "")
            + (" (deviation: outside its window)" if visit.deviation else "")
            + (" (beyond the chart: drawn at its edge)" if beyond(at) else "")
            + "</title>"
        )
        if visit.window_start and visit.window_end:
            w0, w1 = x(visit.window_start), x(visit.window_end)
            parts.append(
                f'<line x1="{w0}" y1="{VISIT_Y}" x2="{w1}" y2="{VISIT_Y}" stroke="{colour}" '
                f'stroke-width="2"/><line x1="{w0}" y1="{VISIT_Y - 6}" x2="{w0}" '
                f'y2="{VISIT_Y + 6}" stroke="{colour}" stroke-width="1.5"/><line x1="{w1}" '
                f'y1="{VISIT_Y - 6}" x2="{w1}" y2="{VISIT_Y + 6}" stroke="{colour}" '
                f'stroke-width="1.5"/>'
            )
        stroke = DEVIATION_COLOUR if visit.deviation else "#ffffff"
        parts.append(
            f'<circle cx="{x(at)}" cy="{VISIT_Y}" r="5.5" fill="{colour}" stroke="{stroke}" '
            f'stroke-width="{2.5 if visit.deviation else 1.5}"/>'
            f'<line x1="{x(at)}" y1="{VISIT_Y - 8}" x2="{x(at)}" '
            f'y2="{label_y + 3}" stroke="#cbd5e1" stroke-width="0.8"/>'
            f'<text x="{x(at)}" y="{label_y}" font-size="10" text-anchor="middle" '
            f'fill="#334155">{escape(visit.code)}</text></g>'
        )
    # Axis in study days, ticks every `step` days from Day 1 both ways.
    parts.append(
        f'<line x1="{LEFT}" y1="{AXIS_Y}" x2="{WIDTH - RIGHT}" y2="{AXIS_Y}" stroke="#475569"/>'
    )
    step = _tick_step(span)
    first_tick = day_one.toordinal() - (day_one.toordinal() - first) // step * step
    for number in range(first_tick, last + 1, step):
        if not 1 <= number <= LAST_DAY_NUMBER:
            continue  # a tick the calendar cannot name (before 0001-01-01 or after 9999-12-31)
        tick = datetime.date.fromordinal(number)
        label = engine.study_day(tick, day_one)
        parts.append(
            f'<line x1="{x(tick)}" y1="{AXIS_Y}" x2="{x(tick)}" y2="{AXIS_Y + 5}" '
            f'stroke="#475569"/><text x="{x(tick)}" y="{AXIS_Y + 18}" font-size="10" '
            f'text-anchor="middle" fill="#475569">Day {label}</text>'
        )
    # The label hangs off the line towards the middle near either edge, so it stays readable.
    today_x = x(today)
    anchor = "end" if today_x > WIDTH - 70 else "start" if today_x < 70 else "middle"
    parts.append(
        f'<g class="today" data-study-day="{today_day}"><line x1="{today_x}" y1="{PHASE_TOP - 8}" '
        f'x2="{today_x}" y2="{AXIS_Y}" stroke="#b91c1c" stroke-width="1.5" '
        f'stroke-dasharray="4 3"/><text x="{today_x}" y="{PHASE_TOP - 11}" font-size="11" '
        f'text-anchor="{anchor}" fill="#b91c1c">Today, Day {today_day}</text></g>'
    )
    parts.append('<g class="legend">')
    for index, (status, colour) in enumerate(STATUS_COLOURS.items()):
        lx = LEFT + 8 + index * 85
        parts.append(
            f'<circle cx="{lx}" cy="{LEGEND_Y - 4}" r="4.5" fill="{colour}"/><text x="{lx + 8}" '
            f'y="{LEGEND_Y}" font-size="10" fill="#334155">{status}</text>'
        )
    lx = LEFT + 8 + len(STATUS_COLOURS) * 85
    parts.append(
        f'<circle cx="{lx}" cy="{LEGEND_Y - 4}" r="4.5" fill="#ffffff" '
        f'stroke="{DEVIATION_COLOUR}" stroke-width="2.5"/><text x="{lx + 8}" y="{LEGEND_Y}" '
        f'font-size="10" fill="#334155">deviation (done outside its window)</text></g>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- every interpolated text is escaped above
