"""manage.py export_protocol PROTOCOL --version NUMBER --output FILE (``-``: standard output)."""

import os
import sys
from pathlib import Path

from participants.cli import InputError, StaffCommand, printable, protocol_named
from scheduling.management.arguments import version_named
from scheduling.timeline.version_files import dumps, export_version, summary


class Command(StaffCommand):
    help = (
        "Write one version of a protocol's plan (phases, visit definitions, participant "
        "reminders) as a JSON file, the format import_protocol reads (docs/protocol-file.md)."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # --version names the protocol's version here, not Django's (which it replaces).
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("protocol", help="Protocol code, e.g. SLE-001.")
        parser.add_argument(
            "--version", dest="number", required=True, help="Version number, e.g. 1.0."
        )
        parser.add_argument("--output", required=True, help="File to write; - for standard output.")

    def handle(self, *args, protocol, number, output, **options):
        version = version_named(protocol_named(protocol), number)
        data = export_version(version)
        text = dumps(data)
        if output == "-":
            try:
                self.stdout.write(text, ending="")
                self.stdout.flush()
            except BrokenPipeError:
                # The reader stopped early: not an error (as export_schedule).
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as error:
            reason = error.strerror or str(error)
            raise InputError([f"{output}: file: cannot be written ({reason})."]) from None
        except ValueError:  # a NUL byte in the name: no file has one
            raise InputError(
                [f"{output}: file: cannot be written (a file name holds no NUL byte)."]
            ) from None
        self.stdout.write(
            f"{version.protocol.code} {version.number} written to {printable(output)}: "
            f"{summary(data)}."
        )
