"""Every time staff see with its zone, site-local where a site is concerned, and one date format
(ISO 8601) for staff input and display in every language (issue 23, items 2 and 4), through
Django's test client on PostgreSQL.

The clock stands at 07:23 UTC on Saturday 5 December 2026: 23:23 on Friday 4 December in
Oceanside (PST), where the participant is. A time written in UTC, or a day taken from UTC,
is a day ahead of the site's.
"""

import csv
import datetime
import re
from html import unescape
from io import StringIO

import pytest
import time_machine
from django import forms
from django.urls import reverse
from django.utils import formats, translation

from participants import eligibility
from participants.lifecycle import record_transition
from participants.models import EligibilityCriterion
from scheduling.mail.digest import create_due_digests, digest_content
from scheduling.mail.emails import digest_email
from scheduling.models import Confirmation, SiteDigest, Visit
from scheduling.replies.answers import set_confirmation
from scheduling.timeline.selectors import schedule_rows, write_schedule_csv
from scheduling.timeline.visits import book_visit_time
from scheduling.workspace.participant_page import participant_reminders

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
D = datetime.date
NOW = datetime.datetime(2026, 12, 5, 7, 23, tzinfo=UTC)  # 2026-12-04 23:23 PST at OCN
AT_OCN = "2026-12-04 23:23 PST"
CONSENT = D(2026, 11, 30)
STAFF_LANGUAGES = ["en-gb", "en", "de", "es", "fr"]


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def participant(clock, make_participant, site_ber):
    return make_participant(consent_date=CONSENT, subject_id="SLE-001-101-023")


def signed_in(client, staff, username):
    client.force_login(staff[username])
    return client


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def page_url(participant) -> str:
    return reverse("admin:participants_participant_change", args=[participant.pk])


def answer_first_criterion(participant, staff):
    criterion = EligibilityCriterion.objects.filter(protocol=participant.protocol).first()
    eligibility.answer_criteria(participant, {criterion.pk: "yes"}, by=staff["investigator-ocn"])


# The history pages (django-simple-history's) said "5 Dec 2026, 7:23 a.m.": UTC, no zone.
@pytest.mark.parametrize("username", ["coordinator-ocn", "monitor"])
def test_the_participant_history_shows_each_change_in_the_sites_time_with_its_zone(
    participant, client, staff, username
):
    record_transition(participant, "withdrawn", on=D(2026, 12, 4), reason="Moved away")
    url = reverse("admin:participants_participant_history", args=[participant.pk])
    page = text_of(signed_in(client, staff, username).get(url).text)
    # The monitor works at OCN and BER (two zones): the page is read in the participant's.
    assert page.count(AT_OCN) == 2  # created, then withdrawn
    assert "Dec 2026" not in page
    assert "a.m." not in page


# The eligibility checklist's "Answered" column and the dashboard's "asked" were UTC dates.
def test_the_eligibility_checklist_says_when_each_answer_was_given_in_site_time(
    participant, client, staff
):
    answer_first_criterion(participant, staff)
    page = signed_in(client, staff, "coordinator-ocn").get(page_url(participant)).text
    section = page[page.index('id="eligibility"') :]
    assert f"investigator-ocn {AT_OCN}" in text_of(section)


def test_the_dashboard_says_when_another_date_was_asked_for_in_site_time(
    participant, client, staff
):
    visit = (
        Visit.objects.filter(participant=participant, appointment_date__gte=D(2026, 12, 5))
        .order_by("appointment_date")
        .first()
    )
    set_confirmation(visit, Confirmation.RESCHEDULE_REQUESTED, message="away that week")
    for username in ("coordinator-ocn", "monitor"):
        page = text_of(signed_in(client, staff, username).get(reverse("admin:index")).text)
        assert f"asked {AT_OCN}" in page, username


# A monitor's lists of records of several sites: each row in its own site's time.
@pytest.mark.parametrize(
    "list_name", ["participants_eligibilityanswer_changelist", "participants_transition_changelist"]
)
def test_a_monitors_lists_show_each_time_in_its_sites_zone(participant, client, staff, list_name):
    answer_first_criterion(participant, staff)
    page = text_of(signed_in(client, staff, "monitor").get(reverse(f"admin:{list_name}")).text)
    assert AT_OCN in page
    assert "a.m." not in page


# Read-only fields said "30 Nov 2026" and admin fields "05/12/2026" (en-gb's formats).
def test_read_only_dates_are_iso(participant, client, staff):
    page = text_of(signed_in(client, staff, "monitor").get(page_url(participant)).text)
    assert "Consent date: 2026-11-30" in page
    assert "30 Nov 2026" not in page


def test_the_visit_rows_inputs_are_iso_text_not_inputs_the_browser_localises(
    participant, client, staff
):
    page = signed_in(client, staff, "coordinator-ocn").get(page_url(participant)).text
    assert 'type="date"' not in page
    assert 'type="time"' not in page
    assert 'type="datetime-local"' not in page
    scr = Visit.objects.get(participant=participant, code="SCR")
    assert re.search(
        r'<input type="text"[^>]*pattern="\[0-9\]\{4\}-\[0-9\]\{2\}-\[0-9\]\{2\}"'
        r'[^>]*placeholder="YYYY-MM-DD"[^>]*name="actual_date" form="visit-form-' + str(scr.pk),
        page,
    )


def test_the_visit_list_shows_appointment_days_with_their_weekday(participant, client, staff):
    page = text_of(
        signed_in(client, staff, "coordinator-ocn")
        .get(reverse("admin:scheduling_visit_changelist"))
        .text
    )
    for day in Visit.objects.filter(participant=participant).values_list(
        "appointment_date", flat=True
    ):
        assert f"{day:%a} {day.isoformat()}" in page


# The add form's default consent date is the site's day: at 16:30 in California, not the UTC
# date (tomorrow there, which the service refuses as "in the future at site OCN").
def test_the_new_participant_form_defaults_to_the_sites_today(client, staff, protocol):
    with time_machine.travel(datetime.datetime(2026, 12, 5, 0, 30, tzinfo=UTC), tick=False):
        response = signed_in(client, staff, "coordinator-ocn").get(
            reverse("admin:participants_participant_add")
        )
    consent = response.context["adminform"].form["consent_date"]
    assert consent.value() == D(2026, 12, 4)
    assert 'value="2026-12-04"' in str(consent)
    # The "Today" shortcut reads the page's offset from UTC: California's, -8 hours.
    assert 'data-admin-utc-offset="-28800"' in response.text


def test_the_schedule_export_names_the_zone_of_each_booked_time(participant):
    visit = Visit.objects.get(participant=participant, code="LEUK")
    book_visit_time(visit, datetime.time(9, 30))
    handle = StringIO()
    write_schedule_csv(handle, schedule_rows(participants=type(participant).objects.all()))
    rows = {row["visit_code"]: row for row in csv.DictReader(StringIO(handle.getvalue()))}
    assert (rows["LEUK"]["appointment_time"], rows["LEUK"]["appointment_time_zone"]) == (
        "09:30",
        "PST",
    )
    assert rows["SCR"]["appointment_time_zone"] == ""
    assert {row["site_time_zone"] for row in rows.values()} == {"America/Los_Angeles"}


def test_the_digest_writes_booked_times_with_the_sites_zone(make_participant, site_ocn):
    with time_machine.travel(datetime.datetime(2026, 7, 6, 14, 0, tzinfo=UTC), tick=False):
        # 07:00 on Monday 6 July at OCN: summer time, PDT.
        participant = make_participant(consent_date=D(2026, 7, 6))
        visit = Visit.objects.get(participant=participant, code="SCR")
        book_visit_time(visit, datetime.time(9, 30))
        create_due_digests(datetime.datetime.now(UTC))
        digest = SiteDigest.objects.select_related("site", "rule").get(site=site_ocn)
        message = digest_email(digest, digest_content(digest))
    html = message.alternatives[0][0]
    assert "at 09:30 PDT" in message.body
    assert "09:30 PDT" in html


# Another helper translates the workspace: the formats do not follow the language.
@pytest.mark.parametrize("language", STAFF_LANGUAGES)
def test_dates_are_written_and_read_iso_in_every_staff_language(language):
    day = D(2026, 12, 10)
    instant = datetime.datetime(2026, 12, 10, 17, 5, tzinfo=UTC)
    with translation.override(language):
        assert formats.date_format(day) == "2026-12-10"
        assert formats.date_format(day, "SHORT_DATE_FORMAT") == "2026-12-10"
        assert formats.localize(instant) == "2026-12-10 17:05 UTC"
        field = forms.DateField()
        assert field.clean("2026-12-10") == day
        assert 'value="2026-12-10"' in field.widget.render("on", day)
        with pytest.raises(forms.ValidationError):
            field.clean("10.12.2026")
        assert formats.get_format("DATE_INPUT_FORMATS")[0] == "%Y-%m-%d"


@pytest.fixture
def browser_language(settings):
    """The language chosen from the browser's Accept-Language, as the translated workspace
    chooses it (LocaleMiddleware); the language it leaves active goes with the test."""
    session = settings.MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware")
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[: session + 1],
        "django.middleware.locale.LocaleMiddleware",
        *settings.MIDDLEWARE[session + 1 :],
    ]
    yield
    translation.deactivate()


def test_pages_keep_iso_dates_and_zones_under_a_german_browser(
    participant, client, staff, browser_language
):
    record_transition(participant, "withdrawn", on=D(2026, 12, 4), reason="Umzug")
    monitor = signed_in(client, staff, "monitor")
    page = monitor.get(page_url(participant), HTTP_ACCEPT_LANGUAGE="de").text
    assert '<html lang="de"' in page
    assert "2026-11-30" in text_of(page)
    history = monitor.get(
        reverse("admin:participants_participant_history", args=[participant.pk]),
        HTTP_ACCEPT_LANGUAGE="de",
    ).text
    assert AT_OCN in text_of(history)
    assert "Dezember" not in history


# A booked time is a time of day at the site: it says which zone ("09:30 PST").
def test_a_booked_time_is_shown_with_the_sites_zone_wherever_staff_read_it(
    clock, make_participant, client, staff
):
    participant = make_participant(consent_date=D(2026, 12, 4))  # screening today at OCN
    visit = Visit.objects.get(participant=participant, code="SCR")
    book_visit_time(visit, datetime.time(9, 30))
    coordinator = signed_in(client, staff, "coordinator-ocn")
    pages = {
        "participant page": page_url(participant),
        "dashboard": reverse("admin:index"),
        "day picker": reverse(
            "admin:participant_visit_appointment", args=[participant.pk, visit.pk]
        ),
    }
    for name, url in pages.items():
        assert "09:30 PST" in text_of(coordinator.get(url).text), name


# The reminder pages and the site digests' list, for a monitor of sites in two zones.
def test_reminder_and_digest_pages_show_their_times_in_the_sites_zone(participant, client, staff):
    create_due_digests(NOW)  # Oceanside's digest of Friday 4 December, due at 07:00 there
    reminder = participant_reminders(participant)[0][0]
    due = f"{reminder.due_at.astimezone(participant.site.zone):%Y-%m-%d %H:%M} PST"
    monitor = signed_in(client, staff, "monitor")
    pages = {
        "reminders": reverse("admin:scheduling_reminder_changelist"),
        "reminder": reverse("admin:scheduling_reminder_change", args=[reminder.pk]),
    }
    for name, url in pages.items():
        assert due in text_of(monitor.get(url).text), name
    digests = text_of(monitor.get(reverse("admin:scheduling_sitedigest_changelist")).text)
    assert "2026-12-04 07:00 PST" in digests
    assert "p.m." not in digests
