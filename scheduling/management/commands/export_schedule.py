"""manage.py export_schedule [--site CODE] [--format csv] [--output FILE]."""

import os
import sys
from pathlib import Path

from participants.cli import InputError, StaffCommand, printable, site_named, text_argument
from scheduling.timeline.selectors import SCHEDULE_COLUMNS, schedule_rows, write_schedule_csv

FORMATS = ("csv",)


class Command(StaffCommand):
    help = (
        "Write every visit as CSV (" + ",".join(SCHEDULE_COLUMNS) + "), status as of now at "
        "each site, ordered by subject id then planned date."
    )

    def add_arguments(self, parser):
        parser.add_argument("--site", help="Only this site's participants (site code).")
        parser.add_argument("--format", default="csv", help="csv (the only format).")
        parser.add_argument("--output", help="File to write (default: standard output).")

    def handle(self, *args, site, format, output, **options):
        if text_argument(format, "format") not in FORMATS:
            raise InputError([f"format: “{format}” is not supported; use csv."])
        chosen = site_named(site) if site is not None else None
        rows = schedule_rows(chosen)
        if output:
            try:
                with Path(output).open("w", newline="", encoding="utf-8") as handle:
                    write_schedule_csv(handle, rows)
            except OSError as error:
                reason = error.strerror or str(error)
                raise InputError([f"{output}: file: cannot be written ({reason})."]) from None
            except ValueError:  # a NUL byte in the name: no file has one
                raise InputError(
                    [f"{output}: file: cannot be written (a file name holds no NUL byte)."]
                ) from None
            # The name as given may hold bytes that are not UTF-8 (surrogates): shown escaped.
            self.stdout.write(f"{len(rows)} visit(s) written to {printable(output)}.")
        else:
            try:
                write_schedule_csv(self.stdout, rows)
                self.stdout.flush()
            except BrokenPipeError:
                # The reader stopped early (`export_schedule | head`): not an error. Point
                # stdout at devnull so the interpreter's final flush does not fail again.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
