"""Accessibility (issue 23, item 6): axe-core, pinned from the npm registry and injected from
node_modules (tests/phone.py), runs in Debian's Chromium on the workspace's pages and on the
participants' reply pages, at WCAG 2.1 A and AA; no serious or critical violation is allowed.
The timeline chart has a text equivalent; a visit is booked in the day picker with the keyboard
alone, every control it reaches showing its focus."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from participants.contact_log import record_contact_attempt
from scheduling.models import Reminder
from scheduling.replies.answers import link_path
from tests.phone import PHONE, axe_violations, page_width, participant_in_treatment, signed_in

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1400, "height": 900}


@pytest.fixture
def scene(make_participant, site_ocn, site_ber, staff):
    """A participant in treatment with a contact log, and one in screening whose leukapheresis
    window opens in two weeks (its day picker, its eligibility checklist, its reminders)."""
    treated = participant_in_treatment(make_participant, site_ocn)
    record_contact_attempt(treated, channel="phone", outcome="no_answer", note="rang twice")
    screening = make_participant(
        site=site_ocn,
        subject_id="SLE-001-101-021",
        consent_date=site_ocn.today() - datetime.timedelta(days=14),
    )
    return treated, screening


def staff_pages(treated, screening) -> dict[str, str]:
    leukapheresis = screening.visits.get(code="LEUK")
    return {
        "dashboard": "/admin/",
        "participant list": "/admin/participants/participant/",
        "participant page and contact log": (
            f"/admin/participants/participant/{treated.pk}/change/"
        ),
        "participant page in screening": f"/admin/participants/participant/{screening.pk}/change/",
        "add participant": "/admin/participants/participant/add/",
        "calendar": "/admin/scheduling/visit/calendar/?site=OCN",
        "day picker": reverse(
            "admin:participant_visit_appointment", args=[screening.pk, leukapheresis.pk]
        ),
        "visit list": "/admin/scheduling/visit/",
        "reminders list": "/admin/scheduling/reminder/",
        "audit trail": reverse("admin:participant_audit_trail", args=[treated.pk]),
    }


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1400px", "390px"])
def test_the_workspace_pages_have_no_serious_accessibility_violations(
    browser, live_server, scene, viewport
):
    page = signed_in(browser, live_server, "coordinator-ocn", viewport=viewport, bypass_csp=True)
    found = {}
    for name, path in staff_pages(*scene).items():
        page.goto(f"{live_server.url}{path}")
        if violations := axe_violations(page):
            found[name] = violations
    page.context.close()
    assert found == {}


def reminder_of(participant, code="LEUK") -> Reminder:
    return next(
        reminder
        for reminder in Reminder.objects.filter(
            visit__participant=participant, visit__code=code
        ).select_related("visit")
        if reminder.planned_date == reminder.visit.appointment_day
    )


def test_the_reply_pages_have_no_serious_accessibility_violations(browser, live_server, scene):
    """Each question (confirm, another date, stop), an answer, a link already used, a link
    expired and a link that is not valid, on a phone as participants open them."""
    _, screening = scene
    reminder = reminder_of(screening)
    page = browser.new_context(viewport=PHONE, is_mobile=True, bypass_csp=True).new_page()
    found = {}

    def check(name):
        assert page_width(page) <= PHONE["width"], name
        if violations := axe_violations(page):
            found[name] = violations

    for action in ("confirm", "reschedule", "stop"):
        page.goto(live_server.url + link_path(reminder, action))
        check(f"{action}: the question")
    page.goto(live_server.url + link_path(reminder, "confirm"))
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    assert "confirmed" in page.inner_text("h1")
    check("confirm: done")
    page.goto(live_server.url + link_path(reminder, "confirm"))
    assert "already been used" in page.inner_text(".card")
    check("confirm: already used")
    page.goto(live_server.url + "/r/not-a-token/confirm/")
    check("a link that is not valid")
    later = reminder.planned_date + datetime.timedelta(days=3)
    with time_machine.travel(datetime.datetime.combine(later, datetime.time(12)), tick=True):
        page.goto(live_server.url + link_path(reminder, "reschedule"))
        assert "expired" in page.inner_text(".card")
        check("reschedule: expired")
    page.context.close()
    assert found == {}


def test_the_timeline_chart_has_a_text_equivalent(admin_client, scene):
    """The SVG names its text equivalent (aria-describedby), which lists every phase and visit
    with its dates and status, as the drawing shows them."""
    treated, _ = scene
    html = admin_client.get(f"/admin/participants/participant/{treated.pk}/change/").content
    html = html.decode()
    svg = re.search(r"<svg[^>]*class=\"timeline-chart\"[^>]*>", html).group(0)
    assert 'role="img"' in svg and 'aria-describedby="timeline-text"' in svg
    text = re.search(r'<div class="timeline-text" id="timeline-text">(.*?)</div>', html, re.S)
    assert text is not None
    listed = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text.group(1)))
    for visit in treated.visits.all():
        assert f"{visit.code} {visit.name}: " in listed
        assert f"planned {visit.planned_date:%Y-%m-%d}" in listed
        if visit.actual_date:
            assert f"done {visit.actual_date:%Y-%m-%d}" in listed
    assert "SCR Screening" in listed and "INF1 Infusion 1: completed, done" in listed
    started = treated.site.today() - datetime.timedelta(days=7)  # participant_in_treatment
    assert f"Treatment: started {started:%Y-%m-%d}" in listed
    assert "Follow-up: planned to start" in listed


# The focused element, whether it shows its focus (an outline or a ring drawn by box-shadow),
# and whether it lies on the screen (at phone width, a control off to the right is out of reach).
FOCUS = """() => {
  const el = document.activeElement, style = getComputedStyle(el), box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), id: el.id, name: el.name || '', value: el.value || '',
    checked: !!el.checked, cls: el.className || '', text: (el.innerText || '').trim(),
    shown: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
           || style.boxShadow !== 'none',
    onScreen: box.left >= 0 && box.right <= document.documentElement.clientWidth,
  };
}"""


def tab_to(page, wanted, limit=400) -> list[dict]:
    """Press Tab until the focused element satisfies ``wanted``; every element passed through,
    for the focus check."""
    passed = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS)
        passed.append(focus)
        if wanted(focus):
            return passed
    raise AssertionError(f"Tab never reached it; last: {passed[-5:]}")


def test_a_visit_is_booked_in_the_day_picker_with_the_keyboard_alone_on_a_phone(
    browser, live_server, scene, site_ocn
):
    """From the participant page: Tab to the leukapheresis's Book… link, Enter; Tab into the
    days, arrow keys to an open day, Tab to Book, Enter. Every control reached shows its focus
    and is on the 390 px screen."""
    _, screening = scene
    leukapheresis = screening.visits.get(code="LEUK")
    target = next(
        leukapheresis.window_start + datetime.timedelta(days=n)
        for n in range(1, 8)
        if (leukapheresis.window_start + datetime.timedelta(days=n)).isoweekday() <= 5
        and leukapheresis.window_start + datetime.timedelta(days=n)
        != leukapheresis.appointment_date
    )
    page = signed_in(browser, live_server, "coordinator-ocn")
    page.goto(f"{live_server.url}/admin/participants/participant/{screening.pk}/change/")
    reached = []

    book_link = f"/visit/{leukapheresis.pk}/appointment/"
    reached += tab_to(
        page,
        lambda f: (
            f["tag"] == "a"
            and "book-link" in f["cls"]
            and book_link in page.evaluate("document.activeElement.href")
        ),
    )
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("#day-picker")

    reached += tab_to(page, lambda f: f["name"] == "on")
    for _ in range(40):  # the window's days, one arrow press each
        if page.evaluate(FOCUS)["value"] == target.isoformat():
            break
        page.keyboard.press("ArrowDown")
        reached.append(page.evaluate(FOCUS))
    focus = page.evaluate(FOCUS)
    assert (focus["value"], focus["checked"]) == (target.isoformat(), True)
    reached += tab_to(page, lambda f: f["id"] == "book-appointment")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("ul.messagelist")

    assert f"LEUK booked on {target:%a %Y-%m-%d}." in page.inner_text("ul.messagelist")
    leukapheresis.refresh_from_db()
    assert leukapheresis.booked_date == target
    unshown = [(f["tag"], f["name"] or f["id"] or f["text"]) for f in reached if not f["shown"]]
    off_screen = [
        (f["tag"], f["name"] or f["id"] or f["text"]) for f in reached if not f["onScreen"]
    ]
    assert (unshown, off_screen) == ([], [])
    page.context.close()
