"""Template tags of the staff workspace: the dashboard on the admin index, addresses out of
server replies. Times and days: ``{% load local_times %}`` (participants)."""

from django import template

from participants import roles
from scheduling.mail.redaction import redact_addresses
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
