"""The scheduling app's side of the command line (participants.cli holds the rest): a
protocol version named by its number."""

from participants.cli import InputError, text_argument
from scheduling.models import ProtocolVersion, version_key


def version_named(protocol, number: str, field: str = "version") -> ProtocolVersion:
    """``protocol``'s version ``number``; one line naming its versions when it has none such."""
    text_argument(number, field)
    found = ProtocolVersion.objects.filter(protocol=protocol, number=number).first()
    if found is None:
        numbers = ", ".join(
            sorted(protocol.versions.values_list("number", flat=True), key=version_key)
        )
        raise InputError(
            [f"{field}: {protocol.code} has no version {number} (versions: {numbers or 'none'})."]
        )
    return found
