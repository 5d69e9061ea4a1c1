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
from scheduling import services


class Command(StaffCommand):
    help = (
        "Record the date a planned visit took place (site-local, not in the future). A date "
        "outside the visit's window is recorded and flagged as a protocol deviation."
    )

    def add_arguments(self, parser):
        parser.add_argument("subject_id")
        parser.add_argument("visit_code")
        parser.add_argument("--on", required=True, help="Date of the visit, YYYY-MM-DD.")
        parser.add_argument("--reason", default="", help="Needed to correct a recorded date.")
        parser.add_argument("--protocol", help="Protocol code, if the subject id is ambiguous.")
        add_by_option(parser)

    def handle(self, *args, subject_id, visit_code, on, reason, protocol, by, **options):
        actual = date_option(on, "on")
        visit_code = text_argument(visit_code, "visit_code")
        reason = text_argument(reason, "reason", lines=True)
        participant = participant_named(subject_id, protocol)
        user = staff_user_named(by)
        try:
            visit = services.record_visit(
                participant, visit_code, on=actual, reason=reason, by=user, via=RECORDED_VIA
            )
        except ValidationError as error:
            raise InputError.from_validation(error) from None
        note = (
            f" Protocol deviation: outside its window "
            f"{visit.window_start.isoformat()} … {visit.window_end.isoformat()}."
            if visit.is_deviation
            else ""
        )
        self.stdout.write(f"{participant} {visit.code} recorded on {actual.isoformat()}.{note}")
