"""Who changed a record and why, as its next history record keeps them.

django-simple-history reads two attributes of an instance when it is saved or deleted:
``_history_user`` (who) and ``_change_reason`` (why). :func:`stamp` sets them, so a write
says both in one line; both ``participants`` and ``scheduling`` use it.
"""

from typing import TypeVar

Record = TypeVar("Record")


def stamp(instance: Record, *, by=None, reason: str | None = None) -> Record:
    """Mark ``instance``'s next history record with who (``by``) and why (``reason``).

    ``by=None`` leaves the user to simple-history (the signed-in user of the request, else
    nobody); ``reason=None`` leaves the reason as it is (an empty reason is kept empty).
    Returns ``instance``, to save or delete next."""
    if reason is not None:
        instance._change_reason = reason
    if by is not None:
        instance._history_user = by
    return instance
