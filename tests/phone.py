"""What the phone and accessibility tests share: a phone-sized signed-in page, the width a page
takes, and axe-core run in the page.

axe-core comes from the npm registry, pinned in package.json/package-lock.json and installed
into node_modules/ by ``make install`` (``npm ci``); it is injected from that file, so nothing
is fetched while the tests run.
"""

import datetime
from pathlib import Path

import pytest

from participants.models import Status
from tests.browser import PASSWORD

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
# WCAG 2.1 A and AA, the level the issue asks for.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def signed_in(browser, live_server, username: str, viewport=PHONE, **context):
    """A new page in its own context, ``viewport`` sized (a phone by default: mobile, touch),
    signed in as ``username``."""
    phone = viewport == PHONE
    options = {"is_mobile": True, "has_touch": True, "device_scale_factor": 2} if phone else {}
    page = browser.new_context(viewport=viewport, **options, **context).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


def page_width(page) -> int:
    """How wide the page is drawn: more than the viewport means sideways scrolling."""
    return page.evaluate("document.documentElement.scrollWidth")


def wider_than_viewport(page) -> list[str]:
    """The elements whose right edge is beyond the viewport, named (for a failure message)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
          .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                       && getComputedStyle(e).visibility !== 'hidden'
                       && e.getClientRects().length)
          .slice(0, 8)
          .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                    + (e.className && typeof e.className === 'string'
                       ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
                    + ' ' + Math.round(e.getBoundingClientRect().right))"""
    )


def axe_violations(page, impacts=("serious", "critical")) -> list[str]:
    """axe-core's WCAG 2.1 AA violations of ``impacts`` on the page as it is, one line each
    (rule, impact, the first few elements). The page's context must bypass the
    Content-Security-Policy (``bypass_csp=True``): the policy refuses the injected script, as
    it should any script not served by the site."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make install` (npm ci installs axe-core).")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_21_AA
    )
    return [
        f"{violation['id']} ({violation['impact']}): "
        + "; ".join(" ".join(node["target"]) for node in violation["nodes"][:4])
        for violation in result["violations"]
        if violation["impact"] in impacts
    ]


def participant_in_treatment(make_participant, site, subject_id="SLE-001-101-007"):
    """A participant with a timeline worth reading: screened, enrolled, leukapheresis done,
    in treatment since a week ago with their first infusion done."""
    from participants.lifecycle import record_transition
    from scheduling.timeline.visits import record_visit
    from tests.factories import enrol

    today = site.today()
    consent = today - datetime.timedelta(days=60)
    participant = make_participant(site=site, subject_id=subject_id, consent_date=consent)
    record_visit(participant, "SCR", on=consent)
    enrol(participant, on=today - datetime.timedelta(days=30))
    participant.refresh_from_db()
    leukapheresis = participant.visits.get(code="LEUK")
    record_visit(participant, "LEUK", on=leukapheresis.window_start or leukapheresis.planned_date)
    record_transition(participant, Status.TREATMENT, on=today - datetime.timedelta(days=7))
    record_visit(participant, "INF1", on=today - datetime.timedelta(days=7))
    participant.refresh_from_db()
    return participant
