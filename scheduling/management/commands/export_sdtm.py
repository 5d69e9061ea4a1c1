"""manage.py export_sdtm [--protocol CODE] --output DIR: the CDISC SDTM datasets TA, TE, TV,
TS, DM, SE and SV as CSV and SAS transport v5 files (docs/sdtm.md)."""

from pathlib import Path

from participants.cli import InputError, StaffCommand, printable, protocol_named, text_argument
from scheduling.exports.sdtm import export
from scheduling.exports.sdtm.demographics import DatasetError
from scheduling.exports.sdtm.writing import OutputError


class Command(StaffCommand):
    help = (
        "Write a protocol's CDISC SDTM datasets (TA, TE, TV, TS, DM, SE, SV) into a folder, each "
        "as CSV and SAS transport version 5 (.xpt); all or nothing (docs/sdtm.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", required=True, help="Folder to write into.")
        parser.add_argument(
            "--protocol", default="SLE-001", help="Protocol code (default: SLE-001)."
        )

    def handle(self, *args, output, protocol, **options):
        text_argument(output, "output")
        found = protocol_named(protocol)
        try:
            counts = export(found, Path(output))
        except (OutputError, DatasetError) as error:
            raise InputError([printable(str(error))]) from None
        except ValueError as error:
            raise InputError([f"protocol: {error}."]) from None
        rows = ", ".join(f"{domain} {count}" for domain, count in counts.items())
        self.stdout.write(f"SDTM datasets of {found.code} written to {printable(output)}: {rows}.")
