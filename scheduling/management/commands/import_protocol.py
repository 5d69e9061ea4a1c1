"""manage.py import_protocol FILE --by USERNAME: a protocol version's file (JSON,
docs/protocol-file.md) imported as a new draft version, all or nothing."""

from pathlib import Path

from django.core.exceptions import ValidationError

from participants.cli import InputError, StaffCommand, add_by_option, staff_user_named
from scheduling.timeline.version_files import FileSyntaxError, import_version, loads, summary


class Command(StaffCommand):
    help = (
        "Import a protocol version's JSON file (docs/protocol-file.md) as a new draft version "
        "of the protocol it names; every problem of the file is printed as FILE: PATH: message "
        "and nothing is saved unless there is none."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The JSON file (export_protocol writes one).")
        add_by_option(parser)

    def handle(self, *args, file, by, **options):
        data = read_json(file)
        user = staff_user_named(by, may=["scheduling.add_protocolversion"])
        try:
            version = import_version(data, by=user)
        except ValidationError as error:
            raise InputError(f"{file}: {message}" for message in error.messages) from None
        self.stdout.write(
            f"{version.protocol.code} {version.number} imported as a draft: {summary(data)}"
        )


def read_json(path: str):
    """The JSON of the file at ``path``; one line ``FILE: …`` when it cannot be read, is not
    UTF-8 or is not JSON (with the line and column of the fault)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise InputError([f"{path}: file: cannot be read ({reason})."]) from None
    except ValueError:  # a NUL byte in the name: no file has one
        raise InputError(
            [f"{path}: file: cannot be read (a file name holds no NUL byte)."]
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        line_start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8", "replace")) + 1
        raise InputError(
            [
                f"{path}: line {line}, column {column}: is not UTF-8 text (byte "
                f"0x{data[error.start]:02X})."
            ]
        ) from None
    try:
        return loads(text)
    except FileSyntaxError as error:
        raise InputError([f"{path}: {error}"]) from None
