"""Reads about schedules, each a fixed number of queries whatever the number of visits."""

import csv
import datetime
from dataclasses import dataclass

from participants.csv_cells import safe_row
from participants.local_times import zone_abbreviation
from participants.models import Site
from scheduling.models import Visit

SCHEDULE_COLUMNS = (
    "subject_id",
    "site_code",
    "phase",
    "visit_code",
    "visit_name",
    "planned_date",
    "window_start",
    "window_end",
    "study_day",
    "actual_date",
    "status",
    "appointment_date",
    "appointment_time",
    "appointment_source",
    "appointment_note",
    "confirmation",
    "no_show",
    "deviation",
    # Last, so the columns before keep their places: the zone of appointment_time that day
    # ("PDT"; empty without a time) and the site's IANA zone.
    "appointment_time_zone",
    "site_time_zone",
    # The protocol version that planned the visit ("1.0"; empty for an unscheduled one): last
    # too, for the same reason (issue 24).
    "protocol_version",
)


def write_schedule_csv(handle, rows) -> None:
    """The schedule export as CSV, for the command and the admin action alike. Every cell goes
    through ``safe_row``: a subject id or visit name starting with "=" must not run as a formula
    in the spreadsheet that opens the export."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(SCHEDULE_COLUMNS)
    for row in rows:
        writer.writerow(safe_row(getattr(row, column) for column in SCHEDULE_COLUMNS))


@dataclass(frozen=True)
class ScheduleRow:
    subject_id: str
    site_code: str
    phase: str
    visit_code: str
    visit_name: str
    planned_date: datetime.date
    window_start: datetime.date | None
    window_end: datetime.date | None
    study_day: int | None
    actual_date: datetime.date | None
    status: str
    appointment_date: datetime.date | None
    appointment_time: str  # HH:MM, local to the site; "" when none is booked
    appointment_source: str  # "proposed" or "booked"
    appointment_note: str  # why it differs from the planned date, or what is wrong with it
    confirmation: str  # "unconfirmed", "confirmed" or "reschedule_requested"
    no_show: str  # "yes": appointment day passed, window still open, not done; else ""
    deviation: str  # why a done visit is a deviation ("outside its window"…); else ""
    appointment_time_zone: str  # "PST"/"PDT": appointment_time's zone that day; else ""
    site_time_zone: str  # the site's IANA time zone ("America/Los_Angeles")
    protocol_version: str = ""  # the version that planned the visit; "" when unscheduled


def schedule_rows(
    site: Site | None = None, now: datetime.datetime | None = None, *, participants=None
):
    """Every visit as a row of the schedule export: status as of ``now`` at each visit's site
    (its own "today"), its appointment (day, local time, proposed or booked, and why it is
    not the planned date), the participant's confirmation of it and whether it is a no-show
    on that today (of a participant still in the trial, as the dashboard counts them),
    ordered by subject id, then planned date. One query. ``site`` and ``participants`` (a
    queryset) narrow it."""
    visits = Visit.objects.select_related("participant__site", "version").order_by(
        "participant__subject_id", "participant__protocol_id", "planned_date", "id"
    )
    if site is not None:
        visits = visits.filter(participant__site=site)
    if participants is not None:
        visits = visits.filter(participant__in=participants.values("pk"))
    todays: dict[int, datetime.date] = {}
    rows = []
    for visit in visits:
        participant_site = visit.participant.site
        if participant_site.pk not in todays:
            todays[participant_site.pk] = participant_site.today(now)
        today = todays[participant_site.pk]
        shown = visit.shows_appointment
        timed = shown and visit.booked_time is not None and visit.appointment_date is not None
        rows.append(
            ScheduleRow(
                subject_id=visit.participant.subject_id,
                site_code=participant_site.code,
                phase=visit.phase,
                visit_code=visit.code,
                visit_name=visit.name,
                planned_date=visit.planned_date,
                window_start=visit.window_start,
                window_end=visit.window_end,
                study_day=visit.study_day,
                actual_date=visit.actual_date,
                status=visit.status_on(today),
                # The appointment columns as the participant page shows them: only for a visit
                # still to be done (Visit.shows_appointment), else empty.
                appointment_date=visit.appointment_date if shown else None,
                appointment_time=(
                    f"{visit.booked_time:%H:%M}" if shown and visit.booked_time is not None else ""
                ),
                appointment_source=visit.appointment_source if shown else "",
                appointment_note=visit.appointment_note if shown else "",
                confirmation=visit.confirmation if shown else "",
                no_show=("yes" if visit.participant.is_active and visit.is_no_show(today) else ""),
                deviation=visit.get_deviation_display() if visit.deviation else "",
                appointment_time_zone=(
                    zone_abbreviation(
                        visit.appointment_date, visit.booked_time, participant_site.zone
                    )
                    if timed
                    else ""
                ),
                site_time_zone=participant_site.timezone,
                protocol_version=visit.version.number if visit.version else "",
            )
        )
    return rows


def open_appointments(site: Site) -> dict[int, tuple[datetime.date | None, str]]:
    """The appointment (day, flag) of every visit still to be done at ``site``, by visit id:
    what a change of the site's calendar may move or flag. One query."""
    visits = Visit.objects.open().filter(participant__site=site)
    return {
        pk: (day, flag)
        for pk, day, flag in visits.values_list("pk", "appointment_date", "appointment_flag")
    }
