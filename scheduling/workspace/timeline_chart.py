"""A participant's timeline as an SVG drawn on the server: no chart service, no script.

Phases are bands from their start (actual, else planned: drawn hatched) to their planned end;
visits are markers coloured by status with their window as a whisker; a line marks today;
the axis counts study days (Day 1 is the first treatment day, there is no Day 0).

The geometry is here: ``timeline_geometry`` is a pure function of plain values (no ORM, no
clock, no markup) that says where everything goes. The template
``scheduling/timeline_chart.html`` draws it, and Django's autoescaping escapes every text that
comes from the data (phase and visit names, codes, statuses).
"""

import datetime
import math
from dataclasses import dataclass

from scheduling.rules import engine

STATUS_COLOURS = {
    "scheduled": "#2563eb",
    "completed": "#15803d",
    "missed": "#dc2626",
    "cancelled": "#9ca3af",
}
OTHER_STATUS_COLOUR = "#64748b"
DEVIATION_COLOUR = "#ea580c"
NO_DEVIATION_RING = "#ffffff"
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


# What the chart is drawn from.


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
    deviation: str  # why it is a deviation ("outside its window"…), "" when it is none


# Where everything goes: what the template draws. Coordinates are in the chart's viewBox
# (WIDTH × HEIGHT), x from the left and y from the top.


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class PhaseBand:
    """A phase: a band from its start to its planned end, hatched while its start is planned."""

    code: str
    name: str
    start: datetime.date
    end: datetime.date
    actual: bool
    kind: str  # "actual" or "planned" (of its start)
    x: float
    y: float
    width: float
    height: float
    fill: str
    label: str  # the name, "(planned)" or shortened as the band's width allows
    label_x: float
    label_y: float


@dataclass(frozen=True)
class VisitWindow:
    """A visit's window as a whisker: a line from its first to its last day, with end bars."""

    start: datetime.date
    end: datetime.date
    span: Line
    start_bar: Line
    end_bar: Line


@dataclass(frozen=True)
class VisitMark:
    """A visit: a marker on the day it is done (else planned), coloured by status, ringed when
    it is a deviation, with its code on a label row above it."""

    code: str
    name: str
    status: str
    date: datetime.date  # the day it is drawn on: done, else planned
    planned: datetime.date
    actual: datetime.date | None
    deviation: str
    beyond: bool  # its day is beyond the chart's axis: drawn at the edge
    window: VisitWindow | None
    x: float
    y: float
    colour: str
    ring: str
    ring_width: float
    leader: Line  # from the marker up to its label
    label_y: float


@dataclass(frozen=True)
class AxisTick:
    study_day: int
    tick: Line
    label_x: float
    label_y: float


@dataclass(frozen=True)
class TodayLine:
    study_day: int
    line: Line
    label_x: float
    label_y: float
    anchor: str  # the label's text-anchor: towards the middle near either edge


@dataclass(frozen=True)
class LegendEntry:
    label: str
    x: float
    y: float
    fill: str
    stroke: str  # "" for none
    stroke_width: float | None
    label_x: float
    label_y: float


@dataclass(frozen=True)
class TimelineChart:
    width: int
    height: int
    day_one: datetime.date
    today: datetime.date
    phases: tuple[PhaseBand, ...]
    visits: tuple[VisitMark, ...]
    axis: Line
    ticks: tuple[AxisTick, ...]
    today_line: TodayLine
    legend: tuple[LegendEntry, ...]


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


def timeline_geometry(
    phases: list[ChartPhase],
    visits: list[ChartVisit],
    today: datetime.date,
    day_one: datetime.date,
) -> TimelineChart:
    """Where one participant's timeline draws each thing. It never fails on the dates it is
    given: a date far from the plan (a slip such as 9999-12-31 stored before it was refused) is
    drawn at the chart's edge, and the arithmetic is on day numbers, which cannot overflow."""
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

    bands = []
    for index, phase in enumerate(phases):
        x0, x1 = x(phase.start), x(phase.end)
        bands.append(
            PhaseBand(
                code=phase.code,
                name=phase.name,
                start=phase.start,
                end=phase.end,
                actual=phase.actual,
                kind="actual" if phase.actual else "planned",
                x=x0,
                y=PHASE_TOP,
                width=max(x1 - x0, 1),
                height=PHASE_HEIGHT,
                fill=PHASE_FILLS[index % len(PHASE_FILLS)],
                label=_band_label(phase, x1 - x0),
                label_x=x0 + 4,
                label_y=PHASE_TOP + 21,
            )
        )

    marks = []
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
        window = None
        if visit.window_start and visit.window_end:
            w0, w1 = x(visit.window_start), x(visit.window_end)
            window = VisitWindow(
                start=visit.window_start,
                end=visit.window_end,
                span=Line(w0, VISIT_Y, w1, VISIT_Y),
                start_bar=Line(w0, VISIT_Y - 6, w0, VISIT_Y + 6),
                end_bar=Line(w1, VISIT_Y - 6, w1, VISIT_Y + 6),
            )
        marks.append(
            VisitMark(
                code=visit.code,
                name=visit.name,
                status=visit.status,
                date=at,
                planned=visit.planned,
                actual=visit.actual,
                deviation=visit.deviation,
                beyond=beyond(at),
                window=window,
                x=x(at),
                y=VISIT_Y,
                colour=STATUS_COLOURS.get(visit.status, OTHER_STATUS_COLOUR),
                ring=DEVIATION_COLOUR if visit.deviation else NO_DEVIATION_RING,
                ring_width=2.5 if visit.deviation else 1.5,
                leader=Line(x(at), VISIT_Y - 8, x(at), label_y + 3),
                label_y=label_y,
            )
        )

    # Axis in study days, ticks every `step` days from Day 1 both ways.
    ticks = []
    step = _tick_step(span)
    first_tick = day_one.toordinal() - (day_one.toordinal() - first) // step * step
    for number in range(first_tick, last + 1, step):
        if not 1 <= number <= LAST_DAY_NUMBER:
            continue  # a tick the calendar cannot name (before 0001-01-01 or after 9999-12-31)
        tick = datetime.date.fromordinal(number)
        ticks.append(
            AxisTick(
                study_day=engine.study_day(tick, day_one),
                tick=Line(x(tick), AXIS_Y, x(tick), AXIS_Y + 5),
                label_x=x(tick),
                label_y=AXIS_Y + 18,
            )
        )

    # The label hangs off the line towards the middle near either edge, so it stays readable.
    today_x = x(today)
    today_line = TodayLine(
        study_day=engine.study_day(today, day_one),
        line=Line(today_x, PHASE_TOP - 8, today_x, AXIS_Y),
        label_x=today_x,
        label_y=PHASE_TOP - 11,
        anchor="end" if today_x > WIDTH - 70 else "start" if today_x < 70 else "middle",
    )

    legend = []
    entries = [(status, colour, "", None) for status, colour in STATUS_COLOURS.items()]
    entries.append(
        (
            "deviation (done outside its window or phase)",
            NO_DEVIATION_RING,
            DEVIATION_COLOUR,
            2.5,
        )
    )
    for index, (label, fill, stroke, stroke_width) in enumerate(entries):
        lx = LEFT + 8 + index * 85
        legend.append(
            LegendEntry(label, lx, LEGEND_Y - 4, fill, stroke, stroke_width, lx + 8, LEGEND_Y)
        )

    return TimelineChart(
        width=WIDTH,
        height=HEIGHT,
        day_one=day_one,
        today=today,
        phases=tuple(bands),
        visits=tuple(marks),
        axis=Line(LEFT, AXIS_Y, WIDTH - RIGHT, AXIS_Y),
        ticks=tuple(ticks),
        today_line=today_line,
        legend=tuple(legend),
    )
