"""A participant's answers to a reminder, and the staff's record of the same.

Each reminder carries three links, signed per reminder with Django's signing framework:
"I'll be there" (confirm), "I need another date" (reschedule) and "Stop reminders" (stop).
A link is valid until the end of its appointment day at the site (the stop link for
``STOP_LINK_DAYS`` more, as an unsubscribe must be) and acts once; opened with
GET it only shows a page, the change happens on POST. The stop link is also the reminder's
``List-Unsubscribe`` target (RFC 8058 one-click).

Staff set the same confirmation state for a participant who phoned (``set_confirmation``).
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from participants.history import stamp
from participants.lifecycle import set_reminders
from participants.validators import validate_printable_text
from scheduling.models import Confirmation, LinkAction, Reminder, ReminderLinkUse, Visit
from scheduling.rules import engine

log = logging.getLogger(__name__)

SALT = "trialsite.reminder-link"
MESSAGE_MAX_LENGTH = 1000
MIDNIGHT = datetime.time(0, 0)
VIA_LINK = "reminder link"
VIA_STAFF = "staff"


def link_token(reminder: Reminder, action: str) -> str:
    """The signed part of one of a reminder's links: names the reminder and the one action it
    does, nothing about anyone. A token taken from one link (a log line, a forwarded email)
    does nothing under another action: a confirm link's token cannot stop reminders."""
    return signing.dumps({"r": reminder.pk, "a": action}, salt=SALT)


def link_path(reminder: Reminder, action: str) -> str:
    return f"/r/{link_token(reminder, action)}/{action}/"


def link_url(reminder: Reminder, action: str) -> str:
    return settings.SITE_URL.rstrip("/") + link_path(reminder, action)


class LinkRefused(Exception):
    """A link that changes nothing, and why (a sentence in the active language)."""

    def __init__(self, kind: str, message: str, reminder: Reminder | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.reminder = reminder


# An unsubscribe must keep working after the visit (RFC 8058 clients offer it from any old
# message; CAN-SPAM asks for 30 days at least): the stop link lives this long after the day.
STOP_LINK_DAYS = 60


def valid_until(reminder: Reminder, action: str = LinkAction.CONFIRM) -> datetime.datetime:
    """The end of the reminder's appointment day at the site (an aware UTC instant); for the
    stop link, the end of the ``STOP_LINK_DAYS``-th day after it."""
    extra = STOP_LINK_DAYS if action == LinkAction.STOP else 0
    return engine.local_instant(
        reminder.planned_date + datetime.timedelta(days=1 + extra),
        MIDNIGHT,
        reminder.visit.participant.site.zone,
    )


def reminder_for_token(token: str, action: str, *, lock: bool = False) -> Reminder:
    """The reminder a token was signed for, for ``action``; ``LinkRefused("tampered")`` if the
    signature does not hold (a changed or made-up link) or the token was signed for another
    action (links of the first version, signed for none, included)."""
    try:
        payload = signing.loads(token, salt=SALT)
        reminder_id = int(payload["r"])
        if payload["a"] != action:
            raise ValueError("signed for another action")
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise LinkRefused(
            "tampered", _("This link is not valid. Please use the link in your email.")
        ) from None
    reminders = Reminder.objects.select_related("visit__participant__site")
    if lock:
        reminders = reminders.select_for_update(of=("self",))
    reminder = reminders.filter(pk=reminder_id).first()
    if reminder is None:
        raise LinkRefused(
            "tampered", _("This link is not valid. Please use the link in your email.")
        )
    return reminder


def check_link(reminder: Reminder, action: str, now: datetime.datetime) -> None:
    """Refuse a link that can no longer act: expired, spent, or for a visit that moved, was
    done, cancelled, or whose participant left the trial."""
    visit = reminder.visit
    participant = visit.participant
    if action not in LinkAction.values:
        raise LinkRefused(
            "tampered", _("This link is not valid. Please use the link in your email.")
        )
    if now >= valid_until(reminder, action):
        raise LinkRefused("expired", _("This link has expired."), reminder)
    if action == LinkAction.STOP:
        if not participant.reminders_enabled:
            raise LinkRefused("already_off", _("Your reminders are already turned off."), reminder)
        return
    if not participant.is_active or visit.cancelled:
        raise LinkRefused("gone", _("This visit is no longer planned."), reminder)
    if visit.actual_date is not None:
        raise LinkRefused("gone", _("This visit has already taken place."), reminder)
    if visit.appointment_day != reminder.planned_date:
        raise LinkRefused(
            "moved",
            _("This visit has moved to another date. Please use the link in your latest email."),
            reminder,
        )
    used = ReminderLinkUse.objects.filter(reminder=reminder, action=action).first()
    if used is not None:
        raise LinkRefused("used", _("This link has already been used."), reminder)


@transaction.atomic
def answer_by_link(
    token: str,
    action: str,
    *,
    message: str = "",
    one_click: bool = False,
    now: datetime.datetime | None = None,
) -> Reminder:
    """Do what a reminder link says, once: confirm the visit, ask for another date (with an
    optional message to the team) or stop the participant's reminders. Raises LinkRefused
    (nothing changed) for a tampered, expired, spent or outdated link."""
    now = now or timezone.now()
    reminder = reminder_for_token(token, action, lock=True)
    visit = Visit.objects.select_for_update().get(pk=reminder.visit_id)
    reminder.visit = visit
    visit.participant.refresh_from_db()
    check_link(reminder, action, now)
    message = message.strip()
    if action == LinkAction.RESCHEDULE and message:
        if len(message) > MESSAGE_MAX_LENGTH:
            raise ValidationError(
                {
                    "message": _("Please keep the message under %(n)s characters.")
                    % {"n": MESSAGE_MAX_LENGTH}
                }
            )
        try:
            validate_printable_text(message)
        except ValidationError:
            raise ValidationError(
                {"message": _("Please write the message as plain text.")}
            ) from None
    try:
        with transaction.atomic():
            ReminderLinkUse.objects.create(
                reminder=reminder, action=action, used_at=now, one_click=one_click
            )
    except IntegrityError:  # the same link, twice at once: the first one acted
        raise LinkRefused("used", _("This link has already been used."), reminder) from None
    source = f"{VIA_LINK}, reminder {reminder.pk}" + (
        ", one-click unsubscribe" if one_click else ""
    )
    if action == LinkAction.STOP:
        set_reminders(
            visit.participant,
            False,
            reason=f"Stopped by the participant ({source})",
        )
    else:
        state = (
            Confirmation.CONFIRMED
            if action == LinkAction.CONFIRM
            else Confirmation.RESCHEDULE_REQUESTED
        )
        _set(visit, state, now=now, via=VIA_LINK, message=message, reason=source)
    log.info("reminder %s: link %s used", reminder.pk, action)
    return reminder


def _set(visit: Visit, state: str, *, now, via: str, message: str = "", reason: str, by=None):
    visit.confirmation = state
    visit.confirmation_at = now if state != Confirmation.UNCONFIRMED else None
    visit.confirmation_via = via if state != Confirmation.UNCONFIRMED else ""
    visit.reschedule_message = message if state == Confirmation.RESCHEDULE_REQUESTED else ""
    with translation.override(settings.LANGUAGE_CODE):  # the history's words, not the reader's
        label = str(Confirmation(state).label)
    stamp(visit, by=by, reason=f"{label} ({reason})")
    visit.save(
        update_fields=["confirmation", "confirmation_at", "confirmation_via", "reschedule_message"]
    )


@transaction.atomic
def set_confirmation(
    visit: Visit, state: str, *, by=None, message: str = "", note: str = "", now=None
) -> Visit:
    """Staff record a participant's answer given another way (they phoned): confirmed,
    another date requested (with what they said), or back to unconfirmed."""
    visit = Visit.objects.select_for_update().select_related("participant").get(pk=visit.pk)
    if state not in Confirmation.values:
        raise ValidationError({"confirmation": f"“{state}” is not a confirmation state."})
    if visit.actual_date is not None or visit.cancelled:
        raise ValidationError(
            {"confirmation": f"{visit.code} is not ahead: it was done or cancelled."}
        )
    message = message.strip()
    for field, text in (("message", message), ("note", note)):
        if text:
            try:
                validate_printable_text(text)
            except ValidationError as error:
                raise ValidationError({field: error.messages}) from None
    if visit.confirmation == state and visit.reschedule_message == message:
        return visit
    reason = f"{VIA_STAFF}: {note.strip()}" if note.strip() else VIA_STAFF
    _set(
        visit,
        state,
        now=now or timezone.now(),
        via=VIA_STAFF,
        message=message,
        reason=reason,
        by=by,
    )
    return visit
