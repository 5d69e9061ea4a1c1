"""How many queries a schedule rebuild, a booking and the day picker take (issue 22, item 3:
the shell reads everything once, the pure rules decide, the difference is written once).

The counts are pinned: a change that adds a round trip to one of these paths shows here. Each
is also the same whatever the number of visits, reminders and other bookings involved.

Before issue 22, on these very cases, a booking took 25 queries, a rebuild 12, the day picker
10 to show and 20 to refuse a day: one booking built the site's clinic calendar up to three
times, read the participant again after locking its visit, read the day's bookings twice and
refreshed the visit the rebuild had just written; a refusal built the calendar once more for
its suggestions.
"""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling.timeline.appointments import book_appointment
from scheduling.timeline.schedules import rebuild_schedule
from tests import test_admin_appointments as picker
from tests.test_admin_appointments import CONSENT, NOW, as_user, picker_url, visit_of

pytestmark = pytest.mark.django_db

D = datetime.date

# The figures of today's code (see the module's docstring for those before issue 22).
# Issue 24: one more each, the version the participant follows (their latest take-up).
REBUILD = 12
BOOKING = 20
PICKER = 10
PICKER_REFUSING = 19


# The day picker's site: OCN open Monday to Friday, one apheresis slot, two infusion chairs.
resources = picker.resources
clinic = picker.clinic


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def queries(action) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


def crowd(make_participant, site, count: int) -> None:
    """``count`` other participants of ``site`` with LEUK booked on 2026-02-10 over its
    capacity of one: every booking of the day is read and placed again."""
    for _ in range(count):
        other = make_participant(consent_date=CONSENT, site=site)
        book_appointment(visit_of(other, "LEUK"), on=D(2026, 2, 10), override_reason="Overflow")


@pytest.mark.parametrize("others", [1, 6])
def test_a_booking_takes_a_fixed_number_of_queries(clock, clinic, make_participant, others):
    crowd(make_participant, clinic, others)
    participant = make_participant(consent_date=CONSENT, site=clinic)
    leukapheresis = visit_of(participant, "LEUK")
    assert queries(lambda: book_appointment(leukapheresis, on=D(2026, 2, 11))) == BOOKING
    # Moving it onto the full day and back (each time the day's other bookings are placed
    # again) takes the same.
    booked = book_appointment(leukapheresis, on=D(2026, 2, 12))
    assert queries(lambda: book_appointment(booked, on=D(2026, 2, 13))) == BOOKING


@pytest.mark.parametrize("others", [1, 6])
def test_a_rebuild_takes_a_fixed_number_of_queries(clock, clinic, make_participant, others):
    crowd(make_participant, clinic, others)
    participant = make_participant(consent_date=CONSENT, site=clinic)
    book_appointment(visit_of(participant, "INF2"), on=D(2026, 3, 10))
    assert queries(lambda: rebuild_schedule(participant)) == REBUILD


@pytest.mark.parametrize("others", [1, 6])
def test_the_day_picker_takes_a_fixed_number_of_queries(
    clock, clinic, make_participant, client, staff, others
):
    crowd(make_participant, clinic, others)
    participant = make_participant(consent_date=CONSENT, site=clinic)
    coordinator = as_user(client, staff, "coordinator-ocn")
    url = picker_url(visit_of(participant, "LEUK"))
    coordinator.get(url)  # sessions, content types and permissions warmed once
    response = None

    def get():
        nonlocal response
        response = coordinator.get(url)

    assert queries(get) == PICKER
    assert response.status_code == 200
    assert f"{others} of 1 apheresis" in response.text  # on 2026-02-10

    def refuse_a_saturday():
        nonlocal response
        response = coordinator.post(url, {"on": "2026-02-07", "at": "", "override_reason": ""})

    assert queries(refuse_a_saturday) == PICKER_REFUSING
    assert response.status_code == 200
    assert "2026-02-07 is a Saturday; OCN is open Mon, Tue, Wed, Thu, Fri" in response.text
    assert not visit_of(participant, "LEUK").booked_date
