"""manage.py record_visit SUBJECT_ID VISIT_CODE --on YYYY-MM-DD [--reason TEXT] --by USERNAME."""

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
)
from scheduling.models import Deviation
from scheduling.timeline import visits


class Command(StaffCommand):
    help = (
        "Record the date a planned visit took place (site-local, not in the future). A date "
        "outside the visit's window is recorded and flagged as a protocol deviation; one before "
        "the visit's phase is reached or after the participant left needs --reason, and is "
        "flagged too."
    )

    def add_arguments(self, parser):
        parser.add_argument("subject_id")
        parser.add_argument("visit_code")
        parser.add_argument("--on", required=True, help="Date of the visit, YYYY-MM-DD.")
        parser.add_argument(
            "--reason",
            default="",
            help="Needed to correct a recorded date, and for a visit before its phase or after "
            "the participant left (a deviation).",
        )
        parser.add_argument("--protocol", help="Protocol code, if the subject id is ambiguous.")
        add_by_option(parser)

    def handle(self, *args, subject_id, visit_code, on, reason, protocol, by, **options):
        actual = date_option(on, "on")
        visit_code = text_argument(visit_code, "visit_code")
        reason = text_argument(reason, "reason", lines=True)
        participant = participant_named(subject_id, protocol)
        user = staff_user_named(by, may=["scheduling.change_visit"], at=[participant.site])
        try:
            visit = visits.record_visit(
                participant, visit_code, on=actual, reason=reason, by=user, via=RECORDED_VIA
            )
        except ValidationError as error:
            raise InputError.from_validation(error) from None
        note = ""
        if visit.deviation == Deviation.OUTSIDE_WINDOW:
            note = (
                f" Protocol deviation: outside its window "
                f"{visit.window_start.isoformat()} … {visit.window_end.isoformat()}."
            )
        elif visit.deviation:
            note = (
                f" Protocol deviation: {visit.get_deviation_display()} "
                f"(reason: {visit.deviation_reason})."
            )
        self.stdout.write(f"{participant} {visit.code} recorded on {actual.isoformat()}.{note}")
