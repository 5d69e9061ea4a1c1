from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Phase, Reminder, ReminderRule, SiteDigest, Visit, VisitDefinition


@admin.register(Phase)
class PhaseAdmin(SimpleHistoryAdmin):
    list_display = ["protocol", "order", "code", "name", "length", "unit", "is_day_one"]
    list_filter = ["protocol"]


@admin.register(VisitDefinition)
class VisitDefinitionAdmin(SimpleHistoryAdmin):
    list_display = ["protocol", "code", "name", "phase", "offset", "unit", "window_before", "window_after"]
    list_filter = ["protocol", "phase"]


@admin.register(Visit)
class VisitAdmin(SimpleHistoryAdmin):
    list_display = ["participant", "code", "planned_date", "window_start", "window_end", "actual_date"]
    list_filter = ["code", "cancelled"]
    search_fields = ["participant__subject_id"]


@admin.register(ReminderRule)
class ReminderRuleAdmin(SimpleHistoryAdmin):
    list_display = ["protocol", "audience", "lead_days", "local_time", "active"]


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["id", "visit", "rule", "due_at", "status", "attempts", "sent_at"]
    list_filter = ["status"]


@admin.register(SiteDigest)
class SiteDigestAdmin(admin.ModelAdmin):
    list_display = ["site", "local_date", "due_at", "status", "sent_at"]
    list_filter = ["status", "site"]
