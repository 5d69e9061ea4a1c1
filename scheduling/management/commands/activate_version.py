"""manage.py activate_version PROTOCOL VERSION --site CODE --on YYYY-MM-DD [--dry-run]
--reason TEXT --by USERNAME (a dry run needs no reason)."""

from django.core.exceptions import ValidationError

from participants.cli import (
    InputError,
    StaffCommand,
    add_by_option,
    date_option,
    protocol_named,
    site_named,
    staff_user_named,
    text_argument,
)
from scheduling.management.arguments import version_named
from scheduling.timeline.versions import activate_version


class Command(StaffCommand):
    help = (
        "Put a released protocol VERSION in force at --site from --on (after the site's "
        "approval, said by --reason). Prints every visit it changes for each participant, or "
        "who waits for re-consent; --dry-run prints the same and saves nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("protocol", help="Protocol code, e.g. SLE-001.")
        parser.add_argument("version", help="Version number, e.g. 2.0.")
        parser.add_argument("--site", required=True, help="Site code.")
        parser.add_argument("--on", metavar="YYYY-MM-DD", required=True, help="First day in force.")
        parser.add_argument(
            "--reason",
            default="",
            help="Why, e.g. local approval 2026-06-12 (needed to apply, not for --dry-run).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would change; save nothing."
        )
        add_by_option(parser)

    def handle(self, *args, protocol, version, site, on, reason, dry_run, by, **options):
        day = date_option(on, "on")
        reason = text_argument(reason, "reason", lines=True)
        chosen = version_named(protocol_named(protocol), version)
        where = site_named(site)
        user = staff_user_named(by, may=["scheduling.add_versionactivation"], at=[where])
        try:
            changes = activate_version(
                chosen, where, on=day, by=user, reason=reason, dry_run=dry_run
            )
        except ValidationError as error:
            raise InputError.from_validation(error) from None
        for line in changes.lines():
            self.stdout.write(line)
        self.stdout.write(
            "Dry run: nothing was saved."
            if dry_run
            else f"{chosen.protocol.code} {chosen.number} is active at {where.code} from "
            f"{day.isoformat()}."
        )
