"""A participant's answer, end to end in a real browser (issue 12, "Done when"): the dispatcher
sends a reminder to a real SMTP server on loopback, the "I'll be there" link is taken from the
delivered email's text, opened in Debian's Chromium and confirmed with its button; then the
site's coordinator signs in and sees the visit confirmed (✓) on the site calendar, and on the
participant page when and by which way.

Screenshots go to var/screenshots/ (git-ignored) so a person can look at them.
"""

import datetime
import re
from urllib.parse import urlsplit

import pytest

from scheduling.mail.dispatch import dispatch_due
from scheduling.models import Audience, Confirmation, OutboxStatus, Reminder, ReminderRule
from tests.browser import SCREENSHOTS, login, screenshot
from tests.smtp_server import smtp_server_fixture  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def confirm_link(message) -> str:
    """The "I'll be there" link of a delivered reminder, read from its text body."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"I'll be there:\s+(\S+)", text)
    assert match, text
    return match.group(1)


def test_a_participant_confirms_from_the_email_and_the_coordinator_sees_it_on_the_calendar(
    browser, live_server, make_participant, site_ocn, staff, smtp_server
):
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)
    # Leukapheresis 35 days after consent: 15 days ahead, its 7-day reminder 8 days ahead.
    consent = site_ocn.today() - datetime.timedelta(days=20)
    participant = make_participant(
        site=site_ocn, subject_id="SLE-001-101-031", consent_date=consent, email="pat@example.org"
    )
    visit = participant.visits.get(code="LEUK")
    reminder = (
        Reminder.objects.filter(visit=visit, status=OutboxStatus.PENDING).order_by("due_at").first()
    )
    assert dispatch_due(now=reminder.due_at).sent == 1
    [message] = smtp_server.messages
    assert message["To"] == "pat@example.org"

    # The link names the address in SITE_URL; the live server listens elsewhere.
    link = urlsplit(confirm_link(message))
    assert link.path.endswith("/confirm/")
    page = browser.new_page(viewport={"width": 390, "height": 800})  # a phone
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}{link.path}")
    visit.refresh_from_db()
    assert visit.confirmation == Confirmation.UNCONFIRMED  # opening the link changes nothing
    page.click("button[type=submit]")
    page.wait_for_selector("text=Thank you: your visit is confirmed.")
    screenshot(page, "reply-confirmed")
    page.close()
    visit.refresh_from_db()
    assert (visit.confirmation, visit.confirmation_via) == (Confirmation.CONFIRMED, "reminder link")

    page = login(browser, live_server, "coordinator-ocn")
    day = visit.appointment_date
    page.goto(
        f"{live_server.url}/admin/scheduling/visit/calendar/?site=OCN&month={day:%Y-%m}"
        f"&week={day - datetime.timedelta(days=day.weekday())}"
    )
    page.wait_for_selector("#month-grid")
    marked = page.locator("#month-grid a.cal-visit", has_text="101-031 LEUK")
    assert marked.count() == 1
    assert "confirmation-confirmed" in marked.get_attribute("class").split()
    assert marked.locator(".confirmed-mark").inner_text() == "✓"
    assert "confirmed" in marked.get_attribute("title")
    screenshot(page, "calendar-confirmed")
    marked.screenshot(path=str(SCREENSHOTS / "calendar-confirmed-visit.png"))

    # The participant page says when and how.
    marked.click()
    page.wait_for_selector("#visits")
    state = page.locator("tr[data-visit='LEUK'] .confirmation-state").inner_text()
    assert state.startswith("confirmed") and "via reminder link" in state
    page.locator("#visits").screenshot(path=str(SCREENSHOTS / "participant-confirmed.png"))
    page.close()
