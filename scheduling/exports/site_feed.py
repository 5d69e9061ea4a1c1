"""A site's calendar feed: the events staff subscribe to (docs/calendar-feeds.md).

One event per appointment of the next :data:`FEED_DAYS` days at the site (from the site's
today, in its zone) of a visit still to be done, and the site's closures and public holidays
as all-day events. A visit's event has the UID and SEQUENCE of the reminder's
(``calendars.visit_uid``, ``Visit.sequence``) and its time (``calendars.add_visit_time``).

What an event never holds: a participant's email or any contact detail, the site's address,
the trial's name or its protocol code (a subject id that begins with the protocol's code is
shown without it: ``SLE-001-101-004`` is ``101-004``; see :func:`feed_subject_id`), no
LOCATION, ATTENDEE or ORGANIZER. Shared calendars are read by people outside the study.

Texts are in English, the language of every file the system exports (the schedule export,
the audit trail's CSV): a feed is one file shared by all the site's staff, whatever each
one's workspace language; visit names are the plan's own names.
"""

from __future__ import annotations

import datetime
import re

import icalendar
from django.utils import translation

from participants.models import SiteClosure
from scheduling.exports.calendars import (
    add_visit_time,
    add_zone_rules,
    message_domain,
    new_calendar,
    visit_uid,
)
from scheduling.models import Confirmation, Visit

FEED_PRODID = "-//trialsite//site calendar feed//EN"
FEED_DAYS = 90
_SEPARATORS = "-_."


def feed_subject_id(subject_id: str, protocol_code: str) -> str:
    """``subject_id`` without the protocol's code, which names the trial: a leading code and
    its separator are dropped (``SLE-001-101-004`` → ``101-004``) and any other occurrence,
    in any case, is written ``*``. Never empty."""
    code = protocol_code.strip()
    shown = subject_id
    if code and shown.upper().startswith(code.upper()):
        shown = shown[len(code) :].lstrip(_SEPARATORS)
    if code:
        pattern = re.compile(re.escape(code), re.IGNORECASE)
        while pattern.search(shown):
            shown = pattern.sub("*", shown)
    return shown or "*"


def feed_window(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first and last day a feed lists: :data:`FEED_DAYS` days from ``today``."""
    return today, today + datetime.timedelta(days=FEED_DAYS - 1)


def feed_visits(site, today: datetime.date) -> list[Visit]:
    """The site's appointments in the feed's days, of visits still to be done whose window
    has not ended (not done, missed, cancelled or not applicable); one query."""
    first, last = feed_window(today)
    return list(
        Visit.objects.open()
        .filter(site=site, appointment_date__range=(first, last))
        .exclude(window_end__lt=today)
        .select_related("participant__protocol", "definition")
        .order_by("appointment_date", "booked_time", "id")
    )


def feed_closures(site, today: datetime.date) -> list[SiteClosure]:
    first, last = feed_window(today)
    return list(
        SiteClosure.objects.filter(site=site, start__lte=last, end__gte=first).order_by(
            "start", "id"
        )
    )


def _description(visit: Visit) -> str:
    lines = []
    window = visit.window
    if window is not None:
        lines.append(f"Window: {window.start.isoformat()} to {window.end.isoformat()}")
    lines.append("Booked" if visit.booked_date is not None else "Proposed day, not booked yet")
    with translation.override("en"):  # whatever language the client's request asks for
        lines.append(f"Confirmation: {Confirmation(visit.confirmation).label}")
    return "\n".join(lines)


def visit_feed_event(visit: Visit, *, stamp: datetime.datetime, zone) -> icalendar.Event:
    """A visit's event for staff: subject id (:func:`feed_subject_id`) and visit name,
    window, booked or proposed, and confirmation; nothing else of the participant."""
    event = icalendar.Event()
    event.add("uid", visit_uid(visit))
    event.add("dtstamp", stamp)
    event.add("sequence", visit.sequence)
    subject = feed_subject_id(visit.participant.subject_id, visit.participant.protocol.code)
    event.add("summary", f"{subject}: {visit.name_in('en')}")
    add_visit_time(event, visit, zone)
    event.add("description", _description(visit))
    # A proposal blocks no one's time until it is booked.
    event.add("transp", "OPAQUE" if visit.booked_time is not None else "TRANSPARENT")
    return event


def _all_day(uid: str, summary: str, first, last, stamp) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("summary", summary)
    event.add("dtstart", first)
    event.add("dtend", last + datetime.timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    return event


def site_feed(site, *, now: datetime.datetime) -> bytes:
    """``site``'s feed at ``now`` (two queries, however many events). DTSTAMP is ``now`` to
    the hour, so the feed's bytes, and its ETag, change only when what it lists does or an
    hour passes."""
    today = site.today(now)
    first, last = feed_window(today)
    stamp = now.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)
    domain = message_domain()
    calendar = new_calendar(FEED_PRODID)
    calendar.add("x-wr-calname", f"Visits at {site.code}")
    calendar.add("x-wr-timezone", site.timezone)
    visits = feed_visits(site, today)
    zone = site.zone
    for visit in visits:
        calendar.add_component(visit_feed_event(visit, stamp=stamp, zone=zone))
    for closure in feed_closures(site, today):
        calendar.add_component(
            _all_day(
                f"closure-{closure.pk}@{domain}",
                f"Closed: {closure.reason}",
                closure.start,
                closure.end,
                stamp,
            )
        )
    holidays = site.public_holidays
    day = first
    while day <= last:
        name = holidays.get(day)
        if name:
            uid = f"holiday-{site.pk}-{day:%Y%m%d}@{domain}"
            calendar.add_component(_all_day(uid, f"Public holiday: {name}", day, day, stamp))
        day += datetime.timedelta(days=1)
    add_zone_rules(calendar, [v.appointment_day for v in visits if v.booked_time is not None])
    return calendar.to_ical()
