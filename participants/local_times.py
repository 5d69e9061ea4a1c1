"""How staff read an instant and which zone a staff request is read in.

One home for both: every time staff see (pages, the digest, exports) is written here as
"2026-12-04 23:25 PST", in the time zone of the site concerned, with the zone's abbreviation;
where no single site is concerned it is written in UTC and labelled "UTC". Days are written
ISO 8601 (``YYYY-MM-DD``), with the weekday where a person plans by it ("Thu 2026-12-10").

A staff request is read in one zone (:class:`SiteTimeZoneMiddleware`): the zone of the user's
sites when they share one (a coordinator's only site), else UTC; a page about one site's record
switches to that site's zone (:func:`activate_site_zone`, called by the scoped admins). Django
then writes every datetime of the admin (read-only fields, lists, history) in that zone with
the formats of ``trialsite/formats`` ("Y-m-d H:i T"), and its date shortcuts ("Today", "Now")
and ``timezone.localdate()`` give the site's day, not the UTC one.
"""

import datetime
import zoneinfo

from django.utils import formats, timezone

UTC = datetime.UTC


def local_time(instant: datetime.datetime | None, zone: datetime.tzinfo | None = None) -> str:
    """``instant`` in ``zone`` (default: the request's zone) with its abbreviation:
    "2026-12-04 23:25 PST", "2026-12-05 07:25 UTC"; "" for none."""
    if instant is None:
        return ""
    local = instant.astimezone(zone or timezone.get_current_timezone())
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def site_time(instant: datetime.datetime | None, site) -> str:
    """``instant`` as ``site`` reads it: "2026-11-22 09:00 PST" ("" for none)."""
    return local_time(instant, site.zone)


def site_clock(day: datetime.date | None, time: datetime.time | None, site) -> str:
    """A local time of day at ``site`` on ``day`` (a booked time) with the zone in force that
    day: "09:30 PST" in winter, "09:30 PDT" in summer; "" without a time."""
    if time is None:
        return ""
    if day is None:
        return f"{time:%H:%M}"
    return f"{time:%H:%M} {zone_abbreviation(day, time, site.zone)}"


def zone_abbreviation(day: datetime.date, time: datetime.time, zone: datetime.tzinfo) -> str:
    """The abbreviation of ``zone`` in force at ``time`` on ``day``: "PST", "PDT", "CET"."""
    return datetime.datetime.combine(day, time, tzinfo=zone).tzname() or ""


def planning_day(day: datetime.date | None) -> str:
    """A day a person plans by, with its weekday in the reader's language: "Thu 2026-12-10"."""
    if day is None:
        return ""
    return formats.date_format(day, "D Y-m-d")


def shared_zone(time_zones) -> zoneinfo.ZoneInfo | None:
    """The one zone of these IANA names, or None when they name none or several."""
    names = set(time_zones)
    return zoneinfo.ZoneInfo(names.pop()) if len(names) == 1 else None


def staff_zone(user) -> zoneinfo.ZoneInfo | None:
    """The zone a staff user's pages are read in: their sites' zone when every one of their
    sites keeps the same zone, else None (UTC). For a member of sites, the one query that
    ``roles`` makes a request for their sites (so the pages that scope by site do not ask
    again); for a superuser, one query of at most two zones."""
    from participants import roles
    from participants.models import Site

    if roles.sees_all_sites(user):
        return shared_zone(Site.objects.values_list("timezone", flat=True).distinct()[:2])
    return shared_zone(roles.member_site_zones(user))


def activate_site_zone(site) -> None:
    """Read the rest of this request in ``site``'s zone (a page about one site's record).
    :class:`SiteTimeZoneMiddleware` restores the zone before it when the request ends."""
    timezone.activate(site.zone)


class SiteTimeZoneMiddleware:
    """Each staff request is read in :func:`staff_zone`'s zone (UTC when their sites keep
    several); requests of anyone else in UTC. After the session and authentication middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        zone = None
        if user is not None and user.is_authenticated and user.is_active and user.is_staff:
            zone = staff_zone(user)
        with timezone.override(zone or UTC):
            return self.get_response(request)
