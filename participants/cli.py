"""The command line's side of the contract: reading arguments and options (text, dates, times),
naming participants, protocols, sites and users, and reporting a user's mistakes as
``FILE:LINE: field: message`` lines (or one plain line where no file is involved) with exit
status 1, never a traceback. Whatever a message quotes stays one line of printable text.
(Reading a CSV file: ``csv_input``; importing one all or nothing: ``file_imports``.)

Management commands subclass :class:`StaffCommand` and raise :class:`InputError`. Those that
change data name who makes the change with ``--by USERNAME`` (:func:`add_by_option`,
:func:`staff_user_named`): the history and the transitions record that user, as the audit trail
requires who changed what and why.
"""

import datetime
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandError

from .dates import date_problem, parse_iso_date
from .imports import RowError
from .models import Participant, Protocol, Site
from .validators import LINE_BREAKS_AND_TABS, control_character_problem

RECORDED_VIA = "command line"
# A local time of day as staff type it: two digits, a colon, two digits (09:30), nothing else.
_HH_MM = re.compile(r"([0-9]{2}):([0-9]{2})")


class InputError(CommandError):
    """Bad input: ``lines`` are printed to stderr, and the command exits 1. Each stays one line
    of printable text whatever it quotes (see :func:`printable`)."""

    def __init__(self, lines: Iterable[str]):
        self.lines = [printable(line) for line in lines]
        super().__init__("\n".join(self.lines), returncode=1)

    @classmethod
    def from_rows(cls, path, errors: Sequence[RowError]) -> "InputError":
        return cls(f"{path}:{e.line}: {e.field}: {e.message}" for e in errors)

    @classmethod
    def from_validation(cls, error: ValidationError) -> "InputError":
        if hasattr(error, "error_dict"):
            return cls(
                message if field == NON_FIELD_ERRORS else f"{field}: {message}"
                for field, messages in error.message_dict.items()
                for message in messages
            )
        return cls(error.messages)


class StaffCommand(BaseCommand):
    """A command for site staff and their scripts: exit 1 and plain lines on bad input."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        from_command_line = parser.called_from_command_line

        def error(message):
            # argparse would print usage and exit 2; the contract is one line and exit 1.
            if from_command_line:
                sys.stderr.write(f"{message} (see manage.py {subcommand} --help)\n")
                sys.exit(1)
            raise InputError([message])

        parser.error = error
        return parser

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except InputError as error:
            if not self._called_from_command_line:
                raise
            # Without the "CommandError: " prefix Django would add to the first line.
            self.stderr.write("\n".join(error.lines))
            sys.exit(error.returncode)


# Characters shown escaped in what a command prints: control characters (a line break would
# split a message, an escape sequence would drive the terminal), format characters (a
# right-to-left override), line and paragraph separators, and the lone surrogates that stand
# for bytes of an argument that were not UTF-8.
_NOT_SHOWN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# A value quoted in a message (“…”) longer than this is shown by its start.
LONGEST_QUOTE = 80
_QUOTED = re.compile(f"“([^”]{{{LONGEST_QUOTE + 1},}})”")


def printable(text: str) -> str:
    """``text`` as one line of printable text: control characters written as Python escapes
    (\\n, \\x00, \\u2028), a byte that was not UTF-8 as \\xff, a quoted value over 80
    characters cut to its start."""
    if not text.isprintable():
        text = "".join(_escaped(char) for char in text)
    return _QUOTED.sub(lambda quoted: f"“{quoted[1][:LONGEST_QUOTE]}…”", text)


def _escaped(char: str) -> str:
    if unicodedata.category(char) not in _NOT_SHOWN:
        return char
    if 0xDC80 <= ord(char) <= 0xDCFF:  # surrogateescape: the byte it stands for
        return f"\\x{ord(char) - 0xDC00:02x}"
    return char.encode("unicode_escape").decode("ascii")


def utf8_argument(value: str, field: str) -> str:
    """An argument the terminal passed as UTF-8: bytes that are not reach Python as lone
    surrogates, which PostgreSQL can neither store nor look up."""
    if any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        raise InputError(
            [f"{field}: holds bytes that are not UTF-8 text (check the terminal's encoding)."]
        )
    return value


def text_argument(value: str, field: str, *, lines: bool = False) -> str:
    """An argument of text, in UTF-8: one line of printable text (``lines``: line breaks and
    tabs too, as in a reason). A NUL byte is never stored (PostgreSQL refuses it) nor found."""
    problem = control_character_problem(
        utf8_argument(value, field), allowed=LINE_BREAKS_AND_TABS if lines else ""
    )
    if problem:
        raise InputError([f"{field}: {problem}."])
    return value


def refuse_outside_sites(user, sites, permissions=()) -> None:
    """One line (``by: …``) when ``user`` may not do this at ``sites`` (roles.refusal)."""
    from participants import roles

    refused = roles.refusal(user, permissions, sites)
    if refused:
        raise InputError([f"by: {refused}"])


def date_option(value: str, field: str) -> datetime.date:
    try:
        return parse_iso_date(value)
    except ValueError:
        raise InputError([f"{field}: {date_problem(value)}"]) from None


def time_option(value: str, field: str) -> datetime.time:
    """A local time written HH:MM, 00:00 to 23:59 (not 9:30, not 09:30:00, not 24:00)."""
    match = _HH_MM.fullmatch(value)
    hour, minute = (int(match[1]), int(match[2])) if match else (-1, -1)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise InputError([f"{field}: “{value}” is not a time (HH:MM, 00:00 to 23:59)."])
    return datetime.time(hour, minute)


def participant_named(subject_id: str, protocol_code: str | None = None) -> Participant:
    """The participant with this subject id (within ``protocol_code`` when given)."""
    text_argument(subject_id, "subject_id")
    found = Participant.objects.select_related("site", "protocol").filter(subject_id=subject_id)
    if protocol_code:
        found = found.filter(protocol__code=text_argument(protocol_code, "protocol"))
    found = list(found[:2])
    if not found:
        where = f" in protocol {protocol_code}" if protocol_code else ""
        raise InputError([f"subject_id: there is no participant {subject_id}{where}."])
    if len(found) > 1:
        raise InputError(
            [f"subject_id: {subject_id} is in more than one protocol; name one with --protocol."]
        )
    return found[0]


def protocol_named(code: str) -> Protocol:
    text_argument(code, "protocol")
    protocol = Protocol.objects.filter(code=code).first()
    if protocol is None:
        raise InputError([f"protocol: there is no protocol {code}."])
    return protocol


BY_HELP = (
    "Required: the username of the active staff user making the change, recorded as who made "
    "it in the history (the audit trail names who changed what and why)."
)


def add_by_option(parser) -> None:
    """``--by USERNAME``, required: a command that changes data records who made the change.
    It is looked up (:func:`staff_user_named`) after the command's other arguments, just
    before the change is made."""
    parser.add_argument("--by", metavar="USERNAME", required=True, help=BY_HELP)


def staff_user_named(username: str, field: str = "by", *, may=(), at=()):
    """The active staff user ``username`` (``--by``): who a command's change is recorded as
    made by. A user who does not exist, whose account is inactive or who is not staff is
    refused in one line naming the option; so is one whose role lacks any of the permissions
    ``may`` or who does not work at one of the sites ``at`` (roles.refusal: the admin's
    rule, so a command never does more than its user could do in the admin)."""
    text_argument(username, field)
    user_model = get_user_model()
    user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
    if user is None:
        raise InputError([f"{field}: there is no user {username}."])
    if not user.is_active:
        raise InputError([f"{field}: the user {username} is inactive."])
    if not user.is_staff:
        raise InputError([f"{field}: the user {username} is not staff."])
    from participants import roles

    refused = roles.refusal(user, may, at)
    if refused:
        raise InputError([f"{field}: {refused}"])
    return user


def site_named(code: str, field: str = "site") -> Site:
    text_argument(code, field)
    site = Site.objects.filter(code=code).first()
    if site is None:
        raise InputError([f"{field}: there is no site {code}."])
    return site
