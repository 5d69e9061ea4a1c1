"""The command line of the clinic calendar (issue 11): import_sites' open days and holidays,
close_site, book_visit, and the appointment columns of export_schedule. Same contract as
tests/test_commands.py: one plain line (or FILE:LINE: field: message) and exit 1 on bad input,
nothing half-saved.

OCN here is open Monday to Friday with California's public holidays; the clock is Monday
1 June 2026 in Oceanside. A participant who consented on Friday 29 May has LEUK planned on
Friday 3 July (Independence Day, observed; window 26 June to 10 July), INF1 on Friday 24 July
(no window) and INF2 on Friday 31 July (29 July to 2 August). One who consented on Saturday
30 May has everything planned on Saturdays.
"""

import csv
import datetime
from io import StringIO

import pytest
import time_machine

from participants.models import Resource, Site, SiteCapacity, SiteClosure
from scheduling.models import AppointmentFlag, Reminder, Visit, VisitDefinition
from tests.test_commands import BY, manage, refused, run

# Every test here may run a command that changes data, which names its user with --by.
pytestmark = pytest.mark.usefixtures("clerk")

D = datetime.date
NOW = datetime.datetime(2026, 6, 1, 17, tzinfo=datetime.UTC)  # Oceanside: 10:00, Monday 1 June
SITES_HEADER = "code,name,timezone,coordinator_email"
FRIDAY = "SLE-001-101-001"  # consented on Friday 29 May
SATURDAY = "SLE-001-101-002"  # consented on Saturday 30 May
HOLIDAY_REFUSED = (
    "on: 2026-07-03 is a holiday at OCN: Independence Day (observed). Nearest days with room: "
    "2026-07-02, 2026-07-01, 2026-06-30. Give an override reason to book anyway."
)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def write(tmp_path):
    def write(name: str, *lines: str) -> str:
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def ocn(site_ocn, protocol):
    """OCN open Monday to Friday with US-CA holidays, one apheresis slot a day (LEUK uses it)."""
    site_ocn.open_days = "12345"
    site_ocn.holiday_country, site_ocn.holiday_subdivision = "US", "CA"
    site_ocn.save()
    apheresis, _ = Resource.objects.get_or_create(
        name="apheresis", defaults={"plural": "apheresis slots"}
    )
    VisitDefinition.objects.filter(protocol=protocol, code="LEUK").update(resource=apheresis)
    SiteCapacity.objects.create(site=site_ocn, resource=apheresis, per_day=1)
    return site_ocn


@pytest.fixture
def friday(ocn, make_participant):
    return make_participant(subject_id=FRIDAY, consent_date=D(2026, 5, 29))


@pytest.fixture
def saturday(ocn, make_participant):
    return make_participant(subject_id=SATURDAY, consent_date=D(2026, 5, 30))


def visit(subject_id: str, code: str) -> Visit:
    return Visit.objects.get(participant__subject_id=subject_id, code=code)


def appointment(subject_id: str, code: str) -> tuple:
    found = visit(subject_id, code)
    return (found.appointment_date, found.appointment_source, found.appointment_note)


# import_sites: open_days and holidays


@pytest.mark.django_db
def test_import_sites_reads_open_days_and_holiday_calendars(write):
    path = write(
        "sites.csv",
        f"{SITES_HEADER},open_days,holidays",
        "OCN,Oceanside,America/Los_Angeles,ocn@example.org,Mon-Fri,US-CA",
        'BER,Berlin,Europe/Berlin,ber@example.org,"Mon,Tue,Thu",de-be',
        "PAR,Paris,Europe/Paris,par@example.org,Tue-Sat,FR",
        "MUC,Munich,Europe/Berlin,muc@example.org,Sat-Mon,",
    )
    assert run("import_sites", path, *BY) == "4 site(s) read: 4 created, 0 updated, 0 unchanged.\n"
    stored = {
        site.code: (site.open_days, site.holiday_country, site.holiday_subdivision)
        for site in Site.objects.all()
    }
    assert stored == {
        "OCN": ("12345", "US", "CA"),
        "BER": ("124", "DE", "BE"),
        "PAR": ("23456", "FR", ""),
        "MUC": ("167", "", ""),
    }
    assert Site.objects.get(code="BER").open_days_label == "Mon,Tue,Thu"


@pytest.mark.django_db
def test_a_sites_file_without_the_calendar_columns_opens_a_new_site_monday_to_friday(write):
    path = write("sites.csv", SITES_HEADER, "OCN,Oceanside,America/Los_Angeles,ocn@example.org")
    run("import_sites", path, *BY)
    site = Site.objects.get(code="OCN")
    assert (site.open_days, site.holiday_country, site.holiday_subdivision) == ("12345", "", "")


@pytest.mark.django_db
def test_import_sites_reports_bad_open_days_and_holidays_by_line_and_saves_nothing(write, ocn):
    path = write(
        "sites.csv",
        f"{SITES_HEADER},open_days,holidays",
        "OCN,Oceanside,America/Los_Angeles,ocn@example.org,Mon-Sat,",
        "BER,Berlin,Europe/Berlin,ber@example.org,Mon-Funday,DE-BE",
        "PAR,Paris,Europe/Paris,par@example.org,Mon-Fri,XX",
        "SFO,San Francisco,America/Los_Angeles,sfo@example.org,Mon-Fri,US-ZZ",
    )
    [days, country, subdivision] = refused("import_sites", path, *BY)
    assert days == (
        f"{path}:3: open_days: “Mon-Funday” is not a list of weekdays: “Funday” is not one of "
        "Mon, Tue, Wed, Thu, Fri, Sat, Sun (write e.g. Mon-Fri, Mon,Tue,Thu or Tue-Sat)."
    )
    assert country == (
        f"{path}:4: holidays: “XX” is not a country of the holidays package (ISO 3166 codes "
        "such as US, DE, FR, GB)."
    )
    assert subdivision.startswith(f"{path}:5: holidays: “ZZ” is not a subdivision of US (AK, ")
    assert list(Site.objects.values_list("code", "open_days", "holiday_country")) == [
        ("OCN", "12345", "US")
    ]


# Committed, for the process to see the user --by names: the file's rows are checked after it.
@pytest.mark.django_db(transaction=True)
def test_bad_open_days_exit_1_with_file_line_field_and_no_traceback(write):
    path = write(
        "sites.csv",
        f"{SITES_HEADER},open_days,holidays",
        "OCN,Oceanside,America/Los_Angeles,ocn@example.org,Mon-Funday,US-CA",
        "BER,Berlin,Europe/Berlin,ber@example.org,Mon-Fri,XX",
    )
    result = manage("import_sites", path, *BY)
    assert (result.returncode, result.stdout) == (1, "")
    assert [line.split(": ")[:2] for line in result.stderr.splitlines()] == [
        [f"{path}:2", "open_days"],
        [f"{path}:3", "holidays"],
    ]
    assert "Traceback" not in result.stderr
    assert not Site.objects.exists()


@pytest.mark.django_db
def test_changing_a_sites_open_days_and_holidays_moves_the_proposals_of_its_participants(
    write, site_ocn, make_participant
):
    # The factory's OCN is open every day, with no holiday calendar.
    make_participant(subject_id=FRIDAY, consent_date=D(2026, 5, 29))
    make_participant(subject_id=SATURDAY, consent_date=D(2026, 5, 30))
    assert appointment(FRIDAY, "LEUK") == (D(2026, 7, 3), "proposed", "")
    assert appointment(SATURDAY, "SCR") == (D(2026, 5, 30), "proposed", "")
    path = write(
        "sites.csv",
        f"{SITES_HEADER},open_days,holidays",
        "OCN,Oceanside,America/Los_Angeles,coordinator-ocn@example.org,Mon-Fri,US-CA",
    )
    assert "1 updated" in run("import_sites", path, *BY)
    assert appointment(FRIDAY, "LEUK") == (
        D(2026, 7, 2),
        "proposed",
        "moved off a holiday: Independence Day (observed)",
    )
    assert appointment(SATURDAY, "SCR") == (D(2026, 6, 1), "proposed", "moved off a Saturday")
    # Its reminders follow the appointment in the same import.
    pending = Reminder.objects.filter(visit=visit(FRIDAY, "LEUK"), status="pending")
    assert set(pending.values_list("planned_date", flat=True)) == {D(2026, 7, 2)}


# book_visit


@pytest.mark.django_db
def test_booking_a_holiday_is_refused_with_the_holidays_name(friday):
    assert refused("book_visit", FRIDAY, "LEUK", "--on", "2026-07-03", *BY) == [HOLIDAY_REFUSED]
    assert visit(FRIDAY, "LEUK").booked_date is None


@pytest.mark.django_db
def test_an_override_reason_books_a_holiday(friday):
    output = run(
        "book_visit", FRIDAY, "LEUK", "--on", "2026-07-03", "--at", "09:30",
        "--override-reason", "the apheresis team comes in that day",
        *BY,
    )  # fmt: skip
    assert output == (
        f"{FRIDAY} LEUK: booked on 2026-07-03 at 09:30 "
        "(override: holiday: Independence Day (observed)).\n"
    )
    booked = visit(FRIDAY, "LEUK")
    assert (booked.booked_date, booked.booked_time, booked.appointment_flag) == (
        D(2026, 7, 3),
        datetime.time(9, 30),
        "",
    )
    assert booked.booking_override == "the apheresis team comes in that day"
    assert booked.history.first().history_change_reason == (
        "Booked on 2026-07-03 at 09:30 (command line); override of: 2026-07-03 is a holiday at "
        "OCN: Independence Day (observed); reason: the apheresis team comes in that day"
    )


@pytest.mark.django_db
def test_booking_on_an_open_day_of_the_window_needs_no_reason(friday):
    output = run("book_visit", FRIDAY, "LEUK", "--on", "2026-07-06", *BY)
    assert output == f"{FRIDAY} LEUK: booked on 2026-07-06 (planned 2026-07-03).\n"
    assert appointment(FRIDAY, "LEUK") == (D(2026, 7, 6), "booked", "")


@pytest.mark.django_db
def test_booking_outside_the_window_with_an_override_is_a_planned_deviation(friday):
    [line] = refused("book_visit", FRIDAY, "LEUK", "--on", "2026-07-13", *BY)
    assert line.startswith(
        "on: 2026-07-13 is outside the window of LEUK (2026-06-26 to 2026-07-10). "
    )
    output = run(
        "book_visit", FRIDAY, "LEUK", "--on", "2026-07-13", "--override-reason", "on holiday", *BY
    )
    assert output == (
        f"{FRIDAY} LEUK: booked on 2026-07-13 (planned 2026-07-03; planned deviation: outside "
        "window).\n"
    )
    assert visit(FRIDAY, "LEUK").appointment_flag == AppointmentFlag.PLANNED_DEVIATION


@pytest.mark.django_db
def test_a_day_whose_resource_is_full_is_refused(friday, saturday):
    run("book_visit", FRIDAY, "LEUK", "--on", "2026-07-06", *BY)
    assert refused("book_visit", SATURDAY, "LEUK", "--on", "2026-07-06", *BY) == [
        "on: 2026-07-06 is full at OCN: 1 of 1 apheresis booked. Nearest days with room: "
        "2026-07-02, 2026-07-01, 2026-07-07. Give an override reason to book anyway."
    ]
    assert visit(SATURDAY, "LEUK").booked_date is None


@pytest.mark.django_db
def test_clear_goes_back_to_the_proposal(friday):
    run("book_visit", FRIDAY, "LEUK", "--on", "2026-07-06", "--at", "14:00", *BY)
    output = run("book_visit", FRIDAY, "LEUK", "--clear", *BY)
    assert output == (
        f"{FRIDAY} LEUK: booking cleared; proposed on 2026-07-02 (planned 2026-07-03; "
        "moved off a holiday: Independence Day (observed)).\n"
    )
    cleared = visit(FRIDAY, "LEUK")
    assert (cleared.booked_date, cleared.booked_time) == (None, None)
    assert appointment(FRIDAY, "LEUK") == (
        D(2026, 7, 2),
        "proposed",
        "moved off a holiday: Independence Day (observed)",
    )
    output = run("book_visit", FRIDAY, "LEUK", "--clear", *BY)
    assert output.startswith(f"{FRIDAY} LEUK: not booked;")


@pytest.mark.django_db
@pytest.mark.parametrize("at", ["00:00", "23:59"])
def test_a_time_is_any_hh_mm_of_the_day(friday, at):
    output = run("book_visit", FRIDAY, "INF1", "--on", "2026-07-24", "--at", at, *BY)
    assert output == f"{FRIDAY} INF1: booked on 2026-07-24 at {at}.\n"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "line"),
    [
        ([FRIDAY, "LEUK", "--on", "2026-07-06", "--at", value],
         f"at: “{value}” is not a time (HH:MM, 00:00 to 23:59).")
        for value in ("9:30", "09:30:00", "24:00", "12:60", "0930", "٠٩:٣٠", "")
    ]
    + [
        ([FRIDAY, "LEUK", "--on", "6 July"], "on: “6 July” is not a date (YYYY-MM-DD)."),
        ([FRIDAY, "LEUK", "--on", "2026-W28-1"],
         "on: “2026-W28-1” is not a date (YYYY-MM-DD)."),
        (["SLE-001-999-999", "LEUK", "--on", "2026-07-06"],
         "subject_id: there is no participant SLE-001-999-999."),
        ([FRIDAY, "INF9", "--on", "2026-07-06"],
         f"visit_code: {FRIDAY} has no visit INF9 (visits: SCR, LEUK, INF1, INF2, INF3, INF4, "
         "INF5, INF6, EOT, FU1, FU3, FU6, FU9, FU12)."),
        ([FRIDAY, "UNS", "--on", "2026-07-06"],
         "visit_code: an unscheduled visit (UNS) keeps its own day; it is not booked here."),
        ([FRIDAY, "LEUK", "--on", "2026-05-29"],
         "on: 2026-05-29 is in the past at OCN (today is 2026-06-01)."),
        ([FRIDAY, "LEUK", "--on", "2031-06-02"],
         "on: 2031-06-02 is more than 5 years ahead (the latest date that can be booked today "
         "is 2031-06-01)."),
        ([FRIDAY, "LEUK"], "one of the arguments --on --clear is required"),
        ([FRIDAY, "LEUK", "--on", "2026-07-06", "--clear"],
         "argument --clear: not allowed with argument --on"),
        ([FRIDAY, "LEUK", "--clear", "--at", "09:30"],
         "--at and --override-reason book a day with --on, not --clear."),
        ([FRIDAY, "LEUK", "--on", "2026-07-03", "--override-reason", "a\x00b"],
         "override_reason: Must be printable text; this contains a NUL byte (U+0000)."),
    ],
)  # fmt: skip
def test_book_visit_refuses_bad_input_in_one_plain_line(friday, args, line):
    assert refused("book_visit", *args, *BY) == [line]
    assert not Visit.objects.filter(booked_date__isnull=False).exists()


@pytest.mark.django_db
def test_a_visit_already_done_is_not_booked(friday):
    from scheduling.timeline.visits import record_visit

    record_visit(friday, "SCR", on=D(2026, 5, 29))
    assert refused("book_visit", FRIDAY, "SCR", "--on", "2026-06-02", *BY) == [
        "visit_code: SCR was done on 2026-05-29."
    ]


@pytest.mark.django_db
def test_book_visit_exits_1_with_one_plain_line_and_no_traceback(friday):
    result = manage("book_visit", FRIDAY, "LEUK", "--on", "2026-07-06", "--at", "25:00", *BY)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "at: “25:00” is not a time (HH:MM, 00:00 to 23:59).\n"


# close_site


@pytest.mark.django_db
def test_close_site_moves_proposals_and_flags_a_booking_on_that_day_to_rebook(friday, saturday):
    run("book_visit", SATURDAY, "LEUK", "--on", "2026-07-02", *BY)
    assert appointment(FRIDAY, "LEUK")[0] == D(2026, 7, 2)  # proposed, off the holiday
    output = run("close_site", "OCN", "--from", "2026-07-02", "--reason", "inspection", *BY)
    assert output == (
        "OCN closed 2026-07-02 to 2026-07-02: inspection; 1 appointment(s) moved, "
        "1 booking(s) to rebook.\n"
    )
    assert appointment(FRIDAY, "LEUK") == (
        D(2026, 7, 1),
        "proposed",
        "moved off a holiday: Independence Day (observed)",
    )
    booked = visit(SATURDAY, "LEUK")
    assert (booked.appointment_date, booked.appointment_flag, booked.appointment_note) == (
        D(2026, 7, 2),
        AppointmentFlag.REBOOK,
        "rebook: closed: inspection",
    )
    closure = SiteClosure.objects.get()
    assert (closure.start, closure.end, closure.reason) == (
        D(2026, 7, 2),
        D(2026, 7, 2),
        "inspection",
    )
    assert closure.history.first().history_change_reason == "Closure added (command line)"


@pytest.mark.django_db
def test_a_closure_over_a_whole_window_leaves_visits_with_no_open_day(friday):
    output = run(
        "close_site", "OCN", "--from", "2026-07-20", "--to", "2026-07-31", "--reason", "works", *BY
    )
    assert output == (
        "OCN closed 2026-07-20 to 2026-07-31: works; 0 appointment(s) moved, "
        "0 booking(s) to rebook, 2 with no open day in window.\n"
    )
    assert [appointment(FRIDAY, code) for code in ("INF1", "INF2")] == [
        (D(2026, 7, 24), "proposed", "no open day in window"),
        (D(2026, 7, 31), "proposed", "no open day in window"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["NOPE", "--from", "2026-07-02", "--reason", "inspection"],
         "site: there is no site NOPE."),
        (["OCN", "--from", "2 July", "--reason", "inspection"],
         "from: “2 July” is not a date (YYYY-MM-DD)."),
        (["OCN", "--from", "2026-07-02", "--to", "20260703", "--reason", "inspection"],
         "to: “20260703” is not a date (YYYY-MM-DD)."),
        (["OCN", "--from", "2026-07-02", "--to", "2026-07-01", "--reason", "inspection"],
         "to: A closure ends on or after the day it starts."),
        (["OCN", "--from", "1989-12-31", "--reason", "inspection"],
         "from: Ensure this value is greater than or equal to 1990-01-01."),
        (["OCN", "--from", "2031-06-02", "--reason", "inspection"],
         "from: 2031-06-02 is more than 5 years ahead (the latest date that can be booked today "
         "is 2031-06-01)."),
        (["OCN", "--from", "2026-07-02", "--to", "2031-06-02", "--reason", "inspection"],
         "to: 2031-06-02 is more than 5 years ahead (the latest date that can be booked today "
         "is 2031-06-01)."),
        (["OCN", "--from", "2026-07-02", "--reason", "  "], "reason: This field cannot be blank."),
        (["OCN", "--from", "2026-07-02"], "the following arguments are required: --reason"),
    ],
)  # fmt: skip
def test_close_site_refuses_bad_input_in_one_plain_line_and_saves_nothing(ocn, args, line):
    assert refused("close_site", *args, *BY) == [line]
    assert not SiteClosure.objects.exists()


@pytest.mark.django_db
def test_close_site_exits_1_with_one_plain_line_and_no_traceback(ocn):
    result = manage("close_site", "NOPE", "--from", "2026-07-02", "--reason", "inspection", *BY)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        "site: there is no site NOPE.\n",
    )


# export_schedule


@pytest.mark.django_db
def test_export_schedule_writes_each_visits_appointment(friday, saturday):
    run("book_visit", SATURDAY, "INF2", "--on", "2026-07-31", *BY)
    run("book_visit", FRIDAY, "INF3", "--on", "2026-08-06", "--at", "09:30", *BY)
    run("close_site", "OCN", "--from", "2026-07-31", "--reason", "inspection", *BY)
    rows = list(csv.reader(StringIO(run("export_schedule", "--site", "OCN"))))
    assert rows[0][11:15] == [
        "appointment_date",
        "appointment_time",
        "appointment_source",
        "appointment_note",
    ]
    by_visit = {(row[0], row[3]): row[5] + " " + "|".join(row[11:15]) for row in rows[1:]}
    assert by_visit[(FRIDAY, "INF1")] == "2026-07-24 2026-07-24||proposed|"
    assert by_visit[(FRIDAY, "LEUK")] == (
        "2026-07-03 2026-07-02||proposed|moved off a holiday: Independence Day (observed)"
    )
    assert (
        by_visit[(FRIDAY, "INF2")]
        == "2026-07-31 2026-07-30||proposed|moved off a closure: inspection"
    )
    assert by_visit[(FRIDAY, "INF3")] == "2026-08-07 2026-08-06|09:30|booked|"
    assert by_visit[(SATURDAY, "SCR")] == "2026-05-30 2026-06-01||proposed|moved off a Saturday"
    assert by_visit[(SATURDAY, "INF1")] == ("2026-07-25 2026-07-25||proposed|no open day in window")
    assert by_visit[(SATURDAY, "INF2")] == (
        "2026-08-01 2026-07-31||booked|rebook: closed: inspection"
    )


@pytest.mark.django_db
def test_an_appointment_note_a_spreadsheet_would_run_is_exported_as_text(friday):
    run("close_site", "OCN", "--from", "2026-07-31", "--reason", "=1+1", *BY)
    rows = {row[3]: row for row in csv.reader(StringIO(run("export_schedule")))}
    assert rows["INF2"][14] == "moved off a closure: =1+1"  # starts with text: not a formula
    Visit.objects.filter(code="INF2").update(appointment_note="=HYPERLINK(1)")
    rows = {row[3]: row for row in csv.reader(StringIO(run("export_schedule")))}
    assert rows["INF2"][14] == "'=HYPERLINK(1)"
