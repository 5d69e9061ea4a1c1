"""manage.py import_sites FILE --by USERNAME: create or update sites by code from a CSV file."""

from participants import imports
from participants.cli import (
    RECORDED_VIA,
    StaffCommand,
    add_by_option,
    refuse_outside_sites,
    staff_user_named,
)
from participants.csv_input import read_csv
from participants.file_imports import (
    import_all_or_nothing,
    rows_sites,
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

        def check(rows, seen):
            # As in the admin: changing a site needs its change permission and working there;
            # creating one, the add permission (superusers only, by default).
            existing = rows_sites(rows, "code")
            new = {values.get("code", "") for _, values in rows} - {s.code for s in existing}
            refuse_outside_sites(
                user,
                existing,
                ["participants.change_site"] + (["participants.add_site"] if new else []),
            )
            return imports.site_import_problems(rows, seen=seen)

        counts = import_all_or_nothing(
            table,
            lambda rows, seen: imports.import_sites(rows, by=user, via=RECORDED_VIA, seen=seen),
            check=check,
            key="code",
            add=lambda a, b: {key: a[key] + b[key] for key in a},
            rows_filter=without_unreadable_time_zones,
        ) or {"created": 0, "updated": 0, "unchanged": 0}
        self.stdout.write(
            f"{sum(counts.values())} site(s) read: {counts['created']} created, "
            f"{counts['updated']} updated, {counts['unchanged']} unchanged."
        )
