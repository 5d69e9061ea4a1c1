"""Booking a visit's local time at the site (optional; shown on calendars and in reminders)."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from .models import Visit


@transaction.atomic
def book_visit_time(visit: Visit, at: datetime.time | None, *, by=None) -> Visit:
    """Set (or clear) the booked local time of a visit still to be done; kept in its history."""
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if visit.booked_time == at:
        return visit
    if visit.cancelled:
        raise ValidationError({"booked_time": f"{visit.code} was cancelled; it cannot be booked."})
    visit.booked_time = at
    visit._change_reason = f"Booked at {at:%H:%M}" if at else "Booking cleared"
    if by is not None:
        visit._history_user = by
    visit.save(update_fields=["booked_time"])
    return visit
