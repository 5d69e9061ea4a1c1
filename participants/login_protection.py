"""Login protection with django-axes: the lockout page and the client's address.

An account is locked after ``AXES_FAILURE_LIMIT`` failed passwords in a row, counted by
username (settings.py says why); the lockout page says for how long, or that an administrator
must unlock it, and whom to ask. Administrators unlock in the admin (*Axes › Access
attempts*: delete the user's row) or with ``manage.py axes_reset_username USERNAME``.
"""

from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse


def lockout_response(request, original_response=None, credentials=None):
    """The page a locked-out login gets instead of the login form (HTTP 429)."""
    cool_off = get_cool_off(request)
    context = {
        **admin.site.each_context(request),
        "title": "Account locked",
        "username": get_client_username(request, credentials) or "",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cool_off": duration_in_words(cool_off) if cool_off else None,
        "contact": settings.LOCKOUT_CONTACT,
    }
    return TemplateResponse(
        request, "admin/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE
    ).render()


def duration_in_words(duration) -> str:
    """'1 hour', '90 minutes', '2 hours': how long a lockout lasts, as the page says it."""
    minutes = max(1, round(duration.total_seconds() / 60))
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def client_ip_address(request) -> str | None:
    """The client's address: the connection's, or behind ``TRUSTED_PROXY_COUNT`` proxies the
    address the outermost of them received the request from.

    Each proxy appends the address it was connected from to X-Forwarded-For, so the last
    ``TRUSTED_PROXY_COUNT`` entries were written by the proxies we trust; anything to their
    left came from the client and may be made up. With too few entries (a request that did
    not come through all the proxies), the connection's address is kept.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < count:
        return remote
    return forwarded[-count]
