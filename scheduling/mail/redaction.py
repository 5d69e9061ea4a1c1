"""Addresses out of what staff and logs see: a mail server's reply often quotes the address it
refused, and a reminder's error, the digest, the dashboard and the log lines show no
participant's email."""

import re

_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>@]+>?")


def redact_addresses(text: str) -> str:
    """``text`` with every email address written ``[address]``."""
    return _ADDRESS.sub("[address]", text)
