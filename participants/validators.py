"""Text people type: a one-line field (a name, a code, an address line, a phone number) holds
one line of printable text; a subject id is letters, digits, "-", "_" and ".".

A line break in a site's name ends up in an email header and stops that site's digest; a NUL
byte is refused by PostgreSQL with a traceback. Both are refused where the text comes in, with
a sentence saying which character is wrong.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from .clinic import open_days_problem

# Control characters (Cc: NUL, tab, line feed, carriage return, escape, U+0085 …) and the
# Unicode line and paragraph separators.
_NOT_TEXT = frozenset({"Cc", "Zl", "Zp"})
_NAMES = {
    "\x00": "a NUL byte",
    "\t": "a tab",
    "\n": "a line break",
    "\r": "a carriage return",
    "\x85": "a line break",
    "\u2028": "a line separator",
    "\u2029": "a paragraph separator",
}
LINE_BREAKS_AND_TABS = "\t\n\r"


def control_character_problem(value: str, allowed: str = "") -> str:
    """What is wrong with ``value`` ("contains a tab (U+0009)"), or "" when it is printable
    text; the characters of ``allowed`` are accepted."""
    for char in value:
        if char not in allowed and unicodedata.category(char) in _NOT_TEXT:
            name = _NAMES.get(char, "a control character")
            return f"contains {name} (U+{ord(char):04X})"
    return ""


def validate_single_line(value: str) -> None:
    """A one-line field: no line break, tab or other control character."""
    problem = control_character_problem(value)
    if problem:
        raise ValidationError(
            f"Must be one line of printable text; this {problem}.", code="single_line"
        )


def validate_printable_text(value: str) -> None:
    """A multi-line field: line breaks and tabs are fine, other control characters are not."""
    problem = control_character_problem(value, allowed=LINE_BREAKS_AND_TABS)
    if problem:
        raise ValidationError(f"Must be printable text; this {problem}.", code="printable")


# Every protocol's subject ids (a protocol may narrow them: Protocol.subject_id_pattern). Never
# a first character a spreadsheet reads as a formula, never a space or a control character.
validate_subject_id = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z",
    message="“%(value)s” is not a subject id: use letters, digits, “-”, “_” and “.”, "
    "beginning with a letter or digit.",
    code="subject_id",
)


def validate_regex(value: str) -> None:
    """A regular expression that compiles (a protocol's subject id pattern)."""
    try:
        re.compile(value)
    except re.error as error:
        raise ValidationError(
            f"“{value}” is not a regular expression: {error}.", code="regex"
        ) from None


def validate_open_days(value: str) -> None:
    problem = open_days_problem(value)
    if problem:
        raise ValidationError(problem)
