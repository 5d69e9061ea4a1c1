"""The participants' answers in the staff workspace (issue 12, "What staff see"), through
Django's test client on PostgreSQL: each open visit's confirmation and the staff form that
sets it, the no-show flag and the list's no-show filter, the contact log and its
lost-to-follow-up suggestion, the preferred and default languages, the export's
confirmation and no-show columns, and the participant page's query count.

The clock stands at noon on Wednesday 11 February 2026 in Oceanside. A participant who
consented on 5 January has Leukapheresis (LEUK) planned on 9 February, window 2 to 16
February: its day has passed and its window is open, a no-show.
"""

import csv
import datetime
import re
from html import unescape
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from participants.contact_log import record_contact_attempt
from participants.lifecycle import record_transition
from participants.models import ContactAttempt, Participant, Site, Status
from scheduling.models import Confirmation, LinkAction, Reminder, Visit
from scheduling.replies.answers import answer_by_link, link_token, set_confirmation
from scheduling.timeline.selectors import SCHEDULE_COLUMNS, schedule_rows
from scheduling.timeline.visits import add_unscheduled_visit, record_visit
from tests.forms import form_data

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
D = datetime.date
NOW = datetime.datetime(2026, 2, 11, 20, 0, tzinfo=UTC)  # 12:00 PST in Oceanside
CONSENT = D(2026, 1, 5)  # LEUK on Mon 2026-02-09, window to 2026-02-16: a no-show now
LATER_CONSENT = D(2026, 1, 19)  # LEUK on 2026-02-23: ahead
SUBJECT = "SLE-001-101-090"  # clear of make_participant's own numbers
LIST_URL = "admin:participants_participant_changelist"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def participant(clock, make_participant):
    return make_participant(consent_date=CONSENT, subject_id=SUBJECT)


def signed_in(client, staff, username):
    client.force_login(staff[username])
    return client


def page_url(participant) -> str:
    return reverse("admin:participants_participant_change", args=[participant.pk])


def confirmation_url(visit) -> str:
    return reverse("admin:participant_visit_confirmation", args=[visit.participant_id, visit.pk])


def contact_url(participant) -> str:
    return reverse("admin:participant_contact_attempt", args=[participant.pk])


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def visit_row(html: str, code: str) -> str:
    match = re.search(rf'<tr class="visit-row[^"]*" data-visit="{code}">.*?</tr>', html, re.S)
    assert match, f"no row for {code}"
    return match.group(0)


def section(html: str, name: str) -> str:
    match = re.search(rf'<section id="{name}".*?</section>', html, re.S)
    assert match, f"no section {name}"
    return match.group(0)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def leukapheresis(participant) -> Visit:
    return participant.visits.get(code="LEUK")


# Confirmation: shown per open visit, set by staff for a participant who phoned.


def test_a_coordinator_records_that_a_participant_phoned_to_confirm(participant, client, staff):
    coordinator = signed_in(client, staff, "coordinator-ocn")
    visit = leukapheresis(participant)
    assert "unconfirmed" in text_of(visit_row(coordinator.get(page_url(participant)).text, "LEUK"))
    response = coordinator.post(
        confirmation_url(visit),
        {"state": "confirmed", "message": "", "note": "phoned the front desk"},
        follow=True,
    )
    assert messages_of(response) == ["LEUK: confirmed (by staff)."]
    visit.refresh_from_db()
    assert (visit.confirmation, visit.confirmation_at, visit.confirmation_via) == (
        Confirmation.CONFIRMED,
        NOW,
        "staff",
    )
    record = visit.history.latest()
    assert record.history_user == staff["coordinator-ocn"]
    assert record.history_change_reason == "Confirmed (staff: phoned the front desk)"
    row = text_of(visit_row(response.text, "LEUK"))
    assert "confirmed 2026-02-11 12:00 PST, via staff" in row


def test_another_date_requested_by_phone_keeps_what_they_said_and_can_be_undone(
    participant, client, staff
):
    coordinator = signed_in(client, staff, "coordinator-ocn")
    visit = leukapheresis(participant)
    response = coordinator.post(
        confirmation_url(visit),
        {"state": "reschedule_requested", "message": "Away until the 14th", "note": ""},
        follow=True,
    )
    assert messages_of(response) == ["LEUK: another date requested (by staff)."]
    visit.refresh_from_db()
    assert (visit.confirmation, visit.reschedule_message) == (
        Confirmation.RESCHEDULE_REQUESTED,
        "Away until the 14th",
    )
    row = visit_row(response.text, "LEUK")
    assert '<q class="reschedule-message">Away until the 14th</q>' in row
    assert "reschedule requested 2026-02-11 12:00 PST, via staff" in text_of(row)

    again = coordinator.post(
        confirmation_url(visit), {"state": "reschedule_requested", "message": "Away until the 14th"}
    )
    assert messages_of(coordinator.get(again.url)) == ["LEUK is already reschedule requested."]
    back = coordinator.post(
        confirmation_url(visit),
        {"state": "unconfirmed", "message": "they will call back", "note": "wrong visit"},
        follow=True,
    )
    assert messages_of(back) == ["LEUK: back to unconfirmed."]
    visit.refresh_from_db()
    assert (visit.confirmation, visit.confirmation_at, visit.reschedule_message) == (
        Confirmation.UNCONFIRMED,
        None,
        "",
    )
    # What they said, with no request to hold it, goes into the history with the note.
    assert visit.history.latest().history_change_reason == (
        "Unconfirmed (staff: they will call back; wrong visit)"
    )


def test_an_answer_by_reminder_link_shows_when_and_the_participants_message(
    clock, make_participant, client, staff
):
    # A screening visit still ahead: in screening, the infusions get no reminders (issue 20).
    participant = make_participant(consent_date=LATER_CONSENT, subject_id=SUBJECT)
    visit = participant.visits.get(code="LEUK")  # on 2026-02-23: its reminders are ahead
    reminder = Reminder.objects.filter(visit=visit).order_by("due_at").first()
    asked_at = datetime.datetime(2026, 2, 11, 17, 30, tzinfo=UTC)  # 09:30 PST
    answer_by_link(
        link_token(reminder, LinkAction.RESCHEDULE),
        LinkAction.RESCHEDULE,
        message="Can we do Friday?",
        now=asked_at,
    )
    row = visit_row(signed_in(client, staff, "monitor").get(page_url(participant)).text, "LEUK")
    assert "reschedule requested 2026-02-11 09:30 PST, via reminder link" in text_of(row)
    assert "Can we do Friday?" in row


def test_a_done_or_missed_visit_has_no_confirmation_form_and_refuses_one(
    participant, client, staff
):
    record_visit(participant, "LEUK", on=D(2026, 2, 10))
    coordinator = signed_in(client, staff, "coordinator-ocn")
    page = coordinator.get(page_url(participant))
    assert "set-confirmation" not in visit_row(page.text, "LEUK")
    missed = visit_row(page.text, "SCR")  # its window ended on 2026-01-08
    assert "set-confirmation" not in missed and "unconfirmed" not in missed
    assert "set-confirmation" in visit_row(page.text, "INF1")
    # Unconfirmed: the form offers what a participant who phones usually says.
    assert '<option value="confirmed" selected>' in visit_row(page.text, "INF1")
    response = coordinator.post(
        confirmation_url(leukapheresis(participant)), {"state": "confirmed"}, follow=True
    )
    assert messages_of(response) == ["LEUK is not ahead: it was done or cancelled."]
    assert leukapheresis(participant).confirmation == Confirmation.UNCONFIRMED


def test_a_monitor_reads_confirmations_and_the_contact_log_and_changes_neither(
    participant, client, staff
):
    visit = leukapheresis(participant)
    set_confirmation(visit, Confirmation.CONFIRMED, by=staff["coordinator-ocn"])
    record_contact_attempt(
        participant, channel="phone", outcome="reached", note="Coming", by=staff["manager-ocn"]
    )
    monitor = signed_in(client, staff, "monitor")
    page = monitor.get(page_url(participant)).text
    assert "confirmed 2026-02-11 12:00 PST, via staff" in text_of(visit_row(page, "LEUK"))
    assert "Coming" in section(page, "contact-log")
    assert "set-confirmation" not in page
    assert 'id="contact-attempt-form"' not in page
    assert monitor.post(confirmation_url(visit), {"state": "unconfirmed"}).status_code == 403
    assert monitor.get(confirmation_url(visit)).status_code == 403
    posted = monitor.post(contact_url(participant), {"channel": "phone", "outcome": "no_answer"})
    assert posted.status_code == 403
    assert leukapheresis(participant).confirmation == Confirmation.CONFIRMED
    assert participant.contact_attempts.count() == 1


def test_another_sites_coordinator_cannot_reach_the_forms(participant, client, staff):
    berlin = signed_in(client, staff, "coordinator-ber")
    visit = leukapheresis(participant)
    assert berlin.post(confirmation_url(visit), {"state": "confirmed"}).status_code == 404
    posted = berlin.post(contact_url(participant), {"channel": "phone", "outcome": "no_answer"})
    assert posted.status_code == 404
    assert leukapheresis(participant).confirmation == Confirmation.UNCONFIRMED
    assert not ContactAttempt.objects.exists()


def test_a_visit_of_another_participant_is_not_found_under_this_one(
    participant, make_participant, client, staff
):
    other = make_participant(consent_date=CONSENT)
    url = reverse(
        "admin:participant_visit_confirmation",
        args=[participant.pk, leukapheresis(other).pk],
    )
    assert (
        signed_in(client, staff, "coordinator-ocn").post(url, {"state": "confirmed"}).status_code
        == 404
    )
    assert leukapheresis(other).confirmation == Confirmation.UNCONFIRMED


# No-shows: flagged on the page, found by the list's filter.


def test_a_no_show_is_flagged_on_the_page_until_the_window_ends(participant, client, staff):
    coordinator = signed_in(client, staff, "coordinator-ocn")
    row = visit_row(coordinator.get(page_url(participant)).text, "LEUK")
    assert "scheduled no-show" in text_of(row)
    assert "no-show" not in text_of(visit_row(coordinator.get(page_url(participant)).text, "SCR"))
    with time_machine.travel(datetime.datetime(2026, 2, 17, 20, 0, tzinfo=UTC), tick=False):
        row = visit_row(coordinator.get(page_url(participant)).text, "LEUK")
    assert "missed" in text_of(row) and "no-show" not in text_of(row)


def test_the_participant_list_filters_participants_with_a_no_show(
    participant, make_participant, client, staff
):
    ahead = make_participant(consent_date=LATER_CONSENT, subject_id="SLE-001-101-002")
    left = make_participant(consent_date=CONSENT, subject_id="SLE-001-101-003")
    record_transition(left, Status.WITHDRAWN, on=D(2026, 2, 10), reason="Moved away")
    coordinator = signed_in(client, staff, "coordinator-ocn")
    everyone = coordinator.get(reverse(LIST_URL))
    assert 'href="?no_show=yes"' in everyone.text
    response = coordinator.get(reverse(LIST_URL), {"no_show": "yes"})
    assert response.status_code == 200
    listed = [p.subject_id for p in response.context["cl"].result_list]
    assert listed == [participant.subject_id]
    assert ahead.subject_id not in listed and left.subject_id not in listed
    assert coordinator.get(reverse(LIST_URL), {"no_show": "yes", "_facets": "1"}).status_code == 200
    # The filter is offered, so allowed; a lookup no filter offers is still refused.
    assert coordinator.get(reverse(LIST_URL), {"status__startswith": "s"}).status_code == 400


def test_the_no_show_filter_reads_each_sites_own_today(make_participant, site_ber, client, staff):
    from django.contrib.auth import get_user_model

    # 02:00 UTC on 10 February: already the 10th in Berlin, still the 9th in Oceanside.
    with time_machine.travel(datetime.datetime(2026, 2, 10, 2, 0, tzinfo=UTC), tick=False):
        oceanside = make_participant(consent_date=CONSENT, subject_id="SLE-001-101-001")
        berlin = make_participant(consent_date=CONSENT, site=site_ber, subject_id="SLE-001-102-001")
        admin = get_user_model().objects.create_superuser("root", password="x")
        client.force_login(admin)
        response = client.get(reverse(LIST_URL), {"no_show": "yes"})
    listed = [p.subject_id for p in response.context["cl"].result_list]
    assert listed == [berlin.subject_id]
    assert oceanside.subject_id not in listed


# The contact log.


@pytest.mark.parametrize("username", ["coordinator-ocn", "investigator-ocn", "manager-ocn"])
def test_site_staff_add_a_contact_attempt_in_the_sites_time(participant, client, staff, username):
    user = signed_in(client, staff, username)
    response = user.post(
        contact_url(participant),
        {
            "at": "2026-02-11T09:15",
            "channel": "phone",
            "outcome": "left_message",
            "note": "Voicemail",
        },
        follow=True,
    )
    assert messages_of(response) == [
        "Contact attempt recorded: Phone, left message, 2026-02-11 09:15 PST."
    ]
    [attempt] = participant.contact_attempts.all()
    assert (attempt.at, attempt.channel, attempt.outcome, attempt.note, attempt.recorded_by) == (
        datetime.datetime(2026, 2, 11, 17, 15, tzinfo=UTC),
        "phone",
        "left_message",
        "Voicemail",
        staff[username],
    )
    log = text_of(section(response.text, "contact-log"))
    assert f"2026-02-11 09:15 PST Phone Left message Voicemail {username}" in log


def test_the_contact_log_lists_attempts_newest_first(participant, client, staff):
    for hours, channel, outcome in [
        (72, "letter", "no_answer"),
        (1, "sms", "reached"),
        (30, "email", "no_answer"),
    ]:
        record_contact_attempt(
            participant,
            channel=channel,
            outcome=outcome,
            at=NOW - datetime.timedelta(hours=hours),
            by=staff["coordinator-ocn"],
        )
    page = signed_in(client, staff, "coordinator-ocn").get(page_url(participant)).text
    rows = re.findall(r'<tr class="contact-attempt[^"]*">(.*?)</tr>', page, re.S)
    assert [text_of(row).split(" coordinator-ocn")[0] for row in rows] == [
        "2026-02-11 11:00 PST SMS Reached",
        "2026-02-10 06:00 PST Email No answer",
        "2026-02-08 12:00 PST Letter No answer",
    ]


def test_the_contact_form_defaults_to_now_and_refuses_the_future(participant, client, staff):
    coordinator = signed_in(client, staff, "coordinator-ocn")
    form = section(coordinator.get(page_url(participant)).text, "contact-log")
    # ISO 8601 as staff read it everywhere, not a datetime-local input the browser localises.
    assert 'name="at" value="2026-02-11 12:00"' in form
    assert 'type="datetime-local"' not in form
    future = coordinator.post(
        contact_url(participant),
        {"at": "2026-02-11T13:00", "channel": "phone", "outcome": "no_answer"},
        follow=True,
    )
    assert messages_of(future) == ["An attempt cannot be in the future."]
    unknown = coordinator.post(
        contact_url(participant),
        {"at": "", "channel": "pigeon", "outcome": "no_answer"},
        follow=True,
    )
    assert messages_of(unknown) == [
        "Channel: Select a valid choice. pigeon is not one of the available choices."
    ]
    assert not participant.contact_attempts.exists()
    blank = coordinator.post(
        contact_url(participant), {"at": "", "channel": "in_person", "outcome": "reached"}
    )
    assert blank.status_code == 302 and blank.url.endswith("#contact-log")
    assert participant.contact_attempts.get().at == NOW


SUGGESTION = (
    "3 attempts in a row did not reach SLE-001-101-090: consider recording lost to follow-up"
)


@pytest.mark.parametrize(
    ("outcomes", "suggested"),
    [
        (["no_answer", "left_message"], False),  # two: not yet
        (["no_answer", "left_message", "wrong_number"], True),
        (["no_answer", "no_answer", "reached"], False),  # the third reached them
        (["reached", "no_answer", "no_answer", "wrong_number"], True),  # 3 since the last reach
        (["no_answer", "no_answer", "reached", "no_answer", "no_answer"], False),
    ],
)
def test_three_unanswered_attempts_in_a_row_suggest_lost_to_follow_up(
    participant, client, staff, outcomes, suggested
):
    for n, outcome in enumerate(outcomes):  # oldest first
        record_contact_attempt(
            participant,
            channel="phone",
            outcome=outcome,
            at=NOW - datetime.timedelta(days=len(outcomes) - n),
        )
    page = text_of(signed_in(client, staff, "coordinator-ocn").get(page_url(participant)).text)
    assert (SUGGESTION in page) is suggested


def test_the_third_unanswered_attempt_added_on_the_page_suggests_and_records_nothing(
    participant, client, staff
):
    coordinator = signed_in(client, staff, "coordinator-ocn")
    for n, outcome in enumerate(["no_answer", "wrong_number"]):
        record_contact_attempt(
            participant, channel="phone", outcome=outcome, at=NOW - datetime.timedelta(days=2 - n)
        )
    assert SUGGESTION not in text_of(coordinator.get(page_url(participant)).text)
    response = coordinator.post(
        contact_url(participant), {"channel": "email", "outcome": "no_answer"}, follow=True
    )
    assert SUGGESTION in text_of(section(response.text, "contact-log"))
    assert (
        '<a href="?target=lost_to_follow_up#transition">Record lost to follow-up…</a>'
        in response.text
    )
    participant.refresh_from_db()
    assert participant.status == Status.SCREENING  # a suggestion, never a transition
    assert not participant.transitions.filter(to_status=Status.LOST_TO_FOLLOW_UP).exists()
    # The link opens the transition form with lost to follow-up chosen.
    form = coordinator.get(page_url(participant), {"target": "lost_to_follow_up"}).text
    assert '<option value="lost_to_follow_up" selected>' in form


def test_a_participant_who_left_gets_no_suggestion(participant, client, staff):
    record_transition(participant, Status.WITHDRAWN, on=D(2026, 2, 10), reason="Moved away")
    for days in (3, 2, 1):
        record_contact_attempt(
            participant,
            channel="phone",
            outcome="no_answer",
            at=NOW - datetime.timedelta(days=days),
        )
    page = text_of(signed_in(client, staff, "coordinator-ocn").get(page_url(participant)).text)
    assert "did not reach" not in page


# Languages: the participant's preferred one, the site's default.


def test_a_coordinator_sets_a_participants_language_with_a_reason(participant, client, staff):
    coordinator = signed_in(client, staff, "coordinator-ocn")
    page = coordinator.get(page_url(participant))
    assert "in English (the site's default)" in text_of(section(page.text, "reminders"))
    data = {
        "site": participant.site_id,
        "email": participant.email,
        "language": "de",
        "change_reason": "Asked for German on the phone",
        "transitions-TOTAL_FORMS": 0,
        "transitions-INITIAL_FORMS": 0,
    }
    response = coordinator.post(page_url(participant), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    participant.refresh_from_db()
    assert participant.language == "de"
    assert participant.history.latest().history_change_reason == "Asked for German on the phone"
    reminders = text_of(section(coordinator.get(page_url(participant)).text, "reminders"))
    assert "in Deutsch" in reminders and "default" not in reminders


def test_a_new_participant_is_created_with_a_language(clock, protocol, client, staff):
    coordinator = signed_in(client, staff, "coordinator-ocn")
    site = Site.objects.get(code="OCN")
    response = coordinator.post(
        reverse("admin:participants_participant_add"),
        {
            "protocol": protocol.pk,
            "site": site.pk,
            "subject_id": "SLE-001-101-050",
            "email": "p@example.org",
            "language": "es",
            "consent_date": "2026-02-10",
            "transitions-TOTAL_FORMS": 0,
            "transitions-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    assert Participant.objects.get(subject_id="SLE-001-101-050").language == "es"


def test_a_site_manager_sets_the_sites_default_language(clock, site_ocn, client, staff):
    url = reverse("admin:participants_site_change", args=[site_ocn.pk])
    coordinator = signed_in(client, staff, "coordinator-ocn")
    read_only = coordinator.get(url)
    assert 'name="language"' not in read_only.text
    assert "Default language" in text_of(read_only.text) and "English" in text_of(read_only.text)
    assert coordinator.post(url, {**form_data(read_only), "language": "de"}).status_code == 403

    manager = signed_in(client, staff, "manager-ocn")
    page = manager.get(url)
    assert '<select name="language"' in page.text
    response = manager.post(
        url,
        {**form_data(page), "language": "de", "change_reason": "Most participants speak German"},
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    site_ocn.refresh_from_db()
    assert site_ocn.language == "de"


# The export: confirmation and no-show columns.


def test_the_export_writes_confirmation_and_no_show_on_each_sites_today(
    make_participant, site_ber, staff, django_assert_num_queries
):
    # 02:00 UTC on 10 February: already the 10th in Berlin, still the 9th in Oceanside.
    with time_machine.travel(datetime.datetime(2026, 2, 10, 2, 0, tzinfo=UTC), tick=False):
        oceanside = make_participant(consent_date=CONSENT, subject_id="SLE-001-101-001")
        berlin = make_participant(consent_date=CONSENT, site=site_ber, subject_id="SLE-001-102-001")
        set_confirmation(leukapheresis(oceanside), Confirmation.CONFIRMED)
        set_confirmation(
            oceanside.visits.get(code="INF1"), Confirmation.RESCHEDULE_REQUESTED, message="later"
        )
        out = StringIO()
        call_command("export_schedule", stdout=out)
        with django_assert_num_queries(1):
            schedule_rows()
    rows = list(csv.reader(StringIO(out.getvalue())))
    assert rows[0] == list(SCHEDULE_COLUMNS)
    # The deviation column follows them (issue 20), then the appointment time's zones (23).
    at = rows[0].index("confirmation")
    assert rows[0][at : at + 3] == ["confirmation", "no_show", "deviation"]
    by_visit = {(row[0], row[3]): row[at : at + 2] for row in rows[1:]}
    assert by_visit[(oceanside.subject_id, "LEUK")] == ["confirmed", ""]  # the 9th: today
    assert by_visit[(oceanside.subject_id, "INF1")] == ["reschedule_requested", ""]
    assert by_visit[(berlin.subject_id, "LEUK")] == ["unconfirmed", "yes"]  # the 10th
    assert by_visit[(berlin.subject_id, "SCR")] == ["unconfirmed", ""]  # missed
    assert {row[at + 1] for row in rows[1:]} == {"", "yes"}


# The page's queries do not grow with its contact attempts or visits.


def test_the_participant_page_takes_no_more_queries_for_many_attempts_and_visits(
    participant, make_participant, client, staff, django_assert_max_num_queries
):
    few = participant
    many = make_participant(consent_date=CONSENT)
    for day in range(6, 11):
        add_unscheduled_visit(many, on=D(2026, 2, day), reason="Flare")
    for day in range(20, 25):
        add_unscheduled_visit(many, on=D(2026, 2, day), reason="Check", happened=False)
    recorders = [staff[name] for name in ("coordinator-ocn", "investigator-ocn", "manager-ocn")]
    for n in range(30):
        record_contact_attempt(
            many,
            channel="phone",
            outcome="no_answer" if n % 4 else "reached",
            note=f"try {n}",
            at=NOW - datetime.timedelta(hours=n + 1),
            by=recorders[n % 3],
        )
    set_confirmation(leukapheresis(many), Confirmation.CONFIRMED, by=recorders[0])
    set_confirmation(
        many.visits.get(code="INF1"), Confirmation.RESCHEDULE_REQUESTED, message="Not that week"
    )
    coordinator = signed_in(client, staff, "coordinator-ocn")
    coordinator.get(page_url(few))  # warm caches (content types) shared by both
    # 26: one of them judges what this unverified session owes for two-factor sign-in, on
    # every admin page (security issue 21 item 1); one reads the version the participant
    # follows and its take-ups (issue 24).
    with django_assert_max_num_queries(26):
        coordinator.get(page_url(few))
    with django_assert_max_num_queries(26):
        response = coordinator.get(page_url(many))
    assert response.text.count('<tr class="contact-attempt') == 30
    # A form for each visit still ahead: not done, not missed (SCR's window has ended).
    ahead = many.visits.filter(actual_date__isnull=True, cancelled=False).exclude(
        window_end__lt=D(2026, 2, 11)
    )
    assert response.text.count('class="set-confirmation"') == ahead.count() == 18
