"""The workspace on a phone (issue 23, item 5): Debian's Chromium at 390×844, mobile and touch,
opens the dashboard, a participant page, the site calendar and the day picker, and none of them
is wider than the screen (document.documentElement.scrollWidth <= 390). On the participant page
the visits are cards and the timeline is read as text; the calendar keeps its navigation on
screen and shows whole subject ids in its week (the agenda), not "101-…"."""

import datetime

import pytest
from django.urls import reverse

from tests.browser import SCREENSHOTS
from tests.phone import PHONE, page_width, participant_in_treatment, signed_in, wider_than_viewport

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scene(make_participant, site_ocn, site_ber, staff):
    """A participant in treatment (a timeline with done, missed and planned visits) and one in
    screening whose leukapheresis window opens in two weeks (its day picker)."""
    from participants.contact_log import record_contact_attempt

    treated = participant_in_treatment(make_participant, site_ocn)
    record_contact_attempt(treated, channel="phone", outcome="no_answer", note="rang twice")
    screening = make_participant(
        site=site_ocn,
        subject_id="SLE-001-101-021",
        consent_date=site_ocn.today() - datetime.timedelta(days=14),
    )
    return treated, screening


def fits(page, name) -> tuple:
    """The page's width and what sticks out, after a screenshot for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"phone-{name}.png"), full_page=True)
    return page_width(page), wider_than_viewport(page)


def test_the_dashboard_participant_page_calendar_and_day_picker_fit_a_phone(
    browser, live_server, scene
):
    treated, screening = scene
    leukapheresis = screening.visits.get(code="LEUK")
    page = signed_in(browser, live_server, "coordinator-ocn")
    assert fits(page, "dashboard") == (PHONE["width"], [])

    # The participant page (was 801 px: a sideways-scrolling visits table).
    page.goto(f"{live_server.url}/admin/participants/participant/{treated.pk}/change/")
    assert fits(page, "participant") == (PHONE["width"], [])
    # Visits as cards: no header row; each card names its fields.
    assert page.locator("table.visits thead").is_hidden()
    labels = page.eval_on_selector_all(
        "tr[data-visit='INF1'] td[data-label]",
        "cells => cells.map(c => getComputedStyle(c, '::before').content)",
    )
    assert '"Planned" ": "' in labels or '"Planned: "' in labels, labels
    # The timeline as text instead of a drawing whose labels would be 3 px high.
    assert page.locator("svg.timeline-chart").is_hidden()
    timeline = page.locator("#timeline-text")
    assert timeline.is_visible()
    assert "INF1" in timeline.inner_text() and "Treatment" in timeline.inner_text()

    # The calendar (was 647 px, its month navigation off screen, entries cut to "101-…").
    page.goto(f"{live_server.url}/admin/scheduling/visit/calendar/?site=OCN")
    assert fits(page, "calendar") == (PHONE["width"], [])
    for link in ("‹ previous month", "next month ›", "today"):
        box = page.get_by_role("link", name=link, exact=True).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], link
    agenda = page.locator("#week-list")
    assert agenda.locator("a", has_text="SLE-001-101-007").first.is_visible()
    assert agenda.locator("thead").is_hidden()
    # The month grid counts each day's visits; a day opens its week in the agenda.
    assert page.locator("#month-grid .day-count").first.is_visible()
    assert page.locator("#month-grid tr.chosen-week").count() == 1  # the agenda's week, marked

    # The day picker of the screening participant's leukapheresis.
    page.goto(
        live_server.url
        + reverse("admin:participant_visit_appointment", args=[screening.pk, leukapheresis.pk])
    )
    assert fits(page, "day-picker") == (PHONE["width"], [])
    assert page.locator("#book-appointment").is_visible()

    # The audit trail a monitor reads on the go.
    page.goto(live_server.url + reverse("admin:participant_audit_trail", args=[treated.pk]))
    assert fits(page, "audit-trail") == (PHONE["width"], [])
    page.context.close()
