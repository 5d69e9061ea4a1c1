"""Reminders, site digests and reminder rules: read only (see ``scheduling.mail.dispatch``)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from participants.admin import ReadOnlyScopedAdmin
from participants.admin.bases import site_time_column
from participants.admin.network import CappedCountAdmin
from participants.local_times import site_time
from scheduling.admin.mixins import PlanPartAdmin
from scheduling.mail import dispatch_health
from scheduling.mail.redaction import redact_addresses
from scheduling.models import Reminder, ReminderRule, SiteDigest


@admin.register(Reminder)
class ReminderAdmin(CappedCountAdmin, ReadOnlyScopedAdmin):
    site_path = "visit__participant__site"
    list_display = [
        "subject_id",
        "visit_planned",
        "rule_text",
        "due_at_site",
        "status",
        "attempts",
        "sent_at_site",
        "error",
    ]
    list_filter = ["status"]
    search_fields = ["visit__participant__subject_id"]
    list_select_related = ["visit__participant__site", "rule"]

    def changelist_view(self, request, extra_context=None):
        # A dispatch that fails or stopped is said where staff look for their reminders.
        state = dispatch_health.health()
        if state.alert:
            self.message_user(request, state.sentence, level=messages.ERROR)
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("participant"), ordering="visit__participant__subject_id")
    def subject_id(self, obj):
        return obj.visit.participant.subject_id

    @admin.display(description=_("visit"), ordering="planned_date")
    def visit_planned(self, obj):
        return f"{obj.visit.code} {obj.planned_date.isoformat()}"

    @admin.display(description=_("rule"))
    def rule_text(self, obj):
        return str(obj.rule)

    # Times as the site reads them (the rule's 09:00 is the site's 09:00).
    @admin.display(description=_("due (site time)"), ordering="due_at")
    def due_at_site(self, obj):
        return site_time(obj.due_at, obj.visit.participant.site)

    @admin.display(description=_("sent (site time)"), ordering="sent_at")
    def sent_at_site(self, obj):
        return site_time(obj.sent_at, obj.visit.participant.site) or "—"

    @admin.display(description=_("next attempt (site time)"))
    def next_attempt_at_site(self, obj):
        return site_time(obj.next_attempt_at, obj.visit.participant.site) or "—"

    @admin.display(description=_("last error"))
    def error(self, obj):
        return redact_addresses(obj.last_error)  # server replies may quote the address

    # The detail page: the same redacted error and site times, never the raw reply.
    fields = [
        "subject_id",
        "visit_planned",
        "rule_text",
        "status",
        "attempts",
        "due_at_site",
        "next_attempt_at_site",
        "sent_at_site",
        "message_id",
        "error",
    ]
    readonly_fields = fields


@admin.register(SiteDigest)
class SiteDigestAdmin(ReadOnlyScopedAdmin):
    list_display = ["site", "local_date", "due", "status", "sent"]
    list_filter = ["status", ("site", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["site"]
    due = site_time_column("due_at", "due (site time)")
    sent = site_time_column("sent_at", "sent (site time)")


@admin.register(ReminderRule)
class ReminderRuleAdmin(PlanPartAdmin):
    list_display = ["protocol", "audience", "lead_days", "local_time", "active"]
