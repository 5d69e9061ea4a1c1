"""Filters for plain-text output (the digest's text part): text that came from outside
(a participant's message, a server's reply) is shown on one line, so it can never pose as a
line of the output itself.

``one_line``: every line break, tab and other control or format character (a right-to-left
override among them) becomes one space, runs of spaces one space. ``quoted``: ``one_line``,
then in double quotes, a double quote inside written ``\\"``, so where the text ends is never
in doubt.
"""

import re
import unicodedata

from django import template

register = template.Library()

_BREAKS = re.compile(r"\s+")


def one_line(text) -> str:
    text = "" if text is None else str(text)
    kept = "".join(
        " " if unicodedata.category(character) in {"Cc", "Cf", "Zl", "Zp"} else character
        for character in text
    )
    return _BREAKS.sub(" ", kept).strip()


def quoted(text) -> str:
    flat = one_line(text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{flat}"'


register.filter("one_line", one_line)
register.filter("quoted", quoted)
