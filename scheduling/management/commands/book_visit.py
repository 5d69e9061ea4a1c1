"""manage.py book_visit SUBJECT_ID VISIT_CODE --on YYYY-MM-DD [--at HH:MM]
[--override-reason TEXT] --by USERNAME, or --clear to go back to the proposed day."""

from django.core.exceptions import ValidationError

from participants.cli import (
    RECORDED_VIA,
    InputError,
    StaffCommand,
    add_by_option,
    date_option,
    participant_named,
    staff_user_named,
    text_argument,
    time_option,
    utf8_argument,
)
from scheduling.models import UNSCHEDULED_CODE, Visit
from scheduling.timeline.appointments import book_appointment, clear_booking


class Command(StaffCommand):
    help = (
        "Book a planned visit --on a day of its window (site-local, from today), optionally "
        "--at a local time HH:MM. A closed day, a day whose resource is full or a day outside "
        "the window is refused with the reason, unless --override-reason says why (outside the "
        "window it is then a planned deviation). --clear removes the booking: the visit goes "
        "back to its proposed day."
    )

    def add_arguments(self, parser):
        parser.add_argument("subject_id")
        parser.add_argument("visit_code")
        day = parser.add_mutually_exclusive_group(required=True)
        day.add_argument("--on", metavar="YYYY-MM-DD", help="Day of the appointment.")
        day.add_argument("--clear", action="store_true", help="Remove the booking.")
        parser.add_argument(
            "--at", metavar="HH:MM", help="Local time at the site (00:00 to 23:59)."
        )
        parser.add_argument(
            "--override-reason", metavar="TEXT", default="", help="Why, to book anyway."
        )
        parser.add_argument("--protocol", help="Protocol code, if the subject id is ambiguous.")
        add_by_option(parser)

    def handle(
        self,
        *args,
        subject_id,
        visit_code,
        on,
        clear,
        at,
        override_reason,
        protocol,
        by,
        **options,
    ):
        if clear and (at is not None or override_reason):
            raise InputError(["--at and --override-reason book a day with --on, not --clear."])
        day = date_option(on, "on") if not clear else None
        time = time_option(at, "at") if at is not None else None
        visit_code = text_argument(visit_code, "visit_code")
        # Its control characters are the booking's to refuse, in its words.
        override_reason = utf8_argument(override_reason, "override_reason")
        participant = participant_named(subject_id, protocol)
        visit = visit_named(participant, visit_code)
        was_booked = visit.booked_date is not None or visit.booked_time is not None
        user = staff_user_named(by, may=["scheduling.change_visit"], at=[participant.site])
        try:
            if clear:
                visit = clear_booking(visit, by=user, via=RECORDED_VIA)
            else:
                visit = book_appointment(
                    visit,
                    on=day,
                    at=time,
                    override_reason=override_reason,
                    by=user,
                    via=RECORDED_VIA,
                )
        except ValidationError as error:
            raise InputError.from_validation(error) from None
        done = ("booking cleared; " if was_booked else "not booked; ") if clear else ""
        self.stdout.write(f"{participant} {visit.code}: {done}{appointment(visit)}.")


def visit_named(participant, visit_code: str) -> Visit:
    """The participant's planned visit ``visit_code``; a plain line naming its visits if none."""
    if visit_code == UNSCHEDULED_CODE:
        raise InputError(
            ["visit_code: an unscheduled visit (UNS) keeps its own day; it is not booked here."]
        )
    visit = participant.visits.filter(code=visit_code).first()
    if visit is None:
        codes = ", ".join(
            participant.visits.exclude(code=UNSCHEDULED_CODE).values_list("code", flat=True)
        )
        raise InputError(
            [f"visit_code: {participant} has no visit {visit_code} (visits: {codes})."]
        )
    return visit


def appointment(visit: Visit) -> str:
    """``booked on 2026-07-06 at 09:30 (planned 2026-07-03; …)``, or ``proposed on …``."""
    when = f"{visit.appointment_source} on {visit.appointment_date.isoformat()}"
    if visit.booked_time is not None:
        when += f" at {visit.booked_time:%H:%M}"
    details = []
    if visit.appointment_date != visit.planned_date:
        details.append(f"planned {visit.planned_date.isoformat()}")
    if visit.appointment_note:
        details.append(visit.appointment_note)
    return f"{when} ({'; '.join(details)})" if details else when
