"""Sites' calendar feeds and the participant's .ics (docs/calendar-feeds.md): each parsed back
with icalendar and with vobject, an independent parser; built from the demo data."""

import datetime
import io

import icalendar
import pytest
import vobject
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from participants.models import Participant, Protocol, Site, SiteClosure
from scheduling.exports.calendars import participant_calendar, visit_calendar, visit_uid
from scheduling.exports.feeds import create_feed, feed_for_secret, revoke_feed
from scheduling.exports.site_feed import FEED_DAYS, feed_subject_id, feed_visits
from scheduling.models import CalendarFeed, Visit
from scheduling.timeline.appointments import book_appointment

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
D = datetime.date


def user(username):
    return get_user_model().objects.get(username=username)


def feed_url(secret: str) -> str:
    return f"/feeds/{secret}.ics"


def parsed(body: bytes):
    """Both parsers' events: icalendar's by UID, and vobject's UIDs (it raises on bad input)."""
    calendar = icalendar.Calendar.from_ical(body)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    second = vobject.readOne(io.StringIO(body.decode()))
    vobject_uids = {e.uid.value: e for e in second.vevent_list}
    assert set(vobject_uids) == set(events)
    return events, vobject_uids


def fetch(client, secret):
    response = client.get(feed_url(secret))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return response


@pytest.fixture
def ocn_feed(demo_data):
    site = Site.objects.get(code="OCN")
    feed, secret = create_feed(site, label="OCN team", by=user("coordinator-ocn"))
    return site, feed, secret


def test_the_demo_sites_feed_lists_its_appointments_closures_and_holidays(client, ocn_feed):
    site, _, secret = ocn_feed
    events, second = parsed(fetch(client, secret).content)
    today = site.today()
    visits = feed_visits(site, today)
    assert visits, "the demo has appointments at OCN in the next 90 days"
    for visit in visits:
        event = events[visit_uid(visit)]
        assert event.decoded("sequence") == visit.sequence
        short = visit.participant.subject_id.removeprefix("SLE-001-")
        assert str(event["SUMMARY"]) == f"{short}: {visit.name}"
        assert "Confirmation: " in str(event["DESCRIPTION"])
        if visit.booked_time is None:
            assert event.decoded("dtstart") == visit.appointment_day
        else:
            start = event.decoded("dtstart")
            assert start == datetime.datetime.combine(
                visit.appointment_day, visit.booked_time, tzinfo=site.zone
            )
            assert second[visit_uid(visit)].dtstart.value == start
    holidays = [u for u in events if u.startswith("holiday-")]
    closures = [u for u in events if u.startswith("closure-")]
    last = today + datetime.timedelta(days=FEED_DAYS - 1)
    expected_holidays = [
        day
        for day in (today + datetime.timedelta(n) for n in range(FEED_DAYS))
        if site.public_holidays.get(day)
    ]
    assert len(holidays) == len(expected_holidays)
    assert (
        len(closures)
        == SiteClosure.objects.filter(site=site, start__lte=last, end__gte=today).count()
    )
    assert len(events) == len(visits) + len(holidays) + len(closures)


def no_private_byte(body: bytes, participants, protocol, sites) -> None:
    text = body.decode().replace("\r\n ", "").lower()  # unfolded
    for participant in participants:
        assert participant.email.lower() not in text
    for word in [protocol.code, protocol.title, protocol.sponsor]:
        if word:
            assert word.lower() not in text
    for site in sites:
        for line in site.address.splitlines():
            if line.strip():
                assert line.strip().lower() not in text
        for contact in [site.phone, site.coordinator_email]:
            if contact:
                assert contact.lower() not in text
    calendar = icalendar.Calendar.from_ical(body)
    for event in calendar.walk("VEVENT"):
        for name in ["LOCATION", "ATTENDEE", "ORGANIZER", "CONTACT", "URL"]:
            assert name not in event


def test_no_feed_of_the_demo_carries_a_contact_detail_or_the_trials_name(client, demo_data):
    protocol = Protocol.objects.get(code="SLE-001")
    sites = list(Site.objects.all())
    participants = list(Participant.objects.all())
    for site in sites:
        _, secret = create_feed(site, label="team", by=_superuser())
        no_private_byte(fetch(client, secret).content, participants, protocol, sites)


def _superuser():
    return get_user_model().objects.create_user(
        f"root-{get_user_model().objects.count()}", is_staff=True, is_superuser=True
    )


SUBJECT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."


@given(
    code=st.text(alphabet=SUBJECT_ALPHABET, min_size=1, max_size=12),
    rest=st.text(alphabet=SUBJECT_ALPHABET, max_size=20),
    before=st.text(alphabet=SUBJECT_ALPHABET, max_size=6),
)
@settings(max_examples=300)
def test_a_shown_subject_id_never_contains_the_protocols_code(code, rest, before):
    for subject_id in [f"{code}-{rest}", f"{before}{code}{rest}", rest or "x"]:
        shown = feed_subject_id(subject_id, code)
        assert shown
        assert code.lower() not in shown.lower()


def test_a_subject_id_is_shown_without_its_protocols_code():
    assert feed_subject_id("SLE-001-101-004", "SLE-001") == "101-004"
    assert feed_subject_id("X-7", "SLE-001") == "X-7"


@given(
    emails=st.lists(st.emails(), min_size=1, max_size=3),
    numbers=st.lists(st.integers(1, 999), min_size=1, max_size=3, unique=True),
)
@settings(max_examples=8, deadline=None)
def test_generated_participants_leave_no_private_byte_in_the_feed(
    django_db_blocker, emails, numbers
):
    """A property over generated participants (through the service), each example rolled
    back: the feed of their site carries none of their emails, nor the trial's name."""
    from django.db import transaction

    from participants.lifecycle import create_participant
    from tests.conftest import load_sle001
    from tests.factories import SiteFactory

    with django_db_blocker.unblock(), transaction.atomic():
        protocol = load_sle001()
        site = SiteFactory(
            code="GEN", timezone="Europe/Berlin", address="Street 9\n12345 Town", phone="+1 5"
        )
        today = site.today()
        participants = [
            create_participant(
                protocol=protocol,
                site=site,
                subject_id=f"{protocol.code}-909-{number:03d}",
                email=email,
                consent_date=today - datetime.timedelta(days=10),
            )
            for email, number in zip(emails, numbers, strict=False)
        ]
        from scheduling.exports.site_feed import site_feed

        body = site_feed(site, now=datetime.datetime.now(UTC))
        no_private_byte(body, participants, protocol, [site])
        assert body.count(b"BEGIN:VEVENT") >= len(participants)
        transaction.set_rollback(True)


def test_a_rescheduled_visit_keeps_its_uid_with_a_higher_sequence_everywhere(
    client, ocn_feed, time_machine
):
    site, _, secret = ocn_feed
    visit = next(v for v in feed_visits(site, site.today()) if v.booked_date is None)
    participant = visit.participant
    before_feed, _ = parsed(fetch(client, secret).content)
    before_ics, _ = parsed(participant_calendar(participant, now=datetime.datetime.now(UTC)))
    uid = visit_uid(visit)
    days = [
        d for d in visit.days_to_choose.days() if d >= site.today() and d != visit.appointment_day
    ]
    book_appointment(visit, on=days[-1], at=datetime.time(9, 30), override_reason="test")
    moved = Visit.objects.get(pk=visit.pk)
    assert moved.sequence > visit.sequence
    after_feed, second = parsed(fetch(client, secret).content)
    after_ics, _ = parsed(participant_calendar(participant, now=datetime.datetime.now(UTC)))
    for before, after in [(before_feed, after_feed), (before_ics, after_ics)]:
        assert after[uid].decoded("sequence") == moved.sequence > before[uid].decoded("sequence")
        assert after[uid].decoded("dtstart").date() == days[-1]
    assert int(second[uid].sequence.value) == moved.sequence


def test_the_participants_ics_events_are_the_reminders_events(demo_data):
    participant = Participant.objects.filter(site__code="BER", status="screening").first() or (
        Participant.objects.filter(site__code="BER").first()
    )
    now = datetime.datetime.now(UTC)
    events, _ = parsed(participant_calendar(participant, now=now))
    assert events
    from django.utils import translation

    for uid, event in events.items():
        visit = Visit.objects.get(pk=int(uid.split("-")[1].split("@")[0]))
        with translation.override(participant.reminder_language):
            reminder = visit_calendar(visit, now=now, language=participant.reminder_language)
        [expected] = icalendar.Calendar.from_ical(reminder).walk("VEVENT")
        assert event.to_ical() == expected.to_ical()


def test_staff_download_the_participants_ics_of_their_site_only(client, demo_data):
    participant = Participant.objects.filter(site__code="OCN").first()
    url = reverse("admin:participant_calendar_ics", args=[participant.pk])
    client.force_login(user("monitor"))
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    parsed(response.content)
    client.force_login(user("coordinator-ber"))
    assert client.get(url).status_code == 404
    client.force_login(user("coordinator-ocn"))
    page = client.get(reverse("admin:participants_participant_change", args=[participant.pk]))
    assert url in page.content.decode()


def test_a_revoked_or_unknown_secret_is_a_bare_404(client, ocn_feed):
    site, feed, secret = ocn_feed
    fetch(client, secret)
    revoke_feed(feed, by=user("coordinator-ocn"), reason="laptop lost")
    for asked in [secret, secret[:-1] + ("A" if secret[-1] != "A" else "B"), "x" * 200]:
        response = client.get(feed_url(asked))
        assert response.status_code == 404
        assert response.content == b"Not found"
    feed.refresh_from_db()
    assert feed.revoked_by == user("coordinator-ocn") and feed.revoked_at is not None
    record = feed.history.first()
    assert (record.history_user, record.history_change_reason) == (
        user("coordinator-ocn"),
        "laptop lost",
    )


def test_only_the_digest_of_the_secret_is_stored(ocn_feed):
    _, feed, secret = ocn_feed
    row = CalendarFeed.objects.filter(pk=feed.pk).values().get()
    assert secret not in str(row)
    assert feed_for_secret(secret) == feed


def test_staff_make_feeds_of_their_sites_only_and_monitors_none(client, demo_data):
    ber = Site.objects.get(code="BER")
    add = reverse("admin:scheduling_calendarfeed_add")
    client.force_login(user("coordinator-ocn"))
    response = client.post(add, {"site": ber.pk, "label": "theirs"})
    assert response.status_code == 200  # the form refuses a site not theirs
    assert not CalendarFeed.objects.exists()
    ocn = Site.objects.get(code="OCN")
    response = client.post(add, {"site": ocn.pk, "label": "ours"}, follow=True)
    [feed] = CalendarFeed.objects.all()
    shown = [str(m) for m in response.context["messages"]]
    assert any("/feeds/" in m and feed.prefix in m for m in shown)
    client.force_login(user("coordinator-ber"))
    change = reverse("admin:scheduling_calendarfeed_change", args=[feed.pk])
    assert client.get(change).status_code == 404
    assert (
        feed.label
        not in client.get(reverse("admin:scheduling_calendarfeed_changelist")).content.decode()
    )
    client.force_login(user("monitor"))
    assert client.get(change).status_code == 200
    assert client.post(add, {"site": ocn.pk, "label": "m"}).status_code == 403


def test_the_feed_ends_90_days_from_the_sites_today(client, ocn_feed, time_machine):
    site, _, secret = ocn_feed
    visit = next(v for v in feed_visits(site, site.today()) if v.booked_date is None)
    # The site's today: late evening in Oceanside is already tomorrow in UTC.
    day = visit.appointment_day
    last_day_evening = datetime.datetime.combine(
        day - datetime.timedelta(days=FEED_DAYS - 1), datetime.time(23, 30), tzinfo=site.zone
    )
    time_machine.move_to(last_day_evening, tick=False)
    assert visit_uid(visit) in parsed(fetch(client, secret).content)[0]
    time_machine.move_to(last_day_evening - datetime.timedelta(days=1), tick=False)
    assert visit_uid(visit) not in parsed(fetch(client, secret).content)[0]


def test_a_feeds_queries_do_not_grow_with_its_events(client, ocn_feed, make_participant):
    site, _, secret = ocn_feed
    fetch(client, secret)  # the hourly fetch note written
    with CaptureQueriesContext(connection) as small:
        small_body = fetch(client, secret).content
    today = site.today()
    for n in range(5):
        make_participant(site=site, subject_id=f"SLE-001-101-9{n:02d}", consent_date=today)
    with CaptureQueriesContext(connection) as large:
        large_body = fetch(client, secret).content
    assert large_body.count(b"BEGIN:VEVENT") > small_body.count(b"BEGIN:VEVENT") + 4
    assert len(large) == len(small) <= 3


def test_an_unchanged_feed_is_a_304_to_its_etag(client, ocn_feed):
    _, _, secret = ocn_feed
    etag = fetch(client, secret)["ETag"]
    assert client.get(feed_url(secret), headers={"if-none-match": etag}).status_code == 304


def test_a_feeds_secret_never_reaches_a_log_line(client, ocn_feed):
    import logging

    _, feed, secret = ocn_feed
    revoke_feed(feed, by=user("coordinator-ocn"))
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        client.get(feed_url(secret))  # a 404: Django logs "Not Found: <path>"
    finally:
        logger.removeHandler(handler)
    assert records
    for record in records:
        assert secret not in record.getMessage()
        assert "/feeds/[token].ics" in record.getMessage()


def test_the_feed_is_in_english_whatever_the_client_asks(client, demo_data):
    ber = Site.objects.get(code="BER")
    _, secret = create_feed(ber, label="BER team", by=user("coordinator-ber"))
    body = client.get(feed_url(secret), headers={"accept-language": "de"}).content.decode()
    assert "Confirmation: " in body
    assert "Unbestätigt" not in body and "Bestätigt" not in body


def test_revoking_feeds_in_the_admin_asks_why_and_keeps_it(client, ocn_feed):
    """The list's "Revoke" action first shows the feeds and asks why (nothing is revoked
    without a reason); then it revokes them all, the reason in each feed's history, or none:
    a coordinator who selected another site's feed (by a forged id) revokes nothing."""
    site, feed, secret = ocn_feed
    other, _ = create_feed(site, label="Front desk", by=user("coordinator-ocn"))
    ber_feed, ber_secret = create_feed(
        Site.objects.get(code="BER"), label="BER team", by=user("coordinator-ber")
    )
    changelist = reverse("admin:scheduling_calendarfeed_changelist")
    client.force_login(user("coordinator-ocn"))
    chosen = {"action": "revoke", "_selected_action": [feed.pk, other.pk]}

    page = client.post(changelist, chosen)
    assert page.status_code == 200
    body = page.content.decode()
    assert "OCN team" in body and "Front desk" in body and 'name="reason"' in body
    assert CalendarFeed.objects.filter(revoked_at__isnull=False).count() == 0

    blank = client.post(changelist, {**chosen, "apply": "1", "reason": "   "})
    assert "This field is required." in blank.content.decode()
    assert CalendarFeed.objects.filter(revoked_at__isnull=False).count() == 0

    done = client.post(changelist, {**chosen, "apply": "1", "reason": "laptop lost"}, follow=True)
    assert "2 calendar feeds revoked" in " ".join(str(m) for m in done.context["messages"])
    for revoked in (feed, other):
        revoked.refresh_from_db()
        assert revoked.revoked_by == user("coordinator-ocn")
        assert revoked.history.latest().history_change_reason == "laptop lost"
    assert client.get(feed_url(secret)).status_code == 404

    # Another site's feed among the chosen (an id forged into the form) is not in the list
    # the action gets: the BER feed stays active, and its URL answers.
    forged = {"action": "revoke", "_selected_action": [ber_feed.pk], "apply": "1", "reason": "x"}
    client.post(changelist, forged)
    ber_feed.refresh_from_db()
    assert ber_feed.revoked_at is None
    assert client.get(feed_url(ber_secret)).status_code == 200
