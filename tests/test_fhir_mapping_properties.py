"""The FHIR export's pure mappings (docs/fhir.md#statuses, #times): every lifecycle status,
visit status and confirmation maps to a code of the R4B value set; an appointment's start is
before its end, on its day in the site's zone, and validates as an R4B Appointment."""

import datetime
import zoneinfo

from fhir.resources.R4B.appointment import Appointment
from hypothesis import given
from hypothesis import strategies as st

from participants.models import Status
from scheduling.exports.fhir import statuses, timing
from scheduling.models import Confirmation, VisitStatus

ZONES = ["America/Los_Angeles", "Europe/Berlin", "UTC", "Australia/Lord_Howe", "Asia/Kathmandu"]
days = st.dates(datetime.date(2000, 1, 1), datetime.date(2099, 12, 31))
times = st.none() | st.times()
zones = st.sampled_from(ZONES).map(zoneinfo.ZoneInfo)


@given(st.sampled_from(Status.values))
def test_every_lifecycle_status_maps_to_a_research_subject_status(status):
    assert statuses.research_subject_status(status) in statuses.RESEARCH_SUBJECT_STATUSES


def test_the_lifecycle_table_covers_exactly_the_statuses():
    assert set(statuses.RESEARCH_SUBJECT_STATUS) == set(Status.values)


@given(
    st.sampled_from(VisitStatus.values),
    st.booleans(),
    st.sampled_from(Confirmation.values),
    st.booleans(),
)
def test_every_visit_maps_to_an_appointment_status_and_participation(
    visit_status, booked, confirmation, no_show
):
    status = statuses.appointment_status(visit_status, booked, confirmation, no_show)
    assert status in statuses.APPOINTMENT_STATUSES
    assert statuses.participation_status(visit_status, confirmation) in (
        statuses.PARTICIPATION_STATUSES
    )
    if visit_status != VisitStatus.SCHEDULED:
        assert status == statuses.ENDED_VISIT_STATUS[visit_status]
    elif no_show:
        assert status == "noshow"


def test_the_worked_example_of_the_tables():
    assert statuses.appointment_status("completed", True, "confirmed", False) == "fulfilled"
    assert statuses.appointment_status("not_applicable", False, "unconfirmed", False) == (
        "cancelled"
    )
    assert statuses.appointment_status("scheduled", True, "unconfirmed", False) == "pending"
    assert statuses.appointment_status("scheduled", False, "unconfirmed", False) == "proposed"
    assert statuses.appointment_status("scheduled", True, "confirmed", True) == "noshow"
    assert statuses.research_subject_status("treatment") == "on-study-intervention"
    assert statuses.research_subject_status("screen_failed") == "ineligible"


@given(days, times, zones)
def test_an_appointment_starts_before_it_ends_on_its_day_at_the_site(day, booked, zone):
    start, end = timing.appointment_period(day, booked, zone)
    first = datetime.datetime.fromisoformat(start)
    last = datetime.datetime.fromisoformat(end)
    assert first < last
    assert first.astimezone(zone).date() == day
    if booked is None:
        assert first.astimezone(zone).time() <= datetime.time(1)
        assert last.astimezone(zone).date() == day + datetime.timedelta(days=1)
        assert datetime.timedelta(hours=22) <= last - first <= datetime.timedelta(hours=26)
    else:
        assert last - first == timing.BOOKED_LENGTH


@given(days, times, zones, st.sampled_from(sorted(statuses.APPOINTMENT_STATUSES)))
def test_an_appointments_times_validate_as_r4b_instants(day, booked, zone, status):
    start, end = timing.appointment_period(day, booked, zone)
    Appointment.model_validate(
        {
            "resourceType": "Appointment",
            "status": status,
            "start": start,
            "end": end,
            "participant": [{"actor": {"reference": "urn:uuid:x"}, "status": "accepted"}],
        }
    )


def test_the_worked_example_of_a_booked_time_across_the_clock_change():
    la = zoneinfo.ZoneInfo("America/Los_Angeles")
    assert timing.appointment_period(datetime.date(2026, 12, 10), datetime.time(9, 30), la) == (
        "2026-12-10T09:30:00-08:00",
        "2026-12-10T10:30:00-08:00",
    )
    assert timing.appointment_period(datetime.date(2026, 11, 1), None, la) == (
        "2026-11-01T00:00:00-07:00",
        "2026-11-02T00:00:00-08:00",
    )


@given(
    st.integers(0, 400), st.sampled_from(["days", "weeks"]), st.integers(0, 60), st.integers(0, 60)
)
def test_the_soa_range_holds_the_planned_offset_in_days(offset, unit, before, after):
    window = timing.offset_range(offset, unit, before, after)
    planned = offset * timing.DAYS_IN[unit]
    assert window["low"]["value"] == planned - before <= planned <= window["high"]["value"]
    assert timing.offset_range(offset, "months", before, after) is None
