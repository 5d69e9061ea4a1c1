"""Writes and reads about a participant's contact log: each attempt to reach them.

An attempt is added, never edited: it is recorded with who recorded it and when, it is not in
the future (five minutes' grace for clocks) nor before consent. Three unanswered attempts in a
row suggest recording lost to follow-up (:data:`UNANSWERED_STREAK`); nothing here records it.
"""

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import ContactAttempt, Participant

# Three attempts in a row that did not reach the participant: the page suggests recording
# lost to follow-up (it never records it by itself).
UNANSWERED_STREAK = 3


@transaction.atomic
def record_contact_attempt(
    participant: Participant,
    *,
    channel: str,
    outcome: str,
    note: str = "",
    at: datetime.datetime | None = None,
    by=None,
    now=None,
) -> ContactAttempt:
    """Add an attempt to reach ``participant`` to their contact log (never edited)."""
    now = now or timezone.now()
    attempt = ContactAttempt(
        participant=participant,
        at=at or now,
        channel=channel,
        outcome=outcome,
        note=note.strip(),
        recorded_by=by,
        recorded_at=now,
    )
    errors = {}
    try:
        attempt.full_clean()
    except ValidationError as error:
        errors = error.message_dict
    if attempt.at and attempt.at > now + datetime.timedelta(minutes=5) and "at" not in errors:
        errors["at"] = ["An attempt cannot be in the future."]
    if attempt.at and attempt.at.date() < participant.consent_date and "at" not in errors:
        errors["at"] = [f"Before consent ({participant.consent_date.isoformat()})."]
    if errors:
        raise ValidationError(errors)
    attempt.save()
    return attempt


def unanswered_streak(attempts: Iterable[ContactAttempt]) -> int:
    """How many of the latest ``attempts`` (newest first) in a row did not reach them."""
    count = 0
    for attempt in attempts:
        if attempt.answered:
            break
        count += 1
    return count
