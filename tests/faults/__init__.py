"""The fault suite: the reminder dispatch on the real stack while things go wrong on purpose.

Short form (``make test``, small counts) by default; long form with ``FAULTS=long``
(``make faults``). See conftest.py for the table of figures it ends with.
"""

import os

LONG = os.environ.get("FAULTS", "").strip().lower() == "long"
FORM = "long" if LONG else "short"


def by_form(*, short, long):
    """The long form's figure under ``FAULTS=long`` (``make faults``), else the short one's."""
    return long if LONG else short
