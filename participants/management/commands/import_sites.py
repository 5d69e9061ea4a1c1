"""manage.py import_sites FILE --by USERNAME: create or update sites by code from a CSV file."""

from participants import services
from participants.cli import (
    RECORDED_VIA,
    StaffCommand,
    add_by_option,
    import_all_or_nothing,
    read_csv,
    staff_user_named,
    without_unreadable_time_zones,
)


class Command(StaffCommand):
    help = (
        "Create or update sites by code from a CSV file with header "
        "code,name,timezone,coordinator_email (optional columns: address,phone,open_days,"
        "holidays,language). language is the reminders' default (en, de, es or fr). "
        "open_days is the clinic's weekdays, e.g. Mon-Fri, Mon,Tue,Thu or Tue-Sat; "
        "holidays is a public-holiday calendar of the holidays package, e.g. US-CA, DE-BE or FR, "
        "or empty for none. A column left out keeps what a site has (a new site: open Mon-Fri, "
        "no holiday calendar). A change of open days or holidays places the appointments of the "
        "site's participants again. "
        "All or nothing; exits 1 listing every bad row as FILE:LINE: field: message."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file (UTF-8).")
        add_by_option(parser)

    def handle(self, *args, file, by, **options):
        table = read_csv(
            file,
            required=("code", "name", "timezone", "coordinator_email"),
            optional=("address", "phone", "open_days", "holidays", "language"),
        )
        user = staff_user_named(by)
        counts = import_all_or_nothing(
            without_unreadable_time_zones(table),
            lambda rows: services.import_sites(rows, by=user, via=RECORDED_VIA),
        )
        self.stdout.write(
            f"{len(table.rows)} site(s) read: {counts['created']} created, "
            f"{counts['updated']} updated, {counts['unchanged']} unchanged."
        )
