"""The Content-Security-Policy in a real browser (issue 13, security 4): Debian's Chromium opens
the admin's login, the lockout page, two-factor set-up (its QR code is a data: image), the
dashboard, a participant page with its timeline chart, the calendar (choosing another site
submits its form: the script moved out of the template works), the day picker and a reminder's
reply page (confirming posts its form); every answer carries the policy and the browser
reports no violation of it. A planted inline handler shows the listener does hear them."""

import datetime
import re
from base64 import b32decode
from urllib.parse import parse_qs, urlsplit

import pytest
from django_otp.oath import TOTP

from scheduling.models import Reminder
from tests.browser import PASSWORD, SCREENSHOTS

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Chromium fires a securitypolicyviolation event for each refusal (and logs it to the
# console). The init script runs before the page's own, and is not itself subject to the page's
# policy (Playwright injects it through the DevTools protocol).
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} at ` +
    `${event.sourceFile || document.location.pathname}:${event.lineNumber}`
  );
});
"""


class Browsing:
    """One signed-out browser context that records the policy of every page and every
    violation the browser reports."""

    def __init__(self, browser, live_server):
        self.base = live_server.url
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.add_init_script(LISTEN)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.console = []
        self.page.on(
            "console",
            lambda message: (
                self.console.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        self.policies = {}
        self.page.on("response", self._record)
        self.violations = []

    def _record(self, response):
        if response.request.resource_type == "document":
            self.policies[urlsplit(response.url).path] = response.headers.get(
                "content-security-policy"
            )

    def goto(self, path):
        answer = self.page.goto(f"{self.base}{path}")
        self.page.wait_for_load_state("load")
        return answer

    def collect(self, label):
        """The violations the current page has reported so far, labelled, kept."""
        found = self.page.evaluate("window.__violations || []")
        self.violations += [f"{label}: {line}" for line in found]
        self.page.evaluate("window.__violations = []")

    def sign_in(self, username, password=PASSWORD):
        self.goto("/admin/login/?next=/admin/")
        self.collect("login page")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.click("input[type=submit]")
        self.page.wait_for_load_state("load")

    def close(self):
        self.context.close()


@pytest.fixture
def scene(make_participant, site_ocn, site_ber, staff):
    """An OCN participant whose leukapheresis window opens in two weeks (bookable, reminded)
    and a BER participant, for the calendar's other site."""
    today = site_ocn.today()
    participant = make_participant(
        site=site_ocn,
        subject_id="SLE-001-101-031",
        consent_date=today - datetime.timedelta(days=14),
    )
    make_participant(site=site_ber, subject_id="SLE-001-102-031", consent_date=site_ber.today())
    return participant


def reply_link(participant) -> str:
    from scheduling.replies.answers import link_path

    reminder = next(
        reminder
        for reminder in Reminder.objects.filter(
            visit__participant=participant, visit__code="LEUK"
        ).select_related("visit")
        if reminder.planned_date == reminder.visit.appointment_day
    )
    return link_path(reminder, "confirm")


def test_every_kind_of_page_works_under_the_policy(
    browser, live_server, scene, staff, settings, django_user_model
):
    participant = scene
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )
    settings.REQUIRE_2FA = True
    django_user_model.objects.create_superuser("admin", password=PASSWORD)
    visit = Browsing(browser, live_server)
    try:
        # Five wrong passwords: the lockout page.
        for _ in range(5):
            visit.sign_in("investigator-ocn", "wrong")
        assert "is locked" in visit.page.inner_text("#content-main")
        visit.collect("lockout page")

        # A superuser's first sign-in sets up two-factor: the QR code is a data: image.
        visit.sign_in("admin")
        assert urlsplit(visit.page.url).path == "/admin/two-factor/setup/"
        assert visit.page.evaluate("document.getElementById('two-factor-qr').naturalWidth") > 0
        visit.collect("two-factor set-up")
        address = visit.page.inner_text("#two-factor-address")
        secret = parse_qs(urlsplit(address).query)["secret"][0]
        totp = TOTP(b32decode(secret + "=" * (-len(secret) % 8)))
        visit.page.fill("#id_code", f"{totp.token():06d}")
        visit.page.click("input[type=submit]")
        visit.page.wait_for_url(f"{live_server.url}/admin/")

        # The dashboard: the funnel's bar widths are style attributes (style-src-attr).
        bar = visit.page.evaluate(
            "Math.max(...[...document.querySelectorAll('#funnel .bar')]"
            ".map(b => b.getBoundingClientRect().width))"
        )
        assert bar > 20
        visit.collect("dashboard")

        # The participant page and its timeline chart (inline SVG).
        visit.goto(f"/admin/participants/participant/{participant.pk}/change/")
        chart = visit.page.locator("svg.timeline-chart")
        chart.wait_for()
        box = chart.bounding_box()
        assert box["width"] > 500 and box["height"] > 50
        assert visit.page.locator("svg.timeline-chart g[data-phase='treatment']").count() == 1
        # The stylesheet applies (a stylesheet the policy refused would leave it unstyled).
        assert (
            visit.page.evaluate("getComputedStyle(document.querySelector('.status-badge')).color")
            == "rgb(255, 255, 255)"
        )
        visit.page.locator("svg.timeline-chart").screenshot(
            path=str(SCREENSHOTS / "timeline-chart-csp.png")
        )
        visit.collect("participant page")

        # The calendar: choosing another site submits the form (calendar.js).
        visit.goto("/admin/scheduling/visit/calendar/?site=OCN")
        assert visit.page.get_attribute("#content-main", "data-site") == "OCN"
        visit.page.select_option("#calendar-site", "BER")
        visit.page.wait_for_url(re.compile(r".*site=BER.*"))
        assert visit.page.get_attribute("#content-main", "data-site") == "BER"
        visit.collect("calendar")

        # The day picker of the leukapheresis.
        visit.goto(f"/admin/participants/participant/{participant.pk}/change/")
        visit.page.click("tr[data-visit='LEUK'] a.book-link")
        visit.page.wait_for_selector("#day-picker")
        visit.collect("day picker")

        # A history page (simple-history's pagination has a style attribute).
        visit.goto(f"/admin/participants/participant/{participant.pk}/history/")
        visit.collect("history page")
    finally:
        staff_policies = dict(visit.policies)
        staff_console = list(visit.console)
        visit.close()

    # A participant's reply page, signed out: confirm posts its form.
    reply = Browsing(browser, live_server)
    try:
        link = reply_link(participant)
        answer = reply.goto(link)
        assert answer.status == 200
        assert (
            reply.page.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor")
            == "rgb(255, 255, 255)"
        )  # replies.css applies
        reply.page.click("button[type=submit]")
        reply.page.wait_for_load_state("load")
        assert "Thank you: your visit is confirmed." in reply.page.inner_text("h1")
        reply.collect("reply page")

        # The control: an inline handler planted in the page is refused, and heard.
        reply.page.evaluate(
            "document.body.insertAdjacentHTML('beforeend', "
            '\'<img src="data:," onerror="document.title=1">\')'
        )
        reply.page.wait_for_timeout(500)
        heard = reply.page.evaluate("window.__violations")
    finally:
        reply_policies = dict(reply.policies)
        reply_console = list(reply.console)
        reply.close()

    assert any("script-src-attr" in line for line in heard), heard
    assert visit.violations + reply.violations == []
    assert staff_console == []
    # The console has the planted handler's refusal only.
    assert len(reply_console) == 1 and "inline event handler" in reply_console[0], reply_console
    policies = {**staff_policies, **reply_policies}
    assert "/admin/login/" in policies and link in policies
    assert {path: parse(header) for path, header in policies.items()} == dict.fromkeys(
        policies, parse(policy)
    )


def parse(header: str | None) -> dict[str, str]:
    """Directive → sources (django-csp writes the directives in no fixed order)."""
    if header is None:
        return {}
    return dict(part.strip().split(" ", 1) for part in header.split(";"))
