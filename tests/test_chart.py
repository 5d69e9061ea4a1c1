"""The server-side SVG timeline: bands, markers, whiskers, today line, study-day axis."""

import datetime
import math
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.timeline_chart import (
    STATUS_COLOURS,
    WIDTH,
    ChartPhase,
    ChartVisit,
    render_timeline,
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


def draw(visits, today=TODAY):
    # Our own markup, parsed to check it is well-formed.
    return ET.fromstring(str(render_timeline(PHASES, visits, today, D(2026, 3, 2))))  # noqa: S314


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
    svg = str(
        render_timeline(
            PHASES, [visit("<b>", D(2026, 2, 1), "scheduled")], D(2026, 1, 20), D(2026, 3, 2)
        )
    )
    assert "<b>" not in svg
    assert "&lt;b&gt;" in svg


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
    svg = ET.fromstring(str(render_timeline(phases, [], TODAY, D(2026, 3, 2))))  # noqa: S314
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
    svg = ET.fromstring(str(render_timeline(phases, visits, today, day_one)))  # noqa: S314
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
