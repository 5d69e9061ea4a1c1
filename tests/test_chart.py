"""The server-side SVG timeline: bands, markers, whiskers, today line, study-day axis. The
geometry (scheduling/workspace/timeline_chart.py) is a pure function; the template
(scheduling/timeline_chart.html) draws it."""

import dataclasses
import datetime
import math
import xml.etree.ElementTree as ET

import pytest
import time_machine
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.timeline.visits import add_unscheduled_visit
from scheduling.workspace.timeline_chart import (
    STATUS_COLOURS,
    WIDTH,
    AxisTick,
    ChartPhase,
    ChartVisit,
    Line,
    PhaseBand,
    TimelineChart,
    TodayLine,
    VisitMark,
    VisitWindow,
    timeline_geometry,
)

D = datetime.date
NS = {"svg": "http://www.w3.org/2000/svg"}
PHASES = [
    ChartPhase("screening", "Screening", D(2026, 1, 5), D(2026, 3, 2), True),
    ChartPhase("treatment", "Treatment", D(2026, 3, 2), D(2026, 4, 27), False),
]


def visit(code, planned, status, actual=None, before=2, after=2):
    window = (planned - datetime.timedelta(days=before), planned + datetime.timedelta(days=after))
    return ChartVisit(
        code,
        f"Visit {code}",
        planned,
        *window,
        actual,
        status,
        actual is not None and not (window[0] <= actual <= window[1]),
    )


TODAY = D(2026, 1, 20)


def render_timeline(phases, visits, today, day_one) -> str:
    """The chart's drawing, as the participant page includes it: the SVG document, without
    the same timeline as text that follows it (an HTML list, checked by the page tests)."""
    chart = timeline_geometry(phases, visits, today, day_one)
    return drawing(render_to_string("scheduling/timeline_chart.html", {"chart": chart}))


def drawing(markup: str) -> str:
    """The SVG of the chart's markup; the text equivalent must follow it."""
    end = markup.index("</svg>") + len("</svg>")
    assert 'id="timeline-text"' in markup[end:]
    return markup[:end]


def draw(visits, today=TODAY):
    # Our own markup, parsed to check it is well-formed.
    return ET.fromstring(render_timeline(PHASES, visits, today, D(2026, 3, 2)))  # noqa: S314


def test_the_chart_is_well_formed_svg_with_a_band_per_phase():
    svg = draw([])
    bands = svg.findall(".//svg:g[@data-phase]", NS)
    assert [(b.get("data-phase"), b.get("data-start"), b.get("data-actual")) for b in bands] == [
        ("screening", "2026-01-05", "true"),
        ("treatment", "2026-03-02", "false"),
    ]
    assert "Treatment (planned)" in ET.tostring(bands[1], encoding="unicode")


def test_visit_markers_are_coloured_by_status_with_window_whiskers():
    svg = draw([visit("SCR", D(2026, 1, 5), "missed"), visit("INF1", D(2026, 3, 2), "scheduled")])
    missed = svg.find(".//svg:g[@data-visit='SCR']", NS)
    assert missed.find("svg:circle", NS).get("fill") == STATUS_COLOURS["missed"]
    whisker = missed.findall("svg:line", NS)[0]
    assert float(whisker.get("x2")) > float(whisker.get("x1"))  # the window has a width


def test_a_deviation_is_ringed_not_hidden():
    svg = draw([visit("SCR", D(2026, 1, 5), "completed", actual=D(2026, 1, 12))])
    marker = svg.find(".//svg:g[@data-visit='SCR']", NS)
    assert marker.get("data-date") == "2026-01-12"
    assert marker.find("svg:circle", NS).get("stroke") == "#ea580c"
    assert "deviation" in marker.find("svg:title", NS).text


def test_the_today_line_and_axis_count_study_days_without_day_zero():
    svg = draw([])
    assert svg.find(".//svg:g[@class='today']", NS).get("data-study-day") == "-41"
    labels = [t.text for t in svg.findall("svg:text", NS) if (t.text or "").startswith("Day ")]
    assert "Day 1" in labels
    assert "Day 0" not in labels
    assert any(label.startswith("Day -") for label in labels)


def test_text_in_the_chart_is_escaped():
    svg = render_timeline(
        PHASES, [visit("<b>", D(2026, 2, 1), "scheduled")], D(2026, 1, 20), D(2026, 3, 2)
    )
    assert "<b>" not in svg
    assert "&lt;b&gt;" in svg


def test_every_text_from_the_data_is_escaped_in_elements_and_attributes():
    hostile = '"><script>alert(1)</script>'
    phases = [ChartPhase(hostile, hostile, D(2026, 1, 5), D(2027, 3, 2), False)]
    visits = [
        ChartVisit(hostile, hostile, D(2026, 2, 1), None, None, D(2026, 2, 9), hostile, hostile)
    ]
    markup = render_timeline(phases, visits, TODAY, D(2026, 3, 2))
    assert "<script" not in markup
    svg = ET.fromstring(markup)  # noqa: S314 -- still well-formed: nothing broke out
    band = svg.find(".//svg:g[@data-phase]", NS)
    mark = svg.find(".//svg:g[@data-visit]", NS)
    assert band.get("data-phase") == hostile
    assert band.find("svg:title", NS).text.startswith(hostile + ": planned start")
    assert (mark.get("data-visit"), mark.get("data-status")) == (hostile, hostile)
    assert mark.find("svg:title", NS).text == (
        f"{hostile} {hostile}: {hostile}, planned 2026-02-01, done 2026-02-09 "
        f"(deviation: {hostile})"
    )
    assert mark.find("svg:text", NS).text == hostile


def test_numbers_are_written_the_same_in_any_language():
    # A decimal comma ("25,8") would break every coordinate. The words are the staff's
    # language ("Tag 12"); every attribute but the spoken label is the same.
    visits = [visit("SCR", D(2026, 1, 5), "missed")]
    english = render_timeline(PHASES, visits, TODAY, D(2026, 3, 2))

    def drawing(markup):
        return [
            (element.tag, {k: v for k, v in element.attrib.items() if k != "aria-label"})
            for element in ET.fromstring(markup).iter()  # noqa: S314
        ]

    for language in ("de", "fr", "es"):
        with translation.override(language):
            translated = render_timeline(PHASES, visits, TODAY, D(2026, 3, 2))
        assert drawing(translated) == drawing(english)
        assert translated != english  # the day labels are translated
    assert 'x="' in english
    assert not any("," in v for v in ET.fromstring(english).attrib.values())  # noqa: S314


# The geometry alone: plain values in, plain values out.

PLAIN = (str, int, float, bool, datetime.date, type(None))


def plain_values(value):
    """Every leaf of ``value``: frozen dataclasses and tuples are walked, anything else must be
    a plain value (no model, no markup, no list to mutate)."""
    if dataclasses.is_dataclass(value):
        assert value.__dataclass_params__.frozen, type(value)
        for field in dataclasses.fields(value):
            yield from plain_values(getattr(value, field.name))
    elif isinstance(value, tuple):
        for item in value:
            yield from plain_values(item)
    else:
        assert type(value) in PLAIN, (type(value), value)
        yield value


def test_the_geometry_is_a_pure_function_of_plain_values():
    """A worked example. One actual phase 1 to 31 January, day one 1 January, today the 21st,
    one visit planned on the 11th (window 9th to 13th) done on the 12th. The axis runs from
    three days before the first date to three after the last: 29 December to 3 February, 36
    days over the 960 units between the margins of 20, so day ``n`` after 29 December is at
    ``20 + n * 960 / 36``, rounded to a tenth: 1 January (n = 3) at 100.0, the 31st at 900.0.
    Ticks come every 7 days (36 / 7 <= 14) from Day 1; today is study day 21."""
    phases = [ChartPhase("screening", "Screening", D(2026, 1, 1), D(2026, 1, 31), True)]
    visits = [
        ChartVisit(
            "V1", "Visit 1", D(2026, 1, 11), D(2026, 1, 9), D(2026, 1, 13), D(2026, 1, 12),
            "completed", "",
        )
    ]  # fmt: skip
    arguments = (phases, visits, D(2026, 1, 21), D(2026, 1, 1))
    copies = (list(phases), list(visits))
    # No database (this test has none: a query would fail) and no clock.
    with time_machine.travel(datetime.datetime(2031, 6, 1, tzinfo=datetime.UTC), tick=False):
        chart = timeline_geometry(*arguments)
    assert timeline_geometry(*arguments) == chart
    assert (phases, visits) == copies
    assert isinstance(chart, TimelineChart)
    assert list(plain_values(chart))

    assert (chart.width, chart.height, chart.day_one, chart.today) == (
        1000, 216, D(2026, 1, 1), D(2026, 1, 21)
    )  # fmt: skip
    assert chart.phases == (
        PhaseBand(
            code="screening", name="Screening", start=D(2026, 1, 1), end=D(2026, 1, 31),
            actual=True, kind="actual", x=100.0, y=24, width=800.0, height=34, fill="#e0e7ff",
            label="Screening", label_x=104.0, label_y=45,
        ),
    )  # fmt: skip
    assert chart.visits == (
        VisitMark(
            code="V1", name="Visit 1", status="completed", date=D(2026, 1, 12),
            planned=D(2026, 1, 11), actual=D(2026, 1, 12), deviation="", beyond=False,
            window=VisitWindow(
                start=D(2026, 1, 9), end=D(2026, 1, 13),
                span=Line(313.3, 128, 420.0, 128),  # the 9th (n = 11) to the 13th (n = 15)
                start_bar=Line(313.3, 122, 313.3, 134),
                end_bar=Line(420.0, 122, 420.0, 134),
            ),
            x=393.3, y=128,  # done on the 12th (n = 14)
            colour=STATUS_COLOURS["completed"], ring="#ffffff", ring_width=1.5,
            leader=Line(393.3, 120, 393.3, 111), label_y=108,
        ),
    )  # fmt: skip
    assert chart.axis == Line(20, 168, 980, 168)
    assert chart.ticks == tuple(
        AxisTick(day, Line(x, 168, x, 173), x, 186)
        for day, x in [(1, 100.0), (8, 286.7), (15, 473.3), (22, 660.0), (29, 846.7)]
    )
    assert chart.today_line == TodayLine(21, Line(633.3, 16, 633.3, 168), 633.3, 13, "middle")
    assert [(e.label, e.x, e.fill, e.stroke) for e in chart.legend] == [
        ("scheduled", 28, "#2563eb", ""),
        ("completed", 113, "#15803d", ""),
        ("missed", 198, "#dc2626", ""),
        ("cancelled", 283, "#9ca3af", ""),
        ("deviation (done outside its window or phase)", 368, "#ffffff", "#ea580c"),
    ]


def test_the_template_draws_the_geometry_it_is_given():
    chart = timeline_geometry(PHASES, [visit("SCR", D(2026, 1, 5), "missed")], TODAY, D(2026, 3, 2))
    svg = ET.fromstring(  # noqa: S314
        drawing(render_to_string("scheduling/timeline_chart.html", {"chart": chart}))
    )
    assert svg.get("viewBox") == "0 0 1000 216"
    assert (svg.get("data-day-one"), svg.get("data-today")) == ("2026-03-02", "2026-01-20")
    assert svg.get("aria-label") == "Timeline: today is study day -41"
    for band, g in zip(chart.phases, svg.findall("svg:g[@data-phase]", NS), strict=True):
        rect = g.find("svg:rect", NS)
        assert (float(rect.get("x")), float(rect.get("width"))) == (band.x, band.width)
        assert rect.get("fill") == band.fill
        assert len(g.findall("svg:rect", NS)) == (1 if band.actual else 2)  # the hatch
        assert g.find("svg:title", NS).text == (
            f"{band.name}: {band.kind} start {band.start}, planned end {band.end}"
        )
    (mark,) = chart.visits
    g = svg.find("svg:g[@data-visit='SCR']", NS)
    circle = g.find("svg:circle", NS)
    assert (float(circle.get("cx")), circle.get("fill")) == (mark.x, mark.colour)
    assert [float(line.get("x1")) for line in g.findall("svg:line", NS)] == [
        mark.window.span.x1,
        mark.window.start_bar.x1,
        mark.window.end_bar.x1,
        mark.leader.x1,
    ]
    ticks = [t.text for t in svg.findall("svg:text", NS)]
    assert ticks == [f"Day {tick.study_day}" for tick in chart.ticks]
    today = svg.find("svg:g[@class='today']/svg:text", NS)
    assert (today.text, float(today.get("x"))) == ("Today, Day -41", chart.today_line.label_x)


def test_labels_of_weekly_visits_do_not_overlap_on_a_year_long_chart():
    weekly = [
        visit(f"INF{n}", D(2026, 3, 2) + datetime.timedelta(weeks=n), "scheduled") for n in range(6)
    ]
    late = visit("FU12", D(2027, 3, 2), "scheduled")
    svg = draw([*weekly, late])
    labels = [
        (float(t.get("x")), t.get("y"), t.text)
        for g in svg.findall(".//svg:g[@data-visit]", NS)
        for t in g.findall("svg:text", NS)
    ]
    rows = {}
    for x, y, text in sorted(labels):
        rows.setdefault(y, []).append((x, text))
    for row in rows.values():
        for (x1, a), (x2, b) in zip(row, row[1:], strict=False):
            assert x2 - x1 >= (len(a) + len(b)) * 3.2, (a, b)
    assert len(rows) > 1


def test_a_phase_label_is_shortened_to_fit_its_band():
    phases = [
        ChartPhase("screening", "Screening", D(2026, 1, 5), D(2026, 3, 2), True),
        ChartPhase("treatment", "Treatment", D(2026, 3, 2), D(2026, 4, 27), False),
        ChartPhase("boost", "Booster infusion", D(2026, 4, 27), D(2026, 5, 4), False),
        ChartPhase("follow_up", "Follow-up", D(2026, 5, 4), D(2027, 5, 4), False),
    ]
    svg = ET.fromstring(render_timeline(phases, [], TODAY, D(2026, 3, 2)))  # noqa: S314
    labels = {
        band.get("data-phase"): band.find("svg:text", NS).text or ""
        for band in svg.findall(".//svg:g[@data-phase]", NS)
    }
    widths = {
        band.get("data-phase"): float(band.find("svg:rect", NS).get("width"))
        for band in svg.findall(".//svg:g[@data-phase]", NS)
    }
    assert labels["follow_up"] == "Follow-up (planned)"
    assert labels["treatment"] == "Treatment"  # "(planned)" does not fit: the hatch says it
    assert labels["boost"] == ""  # a week in a year and a half: no room for a word
    assert all(len(labels[code]) * 7.2 + 8 <= max(widths[code], 8) for code in labels)


def test_the_today_label_stays_inside_the_chart_and_clear_of_the_legend():
    late = draw([], today=D(2026, 4, 26))  # today at the right edge of the chart
    early = draw([], today=D(2026, 1, 5))
    label = late.find(".//svg:g[@class='today']/svg:text", NS)
    legend_y = {float(t.get("y")) for t in late.findall(".//svg:g[@class='legend']/svg:text", NS)}
    assert label.get("text-anchor") == "end"
    assert early.find(".//svg:g[@class='today']/svg:text", NS).get("text-anchor") == "start"
    assert float(label.get("y")) not in legend_y
    axis_y = max(float(line.get("y1")) for line in late.findall("svg:line", NS))
    assert min(legend_y) > axis_y  # under the axis
    assert "deviation" in ET.tostring(
        late.find(".//svg:g[@class='legend']", NS), encoding="unicode"
    )


# Any dates at all, from 0001-01-01 to 9999-12-31: the chart draws them or clips them, and the
# participant's page never fails because of one.
any_date = st.dates()
words = st.text(st.characters(categories=["L", "N", "P", "S", "Zs"]), max_size=12)
chart_phases = st.builds(ChartPhase, words, words, any_date, any_date, st.booleans())
chart_visits = st.builds(
    ChartVisit,
    words,
    words,
    any_date,
    st.none() | any_date,
    st.none() | any_date,
    st.none() | any_date,
    st.sampled_from([*STATUS_COLOURS, "other"]),
    st.booleans(),
)
COORDINATES = ("x", "x1", "x2", "cx", "width")


@settings(max_examples=300, deadline=None)
@given(
    phases=st.lists(chart_phases, max_size=4),
    visits=st.lists(chart_visits, max_size=6),
    today=any_date,
    day_one=any_date,
)
def test_the_chart_draws_any_dates_inside_its_frame(phases, visits, today, day_one):
    svg = ET.fromstring(render_timeline(phases, visits, today, day_one))  # noqa: S314
    for element in list(svg.iter())[1:]:  # the root's width is "100%"
        for name in COORDINATES:
            if name in element.attrib:
                value = float(element.get(name))
                assert math.isfinite(value)
                assert 0 <= value <= WIDTH, (element.tag, name, value)
    ticks = [t for t in svg.findall("svg:text", NS) if (t.text or "").startswith("Day ")]
    assert len(ticks) <= 15


def test_a_visit_far_beyond_the_plan_is_drawn_at_the_edge_not_squashing_the_plan():
    stray = visit("UNS", D(9999, 12, 31), "scheduled", before=0, after=0)
    svg = draw([visit("SCR", D(2026, 1, 5), "missed"), stray])
    marker = svg.find(".//svg:g[@data-visit='UNS']", NS)
    assert marker.get("data-date") == "9999-12-31"
    assert "beyond the chart" in marker.find("svg:title", NS).text
    assert float(marker.find("svg:circle", NS).get("cx")) <= WIDTH - 20
    bands = [float(r.get("width")) for r in svg.findall(".//svg:g[@data-phase]/svg:rect", NS)]
    assert min(bands) > 10  # the phases stay readable


@pytest.mark.django_db
def test_a_visit_name_stored_by_staff_is_escaped_on_the_participant_page(
    admin_client, make_participant
):
    participant = make_participant(consent_date=D(2026, 1, 5))
    add_unscheduled_visit(
        participant, on=D(2026, 1, 9), reason="Flare", name='<script>alert("x")</script>'
    )
    page = admin_client.get(
        reverse("admin:participants_participant_change", args=[participant.pk])
    ).text
    start = page.rindex("<svg", 0, page.index('class="timeline-chart"'))
    chart = page[start : page.index("</svg>", start) + len("</svg>")]
    assert "<script>alert" not in page
    title = ET.fromstring(chart).find(".//svg:g[@data-visit='UNS']/svg:title", NS)  # noqa: S314
    assert title.text.startswith('UNS <script>alert("x")</script>: ')
