"""Building the outbox's emails: the participant reminder (text, HTML and an .ics event, built
by ``scheduling.exports.calendars``) and the coordinator digest. Pure construction: nothing
here sends, locks or writes.

Subjects carry no diagnosis, trial, drug or protocol name: an email subject is read on lock
screens and by anyone who glances at an inbox.
"""

import datetime
import secrets
from email.mime.text import MIMEText
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext

from scheduling.exports.calendars import message_domain, visit_calendar
from scheduling.models import LinkAction, Reminder, SiteDigest, Visit
from scheduling.replies.answers import link_url
from scheduling.timeline.wording import long_date


class OutboxEmail(EmailMultiAlternatives):
    """An ``EmailMultiAlternatives`` whose multipart boundaries are chosen here, as random
    128-bit tokens. Left to itself, the email package makes each boundary by compiling a
    regular expression to prove it absent from the parts: a tenth of the dispatcher's time
    per reminder (``make bench``). A random token of that length does not occur in them."""

    def message(self, *args, **kwargs):
        message = super().message(*args, **kwargs)
        for part in message.walk():
            if part.is_multipart() and part.get_boundary() is None:
                part.set_boundary(f"=_{secrets.token_hex(16)}")
        return message


def reminder_message_id(reminder: Reminder) -> str:
    """Stable per reminder, so a copy resent after a crash (docs/reminders.md) is the same
    message to every mail system that de-duplicates on Message-ID."""
    return f"<reminder-{reminder.pk}@{message_domain()}>"


def digest_message_id(digest: SiteDigest) -> str:
    return f"<digest-{digest.pk}@{message_domain()}>"


def reminder_subject(visit: Visit) -> str:
    return gettext("Reminder: your study visit on %(date)s") % {
        "date": long_date(visit.appointment_day)
    }


def reminder_sender(site, language: str) -> str:
    """The From of a reminder: the site's sender name in ``language`` (else its own), at
    DEFAULT_FROM_EMAIL's address; DEFAULT_FROM_EMAIL as it is for a site with no name."""
    name = site.sender_name_in(language)
    if not name:
        return settings.DEFAULT_FROM_EMAIL
    return formataddr((name, parseaddr(settings.DEFAULT_FROM_EMAIL)[1]))


def _calendar_part(content: bytes) -> MIMEText:
    part = MIMEText(content.decode(), "calendar", "utf-8")
    part.set_param("method", "PUBLISH")
    part.add_header("Content-Disposition", "attachment", filename="visit.ics")
    return part


def reminder_email(reminder: Reminder, *, now: datetime.datetime, connection=None) -> OutboxEmail:
    """The participant's reminder of ``reminder.visit`` in their language: plain text, HTML
    and visit.ics, with the three answer links and a one-click ``List-Unsubscribe``."""
    visit = reminder.visit
    participant = visit.participant
    site = participant.site
    language = participant.reminder_language
    links = {action: link_url(reminder, action) for action in LinkAction.values}
    with translation.override(language):
        context = {
            "visit": visit,
            "visit_name": visit.name_in(language),
            "visit_date": long_date(visit.appointment_day),
            "booked_time": visit.booked_time,
            "site": site,
            "address_lines": [line for line in site.address.splitlines() if line.strip()],
            "time_zone": site.timezone,
            "links": links,
            "language": language,
        }
        message = OutboxEmail(
            subject=reminder_subject(visit),
            body=render_to_string("scheduling/email/reminder.txt", context),
            from_email=reminder_sender(site, language),
            to=[participant.email],
            reply_to=[site.coordinator_email],
            headers={
                "Message-ID": reminder_message_id(reminder),
                "Auto-Submitted": "auto-generated",
                "Content-Language": language,
                # RFC 2369 and RFC 8058: mail clients offer "unsubscribe", and POST
                # List-Unsubscribe=One-Click to the HTTPS address: the stop link.
                "List-Unsubscribe": f"<{links[LinkAction.STOP]}>, <mailto:"
                f"{parseaddr(settings.DEFAULT_FROM_EMAIL)[1]}?subject=stop%20reminders>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            connection=connection,
        )
        message.attach_alternative(
            render_to_string("scheduling/email/reminder.html", context), "text/html"
        )
        message.attach(_calendar_part(visit_calendar(visit, now=now, language=language)))
    return message


def digest_subject(digest: SiteDigest) -> str:
    day = long_date(digest.local_date, settings.LANGUAGE_CODE)  # the staff's language
    return f"Daily visit digest for {digest.site.name}: {day}"


def digest_email(digest: SiteDigest, content, *, connection=None) -> OutboxEmail:
    """The coordinator digest of one site and day. Subject ids only: no participant emails."""
    context = {
        "digest": digest,
        "site": digest.site,
        "day": long_date(digest.local_date, settings.LANGUAGE_CODE),
        "content": content,
        "site_url": settings.SITE_URL.rstrip("/"),
    }
    message = OutboxEmail(
        subject=digest_subject(digest),
        body=render_to_string("scheduling/email/digest.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[digest.site.coordinator_email],
        headers={"Message-ID": digest_message_id(digest), "Auto-Submitted": "auto-generated"},
        connection=connection,
    )
    message.attach_alternative(
        render_to_string("scheduling/email/digest.html", context), "text/html"
    )
    return message
