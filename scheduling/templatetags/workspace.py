"""Template tags of the staff workspace: the dashboard on the admin index, site times."""

from django import template

from participants import roles
from scheduling import workspace
from scheduling.digest import redact_addresses

register = template.Library()


@register.simple_tag(takes_context=True)
def workspace_dashboard(context):
    """The dashboard numbers for the signed-in user's sites."""
    request = context["request"]
    return workspace.dashboard(roles.user_sites(request.user))


@register.filter
def site_time(instant, site):
    """``{{ reminder.due_at|site_time:participant.site }}``: the instant in the site's time."""
    return workspace.site_time(instant, site)


@register.filter
def without_addresses(text):
    """A server reply with the email addresses it quotes replaced."""
    return redact_addresses(text or "")
