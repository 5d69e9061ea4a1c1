"""manage.py import_participants FILE [--protocol SLE-001] --by USERNAME: enrol consented
participants."""

import operator

from participants import imports
from participants.cli import (
    RECORDED_VIA,
    StaffCommand,
    add_by_option,
    protocol_named,
    refuse_outside_sites,
    staff_user_named,
)
from participants.csv_input import read_csv
from participants.file_imports import import_all_or_nothing, rows_sites


class Command(StaffCommand):
    help = (
        "Create participants in screening from a CSV file with header "
        "subject_id,site_code,email,consent_date (YYYY-MM-DD, from 1990-01-01 or the "
        "protocol's earliest date, not in the site's future), and optionally language (en, de, "
        "es or fr; empty: the site's default language); each gets its full schedule. "
        "All or nothing; exits 1 listing every bad row as FILE:LINE: field: message."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file (UTF-8).")
        parser.add_argument("--protocol", default="SLE-001", help="Protocol code (SLE-001).")
        add_by_option(parser)

    def handle(self, *args, file, protocol, by, **options):
        plan = protocol_named(protocol)
        table = read_csv(
            file,
            required=("subject_id", "site_code", "email", "consent_date"),
            optional=("language",),
        )
        user = staff_user_named(by, may=["participants.add_participant"])

        def check(rows, seen):
            # As in the admin: only at the sites the user works at (a row naming another site
            # refuses the file in one line; an unknown code is the import's to report).
            refuse_outside_sites(user, rows_sites(rows, "site_code"))
            return imports.participant_import_problems(plan, rows, seen=seen)

        created = import_all_or_nothing(
            table,
            lambda rows, seen: len(
                imports.import_participants(plan, rows, by=user, via=RECORDED_VIA, seen=seen)
            ),
            check=check,
            key="subject_id",
            add=operator.add,
        )
        self.stdout.write(f"{created or 0} participant(s) created in {plan.code}.")
