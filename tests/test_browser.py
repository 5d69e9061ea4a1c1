"""The staff workspace in a real browser: Debian's Chromium driven by Playwright.

Screenshots of the participant page, the calendar and the dashboard go to var/screenshots/
(git-ignored) so a person can look at them.
"""

import datetime
import re

import pytest

from participants.models import Status
from scheduling.timeline.appointments import book_appointment
from scheduling.timeline.visits import record_visit
from tests.browser import SCREENSHOTS, login, screenshot
from tests.factories import enrol

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def enrolled(make_participant, site_ocn, site_ber, staff):
    """An OCN participant enrolled, leukapheresis not yet recorded, treatment due in 6 days;
    plus a BER participant for the monitor and the BER coordinator."""
    today = site_ocn.today()
    consent = today - datetime.timedelta(days=50)
    participant = make_participant(
        site=site_ocn, subject_id="SLE-001-101-007", consent_date=consent
    )
    record_visit(participant, "SCR", on=consent)
    enrol(participant, on=today - datetime.timedelta(days=20))
    other = make_participant(
        site=site_ber, subject_id="SLE-001-102-003", consent_date=site_ber.today()
    )
    return participant, other


def band_start(page, phase):
    band = page.locator(f"svg.timeline-chart g[data-phase='{phase}']")
    return band.get_attribute("data-start"), band.get_attribute("data-actual")


def test_a_coordinator_records_a_visit_starts_treatment_and_sees_the_chart_move(
    browser, live_server, enrolled, site_ocn
):
    participant, other = enrolled
    today = site_ocn.today()
    page = login(browser, live_server, "coordinator-ocn")
    screenshot(page, "dashboard")
    assert page.locator("#funnel").is_visible()

    page.click("tr.model-participant th a")
    page.fill("#searchbar", "101-007")
    # The search reloads the list: wait for the new page's load event, or the table may be
    # read while the browser is still parsing it.
    with page.expect_navigation(url=re.compile(r"q=101-007")):
        page.press("#searchbar", "Enter")
    assert page.locator("#result_list").inner_text().count("SLE-001-1") == 1
    page.click("#result_list >> text=SLE-001-101-007")
    page.wait_for_selector("svg.timeline-chart")
    planned_start = (participant.consent_date + datetime.timedelta(weeks=8)).isoformat()
    assert band_start(page, "treatment") == (planned_start, "false")
    assert page.locator("g[data-visit='LEUK']").get_attribute("data-status") == "missed"

    leukapheresis = participant.visits.get(code="LEUK").planned_date.isoformat()
    page.fill("input[aria-label='LEUK done on']", leukapheresis)
    page.click("button[value='LEUK']")
    page.wait_for_selector("ul.messagelist")
    assert f"LEUK recorded on {leukapheresis}." in page.locator("ul.messagelist").inner_text()
    assert page.locator("g[data-visit='LEUK']").get_attribute("data-status") == "completed"

    page.select_option("#id_target", Status.TREATMENT)
    page.fill("#id_on", today.isoformat())
    page.click("#record-transition")
    page.wait_for_selector("ul.messagelist")
    assert "moved to treatment" in page.locator("ul.messagelist").inner_text()
    assert band_start(page, "treatment") == (today.isoformat(), "true")
    assert page.locator("g[data-visit='INF1']").get_attribute("data-date") == today.isoformat()
    assert page.locator("svg.timeline-chart g.today").get_attribute("data-study-day") == "1"
    screenshot(page, "participant")
    page.locator("svg.timeline-chart").screenshot(path=str(SCREENSHOTS / "timeline-chart.png"))

    page.click("text=Site calendar")
    page.wait_for_selector("#month-grid")
    assert page.locator("#week-list").inner_text().count("SLE-001-101-007") >= 1
    assert "SLE-001-102-003" not in page.content()
    screenshot(page, "calendar")
    page.locator("#week-list a", has_text="SLE-001-101-007").first.click()
    page.wait_for_selector("svg.timeline-chart")
    assert re.search(rf"/participant/{participant.pk}/change/", page.url)
    page.close()


def test_a_monitor_sees_every_site_and_can_change_nothing(browser, live_server, enrolled):
    participant, other = enrolled
    page = login(browser, live_server, "monitor")
    assert page.locator("#funnel .count").first.inner_text() == "1"
    with page.expect_navigation(url=re.compile(r"/participant/$")):
        page.click("tr.model-participant th a")
    listing = page.locator("#result_list").inner_text()
    assert "SLE-001-101-007" in listing and "SLE-001-102-003" in listing
    page.click("#result_list >> text=SLE-001-101-007")
    page.wait_for_selector("svg.timeline-chart")
    assert page.locator("#record-transition").count() == 0
    assert page.locator("form[action*='/visit/']").count() == 0
    assert page.locator("#toggle-reminders").count() == 0
    assert page.locator("input[name='_save']").count() == 0
    assert "participant@example.org" not in page.content()
    assert page.locator(".addlink:visible, .deletelink:visible").count() == 0
    page.close()


def test_a_berlin_coordinator_cannot_open_an_oceanside_participant(browser, live_server, enrolled):
    participant, _ = enrolled
    page = login(browser, live_server, "coordinator-ber")
    response = page.goto(
        f"{live_server.url}/admin/participants/participant/{participant.pk}/change/"
    )
    assert response.status == 404
    page.goto(f"{live_server.url}/admin/participants/participant/")
    assert "SLE-001-101-007" not in page.content()
    assert "SLE-001-102-003" in page.content()
    page.close()


def test_the_workspace_pages_fit_a_1280_pixel_screen(browser, live_server, enrolled, staff):
    from django.contrib.auth import get_user_model

    from tests.browser import PASSWORD

    participant, _ = enrolled
    get_user_model().objects.create_superuser("admin", password=PASSWORD)
    pages = {
        "coordinator-ocn": [
            "/admin/",
            "/admin/participants/participant/",
            f"/admin/participants/participant/{participant.pk}/change/",
            "/admin/scheduling/visit/calendar/",
            "/admin/scheduling/reminder/",
        ],
        "admin": [f"/admin/participants/protocol/{participant.protocol_id}/change/"],
    }
    too_wide = []
    for username, paths in pages.items():
        page = login(browser, live_server, username)
        for path in paths:
            page.goto(f"{live_server.url}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            tables = page.evaluate(
                "() => [...document.querySelectorAll('table')]"
                ".filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)"
                ".map(t => t.id || t.className)"
            )
            if width > 1280 or tables:
                too_wide.append((path, width, tables))
        page.close()
    assert too_wide == []


def test_a_coordinator_books_a_visit_in_the_day_picker(
    browser, live_server, make_participant, site_ocn, staff
):
    """Book… on the participant page opens the visit's window day by day (closed days and
    the load of its resource shown); a day picked and booked is the visit's appointment."""
    from participants.models import Resource, SiteCapacity

    site_ocn.open_days = "12345"
    site_ocn.save()
    today = site_ocn.today()
    consent = today - datetime.timedelta(days=14)
    participant = make_participant(
        site=site_ocn, subject_id="SLE-001-101-021", consent_date=consent
    )
    other = make_participant(site=site_ocn, subject_id="SLE-001-101-022", consent_date=consent)
    apheresis, _ = Resource.objects.get_or_create(
        name="apheresis", defaults={"plural": "apheresis slots"}
    )
    participant.protocol.visit_definitions.filter(code="LEUK").update(resource=apheresis)
    SiteCapacity.objects.create(site=site_ocn, resource=apheresis, per_day=1)
    visit = participant.visits.get(code="LEUK")  # window from today + 14 to today + 28
    open_days = [
        visit.window_start + datetime.timedelta(days=n)
        for n in range((visit.window_end - visit.window_start).days + 1)
        if (visit.window_start + datetime.timedelta(days=n)).isoweekday() <= 5
        and visit.window_start + datetime.timedelta(days=n) != visit.appointment_date
    ]
    full_day, target = open_days[0], open_days[1]
    book_appointment(other.visits.get(code="LEUK"), on=full_day)

    page = login(browser, live_server, "coordinator-ocn")
    page.goto(f"{live_server.url}/admin/participants/participant/{participant.pk}/change/")
    page.click("tr[data-visit='LEUK'] a.book-link")
    page.wait_for_selector("#day-picker")
    assert "full" in page.locator(f"tr[data-date='{full_day.isoformat()}']").inner_text()
    saturday = next(
        visit.window_start + datetime.timedelta(days=n)
        for n in range(7)
        if (visit.window_start + datetime.timedelta(days=n)).isoweekday() == 6
    )
    assert "closed: Saturday" in page.locator(f"tr[data-date='{saturday}']").inner_text()
    page.check(f"#day-{target.isoformat()}")
    page.fill("#id_at", "09:30")
    screenshot(page, "day-picker")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.click("#book-appointment")
    page.wait_for_selector("ul.messagelist")
    assert f"LEUK booked on {target:%a %Y-%m-%d} at 09:30." in (
        page.locator("ul.messagelist").inner_text()
    )
    appointment = page.locator("tr[data-visit='LEUK'] td.appointment").inner_text()
    assert f"{target:%a %Y-%m-%d} 09:30" in appointment and "booked" in appointment
    screenshot(page, "participant-appointments")
    page.locator("#visits").screenshot(path=str(SCREENSHOTS / "participant-visits.png"))
    page.close()
