"""The clinic calendar's choice of a day: pure rules on plain values. No ORM, no clock.

Rules (README, "Rules of the timeline"):
- The clinic is open on a day that is one of its open weekdays, not a public holiday of its
  calendar and inside none of its closures.
- A visit's proposed appointment is its planned date when the clinic is open then; otherwise
  the open day nearest to the planned date inside the window, the earlier one when two are
  equally near. When no day of the window is open, it stays on the planned date, flagged.
- Capacity is not part of a proposal: it counts booked appointments only (``day_load``).
- When a day holds more bookings of a resource than its capacity (the capacity was lowered
  after they were made), the earliest bookings keep their places up to the capacity and the
  ones booked after them are over it (``bookings_over_capacity``): the bookings already made
  were promised first, so the latest promises are the ones to rebook.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# A booked appointment lasts this long wherever it is written as a span (a calendar event, a
# FHIR Appointment): a booking records its start only.
APPOINTMENT_LENGTH = datetime.timedelta(hours=1)

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NO_OPEN_DAY = "no open day in window"

# Why a day is closed, by kind (the first that applies is given).
CLOSURE = "closed"
HOLIDAY = "holiday"
WEEKDAY = "weekday"


@dataclass(frozen=True)
class Closure:
    start: datetime.date
    end: datetime.date
    reason: str

    def covers(self, day: datetime.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class ClosedDay:
    """Why the clinic is closed on one day: the one value every reader of a closed day uses,
    written in the form each needs. ``kind`` is the first that applies (a closure, a public
    holiday, a weekday the clinic does not open); ``detail`` is the closure's reason, the
    holiday's name or the weekday's name."""

    day: datetime.date
    kind: str
    detail: str
    open_weekdays: frozenset[int]

    @property
    def label(self) -> str:
        """For the calendar and an appointment's note: ``Sunday``, ``holiday: Easter
        Monday``, ``closed: inspection``."""
        return self.detail if self.kind == WEEKDAY else f"{self.kind}: {self.detail}"

    @property
    def reason(self) -> str:
        """After "Closed:" (the calendar's week list): ``Sunday``, ``holiday: Easter
        Monday``, ``sponsor inspection``."""
        return self.detail if self.kind == CLOSURE else self.label

    @property
    def state(self) -> str:
        """For the day picker's clinic column: ``closed: Sunday``, ``holiday: Easter
        Monday``, ``closed: inspection``."""
        return f"{CLOSURE}: {self.detail}" if self.kind == WEEKDAY else self.label

    @property
    def note(self) -> str:
        """Why a proposal was moved off this day, as the appointment's note and the schedule
        export write it: ``moved off a Sunday``, ``moved off a holiday: Christmas Day``,
        ``moved off a closure: inspection``. Said as a move, so a proposal on Christmas Eve
        never reads as if it were Christmas Day."""
        kind = {CLOSURE: "closure", HOLIDAY: "holiday"}.get(self.kind)
        return f"moved off a {kind}: {self.detail}" if kind else f"moved off a {self.detail}"

    def sentence(self, site: str) -> str:
        """A sentence for staff (a booking's refusal): ``2026-07-03 is a holiday at OCN:
        Independence Day (observed)``."""
        day = self.day.isoformat()
        if self.kind == CLOSURE:
            return f"{day}: {site} is closed ({self.detail})"
        if self.kind == HOLIDAY:
            return f"{day} is a holiday at {site}: {self.detail}"
        open_days = ", ".join(WEEKDAY_SHORT[n - 1] for n in sorted(self.open_weekdays))
        return f"{day} is a {self.detail}; {site} is open {open_days or 'no day'}"


@dataclass(frozen=True)
class ClinicCalendar:
    """A site's calendar: open ISO weekdays (1 = Monday), public holidays (date → name) and
    closures. The default is open Monday to Friday, no holiday, no closure."""

    open_weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    holidays: Mapping[datetime.date, str] = field(default_factory=dict)
    closures: Sequence[Closure] = ()

    def closed_on(self, day: datetime.date) -> ClosedDay | None:
        """Why the clinic is closed on ``day`` (a closure first, then a public holiday, then
        the weekday), or None when it is open."""
        for closure in self.closures:
            if closure.covers(day):
                return ClosedDay(day, CLOSURE, closure.reason, self.open_weekdays)
        name = self.holidays.get(day)
        if name:
            return ClosedDay(day, HOLIDAY, name, self.open_weekdays)
        if day.isoweekday() not in self.open_weekdays:
            return ClosedDay(day, WEEKDAY, WEEKDAY_NAMES[day.weekday()], self.open_weekdays)
        return None

    def is_open(self, day: datetime.date) -> bool:
        return self.closed_on(day) is None


@dataclass(frozen=True)
class DayLoad:
    """One resource's appointments on one day at a site, against the site's capacity of it
    (None: not limited): the one reading of a day's load, for a booking's refusal, the day
    picker and the site calendar. ``booked`` counts bookings; ``proposed``, appointments only
    proposed (they take no place, but show where a day will be short)."""

    day: datetime.date
    resource: str
    resource_plural: str
    capacity: int | None
    booked: int = 0
    proposed: int = 0

    def count_label(self, number: int) -> str:
        """The resource's name for ``number`` of it: ``infusion chair``, ``infusion chairs``."""
        return self.resource if number == 1 else (self.resource_plural or f"{self.resource}s")

    @property
    def full(self) -> bool:
        """No place left for one more booking."""
        return self.capacity is not None and self.booked >= self.capacity

    @property
    def overbooked(self) -> bool:
        """Booked and proposed appointments together need more than the site has."""
        return self.capacity is not None and self.booked + self.proposed > self.capacity

    @property
    def count(self) -> str:
        """``1 of 2 infusion chairs``; "" when the resource is not limited."""
        if self.capacity is None:
            return ""
        return f"{self.booked} of {self.capacity} {self.count_label(self.capacity)}"

    @property
    def label(self) -> str:
        """For the calendar: ``1 of 2 infusion chairs booked + 1 proposed``."""
        name = self.count_label(self.capacity if self.capacity is not None else 2)
        of = f" of {self.capacity}" if self.capacity is not None else ""
        extra = f" + {self.proposed} proposed" if self.proposed else ""
        return f"{self.booked}{of} {name} booked{extra}"

    def full_sentence(self, site: str) -> str:
        """A sentence for staff (a booking's refusal): ``2026-02-10 is full at OCN: 1 of 1
        apheresis slot booked``."""
        return f"{self.day.isoformat()} is full at {site}: {self.count} booked"


@dataclass(frozen=True)
class Proposal:
    """A proposed appointment day; ``note`` says why it differs from the planned date."""

    day: datetime.date
    note: str
    no_open_day: bool = False


def days_by_nearness(
    planned: datetime.date, window_start: datetime.date, window_end: datetime.date
):
    """The days of the window ordered by distance from ``planned``, the earlier first."""
    yield planned
    distance = 1
    while True:
        earlier = planned - datetime.timedelta(days=distance)
        later = planned + datetime.timedelta(days=distance)
        in_window = False
        if earlier >= window_start:
            in_window = True
            yield earlier
        if later <= window_end:
            in_window = True
            yield later
        if not in_window:
            return
        distance += 1


def propose_day(
    planned: datetime.date,
    window_start: datetime.date | None,
    window_end: datetime.date | None,
    calendar: ClinicCalendar,
) -> Proposal:
    """The appointment to propose for a visit planned on ``planned`` with that window.

    The planned date if open; else the nearest open day of the window (the earlier of two
    equally near); else the planned date, flagged ``no_open_day``. A visit without a window
    (an unscheduled one) keeps its date, noted with why the clinic is closed then.
    """
    closed = calendar.closed_on(planned)
    if closed is None:
        return Proposal(planned, "")
    start = window_start if window_start is not None else planned
    end = window_end if window_end is not None else planned
    start, end = min(start, planned), max(end, planned)
    for day in days_by_nearness(planned, start, end):
        if calendar.is_open(day):
            return Proposal(day, closed.note)
    if window_start is None and window_end is None:
        return Proposal(planned, closed.state)  # kept on a closed day: says why it is closed
    return Proposal(planned, NO_OPEN_DAY, no_open_day=True)


@dataclass(frozen=True)
class Booking:
    """One booking of a day and resource, as the capacity rule reads it: ``key`` names it
    (a visit id); ``booked_at`` is when it was made (None: before booking times were kept,
    counted as the earliest). Two made at the same instant are ordered by ``key``."""

    key: int
    booked_at: datetime.datetime | None = None

    def booking_order(self) -> tuple:
        made = self.booked_at
        return (made is not None, made.timestamp() if made is not None else 0.0, self.key)


def bookings_over_capacity(bookings: Iterable[Booking], capacity: int | None) -> frozenset[int]:
    """The keys of the bookings of one day and resource that are over ``capacity`` (None:
    not limited): the first ``capacity`` in booking order keep their places, every one booked
    after them is over. A booking is never over while fewer than ``capacity`` were made before
    it, so one that moves away (or a capacity raised) brings the next ones back in order."""
    if capacity is None:
        return frozenset()
    ordered = sorted(bookings, key=Booking.booking_order)
    return frozenset(booking.key for booking in ordered[max(capacity, 0) :])
