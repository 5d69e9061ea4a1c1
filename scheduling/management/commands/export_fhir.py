"""manage.py export_fhir --output FILE [--protocol CODE] (docs/fhir.md)."""

from participants.cli import InputError, StaffCommand, printable, protocol_named
from participants.models import Protocol
from scheduling.exports.fhir.bundle import dumps, export_bundle, summary, write_atomically


class Command(StaffCommand):
    help = (
        "Write a protocol's study, schedule versions, participants (by subject id only) and "
        "visits as one FHIR R4B (4.3) Bundle in JSON (docs/fhir.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", required=True, help="File to write.")
        parser.add_argument("--protocol", help="Protocol code (default: the only protocol).")

    def handle(self, *args, output, protocol, **options):
        chosen = protocol_named(protocol) if protocol is not None else only_protocol()
        bundle = export_bundle(chosen)
        text = dumps(bundle)
        try:
            write_atomically(output, text)
        except OSError as error:
            reason = error.strerror or str(error)
            raise InputError([f"{output}: file: cannot be written ({reason})."]) from None
        except ValueError:  # a NUL byte in the name: no file has one
            raise InputError(
                [f"{output}: file: cannot be written (a file name holds no NUL byte)."]
            ) from None
        self.stdout.write(f"{chosen.code} written to {printable(output)}: {summary(bundle)}.")


def only_protocol() -> Protocol:
    codes = list(Protocol.objects.order_by("code").values_list("code", flat=True)[:11])
    if len(codes) != 1:
        listed = ", ".join(codes) or "none"
        raise InputError([f"protocol: name one with --protocol (protocols: {listed})."])
    return Protocol.objects.get(code=codes[0])
