"""A site's calendar feeds: made, revoked and found by their secret (docs/calendar-feeds.md).

The secret is 256 random bits in the URL; only its SHA-256 digest is stored, so the URL is
shown once, when the feed is made, and a copy of the database opens no feed. A feed is found
by the digest of what was asked (an index lookup that reveals nothing of the secret), and a
revoked feed is not found at all: both are the same 404.
"""

from __future__ import annotations

import datetime
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from participants import roles
from participants.api_tokens import key_digest
from participants.history import stamp
from participants.validators import validate_single_line
from scheduling.models import CalendarFeed

PREFIX_LENGTH = 6
# Staff see when a feed was last read; written at most this often, so a feed read by every
# calendar client every few minutes writes almost nothing.
FETCH_RECORDED_EVERY = datetime.timedelta(hours=1)
CREATE = "scheduling.add_calendarfeed"
CHANGE = "scheduling.change_calendarfeed"


def create_feed(site, *, label: str, by) -> tuple[CalendarFeed, str]:
    """A new feed of ``site`` and its secret (the only time it exists outside the URL).
    Refused when ``by`` may not make feeds at ``site`` (``roles.refusal``) or the label is
    empty or more than one line."""
    refused = roles.refusal(by, [CREATE], [site])
    if refused:
        raise ValidationError(refused)
    label = label.strip()
    if not label:
        raise ValidationError({"label": "A feed needs a label saying who subscribes to it."})
    validate_single_line(label)
    secret = secrets.token_urlsafe(32)
    feed = CalendarFeed(
        site=site,
        label=label,
        digest=key_digest(secret),
        prefix=secret[:PREFIX_LENGTH],
        created_at=timezone.now(),
        created_by=by,
    )
    with transaction.atomic():
        stamp(feed, by=by, reason="Calendar feed made").save()
    return feed, secret


def revoke_feed(feed: CalendarFeed, *, by, reason: str = "") -> CalendarFeed:
    """Revoke ``feed``: its URL is a 404 from now on. Who and when are kept on the feed and
    in its history. Revoking a revoked feed changes nothing."""
    refused = roles.refusal(by, [CHANGE], [feed.site])
    if refused:
        raise ValidationError(refused)
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().select_related("site").get(pk=feed.pk)
        if feed.revoked_at is not None:
            return feed
        feed.revoked_at = timezone.now()
        feed.revoked_by = by
        stamp(feed, by=by, reason=reason.strip() or "Calendar feed revoked").save()
    return feed


def feed_for_secret(secret: str) -> CalendarFeed | None:
    """The feed whose secret is ``secret``, with its site, or None (unknown or revoked)."""
    return (
        CalendarFeed.objects.select_related("site")
        .filter(digest=key_digest(secret), revoked_at__isnull=True)
        .first()
    )


def record_fetch(feed: CalendarFeed, now: datetime.datetime) -> None:
    """Note that ``feed`` was read at ``now``, at most once per :data:`FETCH_RECORDED_EVERY`
    (no query otherwise; not a change of the feed, so not in its history)."""
    if feed.last_fetched_at is None or now - feed.last_fetched_at >= FETCH_RECORDED_EVERY:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_fetched_at=now)
        feed.last_fetched_at = now
