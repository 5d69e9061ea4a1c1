"""The public URL of a site's calendar feed: ``/feeds/<secret>.ics`` (docs/calendar-feeds.md).

No login: the secret is the key. An unknown or revoked secret is a bare 404 that says
nothing more. The feed is read-only and cheap: a lookup by the secret's digest, two reads
(``site_feed``), at most one write an hour (``record_fetch``); an ETag lets a client that
has the current feed get a 304.
"""

from __future__ import annotations

import hashlib

from django.http import HttpResponse, HttpResponseNotFound
from django.utils import timezone
from django.views.decorators.http import require_safe

from scheduling.exports.feeds import feed_for_secret, record_fetch
from scheduling.exports.site_feed import site_feed

CALENDAR_TYPE = "text/calendar; charset=utf-8"


def _not_found() -> HttpResponse:
    return HttpResponseNotFound(b"Not found", content_type="text/plain; charset=utf-8")


@require_safe
def site_feed_view(request, secret: str):
    if len(secret) > 100:
        return _not_found()
    feed = feed_for_secret(secret)
    if feed is None:
        return _not_found()
    now = timezone.now()
    record_fetch(feed, now)
    body = site_feed(feed.site, now=now)
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type=CALENDAR_TYPE)
        response["Content-Disposition"] = 'inline; filename="visits.ics"'
    response["ETag"] = etag
    response["Cache-Control"] = "private, max-age=900"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
