"""Template tags of the staff workspace: the dashboard on the admin index, and times and days
as staff read them (written by ``participants.local_times``, their one home)."""

from django import template

from participants import local_times, roles
from scheduling.mail.redaction import redact_addresses
from scheduling.workspace import dashboard

register = template.Library()


@register.simple_tag(takes_context=True)
def workspace_dashboard(context):
    """The dashboard numbers for the signed-in user's sites."""
    request = context["request"]
    return dashboard.dashboard(roles.user_sites(request.user))


# ``{{ reminder.due_at|site_time:participant.site }}``: "2026-11-22 09:00 PST".
register.filter("site_time", local_times.site_time)
# ``{{ fault_since|local_time }}``: in the request's zone, labelled ("… UTC" for a monitor).
register.filter("local_time", local_times.local_time)
# ``{{ visit.appointment_date|planning_day }}``: "Thu 2026-12-10".
register.filter("planning_day", local_times.planning_day)


@register.filter
def without_addresses(text):
    """A server reply with the email addresses it quotes replaced."""
    return redact_addresses(text or "")
