"""The admin's "Today" shortcut in a real browser (Debian's Chromium): it fills the site's day.

At 16:30 on Friday 4 December 2026 in Oceanside it is already 00:30 on Saturday 5 December in
UTC. The shortcut used to fill the UTC date (and in en-gb's dd/mm/yyyy), which the service
then refused as "in the future at site OCN". Both the server's clock (time-machine) and the
browser's (Playwright's clock) stand at that instant; the browser runs in California's zone,
as the coordinator's laptop does.
"""

import datetime

import pytest
import time_machine

from participants.models import Participant, SiteMembership
from tests.browser import CHROMIUM, PASSWORD  # noqa: F401 (CHROMIUM: the browser fixture's)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AFTERNOON = datetime.datetime(2026, 12, 5, 0, 30, tzinfo=datetime.UTC)  # 16:30 PST on 12-04


def signed_in_page(browser, live_server, username):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        timezone_id="America/Los_Angeles",
        locale="en-US",  # whose <input type=date> would say 12/04/2026
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.clock.set_fixed_time(AFTERNOON)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


def click_today(page, field_selector):
    page.fill(field_selector, "")
    shortcuts = page.locator(f"{field_selector} ~ .datetimeshortcuts")
    shortcuts.get_by_role("link", name="Today").click()


def test_the_today_shortcut_fills_the_sites_date_late_in_the_californian_afternoon(
    browser, live_server, staff, protocol, site_ocn
):
    with time_machine.travel(AFTERNOON, tick=True):
        page = signed_in_page(browser, live_server, "coordinator-ocn")
        page.goto(f"{live_server.url}/admin/participants/participant/add/")
        click_today(page, "#id_consent_date")
        assert page.input_value("#id_consent_date") == "2026-12-04"
        page.fill("#id_subject_id", "SLE-001-101-023")
        page.fill("#id_email", "participant@example.org")
        page.click("input[name=_save]")
        page.wait_for_selector(".messagelist .success")
        participant = Participant.objects.get(subject_id="SLE-001-101-023")
        assert participant.consent_date == datetime.date(2026, 12, 4)

        # The participant page's date inputs have the shortcut too, in the participant's zone.
        page.goto(f"{live_server.url}/admin/participants/participant/{participant.pk}/change/")
        click_today(page, "#id_on")
        assert page.input_value("#id_on") == "2026-12-04"
        assert page.locator("input[type=date], input[type=time]").count() == 0
        page.context.close()


def test_the_today_shortcut_follows_the_site_chosen_on_the_form(
    browser, live_server, staff, protocol, site_ocn, site_ber
):
    # A coordinator of Oceanside and Berlin: their pages are read in UTC until a site is chosen.
    SiteMembership.objects.create(user=staff["coordinator-ocn"], site=site_ber)
    with time_machine.travel(AFTERNOON, tick=True):
        page = signed_in_page(browser, live_server, "coordinator-ocn")
        page.goto(f"{live_server.url}/admin/participants/participant/add/")
        page.select_option("#id_site", label=str(site_ocn))
        click_today(page, "#id_consent_date")
        assert page.input_value("#id_consent_date") == "2026-12-04"  # 16:30 in Oceanside
        page.select_option("#id_site", label=str(site_ber))
        click_today(page, "#id_consent_date")
        assert page.input_value("#id_consent_date") == "2026-12-05"  # 01:30 in Berlin
        page.context.close()
