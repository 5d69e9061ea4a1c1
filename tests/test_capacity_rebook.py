"""Issue 20, item 6: capacity lowered below the bookings of a day flags those bookings to
rebook, as a day that closed does (their reminders held, listed to decide in the digest and
on the dashboard); capacity raised again, or a booking moving away, un-flags those that fit.

Which bookings: the latest booked. The earliest keep their places up to the capacity
(``clinic_calendar.bookings_over_capacity``): they were promised first.

SLE-001 at OCN, open Monday to Friday. A participant who consents on Monday 5 January 2026
has leukapheresis (LEUK, an apheresis slot) planned on Monday 9 February, window 2 to
16 February; its reminders go 7 and 1 days before the appointment at 09:00 site time.
"""

import datetime
import re

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from participants.capacities import set_capacity
from participants.models import Resource, Site, SiteCapacity
from scheduling.mail.digest import digest_content
from scheduling.models import (
    AppointmentFlag,
    Audience,
    OutboxStatus,
    Reminder,
    ReminderRule,
    SiteDigest,
    Visit,
    VisitDefinition,
)
from scheduling.rules import clinic_calendar as cc
from scheduling.timeline.appointments import book_appointment, clear_booking
from scheduling.workspace import dashboard as workspace
from tests.forms import form_data

D = datetime.date
UTC = datetime.UTC
CONSENT = D(2026, 1, 5)
BOOKED_DAY = D(2026, 2, 10)  # Tuesday, in LEUK's window

# The pure rule.

instants = st.none() | st.datetimes(
    min_value=datetime.datetime(2026, 1, 1),
    max_value=datetime.datetime(2026, 1, 1, 0, 5),  # a narrow span: bookings made together
    timezones=st.just(UTC),
)


@st.composite
def days_bookings(draw):
    keys = draw(st.lists(st.integers(1, 10_000), unique=True, max_size=12))
    return [cc.Booking(key, draw(instants)) for key in keys]


capacities = st.integers(0, 14)


def booked_before(first: cc.Booking, second: cc.Booking) -> bool:
    return first.booking_order() < second.booking_order()


@given(days_bookings(), capacities)
def test_the_bookings_kept_never_exceed_the_capacity(bookings, capacity):
    over = cc.bookings_over_capacity(bookings, capacity)
    kept = [booking for booking in bookings if booking.key not in over]
    assert len(kept) <= capacity
    assert over <= {booking.key for booking in bookings}


@given(days_bookings(), capacities)
def test_no_booking_is_flagged_while_the_day_has_room_for_it(bookings, capacity):
    over = cc.bookings_over_capacity(bookings, capacity)
    kept = [booking for booking in bookings if booking.key not in over]
    if len(kept) < capacity:
        assert over == frozenset()
    for booking in bookings:
        if booking.key in over:
            # Full with bookings made before it, every one of them kept.
            assert sum(1 for other in kept if booked_before(other, booking)) >= capacity


@given(days_bookings(), capacities)
def test_the_latest_booked_are_the_ones_over(bookings, capacity):
    over = cc.bookings_over_capacity(bookings, capacity)
    for kept in (b for b in bookings if b.key not in over):
        for flagged in (b for b in bookings if b.key in over):
            assert booked_before(kept, flagged)


@given(days_bookings(), capacities, st.data())
def test_raising_capacity_or_a_booking_moving_away_only_brings_bookings_back(
    bookings, capacity, data
):
    over = cc.bookings_over_capacity(bookings, capacity)
    assert cc.bookings_over_capacity(bookings, capacity + 1) <= over
    if bookings:
        gone = data.draw(st.sampled_from(bookings))
        rest = [booking for booking in bookings if booking is not gone]
        after = cc.bookings_over_capacity(rest, capacity)
        assert after <= over
        # One place freed: the earliest booked of those over takes it, if it was a kept one.
        if gone.key not in over and over:
            assert len(after) == len(over) - 1


def test_without_a_capacity_no_booking_is_over():
    bookings = [cc.Booking(key) for key in range(5)]
    assert cc.bookings_over_capacity(bookings, None) == frozenset()


def test_two_chairs_keep_the_two_bookings_made_first():
    at = datetime.datetime(2026, 1, 5, 17, tzinfo=UTC)
    bookings = [
        cc.Booking(7, at + datetime.timedelta(minutes=3)),
        cc.Booking(3, at + datetime.timedelta(minutes=1)),
        cc.Booking(9, at),
        cc.Booking(1, at + datetime.timedelta(minutes=3)),  # same instant as 7: by key
    ]
    assert cc.bookings_over_capacity(bookings, 2) == {7, 1}
    assert cc.bookings_over_capacity(bookings, 3) == {7}
    # A booking made before booking times were kept counts as the earliest.
    assert cc.bookings_over_capacity([*bookings, cc.Booking(50)], 2) == {3, 7, 1}


# Through the services and the admin (PostgreSQL).


@pytest.fixture
def clock(time_machine):
    def move(moment: datetime.datetime):
        time_machine.move_to(moment, tick=False)

    move(datetime.datetime.combine(CONSENT, datetime.time(20), UTC))  # noon in Oceanside
    return move


@pytest.fixture
def apheresis(clock, protocol, site_ocn):
    resource, _ = Resource.objects.get_or_create(
        name="apheresis", defaults={"plural": "apheresis slots"}
    )
    VisitDefinition.objects.filter(protocol=protocol, code="LEUK").update(resource=resource)
    Site.objects.filter(pk=site_ocn.pk).update(open_days="12345")
    SiteCapacity.objects.create(site=site_ocn, resource=resource, per_day=3)
    return resource


@pytest.fixture
def three_bookings(clock, apheresis, make_participant):
    """Three participants' leukapheresis booked on one day, a minute apart, in the order
    second, first, third of their creation (so the order is the booking's, not the id's)."""
    participants = [make_participant(consent_date=CONSENT) for _ in range(3)]
    order = [participants[1], participants[0], participants[2]]
    for minute, participant in enumerate(order):
        clock(datetime.datetime(2026, 1, 5, 20, minute, tzinfo=UTC))
        book_appointment(leukapheresis(participant), on=BOOKED_DAY)
    clock(datetime.datetime(2026, 1, 5, 21, tzinfo=UTC))
    return order


def leukapheresis(participant) -> Visit:
    return Visit.objects.select_related("participant__site").get(
        participant=participant, code="LEUK"
    )


def flags(participants) -> list[tuple[str, str]]:
    return [
        (visit.appointment_flag, visit.appointment_note)
        for visit in (leukapheresis(participant) for participant in participants)
    ]


def pending_reminders(participant) -> set[tuple[int, datetime.date]]:
    return set(
        Reminder.objects.filter(
            visit__participant=participant, visit__code="LEUK", status=OutboxStatus.PENDING
        ).values_list("rule__lead_days", "planned_date")
    )


def to_decide_in_digest(site) -> list[tuple[str, str, str]]:
    rule = ReminderRule.objects.get(audience=Audience.COORDINATOR_DIGEST)
    today = site.today()
    digest = SiteDigest.objects.create(
        site=site,
        rule=rule,
        local_date=today,
        due_at=datetime.datetime.combine(today, datetime.time(15), UTC),
    )
    return [
        (visit.participant.subject_id, visit.code, visit.appointment_note)
        for visit in digest_content(digest).to_decide
    ]


REBOOK = (AppointmentFlag.REBOOK, "rebook: over capacity: 1 apheresis a day")
BOOKED = ("", "")
REMINDERS = {(7, BOOKED_DAY), (1, BOOKED_DAY)}


def test_lowering_capacity_in_the_admin_flags_the_latest_bookings_and_holds_their_reminders(
    client, staff, site_ocn, apheresis, three_bookings
):
    first, second, third = three_bookings  # in booking order
    assert flags(three_bookings) == [BOOKED] * 3
    assert all(pending_reminders(p) == REMINDERS for p in three_bookings)
    client.force_login(staff["manager-ocn"])
    url = reverse("admin:participants_site_change", args=[site_ocn.pk])
    data = form_data(client.get(url))
    capacity = SiteCapacity.objects.get(site=site_ocn, resource=apheresis)
    [index] = [
        key.split("-")[1]
        for key, value in data.items()
        if re.fullmatch(r"capacities-\d+-id", key) and value == str(capacity.pk)
    ]
    data[f"capacities-{index}-per_day"] = "1"
    data["change_reason"] = "Second apheresis machine sent for repair"
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]

    assert flags(three_bookings) == [BOOKED, REBOOK, REBOOK]
    for participant in (second, third):
        visit = leukapheresis(participant)
        assert visit.booked_date == BOOKED_DAY  # kept where staff put it, to decide
        assert pending_reminders(participant) == set()
        assert visit.history.latest().history_change_reason == (
            "OCN's capacity changed (admin): Second apheresis machine sent for repair"
        )
    assert pending_reminders(first) == REMINDERS
    assert to_decide_in_digest(site_ocn) == [
        (second.subject_id, "LEUK", REBOOK[1]),
        (third.subject_id, "LEUK", REBOOK[1]),
    ]
    board = workspace.dashboard(Site.objects.filter(pk=site_ocn.pk))
    assert {v.participant_id for v in board["appointments_to_decide"]} == {second.pk, third.pk}
    capacity.refresh_from_db()
    assert capacity.per_day == 1
    assert capacity.history.latest().history_user == staff["manager-ocn"]


def test_raising_capacity_again_unflags_the_bookings_that_now_fit(
    site_ocn, apheresis, three_bookings
):
    first, second, third = three_bookings
    set_capacity(site_ocn, apheresis, 1, reason="repair")
    assert flags(three_bookings) == [BOOKED, REBOOK, REBOOK]
    set_capacity(site_ocn, apheresis, 2, reason="one machine back")
    assert flags(three_bookings) == [
        BOOKED,
        BOOKED,
        (AppointmentFlag.REBOOK, "rebook: over capacity: 2 apheresis slots a day"),
    ]
    assert pending_reminders(second) == REMINDERS
    assert pending_reminders(third) == set()
    assert [entry[0] for entry in to_decide_in_digest(site_ocn)] == [third.subject_id]
    set_capacity(site_ocn, apheresis, None, reason="no limit")
    assert flags(three_bookings) == [BOOKED] * 3
    assert all(pending_reminders(p) == REMINDERS for p in three_bookings)


def test_a_booking_moving_away_or_cleared_unflags_the_next_one_that_fits(
    site_ocn, apheresis, three_bookings
):
    first, second, third = three_bookings
    set_capacity(site_ocn, apheresis, 1, reason="repair")
    book_appointment(leukapheresis(first), on=D(2026, 2, 11))
    assert flags(three_bookings) == [BOOKED, BOOKED, REBOOK]
    assert pending_reminders(second) == REMINDERS
    clear_booking(leukapheresis(second))
    assert flags(three_bookings)[2] == BOOKED
    assert pending_reminders(third) == REMINDERS


def test_a_flagged_booking_rebooked_on_another_day_gets_its_reminders_back(
    site_ocn, apheresis, three_bookings
):
    third = three_bookings[2]
    set_capacity(site_ocn, apheresis, 2, reason="repair")
    book_appointment(leukapheresis(third), on=D(2026, 2, 12))
    assert flags(three_bookings) == [BOOKED] * 3
    assert pending_reminders(third) == {(7, D(2026, 2, 12)), (1, D(2026, 2, 12))}
