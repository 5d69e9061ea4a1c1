"""Template tags of the staff workspace: the dashboard on the admin index, addresses out of
server replies. Times and days: ``{% load local_times %}`` (participants)."""

from django import template
from django.utils.translation import pgettext_lazy

from participants import roles
from scheduling.mail.redaction import redact_addresses
from scheduling.models import VisitStatus
from scheduling.workspace import dashboard

register = template.Library()


@register.simple_tag(takes_context=True)
def workspace_dashboard(context):
    """The dashboard numbers for the signed-in user's sites."""
    request = context["request"]
    return dashboard.dashboard(roles.user_sites(request.user))


@register.filter
def without_addresses(text):
    """A server reply with the email addresses it quotes replaced."""
    return redact_addresses(text or "")


# The words of a visit's state and its appointment's source, in the reader's language; in
# English the codes themselves ("scheduled", "proposed").
SOURCE_WORDS = {
    "booked": pgettext_lazy("appointment", "booked"),
    "proposed": pgettext_lazy("appointment", "proposed"),
}


@register.filter
def status_word(code):
    """A visit status code as the reader says it ("scheduled" → "geplant")."""
    try:
        return str(VisitStatus(code).label).lower()
    except ValueError:
        return code


@register.filter
def source_word(code):
    return SOURCE_WORDS.get(code, code)
