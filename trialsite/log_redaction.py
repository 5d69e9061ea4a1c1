"""Keeps the signed tokens of participants' reply links out of every log line.

A reply link (``/r/<token>/<action>/``) is a key: whoever holds it answers for the participant.
Django's request log (``Conflict: /r/…/confirm/`` after a double click), the development
server's and gunicorn's access logs all write request paths; every one of them goes through
``RedactLinkTokens``, which writes the token as ``[token]``. Tokens are also bound to their
one action (scheduling/replies/answers.py), so even a leaked one can do only what its own link does.
"""

import logging
import re
from collections.abc import Mapping

# A calendar feed's secret (``/feeds/<secret>.ics``, docs/calendar-feeds.md) is a key too.
LINK_TOKEN = re.compile(r"(/r/)[^/\s?#\"'<>]+|(/feeds/)[^/\s?#\"'<>.]+")


def _redacted_match(match: re.Match) -> str:
    return f"{match.group(1) or match.group(2)}[token]"


def redact(text: str) -> str:
    return LINK_TOKEN.sub(_redacted_match, text)


def _redacted(value):
    return redact(value) if isinstance(value, str) else value


class RedactLinkTokens(logging.Filter):
    """A logging filter (on a handler or a logger) that rewrites the message and its
    arguments with every reply-link token replaced; it never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_redacted(value) for value in record.args)
        return True
