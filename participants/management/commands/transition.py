"""manage.py transition SUBJECT_ID TARGET --on YYYY-MM-DD [--reason TEXT] --by USERNAME."""

from django.core.exceptions import ValidationError

from participants import lifecycle, selectors
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
from participants.models import Status


class Command(StaffCommand):
    help = (
        "Move a participant to TARGET effective --on (site-local date, not in the future, not "
        "before the previous transition). Targets: " + ", ".join(Status.values[1:]) + ". "
        "screen_failed, withdrawn and lost_to_follow_up need --reason, and so does a transition "
        "that closes visits not done (a phase starting, an early completion): they are named."
    )

    def add_arguments(self, parser):
        parser.add_argument("subject_id")
        parser.add_argument("target", help=", ".join(Status.values[1:]))
        parser.add_argument("--on", required=True, help="Effective date, YYYY-MM-DD.")
        parser.add_argument("--reason", default="")
        parser.add_argument("--protocol", help="Protocol code, if the subject id is ambiguous.")
        add_by_option(parser)

    def handle(self, *args, subject_id, target, on, reason, protocol, by, **options):
        effective = date_option(on, "on")
        target = text_argument(target, "target")
        reason = text_argument(reason, "reason", lines=True)
        participant = participant_named(subject_id, protocol)
        user = staff_user_named(by, may=["participants.add_transition"], at=[participant.site])
        closing = selectors.visits_closed_by(participant, target, effective)
        try:
            transition = lifecycle.record_transition(
                participant, target, on=effective, reason=reason, by=user, via=RECORDED_VIA
            )
        except ValidationError as error:
            raise InputError.from_validation(error) from None
        self.stdout.write(
            f"{participant}: {transition.from_status} → {transition.to_status} "
            f"on {transition.effective_date.isoformat()}."
        )
        for sentence, _ in closing:
            self.stdout.write(f"  closed: {sentence}")
