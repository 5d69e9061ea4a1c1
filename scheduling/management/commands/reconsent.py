"""manage.py reconsent SUBJECT_ID VERSION --on YYYY-MM-DD [--reason TEXT] [--protocol CODE]
[--dry-run] --by USERNAME."""

from django.core.exceptions import ValidationError

from participants.cli import (
    InputError,
    StaffCommand,
    add_by_option,
    date_option,
    participant_named,
    staff_user_named,
    text_argument,
)
from scheduling.management.arguments import version_named
from scheduling.timeline.versions import record_reconsent


class Command(StaffCommand):
    help = (
        "Record that a participant re-consented --on a day to a protocol VERSION in force at "
        "their site: from that day they follow it. Prints every visit it changes; --dry-run "
        "prints the same and saves nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("subject_id")
        parser.add_argument("version", help="Version number, e.g. 2.0.")
        parser.add_argument("--on", metavar="YYYY-MM-DD", required=True, help="Day of re-consent.")
        parser.add_argument("--reason", default="", help="Optional note.")
        parser.add_argument("--protocol", help="Protocol code, if the subject id is ambiguous.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would change; save nothing."
        )
        add_by_option(parser)

    def handle(self, *args, subject_id, version, on, reason, protocol, dry_run, by, **options):
        day = date_option(on, "on")
        reason = text_argument(reason, "reason", lines=True)
        participant = participant_named(subject_id, protocol)
        chosen = version_named(participant.protocol, version)
        user = staff_user_named(by, may=["scheduling.add_versiontakeup"], at=[participant.site])
        try:
            changes = record_reconsent(
                participant, chosen, on=day, by=user, reason=reason, dry_run=dry_run
            )
        except ValidationError as error:
            raise InputError.from_validation(error) from None
        for line in changes.lines():
            self.stdout.write(line)
        self.stdout.write(
            "Dry run: nothing was saved."
            if dry_run
            else f"{participant.subject_id} follows version {chosen.number} from {day.isoformat()}."
        )
