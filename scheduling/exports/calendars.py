"""A visit's iCalendar event, the one home of it: the reminder's visit.ics
(``scheduling.mail.emails``), a participant's .ics of their future appointments and the site
feed's events (``scheduling.exports.site_feed``) all take their UID, SEQUENCE, day and time
from here (docs/calendar-feeds.md).

One entry per visit in every calendar: the UID is stable per visit, and SEQUENCE is the
visit's ``sequence``, raised by every reschedule, so a calendar that imports the reminder's
event, the participant's .ics or the feed updates the entry instead of adding another.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from email.utils import parseaddr

import icalendar
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from scheduling.models import Visit
from scheduling.rules.clinic_calendar import APPOINTMENT_LENGTH

PRODID = "-//trialsite//visit reminders//EN"
# How far around its events a calendar carries its zone's rules: enough for any client.
ZONE_MARGIN = datetime.timedelta(days=366)


def message_domain() -> str:
    """The domain of stable message ids and calendar UIDs: that of DEFAULT_FROM_EMAIL."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "localhost"


def visit_uid(visit: Visit) -> str:
    """One calendar entry per visit: every reminder of it, on any date, the participant's
    .ics and the site feed update the same one."""
    return f"visit-{visit.pk}@{message_domain()}"


def new_calendar(prodid: str = PRODID) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", prodid)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    return calendar


def add_visit_time(event: icalendar.Event, visit: Visit, zone) -> None:
    """All-day on the visit's appointment day, or at its booked time in ``zone`` (the site's)
    for :data:`APPOINTMENT_LENGTH`."""
    day = visit.appointment_day
    if visit.booked_time is None:
        event.add("dtstart", day)
        event.add("dtend", day + datetime.timedelta(days=1))
    else:
        start = datetime.datetime.combine(day, visit.booked_time, tzinfo=zone)
        event.add("dtstart", start)
        event.add("duration", APPOINTMENT_LENGTH)


def visit_event(visit: Visit, *, now: datetime.datetime, language: str) -> icalendar.Event:
    """The participant's event of ``visit`` (its name in ``language``, the texts in the
    active translation): where (the site's address) and whom to call. Not for staff feeds,
    which carry no contact details (``site_feed``)."""
    site = visit.participant.site
    event = icalendar.Event()
    event.add("uid", visit_uid(visit))
    event.add("dtstamp", now.astimezone(datetime.UTC))
    event.add("sequence", visit.sequence)
    event.add("summary", gettext("Study visit at %(site)s") % {"site": site.name})
    add_visit_time(event, visit, site.zone)
    event.add("location", ", ".join(line for line in site.address.splitlines() if line.strip()))
    event.add(
        "description",
        gettext("%(visit)s. Questions or a new date: %(contact)s.")
        % {"visit": visit.name_in(language), "contact": site.phone or site.coordinator_email},
    )
    event.add("transp", "OPAQUE")
    return event


def add_zone_rules(calendar: icalendar.Calendar, days: Iterable[datetime.date]) -> None:
    """The VTIMEZONE of each zone the calendar's times use, its rules around ``days`` only (a
    fraction of the size of all of them). Nothing when no event is timed."""
    days = list(days)
    if days:
        calendar.add_missing_timezones(
            first_date=min(days) - ZONE_MARGIN, last_date=max(days) + ZONE_MARGIN
        )


def visit_calendar(visit: Visit, *, now: datetime.datetime, language: str) -> bytes:
    """An iCalendar file with one event for ``visit`` (:func:`visit_event`): the reminder's
    visit.ics."""
    calendar = new_calendar()
    calendar.add_component(visit_event(visit, now=now, language=language))
    if visit.booked_time is not None:
        add_zone_rules(calendar, [visit.appointment_day])
    return calendar.to_ical()


def future_appointments(participant, today: datetime.date):
    """``participant``'s visits still to be done whose appointment is ``today`` or later and
    whose window has not ended, in date order (one query)."""
    return list(
        Visit.objects.open()
        .filter(participant=participant, appointment_date__gte=today)
        .exclude(window_end__lt=today)
        .select_related("definition")
        .order_by("appointment_date", "booked_time", "id")
    )


def participant_calendar(participant, *, now: datetime.datetime) -> bytes:
    """Every future appointment of ``participant`` (:func:`future_appointments`, at their
    site's today), each event exactly the reminder's (:func:`visit_event`, in their reminder
    language): importing both updates one entry per visit. Two queries."""
    site = participant.site
    language = participant.reminder_language
    visits = future_appointments(participant, site.today(now))
    calendar = new_calendar()
    with translation.override(language):
        for visit in visits:
            visit.participant = participant  # held already: no query per visit
            calendar.add_component(visit_event(visit, now=now, language=language))
    add_zone_rules(calendar, [v.appointment_day for v in visits if v.booked_time is not None])
    return calendar.to_ical()
