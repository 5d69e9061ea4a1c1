"""The workspace in a German browser, in Debian's Chromium: coordinator-ber, whose browser
asks for German, reads the dashboard and a participant page in German; with French set as
their own language, French. Screenshots go to var/screenshots/ (git-ignored)."""

import pytest
from django.urls import reverse

from participants.staff_language import set_staff_language
from tests.browser import PASSWORD, browser, screenshot, staff  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def sign_in(browser, live_server, username, locale):  # noqa: F811
    context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


def test_a_german_browser_gets_the_workspace_in_german(
    browser,  # noqa: F811
    live_server,
    staff,  # noqa: F811
    make_participant,
    site_ber,
):
    # Checks the browser's language (Chromium's de-DE locale sends Accept-Language: de-DE)
    # on the dashboard and the participant page, our words and Django's.
    participant = make_participant(
        site=site_ber, subject_id="SLE-001-102-001", consent_date=site_ber.today()
    )
    page = sign_in(browser, live_server, "coordinator-ber", "de-DE")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("#due-this-week h2").inner_text().startswith("Diese Woche fällige Visiten")
    assert page.locator("#needs-attention h2").inner_text().startswith("Zu erledigen")
    assert page.get_by_role("button", name="Abmelden").count() == 1  # Django's own admin
    screenshot(page, "dashboard-de")
    page.goto(
        live_server.url + reverse("admin:participants_participant_change", args=[participant.pk])
    )
    assert page.locator("#timeline h2").inner_text().startswith("Zeitverlauf")
    assert page.locator("#visits h2").inner_text() == "Visiten"
    headers = page.locator("#visits table.visits thead th").all_text_contents()
    assert headers[:4] == ["Visite", "Studientag", "Geplant", "Zeitfenster"]
    assert "Screening" in page.locator("#timeline .status-badge").inner_text()
    screenshot(page, "participant-de")


def test_the_users_own_language_wins_over_a_german_browser(
    browser,  # noqa: F811
    live_server,
    staff,  # noqa: F811
):
    # Checks the order in a real browser, and the Language page's way back to the browser's.
    set_staff_language(staff["coordinator-ber"], "fr")
    page = sign_in(browser, live_server, "coordinator-ber", "de-DE")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("#due-this-week h2").inner_text().startswith("Visites de la semaine")
    page.click("text=Langue")
    page.select_option("#id_language", "")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/")
    assert page.locator("#due-this-week h2").inner_text().startswith("Diese Woche fällige Visiten")
