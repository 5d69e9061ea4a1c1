"""manage.py import_participants FILE [--protocol SLE-001] --by USERNAME: enrol consented
participants."""

from participants import services
from participants.cli import (
    RECORDED_VIA,
    StaffCommand,
    add_by_option,
    import_all_or_nothing,
    protocol_named,
    read_csv,
    staff_user_named,
)


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
        user = staff_user_named(by)
        created = import_all_or_nothing(
            table,
            lambda rows: services.import_participants(plan, rows, by=user, via=RECORDED_VIA),
            check=lambda rows: services.participant_import_problems(plan, rows),
        )
        self.stdout.write(f"{len(created)} participant(s) created in {plan.code}.")
