"""manage.py import_sites FILE: create or update sites by code from a CSV file."""

from participants import services
from participants.cli import RECORDED_VIA, InputError, StaffCommand, read_csv


class Command(StaffCommand):
    help = (
        "Create or update sites by code from a CSV file with header "
        "code,name,timezone,coordinator_email (optional columns: address,phone). "
        "All or nothing; exits 1 listing every bad row as FILE:LINE: field: message."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file (UTF-8).")

    def handle(self, *args, file, **options):
        rows = read_csv(
            file,
            required=("code", "name", "timezone", "coordinator_email"),
            optional=("address", "phone"),
        )
        try:
            counts = services.import_sites(rows, via=RECORDED_VIA)
        except services.ImportRejected as rejected:
            raise InputError.from_rows(file, rejected.errors) from None
        self.stdout.write(
            f"{len(rows)} site(s) read: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged."
        )
